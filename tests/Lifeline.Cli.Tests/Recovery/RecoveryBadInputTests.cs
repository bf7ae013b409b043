using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Recovery;

/// <summary>
/// Bad input to <c>lifeline backup</c> over a three-location plan (two directories and Azurite): a bad plan file, an
/// unknown component, an unreachable primary, a wrong password, a failing pre-backup hook. Each is one line
/// <c>lifeline: …</c> with the exit code docs/cli.md gives, the failure is in <c>lifeline audit</c> (where a location
/// can hold it), <c>lifeline status</c> is red for the component, and nothing is half-written.
/// </summary>
public sealed class RecoveryBadInputTests
{
    [Fact]
    public async Task Backup_BadPlanFile_OneLineNamingFileLineAndKeyExit50AndNothingWritten()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("bad-plan", files: 1);
        var plan = env.App("lifeline.yaml");
        await File.WriteAllTextAsync(plan, (await File.ReadAllTextAsync(plan)).Replace("files: [data/*.bin]", "fils: [data/*.bin]", StringComparison.Ordinal));

        var line = (await env.RunAsync("backup", "--all")).ShouldFailWith(ExitCodes.PlanHasErrors);
        Assert.Contains("lifeline.yaml:8:", line, StringComparison.Ordinal);
        Assert.Contains("unknown key 'fils'", line, StringComparison.Ordinal);
        Assert.Contains("files", line, StringComparison.Ordinal); // the suggestion
        (await env.RunAsync("status")).ShouldFailWith(ExitCodes.PlanHasErrors);
        Assert.False(Directory.Exists(env.VaultA) || Directory.Exists(env.VaultB), "a location was written although the plan cannot be read");
    }

    [Fact]
    public async Task RestoreAll_BadInputAndNoCut_OneLineEachAndTheSetFallsBackToEachComponentsOwnPoints()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("restore-all", files: 1);
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();

        Assert.Contains("add --all", (await env.RunAsync("restore", "--cut", "2026")).ShouldFailWith(ExitCodes.Usage), StringComparison.Ordinal);
        (await env.RunAsync("restore", "configuration", "--all")).ShouldFailWith(ExitCodes.Usage);
        (await env.RunAsync("restore", "--all", "--cut", "2026", "--at", "2026-01-01T00:00:00Z")).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("no cut '19990101'", (await env.RunAsync("restore", "--all", "--cut", "19990101", "--dry-run")).ShouldFailWith(ExitCodes.SnapshotNotFound), StringComparison.Ordinal);

        var dry = (await env.RunAsync("--json", "restore", "--all", "--dry-run")).ShouldSucceed().Json;
        Assert.Equal(System.Text.Json.JsonValueKind.Null, dry.GetProperty("cut").ValueKind);
        Assert.StartsWith("no cut at all", dry.GetProperty("basis").GetString(), StringComparison.Ordinal);
        var configuration = dry.GetProperty("components").EnumerateArray().Single(c => c.GetProperty("component").GetString() == "configuration");
        Assert.Equal("its own newest point", configuration.GetProperty("from").GetString());
        Assert.NotEqual(System.Text.Json.JsonValueKind.Null, configuration.GetProperty("point").ValueKind);
    }

    [Fact]
    public async Task Backup_UnknownComponent_OneLineWithTheSuggestionExit60RecordedAndNothingBackedUp()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("bad-component", files: 1);

        var line = (await env.RunAsync("backup", "configuraton")).ShouldFailWith(ExitCodes.UnknownComponent);
        Assert.Contains("unknown component 'configuraton'", line, StringComparison.Ordinal);
        Assert.Contains("configuration", line, StringComparison.Ordinal);
        var record = (await env.RunAsync("audit", "--json")).ShouldSucceed().Json.GetProperty("records").EnumerateArray().Single();
        Assert.Equal(("backup", "configuraton", "failed"), (record.GetProperty("action").GetString(), record.GetProperty("component").GetString(), record.GetProperty("outcome").GetString()));
        Assert.False(Directory.Exists(Path.Combine(env.VaultA, "snapshots")), "something was backed up");
        Assert.Equal("red", (await env.StatusAsync()).GetProperty("color").GetString());

        // the record beside the (not yet created) vault does not stand in the way of the first real backup
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
    }

    [Fact]
    public async Task Backup_PrimaryUnreachable_OneLineExit61FailureRecordedElsewhereStatusRedNothingCopied()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("bad-location", files: 1, primary: "../blocker/vault");
        await File.WriteAllTextAsync(env.Dir.Combine("blocker"), "a file where the primary's directory should be");

        var line = (await env.RunAsync("backup", "configuration")).ShouldFailWith(ExitCodes.LocationUnavailable);
        Assert.Contains("location 'a' is unavailable", line, StringComparison.Ordinal);
        var record = (await env.RunAsync("audit", "--json", "--component", "configuration")).ShouldSucceed().Json.GetProperty("records").EnumerateArray().Single();
        Assert.Equal("failed", record.GetProperty("outcome").GetString());
        Assert.Contains("location 'a'", record.GetProperty("message").GetString(), StringComparison.Ordinal);

        var status = await env.RunAsync("status");
        Assert.Contains("configuration", status.ShouldFailWith(ExitCodes.StatusRed), StringComparison.Ordinal);
        Assert.Contains("'a' cannot be read", status.Stdout, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(env.VaultB, "snapshots")), "a point was copied although the primary has none");
        (await env.RunAsync("vault", "snapshots", "--repo", env.Tertiary)).ShouldFailWith(ExitCodes.RepositoryNotFound); // no vault made there
    }

    [Fact]
    public async Task Backup_WrongPassword_OneLineExit12FailureRecordedStatusRedAndTheVaultUnchanged()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("bad-password", files: 1);
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        env.ChangeData(seed: 3);

        var wrong = await env.Runner.RunAsync(["backup", "configuration"], new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = "not-the-password" });
        Assert.Contains("password", wrong.ShouldFailWith(ExitCodes.WrongPassword), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["ok", "failed"], (await env.AuditAsync()).Select(r => r.GetProperty("outcome").GetString()));

        var status = await env.RunAsync("status");
        status.ShouldFailWith(ExitCodes.StatusRed);
        Assert.Contains("the last backup", status.Stdout, StringComparison.Ordinal);
        Assert.Equal(1, RecoveryCrashEnvironment.Snapshots(env.VaultA));
        Assert.Equal(1, RecoveryCrashEnvironment.Snapshots(env.VaultB));
        await env.AssertEveryLocationChecksAsync();
    }

    [Fact]
    public async Task Backup_FailingPreHook_OneLineWithTheHooksErrorExit1FailureRecordedStatusRed()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("bad-hook", files: 1,
            hooks: "    hooks: { pre: \"if [ -f fail ]; then echo cache flush refused >&2; exit 3; fi\", timeout: 30s }\n");
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        await File.WriteAllTextAsync(env.App("fail"), "");
        env.ChangeData(seed: 4);

        var line = (await env.RunAsync("backup", "configuration")).ShouldFailWith(ExitCodes.Failure);
        Assert.Contains("pre-backup hook of component 'configuration' exited with code 3", line, StringComparison.Ordinal);
        Assert.Contains("cache flush refused", line, StringComparison.Ordinal);
        var records = await env.AuditAsync();
        Assert.Equal(["ok", "failed"], records.Select(r => r.GetProperty("outcome").GetString()));
        Assert.Contains("exited with code 3", records[1].GetProperty("message").GetString(), StringComparison.Ordinal);

        var status = await env.StatusAsync();
        Assert.Equal("red", status.GetProperty("color").GetString());
        Assert.Contains("failed", status.GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, RecoveryCrashEnvironment.Snapshots(env.VaultA));
    }
}
