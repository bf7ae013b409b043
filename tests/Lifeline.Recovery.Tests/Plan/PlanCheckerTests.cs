using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Tests.Plan;

public sealed class PlanCheckerTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private Task<PlanCheckReport> CheckAsync(string yaml, IBackupHistory? history = null) => PlanTestSupport.CheckAsync(_dir, yaml, history);

    private static string Good(string from, string to) => PlanTestSupport.GoodPlan().Replace(from, to, StringComparison.Ordinal);

    [Fact]
    public async Task CheckAsync_GoodPlan_NoFindings()
    {
        var report = await CheckAsync(PlanTestSupport.GoodPlan());

        Assert.Empty(report.Findings);
        var rpo = Assert.Single(report.Components);
        Assert.Equal(TimeSpan.FromMinutes(1 + 5 + 10 + 5), rpo.WorstCase);
        Assert.False(rpo.Measured);
        Assert.Contains("estimated", rpo.Basis, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RpoUnmet_DailyScheduleAgainstFourHourMax_ErrorAtScheduleLine()
    {
        var yaml = Good("schedule: on-change", "schedule: \"@daily\"");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.RpoUnmet, "registry");

        Assert.Equal(FindingSeverity.Error, finding.Severity);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "@daily"), finding.Mark.Line);
        Assert.Contains("worst-case RPO 24h20m", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RpoUnmet_OverTargetWithinMax_Warning()
    {
        var yaml = Good("schedule: on-change", "schedule: \"0 */2 * * *\"");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.RpoUnmet, "registry");

        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Contains("2h20m", finding.Message, StringComparison.Ordinal);
        Assert.Contains("*/30 * * * *", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RpoUnmet_MeasuredHistory_WorstRunCountsInsteadOfEstimates()
    {
        var history = new MeasuredHistory();
        history.Backups["registry"] =
        [
            new BackupMeasurement { StartedAt = PlanTestSupport.Now.AddHours(-2), Backup = TimeSpan.FromMinutes(2), Copy = TimeSpan.FromMinutes(1), Verification = TimeSpan.FromMinutes(1) },
            new BackupMeasurement { StartedAt = PlanTestSupport.Now.AddHours(-1), Backup = TimeSpan.FromMinutes(40), Copy = TimeSpan.FromMinutes(15), Verification = TimeSpan.FromMinutes(10) },
        ];

        var report = await CheckAsync(PlanTestSupport.GoodPlan(), history);

        var rpo = Assert.Single(report.Components);
        Assert.True(rpo.Measured);
        Assert.Equal(TimeSpan.FromMinutes(1 + 40 + 15 + 10), rpo.WorstCase);
        var finding = PlanTestSupport.Single(report, PlanRules.RpoUnmet, "registry");
        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Contains("worst of 2 measured backups", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RpoUnmet_VerificationOnlyScheduled_WaitForIntegrityCheckCounts()
    {
        var yaml = PlanTestSupport.GoodPlan("""
            verification:
              after-backup: false
              checks:
                daily: { schedule: "0 6 * * *", run: [integrity] }
            """);

        var report = await CheckAsync(yaml);

        Assert.Equal(TimeSpan.FromMinutes(1 + 5 + 10 + 5) + TimeSpan.FromDays(1), Assert.Single(report.Components).WorstCase);
        Assert.Equal(FindingSeverity.Error, PlanTestSupport.Single(report, PlanRules.RpoUnmet, "registry").Severity);
    }

    [Fact]
    public void LongestGap_WorkingHoursCron_IsTheWeekend()
    {
        var checker = new PlanChecker(PlanTestSupport.Clock());

        Assert.Equal(TimeSpan.FromHours(64), checker.LongestGap("0 9-17 * * 1-5", null));
        Assert.Equal(TimeSpan.FromHours(1), checker.LongestGap("0 * * * *", "Europe/London"));
        Assert.Null(checker.LongestGap("0 0 30 2 *", null));
    }

    [Fact]
    public async Task RetentionShort_ShorterThanCompliance_ErrorAtRetentionLine()
    {
        var yaml = Good("registry: { policy: registry }", "registry: { policy: registry, compliance: 7y }");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.RetentionShort, "registry");

        Assert.Equal(FindingSeverity.Error, finding.Severity);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "retention:"), finding.Mark.Line);
        Assert.Contains("keeps recovery points for 30d, less than the compliance period 7y", finding.Message, StringComparison.Ordinal);
        Assert.Contains("monthly: 84", finding.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RetentionShort_MonthlyAndYearlyReach_MeetsCompliance()
    {
        var yaml = Good("registry: { policy: registry }", "registry: { policy: registry, compliance: 7y }")
            .Replace("daily: 30 }", "daily: 30, yearly: 7 }", StringComparison.Ordinal);

        Assert.DoesNotContain((await CheckAsync(yaml)).Findings, f => f.Rule == PlanRules.RetentionShort);
    }

    [Fact]
    public async Task RetentionMissing_Warning()
    {
        var yaml = Good("    retention: { keep-within: 48h, daily: 30 }\n", "");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.RetentionShort, "policy registry");

        Assert.Equal(FindingSeverity.Warning, finding.Severity);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "policies:") + 1, finding.Mark.Line);
    }

    [Fact]
    public async Task TooFewLocations_TwoOfThree_ErrorNamesTheMissingRole()
    {
        var yaml = Good("locations: { primary: a, secondary: b, tertiary: c }", "locations: { primary: a, secondary: b }");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.TooFewLocations, "policy registry");

        Assert.Equal(FindingSeverity.Error, finding.Severity);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "locations: { primary: a"), finding.Mark.Line);
        Assert.Contains("2 locations, fewer than the 3 required (no tertiary)", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedFailureDomain_TwoPathsOnOneDisk_ErrorAtSecondRole()
    {
        var yaml = Good("url: \"s3://bucket-b/vault?endpoint=https://s3.region-b.example\"", "url: ./vault-b");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.SharedFailureDomain, "policy registry");

        Assert.Equal(FindingSeverity.Error, finding.Severity);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "locations: { primary: a"), finding.Mark.Line);
        Assert.Contains("the primary 'a' and the secondary 'b' share the same disk", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedFailureDomain_SameEndpointHost_Error()
    {
        var yaml = Good("azure://container-c/vault?endpoint=https://blob.provider-c.example", "azure://container-c/vault?endpoint=https://S3.region-b.example:444");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.SharedFailureDomain, "policy registry");

        Assert.Contains("the secondary 'b' and the tertiary 'c' share the same endpoint host s3.region-b.example", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedFailureDomain_SameLabel_Error()
    {
        var yaml = Good("region: region-b }", "region: region-b, failure-domain: rack-1 }").Replace("region: region-a }", "region: region-a, failure-domain: rack-1 }", StringComparison.Ordinal);

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.SharedFailureDomain, "policy registry");

        Assert.Contains("the same failure domain 'rack-1'", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SharedRegion_PrimaryAndSecondary_Warning()
    {
        var yaml = Good("region: region-b }", "region: region-a }");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.SharedRegion, "policy registry");

        Assert.Equal(FindingSeverity.Warning, finding.Severity);
    }

    [Fact]
    public void DeviceProbe_PathsOnOneFileSystem_SameDeviceOtherFileSystemDiffers()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // device ids of /proc are a Linux fact
        }

        var probe = StatDeviceProbe.Instance;

        var here = probe.DeviceOf(_dir.Path);
        Assert.NotNull(here);
        Assert.Equal(here, probe.DeviceOf(_dir.Combine("not", "yet", "created")));
        Assert.NotEqual(here, probe.DeviceOf("/proc/self"));
    }

    [Fact]
    public async Task RestoreTooSlow_MeasuredSpeedAgainstRto_ErrorAtScenarioRto()
    {
        var history = new MeasuredHistory();
        history.Backups["registry"] = [new BackupMeasurement { StartedAt = PlanTestSupport.Now, Backup = TimeSpan.FromMinutes(1), Bytes = 10L << 30 }];
        history.Restores["registry"] = [new RestoreMeasurement { StartedAt = PlanTestSupport.Now, Bytes = 1L << 30, Duration = TimeSpan.FromMinutes(17) }];
        var yaml = PlanTestSupport.GoodPlan();

        var finding = PlanTestSupport.Single(await CheckAsync(yaml, history), PlanRules.RestoreTooSlow, "scenario registry-failure");

        Assert.Equal(FindingSeverity.Error, finding.Severity);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "rto: 2h"), finding.Mark.Line);
        Assert.Contains("takes 2h50m", finding.Message, StringComparison.Ordinal);
        Assert.Contains("registry 10 GiB at 1 MiB/s", finding.Message, StringComparison.Ordinal);
        Assert.Contains("more than the restore budget 2h", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreTooSlow_FastEnough_NoFinding()
    {
        var history = new MeasuredHistory();
        history.Backups["registry"] = [new BackupMeasurement { StartedAt = PlanTestSupport.Now, Backup = TimeSpan.FromMinutes(1), Bytes = 1L << 30 }];
        history.Restores["registry"] = [new RestoreMeasurement { StartedAt = PlanTestSupport.Now, Bytes = 1L << 30, Duration = TimeSpan.FromMinutes(1) }];

        Assert.DoesNotContain((await CheckAsync(PlanTestSupport.GoodPlan(), history)).Findings, f => f.Rule == PlanRules.RestoreTooSlow);
    }

    [Theory]
    [InlineData("rto: { target: 4h, max: 8h }", "rto: { target: 9h, max: 8h }", "the RTO target 9h is longer than its maximum 8h")]
    [InlineData("      rpo: 1h", "      rpo: 5h", "the scenario's RPO target 5h is longer than the plan's maximum 4h")]
    [InlineData("      rpo: 1h", "      rpo: 0", "an RPO of 0 means no data loss")]
    [InlineData("      rto: 2h", "      rto: 2h\n      restore-budget: 3h", "the restore budget 3h is longer than the scenario's RTO target 2h")]
    [InlineData("      rto: 2h", "      rto: 2h\n      steps: { assess: 1h, restore: 1h30m }", "the recovery steps add up to 2h30m (assess 1h + restore 1h30m), more than the scenario's RTO target 2h")]
    public async Task ObjectivesContradictory_Error(string from, string to, string message)
    {
        var yaml = Good(from, to);

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.ContradictoryObjectives);

        Assert.Equal(FindingSeverity.Error, finding.Severity);
        Assert.Equal(PlanTestSupport.LineOf(yaml, to.Split('\n')[^1]), finding.Mark.Line);
        Assert.Contains(message, finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownComponent_MisspeltNameWithoutKind_Suggests()
    {
        var yaml = Good("registry: { policy: registry }", "registry: { policy: registry }\n  leeds: { policy: registry }");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.UnknownComponent, "leeds");

        Assert.Equal(PlanTestSupport.LineOf(yaml, "leeds:"), finding.Mark.Line);
        Assert.Contains("(did you mean 'leads'?)", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownComponent_ScenarioNamesUndefined_ErrorAtListItem()
    {
        var yaml = Good("components: [registry]", "components: [registry, predictons]");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.UnknownComponent, "scenario registry-failure");

        Assert.Equal(PlanTestSupport.LineOf(yaml, "predictons"), finding.Mark.Line);
        Assert.Equal(yaml.Split('\n')[finding.Mark.Line - 1].IndexOf("predictons", StringComparison.Ordinal) + 1, finding.Mark.Column);
        Assert.Contains("(did you mean 'predictions'?)", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownReference_PolicyAndLocation_Suggest()
    {
        var yaml = Good("registry: { policy: registry }", "registry: { policy: registy }").Replace("tertiary: c }", "tertiary: cc }", StringComparison.Ordinal);

        var report = await CheckAsync(yaml);

        var policy = PlanTestSupport.Single(report, PlanRules.UnknownReference, "registry");
        Assert.Contains("(did you mean 'registry'?)", policy.Message, StringComparison.Ordinal);
        var location = PlanTestSupport.Single(report, PlanRules.UnknownReference, "policy registry");
        Assert.Contains("the tertiary location 'cc' is not defined (did you mean 'c'?)", location.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unprotected_ComponentWithoutPolicy_ErrorNamesScenario()
    {
        var yaml = Good("registry: { policy: registry }", "registry: {}");

        var finding = PlanTestSupport.Single(await CheckAsync(yaml), PlanRules.Unprotected, "registry");

        Assert.Equal(PlanTestSupport.LineOf(yaml, "registry: {}"), finding.Mark.Line);
        Assert.Contains("yet scenario registry-failure restores it", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FullBackupMeaning_WeeklyFull_InfoAtFullLine()
    {
        var yaml = Good("    schedule: on-change\n", "    schedule: on-change\n    full: \"0 3 * * 0\"\n");

        var report = await CheckAsync(yaml);

        var finding = PlanTestSupport.Single(report, PlanRules.FullBackupMeaning, "policy registry");
        Assert.Equal(FindingSeverity.Info, finding.Severity);
        Assert.False(report.HasErrors);
        Assert.Equal(PlanTestSupport.LineOf(yaml, "full:"), finding.Mark.Line);
        Assert.Contains("every snapshot", finding.Message, StringComparison.Ordinal);
        Assert.Contains("re-read", finding.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task UnknownReference_DrillScenarioAndRoleChannel_Errors()
    {
        var yaml = PlanTestSupport.GoodPlan("""
            drills:
              quarterly: { scenarios: [registry-failur], schedule: "0 10 1 1,4,7,10 *" }
            notifications:
              channels:
                slack: { kind: slack, target: "#incidents", secret-env: SLACK_WEBHOOK_URL, for: [status] }
            roles:
              lead: { title: Lead, notify: [slak] }
            """);

        var report = await CheckAsync(yaml);

        Assert.Contains("(did you mean 'registry-failure'?)", PlanTestSupport.Single(report, PlanRules.UnknownReference, "drill quarterly").Message, StringComparison.Ordinal);
        var role = PlanTestSupport.Single(report, PlanRules.UnknownReference, "role lead");
        Assert.Equal(PlanTestSupport.LineOf(yaml, "[slak]"), role.Mark.Line);
        Assert.Contains("(did you mean 'slack'?)", role.Message, StringComparison.Ordinal);
    }
}
