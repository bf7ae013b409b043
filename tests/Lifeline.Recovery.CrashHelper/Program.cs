using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;

// A process for the crash tests of Lifeline.Recovery.Tests, killed with SIGKILL while it writes.
// incidents DATA: opens the incident store of DATA and raises bad signals for new causes (cause-0, cause-1, ...) and
// further signals for the open ones as fast as it can, printing "committed CAUSE" once RaiseAsync returned (the
// incident is committed), until it is killed.
if (args is not ["incidents", var data])
{
    Console.Error.WriteLine("usage: Lifeline.Recovery.CrashHelper incidents DATA");
    return 2;
}

var parsed = PlanFile.Parse(PlanTemplates.Recommended());
var plan = parsed.Plan!;
var store = IncidentStore.ForData(data);
await store.MigrateAsync();
var manager = new IncidentManager(store, plan, TimeProvider.System, new IncidentTimeline(store, plan, new DiscardingSink()));
Console.Out.Flush();
for (var i = 0; ; i++)
{
    var cause = $"location:cause-{i}";
    await manager.RaiseAsync(new IncidentSignal
    {
        Cause = cause, Kind = SignalKinds.LocationDown, Component = "registry", Summary = $"{cause} is down", Time = DateTimeOffset.UtcNow,
    });
    Console.WriteLine($"committed {cause}");
    Console.Out.Flush();
    if (i > 0)
    {
        // more writes to the open incident before: the kill may land in any of them
        await manager.RaiseAsync(new IncidentSignal
        {
            Cause = $"location:cause-{i - 1}", Kind = SignalKinds.LocationDown, Component = "leads", Summary = $"cause-{i - 1} is down for leads too", Time = DateTimeOffset.UtcNow,
        });
    }
}

internal sealed class DiscardingSink : INoticeSink
{
    public Task EnqueueAsync(Notice notice, CancellationToken cancellationToken = default) => Task.CompletedTask;
}
