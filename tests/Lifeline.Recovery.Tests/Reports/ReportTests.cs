using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Reports;
using Lifeline.Recovery.Verification;

namespace Lifeline.Recovery.Tests.Reports;

/// <summary>
/// The report over real vaults on the file system: two real backups of the configuration component (the other three
/// components never backed up), a restore's audit record, evidence appended through <see cref="ObjectStoreEvidenceLog"/>
/// into two locations, and incidents as data. The fixture's secrets (in the captured files and environment) must not
/// appear in any rendering.
/// </summary>
public sealed partial class ReportTests
{
    private static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    [Fact]
    public async Task Build_BackupsEvidenceAndIncidents_MarkdownHasEachSectionAndTheNumbersAndNoSecret()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var model = await BuildAsync(f);

        var config = model.Components.Single(c => c.Name == "configuration");
        Assert.Equal("green", config.Color);
        Assert.Equal("vaults", model.StatusSource);
        Assert.Equal(2, config.Backups.Ok);
        Assert.True(config.HasHistory);
        Assert.InRange(config.PeakAgeSeconds!.Value, 5400, 5460);
        Assert.InRange(config.OverTargetSeconds, 1800, 1860);
        Assert.Equal(0, config.OverMaxSeconds);
        Assert.Equal(4, config.Age.Count);
        Assert.Equal(3600, config.RpoTargetSeconds);
        Assert.True(config.WorstCaseMeasured);
        Assert.Equal(0.5, config.LastChecks.Single(c => c.Check == "size-in-range").PassRate);
        Assert.Equal(["a", "b"], config.LastChecks.Where(c => c.Check == "integrity").Select(c => c.Location!));
        var leads = model.Components.Single(c => c.Name == "leads");
        Assert.False(leads.HasHistory);
        Assert.Equal("red", leads.Color);
        Assert.Empty(leads.Age);

        var fast = model.Scenarios.Single(s => s.Name == "config-loss");
        Assert.Equal("within", fast.Verdict);
        Assert.Equal("measured-restore", fast.Components.Single(p => p.Component == "configuration").Basis);
        Assert.Equal(100, fast.Components.Single(p => p.Component == "configuration").BytesPerSecond);
        Assert.Equal(600, fast.Components.Single(p => p.Component == "leads").Seconds);
        Assert.Equal("restore-test", fast.Components.Single(p => p.Component == "leads").Basis);
        Assert.Equal("over", model.Scenarios.Single(s => s.Name == "lake-loss").Verdict);
        Assert.Equal("unknown", model.Scenarios.Single(s => s.Name == "registry-loss").Verdict);
        Assert.Equal(1, model.Incidents.Open);
        Assert.Equal(2, model.Incidents.Items.Count); // the one resolved before the period is left out

        var md = ReportFormats.Render(model, ReportFormats.Markdown);
        foreach (var section in new[] { "## Summary", "## Objectives", "## Recovery points", "## Backups", "## Restores against budget", "## Checks", "## Incidents", "## Plan findings" })
        {
            Assert.Contains(section, md, StringComparison.Ordinal);
        }

        Assert.Contains("| configuration | 2 | 0 | 0 | ok 2026-03-02 13:30:00Z |", md, StringComparison.Ordinal);
        Assert.Contains("| size-in-range | 2 | 1 | 50 % |", md, StringComparison.Ordinal);
        Assert.Contains("| config-loss | 4h 00m / 8h 00m | 30m 00s |", md, StringComparison.Ordinal);
        Assert.Contains("OVER budget", md, StringComparison.Ordinal);
        Assert.Contains("secondary location unreachable", md, StringComparison.Ordinal);
        Assert.Contains("(drill)", md, StringComparison.Ordinal);
        Assert.Matches(@"\| leads \| red \| none \| – \|.*\| no history \|", md);
        AssertNoSecret(f, model);
    }

    [Fact]
    public async Task RenderHtmlAndJson_ARealPlan_HtmlIsSelfContainedWithOneChartPerComponentAndJsonRoundTrips()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var model = await BuildAsync(f);

        var html = ReportFormats.Render(model, ReportFormats.Html);
        Assert.DoesNotMatch(ExternalReference(), html);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("<link", html, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("url(", html, StringComparison.OrdinalIgnoreCase);
        using var reader = XmlReader.Create(new StringReader(html), new XmlReaderSettings { DtdProcessing = DtdProcessing.Ignore });
        var doc = XDocument.Load(reader);
        var charts = doc.Descendants(Svg + "svg").Where(s => (string?)s.Attribute("class") == "age-chart").ToList();
        Assert.Equal(model.Components.Count, charts.Count);
        foreach (var chart in charts)
        {
            Assert.False(string.IsNullOrWhiteSpace(chart.Element(Svg + "title")?.Value));
            Assert.NotNull(chart.Element(Svg + "desc"));
            Assert.True(double.Parse((string)chart.Attribute("width")!, System.Globalization.CultureInfo.InvariantCulture) > 0);
            var pair = chart.Parent!.Parent!;
            Assert.NotNull(pair.Descendants("table").FirstOrDefault()); // the figures beside the chart
        }

        var configChart = charts.Single(c => (string?)c.Parent!.Parent!.Attribute("data-component") == "configuration");
        var polyline = configChart.Element(Svg + "polyline")!;
        Assert.Equal(4, ((string)polyline.Attribute("points")!).Split(' ').Length);
        Assert.NotNull(configChart.Elements(Svg + "line").SingleOrDefault(l => (string?)l.Attribute("class") == "rpo-target"));
        Assert.NotNull(configChart.Elements(Svg + "line").SingleOrDefault(l => (string?)l.Attribute("class") == "rpo-max"));
        var leadsChart = charts.Single(c => (string?)c.Parent!.Parent!.Attribute("data-component") == "leads");
        Assert.Null(leadsChart.Element(Svg + "polyline"));
        Assert.Contains("no recovery point", leadsChart.Value, StringComparison.Ordinal);
        var bars = doc.Descendants(Svg + "rect").Where(r => (string?)r.Attribute("class") == "restore-bar").ToList();
        Assert.Equal(model.Scenarios.Count, bars.Count);

        var json = ReportFormats.Render(model, ReportFormats.Json);
        var back = JsonReport.Parse(json)!;
        Assert.Equal(json, JsonReport.Render(back));
        var root = JsonDocument.Parse(json).RootElement;
        Assert.Equal(1, root.GetProperty("formatVersion").GetInt32());
        var config = root.GetProperty("components").EnumerateArray().Single(c => c.GetProperty("name").GetString() == "configuration");
        Assert.Equal(3600, config.GetProperty("rpoTargetSeconds").GetDouble());
        Assert.Equal(4, config.GetProperty("age").GetArrayLength());
        Assert.True(root.GetProperty("incidents").GetProperty("items")[1].GetProperty("isDrill").GetBoolean());
    }

    [Fact]
    public async Task Build_NoStatusNoEvidenceNoIncidents_SaysWhatWasNotReadAndUsesTheAudit()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromMinutes(90));
        var audit = await f.Service.History.RecordsAsync(CancellationToken.None);

        var model = await ReportBuilder.BuildAsync(new ReportSources { Plan = f.Plan, Audit = audit, Time = f.Time });
        var md = MarkdownReport.Render(model);

        Assert.Equal("audit", model.StatusSource);
        Assert.Equal("amber", model.Components.Single(c => c.Name == "configuration").Color);
        Assert.Equal(5400, model.Components.Single(c => c.Name == "configuration").AgeSeconds!.Value, 0);
        Assert.False(model.Incidents.Recorded);
        Assert.Contains("Incidents are not recorded here", md, StringComparison.Ordinal);
        Assert.Contains("the vaults were not opened (no password)", md, StringComparison.Ordinal);
        Assert.Contains("the evidence of the checks was not read", md, StringComparison.Ordinal);
    }

    [Fact]
    public void AgeSeries_PointsBeforeAndInThePeriod_IsASawtoothAndCountsTimeOverTheObjective()
    {
        var start = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        var points = new List<ReportBuilder.AuditPoint>
        {
            new("p0", start.AddHours(-2), start.AddHours(-2).AddMinutes(5)),
            new("p1", start.AddHours(3), start.AddHours(3).AddMinutes(10)),
        };

        var (samples, peak) = ReportBuilder.AgeSeries(points, start, start.AddHours(4));

        Assert.Equal(
            new List<(double, double)> { (0.0, 2.0), (3 + (10 / 60.0), 5 + (10 / 60.0)), (3 + (10 / 60.0), 10 / 60.0), (4.0, 1.0) },
            samples.Select(s => ((s.Time - start).TotalHours, s.AgeSeconds / 3600)).ToList(),
            new ToleranceComparer());
        Assert.Equal((5 * 3600) + 600, peak);
        Assert.Equal((5 * 3600) + 600 - (4 * 3600), ReportBuilder.Over(samples, TimeSpan.FromHours(4)));
        Assert.Equal(0, ReportBuilder.Over(samples, null));
    }

    /// <summary>Two backups 90 minutes apart, a restore record, evidence in locations a and b, three incidents, and
    /// three scenarios: one within its budget, one over, one not measured.</summary>
    private static async Task<ReportModel> BuildAsync(RecoveryFixture f)
    {
        await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromMinutes(90));
        await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromMinutes(30));
        var now = f.Time.GetUtcNow();
        await f.Service.Audit.AppendAsync(new AuditRecord
        {
            Time = now.AddMinutes(-10), Action = AuditActions.Restore, Who = "tester", Host = "test-host", Component = "configuration",
            Outcome = AuditOutcomes.Ok, Bytes = 1000, Duration = TimeSpan.FromSeconds(10),
        });
        var evidence = new ObjectStoreEvidenceLog([f.StoreOf("a"), f.StoreOf("b")]);
        foreach (var location in new[] { "a", "b" })
        {
            await evidence.AppendAsync(new EvidenceRecord { Check = "integrity", Component = "configuration", Location = location, Time = now.AddHours(-1), Passed = true, Summary = "read 3 packs of 3, no error" });
        }

        await evidence.AppendAsync(new EvidenceRecord { Check = "size-in-range", Component = "configuration", Time = now.AddHours(-3), Passed = false, Summary = "backup 81 % smaller than the median of the last 20", Numbers = new Dictionary<string, double> { ["ratio"] = 0.19 } });
        await evidence.AppendAsync(new EvidenceRecord { Check = "size-in-range", Component = "configuration", Time = now.AddMinutes(-20), Passed = true, Summary = "within range" });
        await evidence.AppendAsync(new EvidenceRecord
        {
            Check = "restore-test", Component = "leads", Location = "b", Time = now.AddHours(-5), Passed = true, Summary = "restored 10 MiB in 10s, projected 600s for 600 MiB",
            Numbers = new Dictionary<string, double> { ["bytesPerSecond"] = 1048576, ["fullBytes"] = 629145600, ["projectedSeconds"] = 600 },
        });
        var incidents = new IncidentList(
        [
            new IncidentRecord { Id = "inc-2", Cause = "location:b", Kind = SignalKinds.LocationDown, Title = "secondary location unreachable", Severity = Severities.Critical, State = IncidentStates.Open, OpenedAt = now.AddHours(-2), Components = ["configuration", "leads"] },
            new IncidentRecord { Id = "inc-1", Cause = "drill:restore", Kind = SignalKinds.Drill, Title = "weekly restore drill", Severity = Severities.Info, State = IncidentStates.Resolved, IsDrill = true, OpenedAt = now.AddHours(-6), ResolvedAt = now.AddHours(-5) },
            new IncidentRecord { Id = "inc-0", Cause = "rpo:leads", Kind = SignalKinds.RpoExceeded, Title = "long ago", Severity = Severities.Error, State = IncidentStates.Resolved, OpenedAt = now.AddDays(-40), ResolvedAt = now.AddDays(-39) },
        ]);
        var plan = f.Plan with
        {
            Objectives = f.Plan.Objectives with
            {
                Scenarios =
                [
                    new PlanScenario { Name = "config-loss", Components = ["configuration", "leads"], RestoreBudget = TimeSpan.FromMinutes(30) },
                    new PlanScenario { Name = "lake-loss", Components = ["leads"], RestoreBudget = TimeSpan.FromMinutes(1) },
                    new PlanScenario { Name = "registry-loss", Components = ["registry"] },
                ],
            },
        };
        return await ReportBuilder.BuildAsync(new ReportSources
        {
            Plan = plan,
            Audit = await f.Service.History.RecordsAsync(CancellationToken.None),
            Status = await f.Service.StatusAsync(),
            Evidence = evidence,
            Incidents = incidents,
            Period = TimeSpan.FromDays(1),
            Time = f.Time,
        });
    }

    private static void AssertNoSecret(RecoveryFixture f, ReportModel model)
    {
        foreach (var format in ReportFormats.Each)
        {
            var text = ReportFormats.Render(model, format);
            foreach (var secret in new[] { RecoveryFixture.SecretValue, RecoveryFixture.DsnValue, "dsn-pa55", RecoveryFixture.Password })
            {
                Assert.False(text.Contains(secret, StringComparison.Ordinal), $"the {format} report holds a secret");
            }
        }

        Assert.NotNull(f);
    }

    [GeneratedRegex("""(src|href)\s*=\s*["']?\s*(https?:)?//""", RegexOptions.IgnoreCase)]
    private static partial Regex ExternalReference();

    /// <summary>Incidents as data (the store's read side, over a list).</summary>
    private sealed class IncidentList(IReadOnlyList<IncidentRecord> records) : IIncidentReader
    {
        public Task<IReadOnlyList<IncidentRecord>> ListAsync(bool openOnly = false, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<IncidentRecord>>(records.Where(r => !openOnly || r.State != IncidentStates.Resolved).ToList());

        public Task<IncidentRecord?> GetAsync(string id, CancellationToken cancellationToken = default) => Task.FromResult(records.FirstOrDefault(r => r.Id == id));
    }

    private sealed class ToleranceComparer : IEqualityComparer<(double, double)>
    {
        public bool Equals((double, double) x, (double, double) y) => Math.Abs(x.Item1 - y.Item1) < 1e-4 && Math.Abs(x.Item2 - y.Item2) < 1e-4;

        public int GetHashCode((double, double) obj) => 0;
    }
}
