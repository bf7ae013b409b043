using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Lake;

/// <summary>
/// Crash safety of <c>lake replicate</c>: the real process is killed with SIGKILL part-way (found by polling the
/// replica's log with a deadline); the replica is then a consistent earlier version of the source, and the next run
/// brings it up to an exact copy that verifies.
/// </summary>
public sealed class LakeReplicateCrashTests
{
    [Fact]
    public async Task Replicate_KilledMidway_ReplicaIsAnEarlierVersionAndRerunMakesItEqual()
    {
        using var dir = new TestDirectory("lake-replicate-crash");
        var runner = new LifelineRunner(dir.Path);
        var lake = dir.Combine("lake");
        (await runner.RunAsync("lake", "seed", lake, "--leads", "1200", "--batches", "12", "--json")).ShouldSucceed();
        var source = Path.Combine(lake, "leads");
        var sourceVersion = Directory.GetFiles(Path.Combine(source, "_delta_log"), "*.json").Length - 1;
        Assert.True(sourceVersion >= 10, $"the seed made {sourceVersion + 1} commits");
        var replica = dir.Combine("replica");
        var replicaLog = Path.Combine(replica, "_delta_log");
        int Commits() => Directory.Exists(replicaLog) ? Directory.GetFiles(replicaLog, "*.json").Length : 0;

        // puts slowed (a test hook of the command line) so that the copy of 13 versions lasts a few seconds
        using var child = runner.Start(["lake", "replicate", source, replica], new Dictionary<string, string?> { ["LIFELINE_DEBUG_STORE_DELAY"] = "put=100ms" });
        var reached = await TestData.WaitUntilAsync(() => Commits() >= 4, TimeSpan.FromSeconds(90), giveUp: () => child.HasExited);
        var killedWhileRunning = await child.KillAsync();
        Assert.True(reached && killedWhileRunning, $"the kill point (4 commits in the replica) was not reached while replicate ran\n{await child.WaitAsync(TimeSpan.FromSeconds(30))}");
        var reachedVersion = Commits() - 1;
        Assert.InRange(reachedVersion, 3, sourceVersion - 1);

        // what the killed run left is the source as of an earlier version: it verifies and reads the same rows
        var partial = (await runner.RunAsync("--json", "lake", "verify", replica, "--full")).ShouldSucceed().Json;
        Assert.True(partial.GetProperty("ok").GetBoolean(), partial.ToString());
        Assert.Equal(reachedVersion, partial.GetProperty("version").GetInt64());
        var asOf = (await runner.RunAsync("--json", "lake", "show", source, "--version", reachedVersion.ToString(System.Globalization.CultureInfo.InvariantCulture))).ShouldSucceed().Json;
        Assert.Equal(asOf.GetProperty("rowCount").GetInt64(), partial.GetProperty("rowsRead").GetInt64());

        // the next run resumes from there and ends with an exact copy
        var rerun = (await runner.RunAsync("--json", "lake", "replicate", source, replica)).ShouldSucceed().Json;
        Assert.Equal(reachedVersion, rerun.GetProperty("targetVersionBefore").GetInt64());
        Assert.Equal(sourceVersion, rerun.GetProperty("targetVersion").GetInt64());
        Assert.Equal(0, rerun.GetProperty("lagVersions").GetInt64());
        var verify = (await runner.RunAsync("--json", "lake", "verify", replica, "--full")).ShouldSucceed().Json;
        Assert.True(verify.GetProperty("ok").GetBoolean(), verify.ToString());
        // The same files with the same bytes; the only extra a kill may leave is the store's temporary file of the put
        // it interrupted (".tmp-…", never read as part of the table).
        var copied = Files(replica);
        var leftovers = copied.Keys.Where(k => Path.GetFileName(k).StartsWith(".tmp-", StringComparison.Ordinal)).ToList();
        Assert.True(leftovers.Count <= 1, string.Join(", ", leftovers));
        foreach (var key in leftovers)
        {
            copied.Remove(key);
        }

        Assert.Equal(Files(source), copied);
    }

    /// <summary>Relative path → SHA-256 of every file of a table (log, checkpoints and data files).</summary>
    private static SortedDictionary<string, string> Files(string root) => new(
        Directory.GetFiles(root, "*", SearchOption.AllDirectories).ToDictionary(
            f => Path.GetRelativePath(root, f),
            f => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))),
        StringComparer.Ordinal);
}
