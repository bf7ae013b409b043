using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Status;
using Lifeline.Storage.Faults;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery.Tests.Incidents;

/// <summary>The incidents service of up over the real vaults of a <see cref="RecoveryFixture"/> (three locations in the
/// file system): the status and audit source, and the read-back of packs as an incident.</summary>
public sealed class IncidentsServiceRecoveryTests
{
    private static readonly TimeSpan StatusInterval = TimeSpan.FromMinutes(1);

    private static IncidentsDeploymentService CreateSut(RecoveryFixture f, RecordingNoticeSink sink)
    {
        // the loop's own rounds come every hour of fake time: the test's rounds are the only ones after the first
        var options = new DeploymentOptions
        {
            DataDirectory = f.Dir.Combine("data"),
            Notices = sink,
            IncidentPollInterval = TimeSpan.FromHours(1),
            IncidentStatusInterval = StatusInterval,
            Recovery = _ => Task.FromResult(new RecoveryRuntime(f.Locations, f.Service)),
        };
        var context = new DeploymentContext(f.Plan, f.Dir.Combine("lifeline.yaml"), new DeploymentLayout(f.Dir.Combine("data")), options,
            NullLoggerFactory.Instance, f.Time, new DeploymentMetrics(), [], "token");
        return new IncidentsDeploymentService(context);
    }

    [Fact]
    public async Task Round_PackTornBeforeItsReadBack_OpensIncidentShownInStatusUntilAnOkBackup()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        _ = f.Locations.Store("a");
        f.StoreOf("a").Add(new FaultRule { Kind = FaultKind.TearWrite, Operation = ObjectStoreOperation.PutIfAbsent, KeyPrefix = "data/", MaxHits = 1 });
        Assert.Equal(AuditOutcomes.Failed, Assert.Single(await f.Service.BackupAsync(["configuration"])).Outcome); // torn between write and read-back
        var sink = new RecordingNoticeSink();
        await using var service = CreateSut(f, sink);
        await service.StartAsync(CancellationToken.None);

        await service.RoundAsync(CancellationToken.None);

        var incident = Assert.Single(await service.Store!.ListAsync(openOnly: true));
        Assert.Equal("check:after-write:configuration", incident.Cause);
        Assert.Equal(SignalKinds.CheckFailed, incident.Kind);
        Assert.Contains("damaged on read-back", incident.Title, StringComparison.Ordinal);
        Assert.Contains(sink.Notices, n => n.Action == Lifeline.Recovery.Notifications.NoticeAction.Trigger && n.IncidentId == incident.Id);
        var status = await f.Service.StatusAsync() with { Incidents = await service.Store.ListAsync(openOnly: true) };
        Assert.Equal(StatusColor.Red, status.IncidentColor);
        Assert.Contains(status.Checks, c => c is { Check: "after-write", Passed: false, Component: "configuration" });

        Assert.Equal(AuditOutcomes.Ok, (await f.Service.BackupComponentAsync("configuration")).Outcome); // the fault hit once
        f.Time.Advance(StatusInterval);
        await service.RoundAsync(CancellationToken.None);

        var resolved = Assert.Single(await service.Store.ListAsync());
        Assert.Equal(IncidentStates.Resolved, resolved.State);
        Assert.Empty(await service.Store.ListAsync(openOnly: true));
        await service.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Round_SecondRound_FetchesOnlyTheAuditRecordsWrittenSinceTheFirst()
    {
        var counting = new List<CountingObjectStore>();
        await using var f = await RecoveryFixture.CreateAsync(wrapStore: s =>
        {
            var c = new CountingObjectStore(s);
            lock (counting)
            {
                counting.Add(c);
            }

            return c;
        });
        await f.Service.BackupAsync(["configuration", "jobs"]);
        var before = (await f.Service.Audit.ReadAsync().ToListAsync()).Count;
        await using var service = CreateSut(f, new RecordingNoticeSink());
        await service.StartAsync(CancellationToken.None);
        await service.RoundAsync(CancellationToken.None); // the loop's first round or this one reads the whole audit
        int Reads() => counting.Sum(c => c.ReadsUnder(ObjectStoreAuditLog.Prefix));
        var first = Reads();
        Assert.True(first >= before, $"the first round fetched {first} audit objects, the audit holds {before}");

        await f.Service.BackupComponentAsync("configuration"); // a start record and an end record
        var written = (await f.Service.Audit.ReadAsync().ToListAsync()).Count - before;
        var afterOwnRead = Reads();
        f.Time.Advance(StatusInterval);
        await service.RoundAsync(CancellationToken.None);

        Assert.Equal(1, written); // the start record is paired with its end and read as one
        Assert.Equal(2, Reads() - afterOwnRead); // the two new objects, once each; none of the older ones again
        await service.StopAsync(CancellationToken.None);
    }
}
