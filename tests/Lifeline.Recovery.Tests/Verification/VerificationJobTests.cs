using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Microsoft.Data.Sqlite;
using static Lifeline.Recovery.Tests.Scheduling.SchedulingTestSupport;

namespace Lifeline.Recovery.Tests.Verification;

/// <summary>The scheduler's check jobs run the plan check's <c>run:</c> list through the verification runner.</summary>
public sealed class VerificationJobTests
{
    [Fact]
    public async Task CheckJob_Triggered_RunsThePlansChecksAndFailsWhenOneFails()
    {
        // a yearly backup slot: the hourly default would fire as the fake clock is pumped, and a backup copying its
        // new point to c while the replication check runs makes that check fail for a reason this test is not about
        await using var f = await RecoveryFixture.CreateAsync(schedule: "\"0 3 1 1 *\"");
        await f.Service.BackupComponentAsync("configuration");
        var plan = f.Plan with
        {
            Components = [f.Plan.FindComponent("configuration")!],
            Verification = new VerificationPlan { Checks = [new VerificationCheck { Name = "daily", Schedule = "0 3 * * *", Run = ["integrity", "replication"] }] },
            // likewise the hourly forget: its exclusive lock would meet the check's (the fixture's vaults do not wait)
            Maintenance = new MaintenancePlan { Forget = null, Prune = null },
        };
        var options = Options(SchedulerStoreOptions.Sqlite(f.Dir.Combine("data", "scheduler.db")), f.Time) with
        {
            Recovery = (_, _) => ValueTask.FromResult(f.Service),
            ScratchDirectory = f.Dir.Combine("scratch"),
        };
        await using var sut = new PlanScheduler(plan, options);
        await sut.StartAsync(CancellationToken.None);

        await sut.TriggerAsync("check-daily");
        var run = await WaitForRunAsync(sut, "check-daily", _ => true, "the check job", f.Time, seconds: 120);

        Assert.True(run.Outcome == JobOutcomes.Ok, run.Message);
        Assert.Contains("4 checks passed (integrity, replication)", run.Message, StringComparison.Ordinal);
        var evidence = await f.Service.Evidence.ReadAsync().ToListAsync();
        Assert.Equal(3, evidence.Count(e => e.Check == "integrity" && e.Run == "daily"));

        var pack = Directory.EnumerateFiles(f.Dir.Combine("vault-b", "data"), "*", SearchOption.AllDirectories).First();
        await using (var file = new FileStream(pack, FileMode.Open))
        {
            file.SetLength(10);
        }

        await sut.TriggerAsync("check-daily");
        var failed = await WaitForRunAsync(sut, "check-daily", r => r.Outcome != JobOutcomes.Ok, "the failing check job", f.Time, seconds: 120);

        Assert.Equal(JobOutcomes.Failed, failed.Outcome);
        Assert.Contains("integrity b", failed.Message, StringComparison.Ordinal);
        SqliteConnection.ClearAllPools();
    }
}
