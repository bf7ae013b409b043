using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using static Lifeline.Recovery.Tests.Scheduling.SchedulingTestSupport;

namespace Lifeline.Recovery.Tests.Scheduling;

/// <summary>The PostgreSQL store, backups through the recovery core, pauses against the RPO, and the <c>jobs:</c> section.</summary>
public sealed class SchedulerStoreAndPlanTests
{
    private const string Hourly = """
          hourly:
            command: [/bin/sh, -c, "exit 0"]
            schedule: "0 * * * *"
        """;

    [Fact]
    public async Task PostgresStore_FireAndRestart_KeepsScheduleAndHistory()
    {
        await using var schema = await PostgresSchema.CreateAsync();
        var time = new FakeTimeProvider(Start);
        var options = Options(SchedulerStoreOptions.Postgres(schema.ConnectionString), time);
        await using (var first = new PlanScheduler(JobsPlan(Hourly), options))
        {
            await first.StartAsync(CancellationToken.None);
            Advance(time, TimeSpan.FromSeconds(40));
            Assert.Equal(JobOutcomes.Ok, (await WaitForRunAsync(first, "hourly", _ => true, "the noon run on PostgreSQL", time)).Outcome);
            await first.StopAsync(CancellationToken.None);
        }

        Advance(time, TimeSpan.FromHours(2));
        await using var second = new PlanScheduler(JobsPlan(Hourly), options);
        await second.StartAsync(CancellationToken.None);

        var coalesced = await WaitForRunAsync(second, "hourly", r => r.Cause == JobCauses.Coalesced, "the coalesced run after the restart", time);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 14, 0, 0, TimeSpan.Zero), coalesced.ScheduledAt);
        Assert.Equal(2, (await second.HistoryAsync("hourly")).Count);
        Assert.Equal(1, await second.Store.SchemaVersionAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Fire_BackupJob_BacksUpThePolicysComponentsThroughRecoveryService()
    {
        await using var fixture = await RecoveryFixture.CreateAsync();
        var plan = fixture.Plan with { Components = [fixture.Plan.FindComponent("configuration")!] };
        var time = fixture.Time; // 12:00:00: the next slot of the policy's "0 * * * *" is 13:00
        var options = Options(SchedulerStoreOptions.Sqlite(fixture.Dir.Combine("data", "scheduler.db")), time) with
        {
            Recovery = (_, _) => ValueTask.FromResult(fixture.Service),
        };
        await using var sut = new PlanScheduler(plan, options);
        await sut.StartAsync(CancellationToken.None);

        Assert.Equal(["backup-config", "forget", "prune"], (await sut.ListJobsAsync()).Select(j => j.Job.Name));
        Advance(time, TimeSpan.FromMinutes(60) + TimeSpan.FromSeconds(10));

        var run = await WaitForRunAsync(sut, "backup-config", _ => true, "the scheduled backup", time, seconds: 120);
        Assert.True(run.Outcome == JobOutcomes.Ok, run.Message);
        Assert.StartsWith("1 backed up (configuration ", run.Message, StringComparison.Ordinal);
        var backups = new List<Lifeline.Recovery.Audit.AuditRecord>();
        await foreach (var r in fixture.Service.Audit.ReadAsync())
        {
            if (r.Action == Lifeline.Recovery.Audit.AuditActions.Backup)
            {
                backups.Add(r);
            }
        }

        // the policy's component only, through the service (the clock keeps moving while the test waits: a later slot
        // may already have started, shown as a start record without its end)
        Assert.NotEmpty(backups);
        Assert.All(backups, b => Assert.Equal("configuration", b.Component));
        Assert.Contains(backups, b => b.Outcome == Lifeline.Recovery.Audit.AuditOutcomes.Ok && b.Snapshot is not null);
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public async Task Fire_ForgetThenPrune_ApplyThePolicysRetentionBesideTheHourlyBackupAndFreeTheData()
    {
        await using var fixture = await RecoveryFixture.CreateAsync(); // keep-last 2
        for (var i = 0; i < 4; i++)
        {
            await File.WriteAllTextAsync(Path.Combine(fixture.App, "conf", "api.json"), $"{{ \"port\": {6000 + i}, \"pad\": \"{new string((char)('k' + i), 3000)}\" }}\n");
            await fixture.Service.BackupComponentAsync("configuration");
            fixture.Time.Advance(TimeSpan.FromMinutes(10));
        }

        // 12:40 now: forget at 13:00 (the default @hourly, the same slot as the policy's backup), prune at 13:05
        var plan = fixture.Plan with { Components = [fixture.Plan.FindComponent("configuration")!], Maintenance = new MaintenancePlan { Prune = "5 * * * *" } };
        var time = fixture.Time;
        var options = Options(SchedulerStoreOptions.Sqlite(fixture.Dir.Combine("data", "scheduler.db")), time) with
        {
            Recovery = (_, _) => ValueTask.FromResult(fixture.Service),
        };
        await using var sut = new PlanScheduler(plan, options);
        await sut.StartAsync(CancellationToken.None);

        Advance(time, TimeSpan.FromMinutes(20) + TimeSpan.FromSeconds(10));
        var forget = await WaitForRunAsync(sut, "forget", _ => true, "the hourly forget", time, seconds: 120);
        var backup = await WaitForRunAsync(sut, "backup-config", _ => true, "the hourly backup", time, seconds: 120);
        Advance(time, TimeSpan.FromMinutes(5));
        var prune = await WaitForRunAsync(sut, "prune", _ => true, "the prune at 13:05", time, seconds: 120);

        Assert.True(forget.Outcome == JobOutcomes.Ok, forget.Message);
        Assert.True(backup.Outcome == JobOutcomes.Ok, backup.Message);
        Assert.True(prune.Outcome == JobOutcomes.Ok, prune.Message);
        Assert.Matches(@"^removed [1-9]\d* snapshots, kept \d+ in 3 locations$", forget.Message);
        Assert.Matches(@"^3 locations pruned: \d+ packs deleted, \d+ rewritten, [1-9]\d* bytes freed$", prune.Message);
        foreach (var location in new[] { "a", "b", "c" })
        {
            var vault = await fixture.Locations.OpenAsync(location);
            Assert.True((await vault.CheckAsync(new Lifeline.Vault.CheckOptions { ReadData = true })).Ok, location);
            Assert.InRange((await vault.ListSnapshotsAsync().ToListAsync()).Count, 2, 3); // keep-last 2, and 13:00's backup if it ran after the forget
        }

        var actions = new List<string>();
        await foreach (var r in fixture.Service.Audit.ReadAsync())
        {
            actions.Add(r.Action);
        }

        Assert.Contains("forget", actions);
        Assert.Contains("prune", actions);
        SqliteConnection.ClearAllPools();
    }

    [Fact]
    public void PauseWarning_PausePastRpoMaximum_IsFlagged()
    {
        var plan = PlanFile.Parse("""
            version: 1
            objectives: { rto: 4h, rpo: { target: 1h, max: 4h } }
            components:
              configuration: { policy: hourly }
            policies:
              hourly:
                schedule: "0 * * * *"
            """).Plan!;
        var job = PlanJobs.FromPlan(plan).Single();
        var now = Start;

        var shortPause = SchedulerJobs.PauseWarning(plan, job, new JobPause(job.Name, "reindex", "ops", now, now.AddHours(2)), now.AddMinutes(-30), now);
        var longPause = SchedulerJobs.PauseWarning(plan, job, new JobPause(job.Name, "migration", "ops", now, now.AddHours(6)), now.AddMinutes(-30), now);
        var endless = SchedulerJobs.PauseWarning(plan, job, new JobPause(job.Name, "migration", "ops", now, null), now.AddMinutes(-30), now);

        Assert.Null(shortPause);
        Assert.Contains("past its RPO maximum 4h", longPause, StringComparison.Ordinal);
        Assert.StartsWith("paused with no end: configuration passes its RPO maximum 4h", endless, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_JobsSection_ReadsCommandsBuiltInsAndPolicyAndWritesThemBack()
    {
        var yaml = """
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            jobs:
              retrain:
                builtin: train
                args: [--table, leads]
                schedule: "0 3 * * 1"
                timezone: Europe/London
                timeout: 45m
                retries: 2
                retry-delay: 10m
              export:
                command: [./export.sh, --all]
                schedule: "@daily"
            """;

        var plan = PlanFile.Parse(yaml).Plan!;

        Assert.Equal(2, plan.Jobs.Count);
        Assert.Equal(new PlanBatchJob
        {
            Name = "retrain", BuiltIn = "train", Args = ["--table", "leads"], Schedule = "0 3 * * 1", TimeZone = "Europe/London",
            Timeout = TimeSpan.FromMinutes(45), Retries = 2, RetryDelay = TimeSpan.FromMinutes(10),
        }, plan.Jobs[0]);
        Assert.Equal(["./export.sh", "--all"], plan.Jobs[1].Command);
        Assert.Equal(plan.Jobs, PlanFile.Parse(PlanFile.Write(plan)).Plan!.Jobs);
        var jobs = PlanJobs.FromPlan(plan);
        Assert.All(jobs, j => Assert.Equal(MisfirePolicy.Coalesce, j.Misfire));
        Assert.Equal(PlanBatchJob.DefaultTimeout, jobs[1].Timeout);
    }

    [Fact]
    public void FromPlan_PolicyWithRetention_ForgetsHourlyAndPrunesDailyByDefault()
    {
        var plan = PlanFile.Parse("""
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            components:
              configuration: { policy: hourly }
              leads: { policy: everything }
            policies:
              hourly:
                schedule: "0 * * * *"
                retention: { keep-last: 24 }
              everything:
                schedule: "0 * * * *"
            """).Plan!;

        var jobs = PlanJobs.FromPlan(plan);

        var forget = Assert.Single(jobs, j => j.Kind == ScheduledJobKind.Forget);
        var prune = Assert.Single(jobs, j => j.Kind == ScheduledJobKind.Prune);
        Assert.Equal(("forget", "@hourly", MisfirePolicy.Coalesce, 2), (forget.Name, forget.Schedule, forget.Misfire, forget.Retries));
        Assert.Equal(["configuration"], forget.Components); // leads' policy keeps everything: nothing to forget
        Assert.Equal(("prune", "30 3 * * *"), (prune.Name, prune.Schedule));
        Assert.Contains("forget", PlanJobs.DerivedNames(plan));
    }

    [Fact]
    public void Parse_MaintenanceSection_SchedulesOffAndTimeZoneReadAndWrittenBack()
    {
        var plan = PlanFile.Parse("""
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            components:
              configuration: { policy: hourly }
            policies:
              hourly:
                schedule: "0 * * * *"
                retention: { keep-last: 24 }
            maintenance:
              forget: "*/15 * * * *"
              prune: off
              timezone: Europe/London
            """).Plan!;

        Assert.Equal(new MaintenancePlan { Forget = "*/15 * * * *", Prune = null, TimeZone = "Europe/London" }, plan.Maintenance);
        Assert.Equal(plan.Maintenance, PlanFile.Parse(PlanFile.Write(plan)).Plan!.Maintenance);
        var forget = Assert.Single(PlanJobs.FromPlan(plan), j => j.Kind is ScheduledJobKind.Forget or ScheduledJobKind.Prune);
        Assert.Equal(("forget", "Europe/London"), (forget.Name, forget.TimeZone));
    }

    [Theory]
    [InlineData("forget: \"61 * * * *\"", "is not a cron expression")]
    [InlineData("prun: off", "did you mean 'prune'")]
    [InlineData("timezone: Mars/Olympus", "unknown time zone 'Mars/Olympus'")]
    public void Parse_BadMaintenance_IsOneErrorNamingTheSection(string body, string expected)
    {
        var result = PlanFile.Parse($"""
            version: 1
            objectives: {"{"} rto: 4h, rpo: 1h {"}"}
            maintenance:
              {body}
            """);

        var error = Assert.Single(result.Errors);
        Assert.Equal("maintenance", error.Subject);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("schedule: \"0 3 * * *\"", "has neither 'command' nor 'builtin'")]
    [InlineData("builtin: trian\n    schedule: \"0 3 * * *\"", "did you mean 'train'")]
    [InlineData("command: [x]\n    schedule: \"61 * * * *\"", "is not a cron expression")]
    [InlineData("command: [x]\n    schedule: \"0 3 * * *\"\n    retries: -1", "must be a whole number")]
    [InlineData("command: [x]\n    schedul: \"0 3 * * *\"", "did you mean 'schedule'")]
    public void Parse_BadJob_IsOneErrorNamingTheJob(string body, string expected)
    {
        var result = PlanFile.Parse($"""
            version: 1
            objectives: {"{"} rto: 4h, rpo: 1h {"}"}
            jobs:
              nightly:
                {body}
            """);

        var error = result.Errors.First();
        Assert.Equal("job nightly", error.Subject);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_JobNamedLikeADerivedJob_IsAnError()
    {
        var plan = PlanFile.Parse("""
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            components:
              configuration: { policy: nightly }
            policies:
              nightly: { schedule: "0 2 * * *" }
            jobs:
              backup-nightly: { command: [x], schedule: "0 3 * * *" }
            """).Plan!;

        var report = await new PlanChecker(new FakeTimeProvider(Start)).CheckAsync(plan);

        Assert.Contains(report.Findings, f => f.Subject == "job backup-nightly" && f.Message.Contains("derives from the plan", StringComparison.Ordinal));
    }
}
