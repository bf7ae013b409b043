using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Protection;
using Lifeline.Recovery.Status;
using Lifeline.Recovery.Tags;
using Lifeline.Registry.Tests;
using Lifeline.Storage.Faults;

namespace Lifeline.Recovery.Tests.Protection;

public sealed class ChangeProtectorTests
{
    private static async Task AppendAsync(LeadScoringLake lake, LeadGenerator generator, int commits)
    {
        for (var i = 0; i < commits; i++)
        {
            await lake.AppendLeadsAsync([generator.NextLead()]);
        }
    }

    private static async Task<long> ReplicatedAsync(ProtectionFixture f) =>
        await ProtectionLayout.LatestCommitAsync(f.Locations.Store("b"), ProtectionLayout.ReplicaRoot("leads"), CancellationToken.None);

    [Fact]
    public async Task Commit_ToTable_ShowsUpInTheSecondaryWithinSeconds()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        var lake = await f.SeedLakeAsync();
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);

        await AppendAsync(lake, new LeadGenerator(9, DateTimeOffset.UnixEpoch, 1000), 3);
        var version = await f.Leads.GetLatestVersionAsync();

        await ProtectionFixture.WaitForAsync(async () => await ReplicatedAsync(f) == version, $"leads version {version} in b", seconds: 10);
        var replica = f.ReplicaOf("leads");
        var report = await TableVerifier.VerifyAsync(replica, fullRead: true);
        Assert.True(report.Ok, string.Join("; ", report.Problems));
        Assert.Equal(await f.Leads.CountRowsAsync(await f.Leads.GetSnapshotAsync()), await replica.CountRowsAsync(await replica.GetSnapshotAsync()));
        Assert.Equal(version, sut.Positions.Single(p => p.Component == "leads").Version);
        Assert.Equal(DeploymentServiceStatus.Running, sut.State.Status);
    }

    [Fact]
    public async Task HundredCommits_WhileRunning_AreCoalescedIntoFewRounds()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        var lake = await f.SeedLakeAsync();
        // the poll alone (a log watcher starts a round per commit when the rounds keep up: the next test)
        await using var sut = f.CreateSut(new ChangeProtectorOptions { PollInterval = TimeSpan.FromMilliseconds(250), SnapshotInterval = TimeSpan.FromMinutes(1), WatchTableLogs = false });
        await sut.StartAsync(CancellationToken.None);
        var before = sut.Counters;
        var clock = System.Diagnostics.Stopwatch.StartNew();

        await AppendAsync(lake, new LeadGenerator(9, DateTimeOffset.UnixEpoch, 1000), 100);
        var version = await f.Leads.GetLatestVersionAsync();
        await ProtectionFixture.WaitForAsync(async () => await ReplicatedAsync(f) == version, $"leads version {version} in b");

        // one round per poll at most, each copying every commit made since the last: fewer rounds than commits, and no
        // more than the polls that fit in the time the commits took (however slowly a busy machine made them)
        var rounds = sut.Counters.ReplicationRounds - before.ReplicationRounds;
        var polls = (int)(clock.Elapsed / TimeSpan.FromMilliseconds(250)) + 2;
        Assert.InRange(rounds, 1, Math.Min(99, polls));
        Assert.InRange(sut.Counters.SnapshotRounds, 0, 2); // vault snapshots follow the coarse interval, not the commits
    }

    [Fact]
    public async Task ConfigurationFile_Changed_IsBackedUpWithinSeconds()
    {
        await using var f = await ProtectionFixture.CreateAsync(configuration: true);
        await f.SeedLakeAsync();
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.Counters.ConfigurationBackups >= 1, "the start's configuration backup");
        var first = sut.Positions.Single(p => p.Component == "configuration").Point;

        await File.WriteAllTextAsync(f.Dir.Combine("app", "conf", "api.json"), "{ \"port\": 9090 }\n");

        await ProtectionFixture.WaitForAsync(() => sut.Counters.ConfigurationBackups >= 2, "a backup of the changed file", seconds: 15);
        var second = sut.Positions.Single(p => p.Component == "configuration").Point;
        Assert.NotEqual(first, second);
        var points = await Lifeline.Recovery.Locations.PointCatalog.ListAsync(f.Locations, "b", "configuration", CancellationToken.None);
        Assert.Contains(points.Points, p => p.Point.Id == second); // copied onward
    }

    [Fact]
    public async Task JobDefinitionFile_Changed_IsBackedUpWithinSeconds()
    {
        await using var f = await ProtectionFixture.CreateAsync(jobs: true);
        await File.WriteAllTextAsync(f.Dir.Combine("lifeline.yaml"), "# the plan file, watched as a job definition\n");
        await f.SeedLakeAsync();
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.Positions.Any(p => p.Component == "jobs" && p.Point is not null), "the start's jobs backup");
        var first = sut.Positions.Single(p => p.Component == "jobs").Point;

        await File.WriteAllTextAsync(f.Dir.Combine("app", "jobs", "train.yaml"), "schedule: '0 3 * * *'\n");

        await ProtectionFixture.WaitForAsync(() => sut.Positions.Single(p => p.Component == "jobs").Point != first, "a backup of the changed job definition", seconds: 15);
        var second = sut.Positions.Single(p => p.Component == "jobs").Point;
        var points = await Lifeline.Recovery.Locations.PointCatalog.ListAsync(f.Locations, "b", "jobs", CancellationToken.None);
        Assert.Contains(points.Points, p => p.Point.Id == second); // copied onward
    }

    [Fact]
    public async Task RegistryWrite_TriggersACoalescedBackup()
    {
        await using var f = await ProtectionFixture.CreateAsync(registry: true);
        await f.SeedLakeAsync();
        await using var registry = await RegistryTestServer.StartAsync(f.RegistryDirectory);
        await registry.Client().CreateRegisteredModelAsync("first");
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups >= 1, "the start's registry backup");
        var before = sut.Counters.RegistryBackups;

        for (var i = 0; i < 5; i++)
        {
            await registry.Client().CreateRegisteredModelAsync($"model-{i}");
        }

        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups > before, "a backup after the registry writes", seconds: 20);
        Assert.InRange(sut.Counters.RegistryBackups - before, 1, 3); // five writes, gathered
        var position = sut.Positions.Single(p => p.Component == "registry");
        var inB = await Lifeline.Recovery.Locations.PointCatalog.ListAsync(f.Locations, "b", "registry", CancellationToken.None);
        Assert.Contains(inB.Points, p => p.Point.Id == position.Point);
    }

    [Fact]
    public async Task RegistryWrites_EveryFewHundredMilliseconds_AreBackedUpAtMostOncePerCoalesce()
    {
        // writes spaced wider than the debounce (200 ms) each look quiet; the policy's coalesce (2 s) is the least time
        // between two backups, so eight seconds of them make about four backups, not one per write
        await using var f = await ProtectionFixture.CreateAsync(registry: true);
        await f.SeedLakeAsync();
        await using var registry = await RegistryTestServer.StartAsync(f.RegistryDirectory);
        await registry.Client().CreateRegisteredModelAsync("first");
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups >= 1, "the start's registry backup");
        var before = sut.Counters.RegistryBackups;

        var writes = 0;
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var pace = new PeriodicTimer(TimeSpan.FromMilliseconds(400)); // the load's pace, not a synchronisation
        while (clock.Elapsed < TimeSpan.FromSeconds(8))
        {
            await registry.Client().CreateRegisteredModelAsync($"model-{writes++}");
            await pace.WaitForNextTickAsync();
        }

        var afterWrites = sut.Counters.RegistryBackups;
        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups > afterWrites, "the backup of the last writes", seconds: 20);
        var backups = sut.Counters.RegistryBackups - before;
        Assert.True(writes >= 15, $"{writes} writes");
        Assert.InRange(backups, 2, 6); // 8 s / 2 s, the first may come at once, and the last writes' own
        var last = sut.Positions.Single(p => p.Component == "registry");
        var inB = await Lifeline.Recovery.Locations.PointCatalog.ListAsync(f.Locations, "b", "registry", CancellationToken.None);
        Assert.Contains(inB.Points, p => p.Point.Id == last.Point);
    }

    [Fact]
    public async Task RegistryOnPostgres_Write_IsDetectedByTheChangeQueryAndBackedUp()
    {
        await using var schema = await Lifeline.Recovery.Tests.Scheduling.PostgresSchema.CreateAsync();
        await using var f = await ProtectionFixture.CreateAsync(registry: true, registryPostgres: schema.ConnectionString);
        await f.SeedLakeAsync();
        await using var registry = await RegistryTestServer.StartAsync(f.RegistryDirectory, postgres: schema.ConnectionString);
        await registry.Client().CreateRegisteredModelAsync("first");
        await using var sut = f.CreateSut(new ChangeProtectorOptions { PostgresPollInterval = TimeSpan.FromMilliseconds(200) });
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups >= 1, "the start's registry backup");
        var before = sut.Counters.RegistryBackups;
        var firstPoint = sut.Positions.Single(p => p.Component == "registry").Point;

        await registry.Client().CreateRegisteredModelAsync("second");

        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups > before, "a backup after the write to PostgreSQL", seconds: 20);
        var position = sut.Positions.Single(p => p.Component == "registry");
        Assert.NotEqual(firstPoint, position.Point);
        Assert.Null(position.Error);
        var inB = await Lifeline.Recovery.Locations.PointCatalog.ListAsync(f.Locations, "b", "registry", CancellationToken.None);
        Assert.Contains(inB.Points, p => p.Point.Id == position.Point);
    }

    [Fact]
    public async Task RegistryIdle_AfterTheStartBackup_IsNotBackedUpAgain()
    {
        // the native backup's own connection empties the WAL when it closes (its mtime moves, its content does not): that
        // must not count as a change, or the registry is backed up again and again while nothing writes to it
        await using var f = await ProtectionFixture.CreateAsync(registry: true);
        await f.SeedLakeAsync();
        await using var registry = await RegistryTestServer.StartAsync(f.RegistryDirectory);
        await registry.Client().CreateRegisteredModelAsync("first");
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups >= 1, "the start's registry backup");
        var beats = sut.Counters.Heartbeats;
        await ProtectionFixture.WaitForAsync(() => sut.Counters.Heartbeats >= beats + 8, "eight heartbeats (about thirty polls of the registry)", seconds: 30);
        Assert.InRange(sut.Counters.RegistryBackups, 1, 2); // the start's, and one more when the WAL the start found non-empty is emptied
    }

    [Fact]
    public async Task Cut_AfterRegistryBackup_NamesTheRegistryPointAndTheTableVersion()
    {
        await using var f = await ProtectionFixture.CreateAsync(registry: true);
        var lake = await f.SeedLakeAsync();
        await using var registry = await RegistryTestServer.StartAsync(f.RegistryDirectory);
        await registry.Client().CreateRegisteredModelAsync("first");
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.Counters.RegistryBackups >= 1, "the start's registry backup");
        await AppendAsync(lake, new LeadGenerator(9, DateTimeOffset.UnixEpoch, 1000), 2);
        var version = await f.Leads.GetLatestVersionAsync();
        await ProtectionFixture.WaitForAsync(async () => await ReplicatedAsync(f) == version, "leads replicated");
        var written = DateTimeOffset.UtcNow;

        await registry.Client().CreateRegisteredModelAsync("second");
        CutRecord? cut = null;
        await ProtectionFixture.WaitForAsync(async () =>
            (cut = (await CutLog.ListAsync(f.Locations.Store("b"), CancellationToken.None)).Select(c => c.Cut).LastOrDefault(c => c.Time >= written && c.RegistryPoint is not null)) is not null,
            "a cut recorded by the registry backup after the write");

        Assert.Equal("registry", cut!.Registry);
        Assert.Equal(version, cut.Tables["leads"].Version);
        var inB = await Lifeline.Recovery.Locations.PointCatalog.ListAsync(f.Locations, "b", "registry", CancellationToken.None);
        Assert.Contains(inB.Points, p => p.Point.Id == cut.RegistryPoint && p.Point.Time >= written.AddSeconds(-1));
        var atOrBefore = await CutLog.FindAtAsync(f.Locations.Store("b"), cut.Time.AddMilliseconds(1), CancellationToken.None);
        Assert.Equal((cut.Time, cut.RegistryPoint), (atOrBefore!.Time, atOrBefore.RegistryPoint)); // what restore --at would pick
    }

    [Fact]
    public async Task Heartbeat_WhileRunning_MeasuresAFreshRecoveryPointAndStatusShowsIt()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        await f.SeedLakeAsync();
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);

        await ProtectionFixture.WaitForAsync(() => sut.RecoveryPointAge is { } age && age < TimeSpan.FromSeconds(2), "a heartbeat younger than 2 s in b");

        var status = (await f.Service.StatusAsync()).Components.Single(c => c.Component == "leads");
        Assert.NotNull(status.Continuous);
        Assert.Equal("b", status.Continuous.Location);
        Assert.True(status.Continuous.Heartbeat >= sut.HeartbeatInSecondary!.Value.AddSeconds(-1));
        Assert.Contains("heartbeat", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SecondaryUnreachable_RecoveryPointAgeGrowsAndRecovers()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        var lake = await f.SeedLakeAsync();
        await using var sut = f.CreateSut();
        await sut.StartAsync(CancellationToken.None);
        await ProtectionFixture.WaitForAsync(() => sut.RecoveryPointAge is { } age && age < TimeSpan.FromSeconds(2), "a fresh heartbeat in b");

        f.StoreOf("b").Add(new FaultRule { KeyPrefix = ProtectionLayout.ReplicaPrefix });
        await AppendAsync(lake, new LeadGenerator(9, DateTimeOffset.UnixEpoch, 1000), 1);

        await ProtectionFixture.WaitForAsync(() => sut.RecoveryPointAge > TimeSpan.FromSeconds(3), "the recovery point ageing while b is down");
        Assert.Equal(DeploymentServiceStatus.Degraded, sut.State.Status);
        Assert.NotNull(sut.Positions.Single(p => p.Component == "leads").Error);

        f.StoreOf("b").Clear();
        await ProtectionFixture.WaitForAsync(() => sut.RecoveryPointAge < TimeSpan.FromSeconds(2), "a fresh heartbeat once b is back");
        Assert.Equal(await f.Leads.GetLatestVersionAsync(), await ReplicatedAsync(f));
    }

    [Fact]
    public async Task Commit_WhileAVaultSnapshotHoldsItsThreads_ReachesTheSecondary()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        var lake = await f.SeedLakeAsync();
        using var release = new ManualResetEventSlim();
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // every write of a vault snapshot into the primary holds its thread (synchronously, as CPU-bound work does)
        // until the test releases it: the snapshot cannot finish, and its threads are taken from the pool
        f.StoreOf("a").Add(new FaultRule
        {
            KeyPrefix = "data/",
            Exception = _ =>
            {
                entered.TrySetResult();
                release.Wait(TimeSpan.FromMinutes(1));
                return new IOException("released by the test");
            },
        });
        await using var sut = f.CreateSut(new ChangeProtectorOptions { SnapshotInterval = TimeSpan.FromMilliseconds(1) });
        try
        {
            await sut.StartAsync(CancellationToken.None);
            await AppendAsync(lake, new LeadGenerator(9, DateTimeOffset.UnixEpoch, 1000), 1);
            await entered.Task.WaitAsync(TimeSpan.FromSeconds(60)); // a snapshot of leads is stuck in its write

            await AppendAsync(lake, new LeadGenerator(10, DateTimeOffset.UnixEpoch, 1000), 2);
            var version = await f.Leads.GetLatestVersionAsync();

            await ProtectionFixture.WaitForAsync(async () => await ReplicatedAsync(f) == version, $"leads version {version} in b while the snapshot hangs", seconds: 10);
            Assert.Equal(0, sut.Counters.SnapshotRounds); // still hanging: replication did not wait for it
        }
        finally
        {
            release.Set();
        }
    }

    [Fact]
    public async Task Commit_ToALocalTable_StartsARoundWithoutWaitingForThePoll()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        var lake = await f.SeedLakeAsync();
        var rounds = new System.Collections.Concurrent.ConcurrentQueue<ReplicationRound>();
        await using var sut = f.CreateSut(new ChangeProtectorOptions { PollInterval = TimeSpan.FromMinutes(10), RoundObserver = rounds.Enqueue });
        await sut.StartAsync(CancellationToken.None);
        // the start round copies whatever is there when it runs: commit only after it, so only a watch round can copy it
        await ProtectionFixture.WaitForAsync(() => Task.FromResult(rounds.Any(r => r is { Trigger: "start", Stage: "ended" })), "the start round's end", seconds: 20);

        await AppendAsync(lake, new LeadGenerator(9, DateTimeOffset.UnixEpoch, 1000), 1);
        var version = await f.Leads.GetLatestVersionAsync();

        // the poll is ten minutes away: only the log watcher can have started the round that copied it
        await ProtectionFixture.WaitForAsync(async () => await ReplicatedAsync(f) == version, $"leads version {version} in b", seconds: 20);
        // a round reports its end after its copies land: wait for the report rather than race it
        await ProtectionFixture.WaitForAsync(() => Task.FromResult(rounds.Any(r => r is { Trigger: "watch", Stage: "ended", VersionsCopied: > 0 })), "a watch round's end that copied the commit", seconds: 20);
        Assert.All(rounds, r => Assert.Contains(r.Trigger, new[] { "start", "watch" }));
    }
}
