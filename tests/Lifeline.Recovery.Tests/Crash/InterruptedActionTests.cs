using Lifeline.Recovery.Audit;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Recovery.Tests.Crash;

/// <summary>
/// An action records its start and its end under one operation id; a SIGKILL leaves only the start. Reading pairs
/// them: a finished action is one record, an unfinished one reads as interrupted, in whichever location each landed.
/// </summary>
public sealed class InterruptedActionTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Read_StartWithAndWithoutItsEnd_FinishedIsOneRecordUnfinishedReadsInterrupted()
    {
        using var dir = new TempDirectory();
        var primary = new FileSystemObjectStore(dir.Combine("a"));
        var secondary = new FileSystemObjectStore(dir.Combine("b"));
        var log = new ObjectStoreAuditLog([primary, secondary]);
        await log.AppendAsync(Record(T0, AuditOutcomes.Started, "op-finished"));
        await new ObjectStoreAuditLog([secondary]).AppendAsync(Record(T0, AuditOutcomes.Ok, "op-finished") with { Snapshot = "abc" }); // its end went elsewhere
        await log.AppendAsync(Record(T0.AddHours(1), AuditOutcomes.Started, "op-killed"));

        var records = await log.ReadAsync().ToListAsync();

        Assert.Equal([AuditOutcomes.Ok, AuditOutcomes.Interrupted], records.Select(r => r.Outcome));
        Assert.Equal("abc", records[0].Snapshot);
        Assert.Equal("op-killed", records[1].Operation);
        Assert.Contains("never finished", records[1].Message, StringComparison.Ordinal);
        Assert.Contains("2026-03-02 13:00:00Z", records[1].Message, StringComparison.Ordinal);
        Assert.Equal(3, Directory.GetFiles(dir.Combine("a", "lifeline", "audit")).Length + Directory.GetFiles(dir.Combine("b", "lifeline", "audit")).Length);
    }

    private static AuditRecord Record(DateTimeOffset time, string outcome, string operation) => new()
    {
        Time = time,
        Action = AuditActions.Backup,
        Who = "tester",
        Host = "test-host",
        Component = "configuration",
        Outcome = outcome,
        Operation = operation,
    };
}
