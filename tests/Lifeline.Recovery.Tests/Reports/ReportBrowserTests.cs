using System.Text.Json;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Reports;
using Microsoft.Extensions.Time.Testing;
using Microsoft.Playwright;

namespace Lifeline.Recovery.Tests.Reports;

/// <summary>
/// The HTML report rendered by a real browser: Debian's chromium (scripts/setup/chromium.sh) driven by
/// Microsoft.Playwright with <c>ExecutablePath</c>, so Playwright downloads no browser. The page must lay out every
/// chart with a non-zero size and ask the network for nothing.
/// </summary>
public sealed class ReportBrowserTests
{
    private const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task RenderHtml_InChromium_ChartsHaveSizeAndNothingIsFetched()
    {
        Assert.True(File.Exists(Chromium), $"{Chromium} is missing: run scripts/setup/chromium.sh");
        var model = await ModelAsync();
        var html = ReportFormats.Render(model, ReportFormats.Html);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions { ExecutablePath = Chromium, Headless = true, Args = ["--no-sandbox"] });
        var page = await browser.NewPageAsync();
        var requests = new List<string>();
        page.Request += (_, r) => requests.Add(r.Url);
        await page.SetContentAsync(html);

        var sizes = await page.EvaluateAsync<JsonElement>(
            "() => Array.from(document.querySelectorAll('svg')).map(s => { const r = s.getBoundingClientRect(); return { cls: s.getAttribute('class'), w: r.width, h: r.height }; })");
        var line = await page.EvaluateAsync<JsonElement>(
            "() => { const p = document.querySelector('[data-component=\"configuration\"] polyline'); const b = p.getBBox(); return { w: b.width, h: b.height }; }");

        var charts = sizes.EnumerateArray().ToList();
        Assert.Equal(model.Components.Count, charts.Count(c => c.GetProperty("cls").GetString() == "age-chart"));
        Assert.Single(charts, c => c.GetProperty("cls").GetString() == "restore-chart");
        Assert.All(charts, c => Assert.True(c.GetProperty("w").GetDouble() > 0 && c.GetProperty("h").GetDouble() > 0, c.ToString()));
        Assert.True(line.GetProperty("w").GetDouble() > 0 && line.GetProperty("h").GetDouble() > 0, line.ToString());
        Assert.Empty(requests);
    }

    /// <summary>A model over audit records as data: three backups of one component, one restore; a second component
    /// never backed up; one scenario.</summary>
    private static async Task<ReportModel> ModelAsync()
    {
        var parsed = PlanFile.Parse("""
            version: 1
            objectives:
              rto: { target: 4h, max: 8h }
              rpo: { target: 1h, max: 4h }
              scenarios:
                config-loss: { restore-budget: 30m, components: [configuration] }
            components:
              configuration: { policy: p, files: [conf/*.json] }
              leads: { policy: p }
            policies:
              p:
                schedule: "0 * * * *"
                locations: { primary: a, secondary: b }
            locations:
              a: { url: ./vault-a, region: region-a }
              b: { url: ./vault-b, region: region-b }
            """, "lifeline.yaml");
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        var now = new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);
        var audit = new List<AuditRecord>();
        foreach (var (hoursAgo, i) in new[] { 7.0, 5.5, 1.5 }.Select((h, i) => (h, i)))
        {
            audit.Add(new AuditRecord
            {
                Time = now.AddHours(-hoursAgo), Action = AuditActions.Backup, Who = "t", Host = "h", Component = "configuration", Outcome = AuditOutcomes.Ok,
                Snapshot = $"{i:x}".PadLeft(64, 'a'), Bytes = 4096, Duration = TimeSpan.FromSeconds(20), BackupDuration = TimeSpan.FromSeconds(10),
                CopyDuration = TimeSpan.FromSeconds(5), VerifyDuration = TimeSpan.FromSeconds(5), VerifiedIn = ["a", "b"],
            });
        }

        audit.Add(new AuditRecord { Time = now.AddHours(-1), Action = AuditActions.Restore, Who = "t", Host = "h", Component = "configuration", Outcome = AuditOutcomes.Ok, Bytes = 4096, Duration = TimeSpan.FromSeconds(2) });
        return await ReportBuilder.BuildAsync(new ReportSources { Plan = parsed.Plan!, Audit = audit, Period = TimeSpan.FromDays(1), Time = new FakeTimeProvider(now) });
    }
}
