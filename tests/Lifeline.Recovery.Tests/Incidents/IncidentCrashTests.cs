using System.Diagnostics;
using Lifeline.Recovery.Incidents;

namespace Lifeline.Recovery.Tests.Incidents;

/// <summary>A real process writing incidents, killed with SIGKILL mid-way; the store is reopened.</summary>
public sealed class IncidentCrashTests
{
    [Fact]
    public async Task RaiseAsync_ProcessKilledMidway_ReopenedStoreShowsEveryCommittedIncidentAndTakesWrites()
    {
        using var dir = new TempDirectory();
        var data = dir.Combine("data");
        var committed = new List<string>();
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Lifeline.Recovery.CrashHelper.dll"));
        psi.ArgumentList.Add("incidents");
        psi.ArgumentList.Add(data);
        using (var child = Process.Start(psi)!)
        {
            try
            {
                while (committed.Count < 25)
                {
                    var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
                    if (line is null)
                    {
                        Assert.Fail($"the helper stopped: {await child.StandardError.ReadToEndAsync()}");
                    }

                    committed.Add(line["committed ".Length..]);
                }
            }
            finally
            {
                child.Kill(); // SIGKILL on Unix: no cleanup, maybe inside a transaction
                await child.WaitForExitAsync();
            }
        }

        var store = IncidentStore.ForData(data);
        await store.MigrateAsync();
        var incidents = await store.ListAsync();
        foreach (var cause in committed)
        {
            var incident = Assert.Single(incidents, i => i.Cause == cause);
            Assert.Equal(IncidentStates.Open, incident.State);
            Assert.Equal("opened", incident.Timeline[0].Kind);
            Assert.Contains("registry", incident.Components);
        }

        Assert.Equal(incidents.Count, incidents.Select(i => i.Cause).Distinct().Count());
        var manager = new IncidentManager(store, IncidentTestPlans.Recommended());
        await manager.RaiseAsync(new IncidentSignal { Cause = committed[0], Kind = SignalKinds.LocationDown, Component = "registry", Healthy = true, Summary = "back", Time = DateTimeOffset.UtcNow });
        await manager.RaiseAsync(new IncidentSignal { Cause = committed[0], Kind = SignalKinds.LocationDown, Component = "leads", Healthy = true, Summary = "back", Time = DateTimeOffset.UtcNow });
        Assert.Equal(IncidentStates.Resolved, (await store.ListAsync()).Single(i => i.Cause == committed[0]).State);
    }
}
