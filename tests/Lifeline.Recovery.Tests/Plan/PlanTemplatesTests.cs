using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Tests.Plan;

public sealed class PlanTemplatesTests
{
    private static readonly TimeSpan H = TimeSpan.FromHours(1);

    [Fact]
    public void Customer_Parse_HoldsEveryNumberOfTheDocument()
    {
        var result = PlanFile.Parse(PlanTemplates.Customer());

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        var plan = result.Plan!;
        Assert.Equal(new ObjectivePair(4 * H, 8 * H), plan.Objectives.Rto);
        Assert.Equal(new ObjectivePair(1 * H, 4 * H), plan.Objectives.Rpo);
        var scenarios = plan.Objectives.Scenarios.ToDictionary(s => s.Name);
        Assert.Equal(5, scenarios.Count);
        Assert.Equal((4 * H, 1 * H), (scenarios["workspace-failure"].Rto.Target!.Value, scenarios["workspace-failure"].Rpo.Target!.Value));
        Assert.Equal((2 * H, 1 * H), (scenarios["registry-failure"].Rto.Target!.Value, scenarios["registry-failure"].Rpo.Target!.Value));
        Assert.Equal((1 * H, TimeSpan.Zero), (scenarios["api-failure"].Rto.Target!.Value, scenarios["api-failure"].Rpo.Target!.Value));
        Assert.Equal((8 * H, 1 * H), (scenarios["data-loss"].Rto.Target!.Value, scenarios["data-loss"].Rpo.Target!.Value));
        Assert.Equal((8 * H, 4 * H), (scenarios["region-failure"].Rto.Target!.Value, scenarios["region-failure"].Rpo.Target!.Value));

        var registry = plan.FindPolicy("registry")!;
        Assert.Equal("0 1 * * *", registry.Schedule.Cron);
        Assert.Equal(TimeSpan.FromDays(30), registry.Retention!.Within);
        Assert.Equal(new PolicyLocations(null, "secondary", "tertiary"), registry.Locations);
        var tables = plan.FindPolicy("delta-tables")!;
        Assert.Equal("0 2 * * *", tables.Schedule.Cron);
        Assert.Equal("0 3 * * 0", tables.Full);
        Assert.Equal(TimeSpan.FromDays(7 * 365), plan.FindComponent("audit_logs")!.Compliance);
        Assert.Equal(TimeSpan.FromDays(2 * 365), plan.FindPolicy("monitoring")!.Retention!.Within);
        Assert.True(plan.FindPolicy("configuration")!.Schedule.OnChange);
        Assert.Equal(["primary", "secondary", "tertiary"], plan.Locations.Select(l => l.Name));
        Assert.Equal([TimeSpan.FromMinutes(30), 4 * H, 2 * H, 1 * H], scenarios["data-loss"].Steps.Select(s => s.Budget));
        Assert.Equal(4, plan.Drills.Count);
        Assert.Equal(4, plan.Roles.Count);
        Assert.Equal(4, plan.Notifications.Channels.Count);
    }

    [Fact]
    public async Task Customer_Check_ReportsDailyRegistryBackupAgainstOneHourRpo()
    {
        using var dir = new TempDirectory();
        var yaml = PlanTemplates.Customer();

        var report = await PlanTestSupport.CheckAsync(dir, yaml);

        Assert.True(report.HasErrors);
        var rpo = PlanTestSupport.Single(report, PlanRules.RpoUnmet, "registry");
        Assert.Equal(FindingSeverity.Error, rpo.Severity);
        Assert.Equal(dir.Combine("lifeline.yaml"), rpo.File);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "schedule: \"0 1 * * *\""), rpo.Mark.Line);
        Assert.Contains("worst-case RPO 24h15m", rpo.Message, StringComparison.Ordinal);
        Assert.Contains("exceeds the maximum 4h and the target 1h", rpo.Message, StringComparison.Ordinal);
        Assert.Contains("on-change", rpo.Fix, StringComparison.Ordinal);
        Assert.Matches(@"^.+lifeline\.yaml:\d+:\d+: error rpo-unmet \[registry\]: .+; fix: .+$", rpo.ToString());
        // the document's other gaps
        Assert.Equal(FindingSeverity.Error, PlanTestSupport.Single(report, PlanRules.TooFewLocations, "policy registry").Severity);
        Assert.Equal(FindingSeverity.Error, PlanTestSupport.Single(report, PlanRules.Unprotected, "jobs").Severity);
        Assert.Equal(FindingSeverity.Info, PlanTestSupport.Single(report, PlanRules.FullBackupMeaning, "policy delta-tables").Severity);
        // Procedure 1's steps (15m + 2h + 1h + 30m + 30m) exceed its "Total Time: ~4 hours" and the scenario's RTO
        var steps = PlanTestSupport.Single(report, PlanRules.ContradictoryObjectives, "scenario workspace-failure");
        Assert.Contains("add up to 4h15m", steps.Message, StringComparison.Ordinal);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "steps:                    # \"Procedure 1"), steps.Mark.Line);
    }

    [Fact]
    public async Task Recommended_Check_HasNoErrorsOrWarningsAndHalvesEveryTarget()
    {
        using var dir = new TempDirectory();

        var report = await PlanTestSupport.CheckAsync(dir, PlanTemplates.Recommended());

        Assert.True(report.Findings.All(f => f.Severity == FindingSeverity.Info), string.Join("\n", report.Findings));
        Assert.Equal(8, report.Components.Count);
        Assert.All(report.Components, c => Assert.True(c.WorstCase!.Value * 2 <= c.Target!.Value, $"{c.Component}: {c.WorstCase} against {c.Target}"));
    }

    [Fact]
    public void Templates_WithLocationOptions_WriteThoseUrls()
    {
        var options = new PlanTemplateOptions { PrimaryUrl = "/srv/a vault", SecondaryUrl = "s3://b/vault", TertiaryUrl = "azure://c/vault" };

        foreach (var recommended in new[] { false, true })
        {
            var plan = PlanFile.Parse(PlanTemplates.For(recommended, options)).Plan!;
            Assert.Equal(["/srv/a vault", "s3://b/vault", "azure://c/vault"], plan.Locations.Select(l => l.Url));
        }
    }

    [Fact]
    public async Task PlanTableModel_Customer_RowPerComponentWithWorstCase()
    {
        using var dir = new TempDirectory();
        var report = await PlanTestSupport.CheckAsync(dir, PlanTemplates.Customer());

        var table = PlanTableModel.Create(report.Plan!, report);

        Assert.Equal(["registry", "leads", "predictions", "conversions", "audit_logs", "monitoring_metrics", "configuration", "jobs"], table.Rows.Select(r => r.Component));
        var registry = table.Rows[0];
        Assert.Equal(("registry", "0 1 * * *", "keep-within 30d", "over-max"), (registry.Kind, registry.Schedule, registry.Retention, registry.Status));
        Assert.Equal(TimeSpan.FromMinutes(24 * 60 + 15), registry.WorstCase);
        Assert.Equal((TimeSpan.FromHours(1), TimeSpan.FromHours(4)), (registry.RpoTarget!.Value, registry.RpoMax!.Value));
        Assert.Equal(2, registry.Locations.Count);
        Assert.StartsWith("secondary: secondary (", registry.Locations[0], StringComparison.Ordinal);
        Assert.Equal("unprotected", table.Rows[^1].Status);
        Assert.Equal("keep all", table.Rows.Single(r => r.Component == "configuration").Retention);
        var workspace = table.Scenarios.Single(s => s.Scenario == "workspace-failure");
        Assert.Equal((TimeSpan.FromHours(4), TimeSpan.FromHours(8)), (workspace.RtoTarget!.Value, workspace.RtoMax!.Value));
        Assert.Equal(TimeSpan.FromMinutes(4 * 60 + 15), workspace.StepsTotal);
    }
}
