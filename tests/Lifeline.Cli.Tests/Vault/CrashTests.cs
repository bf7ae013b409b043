using Lifeline.Cli.Demo;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Vault;

/// <summary>A data set big enough that a backup, prune or copy of it takes a moment (shared, read-only).</summary>
public sealed class CrashDataFixture : IDisposable
{
    public const int Files = 24;
    public const int FileSize = 4 * 1024 * 1024;

    public CrashDataFixture()
    {
        Dir = new TestDirectory("crash-data");
        Big = Dir.Combine("big");
        TestData.WriteRandomFiles(Big, Files, FileSize, seed: 4242);
        Fingerprint = TreeComparer.FingerprintAsync(Big, default).GetAwaiter().GetResult();
    }

    internal TestDirectory Dir { get; }

    public string Big { get; }

    public long Bytes => (long)Files * FileSize;

    internal IReadOnlyList<FileFingerprint> Fingerprint { get; }

    public void Dispose() => Dir.Dispose();
}

/// <summary>
/// Crash safety with real child processes: <c>lifeline vault backup</c>, <c>prune</c> and <c>copy</c> are killed with
/// SIGKILL (whole process tree, no cleanup) at several points, found by polling the repository's directories with a
/// deadline. Afterwards <c>check</c> passes, earlier snapshots restore byte-identical and the next run reuses what the
/// killed one wrote.
/// </summary>
public sealed class CrashTests : IClassFixture<CrashDataFixture>
{
    private const int PackMiB = 2;
    private static readonly TimeSpan KillDeadline = TimeSpan.FromSeconds(90);
    private readonly CrashDataFixture _data;

    public CrashTests(CrashDataFixture data)
    {
        _data = data;
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(10, true)]
    [InlineData(24, true)]
    public async Task Backup_KilledWhileWriting_RepositoryChecksEarlierSnapshotRestoresNextBackupReuses(int packsBeforeKill, bool afterAnIndex)
    {
        using var ctx = new VaultTestContext("crash-backup");
        await ctx.InitAsync(PackMiB);
        var small = ctx.Dir.Combine("small");
        TestData.WriteSmallTree(small);
        var first = (await ctx.JsonAsync("backup", small, "--source", "small")).Json.GetProperty("snapshot").GetProperty("id").GetString()!;
        var packs = TestData.Packs(ctx.Repo).Count;
        var indexes = TestData.CountObjects(Path.Combine(ctx.Repo, "index"));

        using var child = ctx.Runner.Start(["vault", "backup", _data.Big, "--source", "big"]);
        var reached = await TestData.WaitUntilAsync(
            () => TestData.Packs(ctx.Repo).Count >= packs + packsBeforeKill && (!afterAnIndex || TestData.CountObjects(Path.Combine(ctx.Repo, "index")) > indexes),
            KillDeadline,
            giveUp: () => child.HasExited);
        var killedWhileRunning = await child.KillAsync();
        Assert.True(reached && killedWhileRunning, $"the kill point ({packsBeforeKill} packs, index: {afterAnIndex}) was not reached while the backup ran\n{await child.WaitAsync(KillDeadline)}");

        // A killed backup leaves a stale shared lock: it does not block check (shared) or the next backup.
        (await ctx.JsonAsync("check")).ShouldSucceed();
        var snapshots = (await ctx.JsonAsync("snapshots")).Json;
        Assert.Equal(1, snapshots.GetArrayLength());
        var restored = ctx.Dir.Combine("restored-small");
        (await ctx.JsonAsync("restore", first, "--target", restored)).ShouldSucceed();
        Assert.Empty(TreeComparer.Compare(await TreeComparer.FingerprintAsync(small, default), await TreeComparer.FingerprintAsync(Path.Combine(restored, "small"), default)));

        var next = (await ctx.JsonAsync("backup", _data.Big, "--source", "big")).Json;
        var added = next.GetProperty("dataAdded").GetInt64();
        if (afterAnIndex)
        {
            // at least one index file (8 packs of ~2 MiB) was durable before the kill: that data is not sent again
            Assert.True(added <= _data.Bytes - (8L * 1024 * 1024), $"the next backup added {added} of {_data.Bytes} bytes: it did not reuse the killed backup's packs");
        }

        (await ctx.JsonAsync("check", "--read-data")).ShouldSucceed();
        var big = ctx.Dir.Combine("restored-big");
        (await ctx.JsonAsync("restore", "latest", "--source", "big", "--target", big)).ShouldSucceed();
        Assert.Empty(TreeComparer.Compare(_data.Fingerprint, await TreeComparer.FingerprintAsync(Path.Combine(big, "big"), default)));
    }

    public enum PrunePoint
    {
        /// <summary>The first new pack of the rewrite appeared.</summary>
        Rewrite,

        /// <summary>The new index appeared (old index and packs not yet deleted).</summary>
        NewIndex,

        /// <summary>The first old pack disappeared (deletion under way).</summary>
        Delete,
    }

    [Theory]
    [InlineData(PrunePoint.Rewrite)]
    [InlineData(PrunePoint.NewIndex)]
    [InlineData(PrunePoint.Delete)]
    public async Task Prune_KilledAtPoint_RepositoryChecksAfterUnlockAndSnapshotRestores(PrunePoint point)
    {
        using var ctx = new VaultTestContext("crash-prune");
        await ctx.InitAsync(PackMiB);
        var data = ctx.Dir.Combine("data");
        TestData.WriteRandomFiles(data, 32, 2 * 1024 * 1024, seed: 7);
        await ctx.JsonAsync("backup", data);
        // rewrite every other file: the first snapshot's packs then mix used and unused blobs, so prune must rewrite them
        var rng = new Random(8);
        var buffer = new byte[2 * 1024 * 1024];
        foreach (var file in Directory.GetFiles(data).Order(StringComparer.Ordinal).Where((_, i) => i % 2 == 0))
        {
            rng.NextBytes(buffer);
            File.WriteAllBytes(file, buffer);
        }

        await ctx.JsonAsync("backup", data);
        var expected = await TreeComparer.FingerprintAsync(data, default);
        Assert.Equal(1, (await ctx.JsonAsync("forget", "--keep-last", "1")).Json.GetProperty("remove").GetArrayLength());
        var packsBefore = TestData.Packs(ctx.Repo);
        var indexDir = Path.Combine(ctx.Repo, "index");
        var indexBefore = Directory.GetFiles(indexDir).ToHashSet(StringComparer.Ordinal);

        using var child = ctx.Runner.Start(["vault", "prune"]);
        Func<bool> condition = point switch
        {
            PrunePoint.Rewrite => () => TestData.Packs(ctx.Repo).Any(p => !packsBefore.Contains(p)),
            PrunePoint.NewIndex => () => Directory.GetFiles(indexDir).Any(f => !f.Contains("/.tmp-", StringComparison.Ordinal) && !indexBefore.Contains(f)),
            _ => () => packsBefore.Any(p => !File.Exists(Path.Combine(ctx.Repo, p))),
        };
        var reached = await TestData.WaitUntilAsync(condition, KillDeadline, giveUp: () => child.HasExited);
        var killedWhileRunning = await child.KillAsync();
        Assert.True(reached && killedWhileRunning, $"the kill point {point} was not reached while prune ran\n{await child.WaitAsync(KillDeadline)}");

        // prune holds an exclusive lease (60 s): check reports it clearly; after 'unlock --remove-all' check passes
        var locked = (await ctx.RunAsync("vault", "check")).ShouldFailWith(ExitCodes.Locked);
        Assert.Contains("unlock", locked);
        Assert.True((await ctx.JsonAsync("unlock", "--remove-all")).Json.GetProperty("removed").GetInt32() >= 1);
        (await ctx.JsonAsync("check")).ShouldSucceed();
        var restored = ctx.Dir.Combine("restored");
        (await ctx.JsonAsync("restore", "latest", "--target", restored)).ShouldSucceed();
        Assert.Empty(TreeComparer.Compare(expected, await TreeComparer.FingerprintAsync(Path.Combine(restored, "data"), default)));

        // the next prune finishes the job
        (await ctx.JsonAsync("prune")).ShouldSucceed();
        (await ctx.JsonAsync("check", "--read-data")).ShouldSucceed();
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(12, true)]
    public async Task Copy_KilledWhileWriting_DestinationChecksAndNextCopyReuses(int packsBeforeKill, bool afterAnIndex)
    {
        using var ctx = new VaultTestContext("crash-copy");
        await ctx.InitAsync(PackMiB);
        await ctx.JsonAsync("backup", _data.Big);
        var dest = ctx.Dir.Combine("dest");
        await ctx.InitAsync(PackMiB, dest);
        var destIndex = Path.Combine(dest, "index");

        using var child = ctx.Runner.Start(["vault", "copy", "--to", dest], new Dictionary<string, string?> { ["LIFELINE_TO_PASSWORD"] = VaultTestContext.Password });
        var reached = await TestData.WaitUntilAsync(
            () => TestData.Packs(dest).Count >= packsBeforeKill && (!afterAnIndex || TestData.CountObjects(destIndex) > 0),
            KillDeadline,
            giveUp: () => child.HasExited);
        var killedWhileRunning = await child.KillAsync();
        Assert.True(reached && killedWhileRunning, $"the kill point ({packsBeforeKill} packs, index: {afterAnIndex}) was not reached while copy ran\n{await child.WaitAsync(KillDeadline)}");

        (await ctx.JsonAsync("check", "--repo", dest)).ShouldSucceed();
        Assert.Equal(0, (await ctx.JsonAsync("snapshots", "--repo", dest)).Json.GetArrayLength());
        Assert.Equal(1, (await ctx.JsonAsync("snapshots")).Json.GetArrayLength());

        var again = (await ctx.Runner.RunAsync(["vault", "--json", "copy", "--to", dest], new Dictionary<string, string?> { ["LIFELINE_TO_PASSWORD"] = VaultTestContext.Password }))
            .ShouldSucceed().Json;
        Assert.Equal(1, again.GetProperty("snapshotsCopied").GetInt32());
        if (afterAnIndex)
        {
            var copied = again.GetProperty("bytesCopied").GetInt64();
            Assert.True(copied <= _data.Bytes - (8L * 1024 * 1024), $"the next copy sent {copied} of {_data.Bytes} bytes: it did not reuse the killed copy's packs");
        }

        (await ctx.JsonAsync("check", "--read-data", "--repo", dest)).ShouldSucceed();
        var restored = ctx.Dir.Combine("restored");
        (await ctx.JsonAsync("restore", "latest", "--repo", dest, "--target", restored)).ShouldSucceed();
        Assert.Empty(TreeComparer.Compare(_data.Fingerprint, await TreeComparer.FingerprintAsync(Path.Combine(restored, "big"), default)));
    }
}
