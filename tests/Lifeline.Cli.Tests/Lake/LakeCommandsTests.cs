using System.Diagnostics;
using System.Text.Json;

namespace Lifeline.Cli.Tests.Lake;

/// <summary><c>lifeline lake</c> run as a real process.</summary>
public sealed class LakeCommandsTests() : LakeTestDirectory("lifeline-lake-cli-tests")
{
    private static string GoldenDir()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "testdata", "delta-golden");
            if (Directory.Exists(candidate))
            {
                return Path.GetFullPath(candidate);
            }
        }

        return Environment.GetEnvironmentVariable("LIFELINE_DELTA_GOLDEN") ?? throw new InvalidOperationException("golden tables not found");
    }

    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["LIFELINE_PASSWORD"] = "lake-test-password";
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lifeline.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(120));
        return (p.ExitCode, await stdout, await stderr);
    }

    [Fact]
    public async Task SeedShowReplicateVerify_OnOwnLake_Works()
    {
        var lake = Path.Combine(Dir, "lake");
        var seed = await RunAsync("lake", "seed", lake, "--leads", "500", "--batches", "2", "--json");
        Assert.Equal(0, seed.Code);

        var show = await RunAsync("lake", "show", Path.Combine(lake, "leads"), "--version", "1", "--json");
        Assert.Equal(0, show.Code);
        using var doc = JsonDocument.Parse(show.Out);
        Assert.Equal(1, doc.RootElement.GetProperty("version").GetInt64());
        Assert.Equal(250, doc.RootElement.GetProperty("rowCount").GetInt64());
        Assert.All(doc.RootElement.GetProperty("files").EnumerateArray(), f => Assert.StartsWith("created_date=", f.GetString(), StringComparison.Ordinal));

        var replica = Path.Combine(Dir, "replica");
        var rep = await RunAsync("lake", "replicate", Path.Combine(lake, "leads"), replica, "--json");
        Assert.Equal(0, rep.Code);
        using var repDoc = JsonDocument.Parse(rep.Out);
        Assert.Equal(0, repDoc.RootElement.GetProperty("lagVersions").GetInt64());

        var verify = await RunAsync("lake", "verify", replica, "--full");
        Assert.Equal(0, verify.Code);
        Assert.Contains("ok", verify.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BackupRestore_ThroughTheVault_RestoresAnEarlierVersion()
    {
        var lake = Path.Combine(Dir, "lake");
        Assert.Equal(0, (await RunAsync("lake", "seed", lake, "--leads", "300", "--batches", "3")).Code);
        var repo = Path.Combine(Dir, "vault");
        var backup = await RunAsync("lake", "backup", Path.Combine(lake, "leads"), "--repo", repo, "--init", "--staging", Path.Combine(Dir, "staging"), "--json");
        Assert.True(backup.Code == 0, backup.Err);
        using (var doc = JsonDocument.Parse(backup.Out))
        {
            Assert.Equal(3, doc.RootElement.GetProperty("version").GetInt64());
        }

        var restored = Path.Combine(Dir, "restored");
        var restore = await RunAsync("lake", "restore", restored, "--repo", repo, "--from", Path.Combine(lake, "leads"), "--version", "2", "--json");
        Assert.True(restore.Code == 0, restore.Err);
        using var show = JsonDocument.Parse((await RunAsync("lake", "show", restored, "--json")).Out);
        Assert.Equal(2, show.RootElement.GetProperty("version").GetInt64());
        Assert.Equal(200, show.RootElement.GetProperty("rowCount").GetInt64());

        var wrong = await RunAsync("lake", "restore", Path.Combine(Dir, "other"), "--repo", Path.Combine(Dir, "no-vault"), "--from", lake);
        Assert.Equal(10, wrong.Code);
    }

    [Fact]
    public async Task Demo_SeedsBacksUpLosesAndRestores()
    {
        var result = await RunAsync("lake", "demo", "--dir", Path.Combine(Dir, "demo"));
        Assert.True(result.Code == 0, result.Out + result.Err);
        Assert.Contains("restored leads in place at version 6: 6000 rows", result.Out, StringComparison.Ordinal);
        Assert.Contains("restored leads as of version 2: 2000 rows", result.Out, StringComparison.Ordinal);
        Assert.Contains("verify restored table: ok", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LsHistoryVacuum_OnSeededLake_Work()
    {
        var lake = Path.Combine(Dir, "lake");
        Assert.Equal(0, (await RunAsync("lake", "seed", lake, "--leads", "100", "--batches", "2")).Code);
        var ls = await RunAsync("lake", "ls", lake, "--json");
        Assert.Equal(0, ls.Code);
        using (var doc = JsonDocument.Parse(ls.Out))
        {
            Assert.Equal(5, doc.RootElement.GetArrayLength());
        }

        var history = await RunAsync("lake", "history", Path.Combine(lake, "leads"), "--json");
        Assert.Equal(0, history.Code);
        using (var doc = JsonDocument.Parse(history.Out))
        {
            Assert.Equal(["CREATE TABLE", "WRITE", "WRITE"], doc.RootElement.EnumerateArray().Select(e => e.GetProperty("operation").GetString()));
        }

        var refused = await RunAsync("lake", "vacuum", Path.Combine(lake, "leads"), "--retention-hours", "0");
        Assert.Equal(22, refused.Code);
        Assert.Contains("shorter than delta.deletedFileRetentionDuration", refused.Err, StringComparison.Ordinal);
        var vacuum = await RunAsync("lake", "vacuum", Path.Combine(lake, "leads"), "--retention-hours", "0", "--force", "--json");
        Assert.Equal(0, vacuum.Code);
        using (var doc = JsonDocument.Parse(vacuum.Out))
        {
            Assert.Equal(0, doc.RootElement.GetProperty("deleted").GetArrayLength());
        }
    }

    [Fact]
    public async Task Optimize_SeededConversions_CompactsInOneLineAndVerifies()
    {
        var lake = Path.Combine(Dir, "lake");
        Assert.Equal(0, (await RunAsync("lake", "seed", lake, "--leads", "100", "--batches", "2")).Code);
        var table = Path.Combine(lake, "conversions");

        var bad = await RunAsync("lake", "optimize", table, "--target-size", "lots");
        Assert.Equal(2, bad.Code);
        Assert.Contains("--target-size 'lots' is not a size", bad.Err, StringComparison.Ordinal);

        var run = await RunAsync("lake", "optimize", table, "--target-size", "64MiB");
        Assert.Equal(0, run.Code);
        Assert.Single(run.Out.Trim().Split('\n'));
        Assert.Contains("OPTIMIZE committed version 3: 2 files", run.Out, StringComparison.Ordinal);

        var again = await RunAsync("lake", "optimize", table, "--json");
        Assert.Equal(0, again.Code);
        using (var doc = JsonDocument.Parse(again.Out))
        {
            Assert.Equal(JsonValueKind.Null, doc.RootElement.GetProperty("version").ValueKind);
            Assert.Equal(1, doc.RootElement.GetProperty("candidateFiles").GetInt64());
        }

        Assert.Equal(0, (await RunAsync("lake", "verify", table, "--full")).Code);
    }

    [Fact]
    public async Task Show_GoldenTableByVersion_PrintsFilesAndRows()
    {
        var result = await RunAsync("lake", "show", Path.Combine(GoldenDir(), "snapshot-data3"), "--version", "2", "--json");
        Assert.Equal(0, result.Code);
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(2, doc.RootElement.GetProperty("version").GetInt64());
        Assert.Equal(10, doc.RootElement.GetProperty("rowCount").GetInt64());
        Assert.Equal(2, doc.RootElement.GetProperty("files").GetArrayLength());
    }

    [Theory]
    [InlineData("no-delta-log-folder", 20, "not a Delta table")]
    [InlineData("dv-with-columnmapping", 21, "'deletionVectors'")]
    [InlineData("versions-not-contiguous", 22, "00000000000000000001.json")]
    [InlineData("checkpoint", 22, "data file 15 is missing")]
    public async Task Show_BadTable_OneClearLineAndExitCode(string table, int code, string message)
    {
        var result = await RunAsync("lake", "show", Path.Combine(GoldenDir(), table), "--json");
        Assert.Equal(code, result.Code);
        var line = Assert.Single(result.Err.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Contains(table, line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Err, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_UnknownVersion_ExitCode23()
    {
        var result = await RunAsync("lake", "show", Path.Combine(GoldenDir(), "snapshot-data1"), "--version", "9");
        Assert.Equal(23, result.Code);
        Assert.Contains("version 9", result.Err, StringComparison.Ordinal);
    }
}
