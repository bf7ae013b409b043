using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Plan;
using Lifeline.Storage;
using Lifeline.Storage.Faults;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Recovery.Tests.Audit;

public sealed class AuditLogTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Append_SeveralRecords_ReadsThemBackInTimeOrderRedacted()
    {
        using var dir = new TempDirectory();
        var log = new ObjectStoreAuditLog([new FileSystemObjectStore(dir.Combine("a"))]);

        await log.AppendAsync(Record(T0.AddMinutes(1), "restore", ["restore", "leads", "--password=pw1"]));
        await log.AppendAsync(Record(T0, "backup", ["backup", "--all", "--token", "tok1"]) with { Message = "failed: API_TOKEN=tok2 rejected" });
        await log.AppendAsync(Record(T0.AddMinutes(2), AuditActions.KeyChange, ["vault", "key", "add"]));

        var records = await log.ReadAsync().ToListAsync();

        Assert.Equal(["backup", "restore", AuditActions.KeyChange], records.Select(r => r.Action));
        Assert.Equal(["backup", "--all", "--token", "***"], records[0].Arguments);
        Assert.Equal("failed: API_TOKEN=*** rejected", records[0].Message);
        Assert.Equal(["restore", "leads", "--password=***"], records[1].Arguments);
        Assert.Equal(TimeSpan.FromSeconds(3), records[1].Duration);
        Assert.All(records, r => Assert.Equal("tester", r.Who));
        Assert.Equal(3, Directory.GetFiles(dir.Combine("a", "lifeline", "audit")).Length);
    }

    [Fact]
    public async Task Append_FirstStoreFailing_GoesToTheNextAndIsStillRead()
    {
        using var dir = new TempDirectory();
        var primary = new FaultInjectingObjectStore(new FileSystemObjectStore(dir.Combine("a")));
        var secondary = new FileSystemObjectStore(dir.Combine("b"));
        var log = new ObjectStoreAuditLog(new IObjectStore[] { primary, secondary });
        await log.AppendAsync(Record(T0, "backup", []));
        primary.Add(new FaultRule { Exception = _ => new IOException("primary down") });

        await log.AppendAsync(Record(T0.AddMinutes(1), "backup", []) with { Outcome = AuditOutcomes.Failed, Message = "location 'a' is unavailable" });
        primary.Clear();

        var records = await log.ReadAsync().ToListAsync();
        Assert.Equal([AuditOutcomes.Ok, AuditOutcomes.Failed], records.Select(r => r.Outcome));
    }

    [Fact]
    public async Task History_BackupRecords_GiveMeasurementsToPlanCheck()
    {
        using var dir = new TempDirectory();
        var log = new ObjectStoreAuditLog([new FileSystemObjectStore(dir.Combine("a"))]);
        await log.AppendAsync(Record(T0, "backup", []) with { Component = "registry", BackupDuration = TimeSpan.FromMinutes(20), CopyDuration = TimeSpan.FromMinutes(7), VerifyDuration = TimeSpan.FromMinutes(1), Bytes = 1000 });
        await log.AppendAsync(Record(T0.AddHours(1), "backup", []) with { Component = "registry", Outcome = AuditOutcomes.Failed });
        await log.AppendAsync(Record(T0.AddHours(2), "restore", []) with { Component = "registry", Bytes = 5000, Duration = TimeSpan.FromSeconds(10) });

        IBackupHistory history = new AuditBackupHistory(log);
        var backups = await history.GetRecentBackupsAsync("registry", 20, default);
        var restores = await history.GetRecentRestoresAsync("registry", 20, default);

        var b = Assert.Single(backups);
        Assert.Equal(TimeSpan.FromMinutes(20), b.Backup);
        Assert.Equal(TimeSpan.FromMinutes(7), b.Copy);
        Assert.Equal(5000, Assert.Single(restores).Bytes);
        var report = await new PlanChecker(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(T0), history).CheckAsync(PlanFile.Parse(PlanTemplates.Customer()).Plan!);
        Assert.Contains(report.Findings, f => f.Rule == "rpo-unmet" && f.Subject == "registry" && f.Message.Contains("backup 20m", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_BoundedCache_KeepsTheNewestOfEachGroupAndNeverFetchesWhatItLetGoOf()
    {
        using var dir = new TempDirectory();
        var log = new ObjectStoreAuditLog([new FileSystemObjectStore(dir.Combine("a"))]);
        for (var i = 0; i < 50; i++)
        {
            await log.AppendAsync(Record(T0.AddSeconds(i), AuditActions.Backup, ["up"]) with { Component = "registry" });
        }

        await log.AppendAsync(Record(T0.AddSeconds(-10), AuditActions.Backup, ["up"]) with { Component = "leads" });
        var cache = new RecordLogCache<AuditRecord>(r => $"{r.Action}/{r.Component}/{r.Outcome}", 10);

        var first = await log.ReadAsync(cache);

        // the ten newest registry backups and the one of leads (older than all of them, but the newest of its group)
        Assert.Equal(11, first.Count);
        Assert.Equal(11, cache.Count);
        Assert.Equal(Enumerable.Range(40, 10).Select(i => T0.AddSeconds(i)), first.Where(r => r.Component == "registry").Select(r => r.Time));
        Assert.Single(first, r => r.Component == "leads");

        // a record let go of is not fetched again: rewrite the oldest registry record; a re-fetch would read it back
        var files = Directory.GetFiles(dir.Combine("a", "lifeline", "audit")).Order(StringComparer.Ordinal).ToList();
        var oldest = files.First(f => File.ReadAllText(f).Contains("\"registry\"", StringComparison.Ordinal));
        File.WriteAllText(oldest, File.ReadAllText(oldest).Replace("\"registry\"", "\"rewritten\"", StringComparison.Ordinal));
        for (var i = 50; i < 55; i++)
        {
            await log.AppendAsync(Record(T0.AddSeconds(i), AuditActions.Backup, ["up"]) with { Component = "registry" });
        }

        var second = await log.ReadAsync(cache);

        Assert.Equal(Enumerable.Range(45, 10).Select(i => T0.AddSeconds(i)), second.Where(r => r.Component == "registry").Select(r => r.Time));
        Assert.DoesNotContain(second, r => r.Component == "rewritten");
        Assert.Equal(11, cache.Count);

        // an unbounded cache (and a fresh reader) still reads every record
        Assert.Equal(56, (await log.ReadAsync(new RecordLogCache<AuditRecord>())).Count);
    }

    private static AuditRecord Record(DateTimeOffset time, string action, string[] args) => new()
    {
        Time = time,
        Action = action,
        Who = "tester",
        Host = "host",
        Arguments = args,
        Outcome = AuditOutcomes.Ok,
        Duration = TimeSpan.FromSeconds(3),
    };
}
