using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Lifeline.Recovery.Status;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using static Lifeline.Recovery.Tests.Scheduling.SchedulingTestSupport;

namespace Lifeline.Recovery.Tests.Scheduling;

/// <summary>The scheduler on a real SQLite file with Quartz on a fake clock, running real child processes.</summary>
public sealed class PlanSchedulerTests : IDisposable
{
    private const string Hourly = """
          hourly:
            command: [/bin/sh, -c, "exit 0"]
            schedule: "0 * * * *"
            timeout: 5m
        """;

    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(Start);

    private SchedulerStoreOptions Store => SchedulerStoreOptions.Sqlite(_dir.Combine("data", "scheduler.db"));

    private PlanScheduler CreateSut(LifelinePlan plan) => new(plan, Options(Store, _time, _dir.Path));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _dir.Dispose();
    }

    [Fact]
    public async Task StartAsync_FreshStore_MigratesOnceAndListsNextRuns()
    {
        await using var sut = CreateSut(JobsPlan(Hourly));

        await sut.StartAsync(CancellationToken.None);
        await sut.Store.MigrateAsync(CancellationToken.None); // idempotent

        Assert.Equal(1, await sut.Store.SchemaVersionAsync(CancellationToken.None));
        Assert.Equal(DeploymentServiceStatus.Running, sut.State.Status);
        var job = Assert.Single(await sut.ListJobsAsync());
        Assert.Equal("hourly", job.Job.Name);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero), job.NextRun);
    }

    [Fact]
    public async Task Fire_SlotOnFakeClock_RunsCommandAndRecordsHistory()
    {
        await using var sut = CreateSut(JobsPlan(Hourly));
        await sut.StartAsync(CancellationToken.None);

        Advance(_time, TimeSpan.FromSeconds(40));

        var run = await WaitForRunAsync(sut, "hourly", _ => true, "the noon slot to run", _time);
        Assert.Equal(JobOutcomes.Ok, run.Outcome);
        Assert.Equal(JobCauses.Schedule, run.Cause);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero), run.ScheduledAt);
    }

    [Fact]
    public async Task ReloadAsync_PlanAddsChangesAndRemoves_ReconcilesQuartz()
    {
        var first = JobsPlan(Hourly + """

              nightly:
                command: [/bin/true]
                schedule: "0 3 * * *"
              weekly:
                command: [/bin/true]
                schedule: "@weekly"
            """);
        await using var sut = CreateSut(first);
        await sut.StartAsync(CancellationToken.None);

        var second = JobsPlan(Hourly + """

              nightly:
                command: [/bin/true]
                schedule: "30 4 * * *"
                timezone: Europe/London
              monthly:
                command: [/bin/true]
                schedule: "@monthly"
            """);
        var result = await sut.ReloadAsync(second);

        Assert.True(result.Applied);
        Assert.Equal(["monthly"], result.Added);
        Assert.Equal(["nightly"], result.Changed);
        Assert.Equal(["weekly"], result.Removed);
        Assert.Equal(["hourly", "monthly", "nightly"], (await TriggerNamesAsync()).Order());
        var nightly = (await sut.ListJobsAsync()).Single(j => j.Job.Name == "nightly");
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 4, 30, 0, TimeSpan.Zero), nightly.NextRun); // London is UTC in March before the 29th
    }

    [Fact]
    public async Task ReloadAsync_PlanThatCannotBeScheduled_KeepsRunningSchedulesAndReportsError()
    {
        await using var sut = CreateSut(JobsPlan(Hourly));
        await sut.StartAsync(CancellationToken.None);
        var bad = JobsPlan(Hourly) with { Jobs = [JobsPlan(Hourly).Jobs[0] with { Name = "broken", TimeZone = "Mars/Olympus_Mons" }] };

        var result = await sut.ReloadAsync(bad);

        Assert.False(result.Applied);
        Assert.Contains("Mars/Olympus_Mons", result.Error, StringComparison.Ordinal);
        Assert.Equal(DeploymentServiceStatus.Degraded, sut.State.Status);
        Assert.Equal(["hourly"], await TriggerNamesAsync());
        Advance(_time, TimeSpan.FromSeconds(40));
        Assert.Equal(JobOutcomes.Ok, (await WaitForRunAsync(sut, "hourly", _ => true, "the kept schedule to fire", _time)).Outcome);
    }

    [Fact]
    public async Task Restart_MissedSlots_BackupsAndBatchCoalesceDrillsSkip()
    {
        var plan = JobsPlan(Hourly, "drills:\n  hourly-drill:\n    schedule: \"30 * * * *\"");
        await using (var first = CreateSut(plan))
        {
            await first.StartAsync(CancellationToken.None);
            await first.StopAsync(CancellationToken.None);
        }

        Advance(_time, TimeSpan.FromHours(5)); // down from 11:59:30 to 16:59:30: five hourly slots and five drill slots missed
        await using var second = CreateSut(plan);
        await second.StartAsync(CancellationToken.None);

        var run = await WaitForRunAsync(second, "hourly", _ => true, "the coalesced run at start-up", _time);
        Assert.Equal(JobCauses.Coalesced, run.Cause);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 16, 0, 0, TimeSpan.Zero), run.ScheduledAt);
        Assert.Single(await second.HistoryAsync("hourly"));
        Assert.Empty(await second.HistoryAsync("drill-hourly-drill"));
        var drill = (await second.ListJobsAsync()).Single(j => j.Job.Name == "drill-hourly-drill");
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 17, 30, 0, TimeSpan.Zero), drill.NextRun);
    }

    [Fact]
    public async Task StartAsync_RunLeftRunningByDeadProcess_RecordedAsInterrupted()
    {
        var store = new SchedulerStore(Store, _time);
        await store.MigrateAsync(CancellationToken.None);
        // the row a process writes before its job's body starts; that process is this one, "before" its scheduler
        var orphan = await store.StartRunAsync("hourly", "batch", JobCauses.Schedule, 1, Start, CancellationToken.None);

        await using var sut = CreateSut(JobsPlan(Hourly));
        await sut.StartAsync(CancellationToken.None);

        var run = Assert.Single(await sut.HistoryAsync("hourly"));
        Assert.Equal(orphan.RunId, run.RunId);
        Assert.Equal(JobOutcomes.Interrupted, run.Outcome);
        Assert.NotNull(run.FinishedAt);
    }

    [Fact]
    public async Task Fire_StuckJob_TimesOutWithoutBlockingTheOthers()
    {
        var plan = JobsPlan("""
              stuck:
                command: [sleep, "600"]
                schedule: "0 * * * *"
                timeout: 10m
              quick:
                command: [/bin/sh, -c, "exit 0"]
                schedule: "0 * * * *"
            """);
        await using var sut = CreateSut(plan);
        await sut.StartAsync(CancellationToken.None);

        Advance(_time, TimeSpan.FromSeconds(40));
        Assert.Equal(JobOutcomes.Ok, (await WaitForRunAsync(sut, "quick", _ => true, "the quick job beside the stuck one", _time)).Outcome);
        await WaitForAsync(async () => (await sut.HistoryAsync("stuck")).FirstOrDefault(r => r.Outcome == JobOutcomes.Running), "the stuck job to start", pump: _time);
        Advance(_time, TimeSpan.FromMinutes(10));

        var stuck = await WaitForRunAsync(sut, "stuck", _ => true, "the stuck job's timeout", _time);
        Assert.Equal(JobOutcomes.TimedOut, stuck.Outcome);
        Assert.Contains("10m", stuck.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fire_FailingJob_RetriedAsItsPolicySaysAndMakesStatusRed()
    {
        var plan = JobsPlan("""
              flaky:
                command: [/bin/sh, -c, "echo disk full >&2; exit 3"]
                schedule: "0 * * * *"
                retries: 2
                retry-delay: 2m
            """);
        await using var sut = CreateSut(plan);
        await sut.StartAsync(CancellationToken.None);

        Advance(_time, TimeSpan.FromSeconds(40));
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            var n = attempt;
            await WaitForRunAsync(sut, "flaky", r => r.Attempt == n, $"attempt {n}", _time);
            Advance(_time, TimeSpan.FromMinutes(2));
        }

        var last = await WaitForRunAsync(sut, "flaky", r => r.Attempt == 3, "the last retry", _time);
        Assert.Equal(JobOutcomes.Failed, last.Outcome);
        Assert.Equal("exit 3: disk full", last.Message);
        Assert.Equal(3, (await sut.HistoryAsync("flaky")).Count);
        var status = JobStatusCalculator.Compute(await sut.ListJobsAsync(), _time.GetUtcNow());
        Assert.Equal(Lifeline.Recovery.Status.StatusColor.Red, Assert.Single(status).Color);
    }

    [Fact]
    public async Task Pause_Until_SkipsSlotsThenRunsAgain()
    {
        await using var sut = CreateSut(JobsPlan(Hourly));
        await sut.StartAsync(CancellationToken.None);

        var warning = await sut.PauseAsync("hourly", "storage migration", Start.AddHours(1), "tester");
        Assert.Null(warning); // a batch job protects no component
        var listed = Assert.Single(await sut.ListJobsAsync());
        Assert.Equal("storage migration", listed.Pause?.Reason);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 13, 0, 0, TimeSpan.Zero), listed.NextRun);
        Assert.Equal(Lifeline.Recovery.Status.StatusColor.Amber, JobStatusCalculator.Compute([listed], _time.GetUtcNow())[0].Color);

        Advance(_time, TimeSpan.FromSeconds(40)); // the noon slot: paused
        var noon = new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);
        await WaitForAsync(async () => await QuartzNextFireAsync() > noon ? "" : null, "Quartz to fire (and the runner to skip) the noon slot", pump: _time);
        Advance(_time, TimeSpan.FromHours(1)); // 13:00: the pause ended at 12:59:30

        var run = await WaitForRunAsync(sut, "hourly", _ => true, "the first slot after the pause", _time);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 13, 0, 0, TimeSpan.Zero), run.ScheduledAt);
        Assert.Single(await sut.HistoryAsync("hourly"));
    }

    [Fact]
    public async Task Restart_SqliteStore_KeepsHistoryPausesAndTriggers()
    {
        await using (var first = CreateSut(JobsPlan(Hourly)))
        {
            await first.StartAsync(CancellationToken.None);
            Advance(_time, TimeSpan.FromSeconds(40));
            await WaitForRunAsync(first, "hourly", _ => true, "the noon run", _time);
            await first.PauseAsync("hourly", "maintenance", null, "tester");
            await first.StopAsync(CancellationToken.None);
        }

        await using var second = CreateSut(JobsPlan(Hourly));
        await second.StartAsync(CancellationToken.None);

        Assert.Single(await second.HistoryAsync("hourly"));
        var job = Assert.Single(await second.ListJobsAsync());
        Assert.Equal("maintenance", job.Pause?.Reason);
        Assert.Equal(["hourly"], await TriggerNamesAsync());
    }

    /// <summary>Quartz's next fire time of the one trigger (its column holds .NET ticks, UTC).</summary>
    private async Task<DateTimeOffset?> QuartzNextFireAsync()
    {
        await using var connection = new SqliteConnection(Store.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT NEXT_FIRE_TIME FROM QRTZ_TRIGGERS";
        return await command.ExecuteScalarAsync() is long ticks ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;
    }

    private async Task<List<string>> TriggerNamesAsync()
    {
        await using var connection = new SqliteConnection(Store.ConnectionString);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT TRIGGER_NAME FROM QRTZ_TRIGGERS ORDER BY TRIGGER_NAME";
        var names = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }
}
