using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Incidents;

/// <summary>The incidents service of up over a real scheduler store with a real failed job (a child process exiting
/// 4); its notices go to a <see cref="RecordingNoticeSink"/> standing in for the outbox.</summary>
public sealed class IncidentsServiceTests
{
    [Fact]
    public async Task Round_FailedJobInTheSchedulerStore_OpensJobFailedIncidentAndSendsTheTrigger()
    {
        using var dir = new TempDirectory();
        var parsed = PlanFile.Parse("""
            version: 1
            objectives: { rto: 4h, rpo: { target: 1h, max: 4h } }
            jobs:
              export:
                command: [/bin/sh, -c, "echo disk full >&2; exit 4"]
                schedule: "0 3 * * *"
            roles:
              ml-engineering-lead: { title: ML Engineering Lead }
              devops-engineer: { title: DevOps Engineer }
            """, dir.Combine("lifeline.yaml"));
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        var plan = parsed.Plan!;
        var data = dir.Combine("data");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        Directory.CreateDirectory(Path.Combine(data, "scheduler"));
        var jobs = new SchedulerJobs(plan, new PlanSchedulerOptions { Store = SchedulerStoreOptions.Sqlite(Path.Combine(data, ComponentSources.JobStoreFile)), Time = time });
        await jobs.InitializeAsync();
        await jobs.RunAsync("export");

        var sink = new RecordingNoticeSink();
        var options = new DeploymentOptions { DataDirectory = data, Notices = sink, IncidentPollInterval = TimeSpan.FromHours(1) };
        var context = new DeploymentContext(plan, dir.Combine("lifeline.yaml"), new DeploymentLayout(data), options, NullLoggerFactory.Instance, time,
            new DeploymentMetrics(), [], "token");
        await using var service = new IncidentsDeploymentService(context);
        await service.StartAsync(CancellationToken.None);
        await service.RoundAsync(CancellationToken.None); // the loop's first round may race with this one: the store keeps one incident
        await service.StopAsync(CancellationToken.None);

        var incident = Assert.Single(await service.Store!.ListAsync());
        Assert.Equal("job:export", incident.Cause);
        Assert.Equal(SignalKinds.JobFailed, incident.Kind);
        Assert.Equal("devops-engineer", incident.OwnerRole);
        Assert.Contains("disk full", incident.Title, StringComparison.Ordinal);
        Assert.Equal(NoticeAction.Trigger, Assert.Single(sink.Notices).Action);
        Assert.True(File.Exists(Path.Combine(data, "incidents", "incidents.db")));
    }
}
