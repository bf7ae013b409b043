using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Recovery;

/// <summary><c>lifeline verify run|history</c> and the checks in <c>lifeline status</c>, over the three-location plan.</summary>
public sealed class VerifyCommandsTests
{
    [Fact]
    public async Task VerifyRun_TruncatedPack_Exit64EvidenceInHistoryAndStatusRed()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("verify", files: 1);
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        (await env.RunAsync("verify", "run", "integrity")).ShouldSucceed();
        var pack = Directory.EnumerateFiles(Path.Combine(env.VaultA, "data"), "*", SearchOption.AllDirectories).OrderByDescending(p => new FileInfo(p).Length).First();
        await using (var file = new FileStream(pack, FileMode.Open))
        {
            file.SetLength(file.Length - 100);
        }

        var line = (await env.RunAsync("verify", "run", "integrity")).ShouldFailWith(ExitCodes.VerificationFailed);

        Assert.Contains("1 of 3 checks failed; integrity a:", line, StringComparison.Ordinal);
        var history = (await env.RunAsync("verify", "history", "--check", "integrity", "--json")).ShouldSucceed().Json.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(6, history.Count); // three locations, two runs
        var last = (await env.RunAsync("verify", "history", "--last", "3", "--json")).ShouldSucceed().Json.GetProperty("records").EnumerateArray().ToList();
        var a = Assert.Single(last, r => r.GetProperty("location").GetString() == "a");
        Assert.False(a.GetProperty("passed").GetBoolean());
        Assert.True(a.GetProperty("numbers").GetProperty("errors").GetDouble() > 0);

        var status = await env.RunAsync("status", "--json");
        Assert.Equal(ExitCodes.StatusRed, status.ExitCode);
        Assert.Contains(status.Json.GetProperty("checks").EnumerateArray(), c => c.GetProperty("check").GetString() == "integrity" && !c.GetProperty("passed").GetBoolean());
        Assert.Contains("check integrity failed for a", (await env.RunAsync("status")).ShouldFailWith(ExitCodes.StatusRed), StringComparison.Ordinal);
    }

    [Fact]
    public async Task VerifyRun_UnknownCheck_OneLineWithTheSuggestionExit2()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("verify-bad", files: 1);

        var line = (await env.RunAsync("verify", "run", "integrty")).ShouldFailWith(ExitCodes.Usage);

        Assert.Contains("no verification check 'integrty'", line, StringComparison.Ordinal);
        Assert.Contains("did you mean 'integrity'", line, StringComparison.Ordinal);
    }
}
