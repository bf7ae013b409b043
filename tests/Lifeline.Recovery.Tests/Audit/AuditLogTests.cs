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
