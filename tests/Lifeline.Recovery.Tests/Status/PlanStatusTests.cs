using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Status;
using Lifeline.Registry.Tests;
using Lifeline.Registry.Tests.Backup;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Status;

/// <summary><c>backup --all</c> then <c>status</c> with everything built from the plan file alone: the templates'
/// <c>sources</c> layout (a real registry, the five lake tables, the scheduler's SQLite job store) in three local
/// locations.</summary>
public sealed class PlanStatusTests
{
    private const string Password = "pw-never-in-the-audit";

    private static async Task<(TempDirectory Dir, LifelinePlan Plan, FakeTimeProvider Time, LocationSet Locations, RecoveryService Service)> CreateAsync(bool recommended)
    {
        var dir = new TempDirectory();
        var yaml = PlanTemplates.For(recommended, new PlanTemplateOptions { PrimaryUrl = "./vaults/a", SecondaryUrl = "./vaults/b", TertiaryUrl = "./vaults/c" });
        await File.WriteAllTextAsync(dir.Combine("lifeline.yaml"), yaml);
        await using (var registry = await RegistryTestServer.StartAsync(dir.Combine("lifeline-data", "registry")))
        {
            await RegistrySeed.SeedAsync(registry.Client(), models: 1, versionsPerModel: 1);
        }

        // a lake point's data time is its Delta version's timestamp, the commit file's modification time on disk (the
        // real clock): the fake clock starts at the real now so that ageing is then driven by the test alone
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await PlanDataSetup.SeedLakeAndJobStoreAsync(dir, time, leads: 20, batches: 1);
        var plan = await PlanDataSetup.LoadPlanAsync(dir);
        var locations = PlanDataSetup.Locations(plan, dir, Password, time);
        var adapters = RecoveryService.BuiltInAdapters(plan, new PlanAdapterOptions { RestoreRoot = dir.Combine("restored"), Time = time });
        var service = new RecoveryService(plan, locations, adapters, new RecoveryServiceOptions
        {
            Time = time,
            WorkDirectory = dir.Combine("work"),
            HookDirectory = dir.Path,
            Arguments = ["backup", "--all", "--password", Password],
        });
        return (dir, plan, time, locations, service);
    }

    private static Dictionary<string, StatusColor> Colors(StatusReport report) => report.Components.ToDictionary(c => c.Component, c => c.Color);

    [Fact]
    public async Task BackupAll_CustomerPlan_StatusShowsWhatItProtectsAndWhatItCannot()
    {
        var (dir, plan, time, locations, service) = await CreateAsync(recommended: false);
        using var _ = dir;
        await using var __ = locations;

        var results = (await service.BackupAsync([])).ToDictionary(r => r.Component);

        string[] protectedOnes = ["registry", "leads", "predictions", "conversions", "audit_logs", "monitoring_metrics"];
        Assert.All(protectedOnes, c => Assert.True(results[c].Outcome == "ok", $"{c}: {results[c].Message}"));
        Assert.Contains("names no location", results["configuration"].Message, StringComparison.Ordinal);
        Assert.Contains("has no backup policy", results["jobs"].Message, StringComparison.Ordinal);
        // the registry's policy names a secondary and a tertiary only: written and verified in both
        Assert.Equal(["secondary", "tertiary"], results["registry"].Locations.Where(l => l.Ok).Select(l => l.Location).Distinct());

        var fresh = Colors(await service.StatusAsync());
        time.Advance(TimeSpan.FromMinutes(90));
        var older = Colors(await service.StatusAsync());
        time.Advance(TimeSpan.FromHours(3));
        var stale = await service.StatusAsync();

        Assert.All(protectedOnes, c => Assert.Equal((c, StatusColor.Green), (c, fresh[c])));
        Assert.Equal((StatusColor.Red, StatusColor.Red), (fresh["configuration"], fresh["jobs"]));
        Assert.All(protectedOnes, c => Assert.Equal((c, StatusColor.Amber), (c, older[c])));
        Assert.All(stale.Components, c => Assert.Equal((c.Component, StatusColor.Red), (c.Component, c.Color)));
        Assert.Contains("over the RPO maximum 4h", stale.Components.Single(c => c.Component == "leads").Reason, StringComparison.Ordinal);
        Assert.Equal(StatusColor.Red, stale.Overall);
    }

    [Fact]
    public async Task BackupAll_RecommendedPlan_EveryComponentGreenRestorableAndMeasured()
    {
        var (dir, plan, time, locations, service) = await CreateAsync(recommended: true);
        using var _ = dir;
        await using var __ = locations;

        var results = await service.BackupAsync([]);

        Assert.Equal(["registry", "leads", "predictions", "conversions", "audit_logs", "monitoring_metrics", "configuration", "jobs"], results.Select(r => r.Component));
        Assert.All(results, r => Assert.True(r.Outcome == "ok", $"{r.Component}: {r.Message}"));
        var status = await service.StatusAsync();
        Assert.Equal(StatusColor.Green, status.Overall);
        time.Advance(TimeSpan.FromMinutes(90));
        Assert.All((await service.StatusAsync()).Components, c => Assert.Equal((c.Component, StatusColor.Amber), (c.Component, c.Color)));

        // restored beside the live ones from the plan alone: the jobs' store and plan file, a table
        var jobs = await service.RestoreAsync("jobs", new RestoreRunOptions { As = "jobs-restored" });
        Assert.Equal("primary", jobs.ServedBy);
        Assert.Equal(await File.ReadAllBytesAsync(dir.Combine("lifeline.yaml")), await File.ReadAllBytesAsync(dir.Combine("restored", "jobs-restored", "lifeline.yaml")));
        Assert.True(File.Exists(dir.Combine("restored", "jobs-restored", "lifeline-data", "scheduler", "jobs.db")));
        var leads = await service.RestoreAsync("leads", new RestoreRunOptions { As = "leads-restored" });
        Assert.True(Directory.Exists(Path.Combine(leads.Target.Directory, "_delta_log")));
        var forget = await service.ForgetAsync([], dryRun: false);
        Assert.True(forget.Ok, string.Join("\n", forget.Findings));

        // every changing action left its record, with the password redacted
        var records = await service.Audit.ReadAsync().ToListAsync();
        Assert.Equal(8, records.Count(r => r.Action == AuditActions.Backup && r.Outcome == AuditOutcomes.Ok));
        Assert.Equal(2, records.Count(r => r.Action == AuditActions.Restore));
        Assert.Single(records, r => r.Action == AuditActions.Forget);
        Assert.DoesNotContain(records.SelectMany(r => r.Arguments), a => a.Contains(Password, StringComparison.Ordinal));

        // plan check fed by the locations' history: every worst case measured
        var history = await PlanHistory.ReadAsync(plan, locations, TimeSpan.FromSeconds(10));
        Assert.Equal(["primary", "secondary", "tertiary"], history.Reachable);
        Assert.Empty(history.Unreachable);
        var check = await new PlanChecker(time, history.History).CheckAsync(plan);
        Assert.All(check.Components, c => Assert.True(c.Measured, $"{c.Component}: {c.Basis}"));
        Assert.All(check.Components, c => Assert.Contains("measured backup", c.Basis, StringComparison.Ordinal));
    }
}
