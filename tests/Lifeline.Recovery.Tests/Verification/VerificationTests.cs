using System.Collections.Concurrent;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Verification;
using Lifeline.Recovery.Verification.Checks;
using Lifeline.Storage.Faults;

namespace Lifeline.Recovery.Tests.Verification;

/// <summary>Records every signal raised, as the incident manager would receive them.</summary>
internal sealed class RecordingSignals : IIncidentSignals
{
    public ConcurrentQueue<IncidentSignal> Raised { get; } = new();

    public Task RaiseAsync(IncidentSignal signal, CancellationToken cancellationToken = default)
    {
        Raised.Enqueue(signal);
        return Task.CompletedTask;
    }
}

/// <summary>The read-back of packs and the daily checks on real vaults in the file system.</summary>
public sealed class VerificationTests
{
    private static VerificationContext Context(RecoveryFixture f, RecoveryService? service = null, IIncidentSignals? signals = null, params string[] components) => new()
    {
        Plan = f.Plan,
        Service = service ?? f.Service,
        Locations = (service ?? f.Service).Locations,
        Components = components,
        ScratchDirectory = f.Dir.Combine("scratch"),
        Time = f.Time,
        Signals = signals,
    };

    private static async Task<List<EvidenceRecord>> EvidenceAsync(RecoveryService service) => await service.Evidence.ReadAsync().ToListAsync();

    [Fact]
    public async Task Backup_PackTornOnWrite_FailsNamingPackAndLocationAndKeepsEvidence()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        _ = f.Locations.Store("a"); // opened lazily: its fault-injecting store exists from here
        f.StoreOf("a").Add(new FaultRule { Kind = FaultKind.TearWrite, Operation = ObjectStoreOperation.PutIfAbsent, KeyPrefix = "data/", MaxHits = 1 });

        var result = await f.Service.BackupAsync(["configuration"]);

        var backup = Assert.Single(result);
        Assert.Equal(AuditOutcomes.Failed, backup.Outcome);
        Assert.IsType<Lifeline.Vault.PackReadBackException>(backup.Error);
        Assert.Contains("read-back (after-write)", backup.Message, StringComparison.Ordinal);
        Assert.Contains("vault-a", backup.Message, StringComparison.Ordinal);
        var vault = await f.Locations.OpenAsync("a");
        Assert.Empty(await vault.ListSnapshotsAsync().ToListAsync()); // not committed
        var evidence = Assert.Single(await EvidenceAsync(f.Service));
        Assert.Equal(("after-write", "configuration", "a", false), (evidence.Check, evidence.Component, evidence.Location, evidence.Passed));
        Assert.Contains("pack ", evidence.Summary, StringComparison.Ordinal);
        var failed = Assert.Single(await f.Service.Audit.ReadAsync().ToListAsync(), r => r.Action == AuditActions.Backup); // as stored and read back
        Assert.Equal((AuditOutcomes.Failed, AuditFailureKinds.ReadBack), (failed.Outcome, failed.FailureKind));

        var again = await f.Service.BackupComponentAsync("configuration"); // the fault is gone: the next backup succeeds
        Assert.Equal(AuditOutcomes.Ok, again.Outcome);
        Assert.Null(Assert.Single(await f.Service.Audit.ReadAsync().ToListAsync(), r => r.Outcome == AuditOutcomes.Ok).FailureKind);
        Assert.DoesNotContain((await f.Service.StatusAsync()).Checks, c => !c.Passed); // the ok backup supersedes the damaged write
    }

    [Fact]
    public async Task Backup_PackTornOnCopy_PointIsPartialAndTheCopyIsEvidence()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        _ = f.Locations.Store("b");
        f.StoreOf("b").Add(new FaultRule { Kind = FaultKind.TearWrite, Operation = ObjectStoreOperation.PutIfAbsent, KeyPrefix = "data/", MaxHits = 1 });

        var backup = await f.Service.BackupComponentAsync("configuration");

        Assert.Equal(AuditOutcomes.Partial, backup.Outcome);
        var b = Assert.Single(backup.Locations, l => l.Location == "b");
        Assert.False(b.Ok);
        Assert.Contains("read-back (after-copy)", b.Error, StringComparison.Ordinal);
        var evidence = Assert.Single(await EvidenceAsync(f.Service));
        Assert.Equal(("after-copy", "b"), (evidence.Check, evidence.Location));
        var record = (await f.Service.Audit.ReadAsync().ToListAsync()).Last();
        Assert.True(record.IncompressibleAdded is not null && record.RawDataAdded > 0, "the audit records the new and the incompressible bytes");
    }

    [Fact]
    public async Task Integrity_TruncatedPack_FailsForThatLocationOnly()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        var pack = Directory.EnumerateFiles(f.Dir.Combine("vault-a", "data"), "*", SearchOption.AllDirectories).First();
        await using (var file = new FileStream(pack, FileMode.Open))
        {
            file.SetLength(file.Length / 2);
        }

        var result = await VerificationRunner.BuiltIn().RunAsync(Context(f), ["integrity"]);

        var records = result.Records.ToDictionary(r => r.Location!);
        Assert.False(records["a"].Passed, records["a"].Summary);
        Assert.False(records["a"].Unreachable);
        Assert.True(records["b"].Passed, records["b"].Summary);
        Assert.True(records["c"].Passed, records["c"].Summary);
        Assert.Equal("check:integrity:a", Assert.Single(result.Signals).Cause);
    }

    [Fact]
    public async Task Integrity_SevenDailyRuns_ReadEveryPackOfEveryLocationOnce()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        for (var i = 0; i < 6; i++)
        {
            await File.WriteAllBytesAsync(Path.Combine(f.App, "conf", $"model-{i}.json"), System.Security.Cryptography.RandomNumberGenerator.GetBytes(40_000));
            await f.Service.BackupComponentAsync("configuration");
            f.Time.Advance(TimeSpan.FromMinutes(1));
        }

        var read = new Dictionary<string, double>();
        var packs = new Dictionary<string, double>();
        var subsets = new HashSet<double>();
        for (var day = 0; day < IntegrityCheck.Days; day++)
        {
            var result = await new IntegrityCheck().RunAsync(Context(f), CancellationToken.None);
            foreach (var r in result)
            {
                Assert.True(r.Passed, r.Summary);
                read[r.Location!] = read.GetValueOrDefault(r.Location!) + r.Numbers["packsRead"];
                packs[r.Location!] = r.Numbers["packs"];
                subsets.Add(r.Numbers["subset"]);
            }

            f.Time.Advance(TimeSpan.FromDays(1));
        }

        Assert.Equal(IntegrityCheck.Days, subsets.Count);
        Assert.All(packs, p => Assert.True(p.Value > 1, $"{p.Key} has {p.Value} packs"));
        Assert.Equal(packs, read); // the subsets partition the packs: each read exactly once in 7 days
    }

    private static async Task AppendBackupAsync(RecoveryFixture f, long bytes, long incompressible, long added, bool full = false)
    {
        f.Time.Advance(TimeSpan.FromHours(1));
        await f.Service.Audit.AppendAsync(new AuditRecord
        {
            Time = f.Time.GetUtcNow(), Action = AuditActions.Backup, Who = "tester", Host = "test-host", Component = "leads", Outcome = AuditOutcomes.Ok,
            Snapshot = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), Bytes = bytes, Full = full,
            DataAdded = added, RawDataAdded = added, IncompressibleAdded = incompressible,
        });
    }

    [Fact]
    public async Task SizeInRange_BackupEightyFivePercentSmaller_IsFlaggedWithTheNumbers()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        foreach (var bytes in new[] { 1_000_000L, 1_010_000, 990_000, 1_020_000, 1_000_000, 995_000 })
        {
            await AppendBackupAsync(f, bytes, 10_000, 50_000);
        }

        await AppendBackupAsync(f, 5_000_000_000, 10_000, 50_000, full: true); // another kind: learned apart, not compared
        await AppendBackupAsync(f, 150_000, 10_000, 50_000);

        var records = await new SizeInRangeCheck().RunAsync(Context(f, components: "leads"), CancellationToken.None);

        var size = Assert.Single(records, r => r.Check == "size-in-range");
        Assert.False(size.Passed);
        Assert.Contains("incremental backup", size.Summary, StringComparison.Ordinal);
        Assert.Contains("85 % smaller", size.Summary, StringComparison.Ordinal);
        Assert.Contains("median of 976.6 KiB", size.Summary, StringComparison.Ordinal);
        Assert.Equal(150_000.0, size.Numbers["bytes"]);
        Assert.Equal(6.0, size.Numbers["history"]);
        Assert.True(Assert.Single(records, r => r.Check == SizeInRangeCheck.IncompressibleCheck).Passed);
    }

    [Fact]
    public async Task SizeInRange_TooLittleHistory_PassesLearning()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await AppendBackupAsync(f, 1_000_000, 0, 10);
        await AppendBackupAsync(f, 10, 0, 10);

        var records = await new SizeInRangeCheck().RunAsync(Context(f, components: "leads"), CancellationToken.None);

        Assert.All(records, r => Assert.True(r.Passed));
        Assert.StartsWith("learning (1 of 5", Assert.Single(records, r => r.Check == "size-in-range").Summary, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Incompressible_SpikeOfNewUncompressibleData_RaisesItsOwnAlarm()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        foreach (var incompressible in new[] { 20_000L, 25_000, 18_000, 30_000, 22_000, 21_000 })
        {
            await AppendBackupAsync(f, 100_000_000, incompressible, 2_000_000);
        }

        await AppendBackupAsync(f, 100_000_000, 60_000_000, 62_000_000); // the same size: only the new data gives it away
        var signals = new RecordingSignals();

        var result = await VerificationRunner.BuiltIn().RunAsync(Context(f, signals: signals, components: "leads"), ["size-in-range"]);

        Assert.True(result.Records.Single(r => r.Check == "size-in-range").Passed);
        var alarm = result.Records.Single(r => r.Check == SizeInRangeCheck.IncompressibleCheck);
        Assert.False(alarm.Passed);
        Assert.Contains("57.2 MiB of new data did not compress", alarm.Summary, StringComparison.Ordinal);
        var signal = Assert.Single(signals.Raised);
        Assert.Equal(("check:incompressible:leads", Severities.Critical), (signal.Cause, signal.Severity));
    }

    [Fact]
    public async Task Replication_NewestPointMissingInOneLocation_IsFlaggedByPosition()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromMinutes(5));
        await File.WriteAllTextAsync(Path.Combine(f.App, "conf", "api.json"), "{ \"port\": 9090 }\n");
        f.StoreOf("c").Add(new FaultRule { Operation = ObjectStoreOperation.PutIfAbsent, KeyPrefix = "snapshots/", Exception = _ => new IOException("object storage refuses writes") });
        var second = await f.Service.BackupComponentAsync("configuration");
        f.StoreOf("c").Clear();

        var records = await new ReplicationCheck().RunAsync(Context(f, components: "configuration"), CancellationToken.None);

        var record = Assert.Single(records);
        Assert.False(record.Passed);
        Assert.Contains($"c lacks point {second.Point!.ShortId}", record.Summary, StringComparison.Ordinal);
        Assert.Equal(2.0, record.Numbers["points.a"]);
        Assert.Equal(1.0, record.Numbers["points.c"]);
    }

    [Fact]
    public async Task Run_LocationAtMissingPath_IsOneCauseForEveryComponentAndHealsWhenBack()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        Directory.Move(f.Dir.Combine("vault-c"), f.Dir.Combine("vault-c-away"));
        var signals = new RecordingSignals();
        var service = f.Reopen(); // a new process: c's vault is gone from its path

        // a build without the restore tests reports the one the plan names as not available
        var withoutRestoreTests = new VerificationRunner(VerificationRunner.BuiltInChecks().Where(c => c.Name != "restore-test"));
        var result = await withoutRestoreTests.RunAsync(Context(f, service, signals), ["integrity", "replication", "restore-test"]);

        Assert.True(result.Records.Count(r => r.Unreachable && r.Location == "c") >= 5, "integrity and every component's replication met the dead location");
        var down = Assert.Single(signals.Raised, s => s.Cause.StartsWith("location:", StringComparison.Ordinal));
        Assert.Equal(("location:c", SignalKinds.LocationDown), (down.Cause, down.Kind));
        Assert.DoesNotContain(signals.Raised, s => s.Cause.StartsWith("check:replication", StringComparison.Ordinal));
        var restoreTest = Assert.Single(result.Checks, c => c.Check == "restore-test");
        Assert.False(restoreTest.Available);

        if (Directory.Exists(f.Dir.Combine("vault-c")))
        {
            Directory.Delete(f.Dir.Combine("vault-c"), recursive: true); // what the dead run's store made at the path (its evidence copy)
        }

        Directory.Move(f.Dir.Combine("vault-c-away"), f.Dir.Combine("vault-c"));
        f.Time.Advance(TimeSpan.FromDays(1));
        var healed = new RecordingSignals();
        var again = await VerificationRunner.BuiltIn().RunAsync(Context(f, f.Reopen(), healed), ["integrity", "replication"]);

        Assert.True(again.Passed, string.Join("\n", again.Records.Where(r => !r.Passed).Select(r => r.Summary)));
        var up = Assert.Single(healed.Raised);
        Assert.Equal(("location:c", true), (up.Cause, up.Healthy));
    }

    [Fact]
    public async Task BackupCompleted_NewestBackupFailed_FailsAndPassesAfterTheNextSuccess()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromHours(1));
        f.StoreOf("a").Add(new FaultRule { KeyPrefix = "", Operation = ObjectStoreOperation.PutIfAbsent, Exception = _ => new IOException("disk full") });
        _ = await f.Service.BackupAsync(["configuration"]);
        f.StoreOf("a").Clear();
        f.Time.Advance(TimeSpan.FromMinutes(1));

        var first = await VerificationRunner.BuiltIn().RunAsync(Context(f, components: "configuration"), ["backup-completed"]);

        var failed = Assert.Single(first.Records);
        Assert.False(failed.Passed);
        Assert.Contains("failed", failed.Summary, StringComparison.Ordinal);
        Assert.Equal(1.0, failed.Numbers["ok"]);

        f.Time.Advance(TimeSpan.FromMinutes(1));
        await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromMinutes(1));
        var signals = new RecordingSignals();
        var second = await VerificationRunner.BuiltIn().RunAsync(Context(f, signals: signals, components: "configuration"), ["backup-completed"]);

        Assert.True(second.Passed, second.Records.Single().Summary);
        Assert.Equal(("check:backup-completed:configuration", true), (signals.Raised.Single().Cause, signals.Raised.Single().Healthy));
        var status = await f.Service.StatusAsync();
        Assert.Contains(status.Checks, c => c.Check == "backup-completed" && c.Passed);
    }

    [Fact]
    public async Task Run_UnknownCheck_IsRefusedWithTheList()
    {
        await using var f = await RecoveryFixture.CreateAsync();

        var e = await Assert.ThrowsAsync<UnknownCheckException>(() => VerificationRunner.BuiltIn().RunAsync(Context(f), ["integrty"]));

        Assert.Contains("did you mean 'integrity'", e.Message, StringComparison.Ordinal);
    }
}
