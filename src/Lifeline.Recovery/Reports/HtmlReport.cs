using System.Globalization;
using System.Net;
using System.Text;

namespace Lifeline.Recovery.Reports;

/// <summary>
/// The HTML rendering: one page that loads nothing from outside (no script, no external style, font or image): the
/// CSS is inline and the charts are inline SVG drawn here. Each chart has a title, a description, axis labels and a
/// table of the same figures beside it. The page is well-formed XML (XHTML syntax), so it parses as both.
/// </summary>
internal static class HtmlReport
{
    private const string SvgNs = "http://www.w3.org/2000/svg";
    private const double Width = 640;
    private const double Height = 240;
    private const double Left = 80;
    private const double Right = 16;
    private const double Top = 16;
    private const double Bottom = 44;

    private const string Style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}
        h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccd;padding-bottom:.2rem}
        table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}th,td{border:1px solid #ccd;padding:.25rem .5rem;text-align:left;vertical-align:top}
        th{background:#f2f4f7}.pair{display:flex;flex-wrap:wrap;gap:1.5rem;align-items:flex-start}.pair figure{margin:0}
        figcaption{font-weight:600;margin-bottom:.3rem}.green{color:#116329}.amber{color:#9a6700}.red{color:#b42318}
        .badge{display:inline-block;padding:0 .4rem;border-radius:.3rem;color:#fff}.badge.green{background:#1a7f37}.badge.amber{background:#bf8700}.badge.red{background:#cf222e}
        svg text{font-size:11px;fill:#1b1f24}.note{color:#57606a}.scroll{max-height:240px;overflow:auto}
        """;

    public static string Render(ReportModel m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var h = new StringBuilder();
        h.Append("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>\n");
        h.Append(CultureInfo.InvariantCulture, $"<title>Recovery report{(m.Plan is null ? "" : ": " + E(m.Plan))}</title>\n<style>\n{Style}</style>\n</head>\n<body>\n");
        h.Append(CultureInfo.InvariantCulture, $"<h1>Recovery report{(m.Plan is null ? "" : ": " + E(m.Plan))}</h1>\n");
        h.Append(CultureInfo.InvariantCulture, $"<p>Generated {E(ReportText.Time(m.GeneratedAt))}, covering {E(ReportText.Time(m.PeriodStart))} to {E(ReportText.Time(m.GeneratedAt))} ({E(ReportText.Duration(m.PeriodSeconds))}).{(m.Owner is null ? "" : " Owner: " + E(m.Owner) + ".")}</p>\n");

        h.Append("<section id=\"summary\">\n<h2>Summary</h2>\n");
        h.Append(CultureInfo.InvariantCulture, $"<p>Overall: <span class=\"badge {m.Overall}\">{m.Overall}</span>. Recovery points from the {(m.StatusSource == "vaults" ? "vaults (as <code>lifeline status</code>)" : "audit records")}.</p>\n<ul>\n");
        foreach (var c in m.Components)
        {
            h.Append(CultureInfo.InvariantCulture, $"<li>{E(c.Name)}: <span class=\"badge {c.Color}\">{c.Color}</span> {E(c.Reason)}</li>\n");
        }

        h.Append("</ul>\n");
        if (m.NotRead.Count > 0)
        {
            h.Append("<p>Not read:</p>\n<ul class=\"note\">\n");
            foreach (var n in m.NotRead)
            {
                h.Append(CultureInfo.InvariantCulture, $"<li>{E(n)}</li>\n");
            }

            h.Append("</ul>\n");
        }

        h.Append(CultureInfo.InvariantCulture, $"<p>Plan objectives: RTO {E(ReportText.Objective(m.Objectives.RtoTargetSeconds, m.Objectives.RtoMaxSeconds))} (target / maximum), RPO {E(ReportText.Objective(m.Objectives.RpoTargetSeconds, m.Objectives.RpoMaxSeconds))}.</p>\n</section>\n");

        h.Append("<section id=\"recovery-points\">\n<h2>Recovery-point age</h2>\n");
        h.Append("<p class=\"note\">Age at each moment = time since the newest recovery point then was taken (from the backup and verify records); dashed lines: the RPO target (amber) and maximum (red).</p>\n");
        var index = 0;
        foreach (var c in m.Components)
        {
            AgeChart(h, m, c, index++);
        }

        h.Append("</section>\n");
        h.Append("<section id=\"backups\">\n<h2>Backups</h2>\n<table>\n<thead><tr><th scope=\"col\">component</th><th scope=\"col\">ok</th><th scope=\"col\">partial</th><th scope=\"col\">failed</th><th scope=\"col\">last</th><th scope=\"col\">size</th><th scope=\"col\">longest capture</th><th scope=\"col\">longest copy</th><th scope=\"col\">longest verification</th><th scope=\"col\">median backup</th><th scope=\"col\">worst-case RPO (plan check)</th></tr></thead>\n<tbody>\n");
        foreach (var c in m.Components)
        {
            var b = c.Backups;
            var last = b.LastTime is null ? "never in the period" : $"{b.LastOutcome} {ReportText.Time(b.LastTime)}" + (b.LastMessage is null ? "" : ": " + b.LastMessage);
            var worst = c.WorstCaseRpoSeconds is null ? "–" : $"{ReportText.Duration(c.WorstCaseRpoSeconds)} ({(c.WorstCaseMeasured ? "measured" : "estimated")})";
            h.Append(CultureInfo.InvariantCulture,
                $"<tr><th scope=\"row\">{E(c.Name)}</th><td>{b.Ok}</td><td>{b.Partial}</td><td>{b.Failed}</td><td>{E(last)}</td><td>{E(ReportText.Bytes(b.Bytes))}</td><td>{E(ReportText.Duration(b.MaxBackupSeconds))}</td><td>{E(ReportText.Duration(b.MaxCopySeconds))}</td><td>{E(ReportText.Duration(b.MaxVerifySeconds))}</td><td>{E(ReportText.Duration(b.MedianTotalSeconds))}</td><td title=\"{E(c.WorstCaseBasis ?? "")}\">{E(worst)}</td></tr>\n");
        }

        h.Append("</tbody>\n</table>\n</section>\n");
        RestoreChart(h, m);
        Checks(h, m);
        Incidents(h, m);
        if (m.Jobs.Count > 0)
        {
            h.Append("<section id=\"jobs\">\n<h2>Jobs</h2>\n<table>\n<thead><tr><th scope=\"col\">job</th><th scope=\"col\">kind</th><th scope=\"col\">status</th><th scope=\"col\">detail</th></tr></thead>\n<tbody>\n");
            foreach (var j in m.Jobs)
            {
                h.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{E(j.Job)}</th><td>{E(j.Kind)}</td><td class=\"{j.Color}\">{j.Color}</td><td>{E(j.Reason)}</td></tr>\n");
            }

            h.Append("</tbody>\n</table>\n</section>\n");
        }

        h.Append("<section id=\"findings\">\n<h2>Plan findings</h2>\n");
        if (m.Findings.Count == 0)
        {
            h.Append("<p><code>plan check</code> finds nothing with the measured history.</p>\n");
        }
        else
        {
            h.Append("<ul>\n");
            foreach (var f in m.Findings)
            {
                h.Append(CultureInfo.InvariantCulture, $"<li><span class=\"{(f.Severity == "error" ? "red" : "amber")}\">{f.Severity}</span> [{E(f.Rule)}] {E(f.Subject)}: {E(f.Message)}</li>\n");
            }

            h.Append("</ul>\n");
        }

        h.Append("</section>\n</body>\n</html>\n");
        return h.ToString();
    }

    private static void AgeChart(StringBuilder h, ReportModel m, ReportComponent c, int index)
    {
        var id = $"age-{index}";
        h.Append(CultureInfo.InvariantCulture, $"<div class=\"pair\" data-component=\"{E(c.Name)}\">\n<figure>\n<figcaption id=\"{id}-caption\">{E(c.Name)}: recovery-point age</figcaption>\n");
        h.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"{SvgNs}\" class=\"age-chart\" role=\"img\" width=\"{Width}\" height=\"{Height}\" viewBox=\"0 0 {Width} {Height}\" aria-labelledby=\"{id}-title {id}-desc\">\n");
        var desc = c.HasHistory
            ? $"Peak age {ReportText.Duration(c.PeakAgeSeconds)}, now {ReportText.Duration(c.AgeSeconds)}; over the RPO target for {ReportText.Duration(c.OverTargetSeconds)} and over the maximum for {ReportText.Duration(c.OverMaxSeconds)} of the period."
            : "No recovery point recorded in the period: nothing to draw.";
        h.Append(CultureInfo.InvariantCulture, $"<title id=\"{id}-title\">Recovery-point age of {E(c.Name)} over the period, against its RPO</title>\n<desc id=\"{id}-desc\">{E(desc)}</desc>\n");
        var t0 = m.PeriodStart;
        var t1 = m.GeneratedAt;
        var span = Math.Max(1, (t1 - t0).TotalSeconds);
        var yMax = new[] { c.PeakAgeSeconds ?? 0, c.RpoTargetSeconds ?? 0, c.RpoMaxSeconds ?? 0 }.Max() * 1.1;
        yMax = yMax <= 0 ? 3600 : yMax;
        double X(DateTimeOffset t) => Left + ((t - t0).TotalSeconds / span * (Width - Left - Right));
        double Y(double age) => Height - Bottom - (Math.Min(age, yMax) / yMax * (Height - Top - Bottom));
        Axes(h, ReportText.Time(t0)[..16], ReportText.Time(t0 + ((t1 - t0) / 2))[..16], ReportText.Time(t1)[..16], yMax, "time (UTC)", "age");
        if (c.RpoTargetSeconds is { } target)
        {
            h.Append(CultureInfo.InvariantCulture, $"<line class=\"rpo-target\" x1=\"{F(Left)}\" x2=\"{F(Width - Right)}\" y1=\"{F(Y(target))}\" y2=\"{F(Y(target))}\" stroke=\"#bf8700\" stroke-dasharray=\"6 4\"/>\n");
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left + 4)}\" y=\"{F(Y(target) - 4)}\" text-anchor=\"start\">RPO target {E(ReportText.Duration(target))}</text>\n");
        }

        if (c.RpoMaxSeconds is { } max && max != c.RpoTargetSeconds)
        {
            h.Append(CultureInfo.InvariantCulture, $"<line class=\"rpo-max\" x1=\"{F(Left)}\" x2=\"{F(Width - Right)}\" y1=\"{F(Y(max))}\" y2=\"{F(Y(max))}\" stroke=\"#cf222e\" stroke-dasharray=\"2 3\"/>\n");
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Width - Right - 4)}\" y=\"{F(Y(max) - 4)}\" text-anchor=\"end\">RPO max {E(ReportText.Duration(max))}</text>\n");
        }

        if (c.Age.Count > 0)
        {
            var points = string.Join(" ", c.Age.Select(s => $"{F(X(s.Time))},{F(Y(s.AgeSeconds))}"));
            h.Append(CultureInfo.InvariantCulture, $"<polyline class=\"age\" fill=\"none\" stroke=\"#0969da\" stroke-width=\"2\" points=\"{points}\"/>\n");
        }
        else
        {
            h.Append(CultureInfo.InvariantCulture, $"<text class=\"no-history\" x=\"{F((Width + Left) / 2)}\" y=\"{F(Height - Bottom - 12)}\" text-anchor=\"middle\">no recovery point in the period</text>\n");
        }

        h.Append("</svg>\n</figure>\n");
        h.Append(CultureInfo.InvariantCulture, $"<div class=\"scroll\"><table aria-describedby=\"{id}-caption\">\n<caption>{E(c.Name)}: age samples</caption>\n<thead><tr><th scope=\"col\">time (UTC)</th><th scope=\"col\">age</th></tr></thead>\n<tbody>\n");
        if (c.Age.Count == 0)
        {
            h.Append("<tr><td colspan=\"2\">no history</td></tr>\n");
        }

        foreach (var s in c.Age)
        {
            h.Append(CultureInfo.InvariantCulture, $"<tr><td>{E(ReportText.Time(s.Time))}</td><td>{E(ReportText.Duration(s.AgeSeconds))}</td></tr>\n");
        }

        h.Append(CultureInfo.InvariantCulture, $"</tbody>\n</table>\n<p>Now: <span class=\"{c.Color}\">{c.Color}</span>, age {E(ReportText.Duration(c.AgeSeconds))}, RPO {E(ReportText.Objective(c.RpoTargetSeconds, c.RpoMaxSeconds))}.</p></div>\n</div>\n");
    }

    private static void RestoreChart(StringBuilder h, ReportModel m)
    {
        h.Append("<section id=\"restores\">\n<h2>Restore time against budget</h2>\n");
        if (m.Scenarios.Count == 0)
        {
            h.Append("<p>The plan names no scenario.</p>\n</section>\n");
            return;
        }

        const double row = 34;
        var height = Top + Bottom + (row * m.Scenarios.Count);
        var xMax = m.Scenarios.SelectMany(s => new[] { s.ProjectedSeconds ?? 0, s.RestoreBudgetSeconds ?? 0 }).DefaultIfEmpty(0).Max() * 1.1;
        xMax = xMax <= 0 ? 3600 : xMax;
        const double left = 140;
        double X(double seconds) => left + (Math.Min(seconds, xMax) / xMax * (Width - left - Right));
        h.Append("<div class=\"pair\">\n<figure>\n<figcaption id=\"restore-caption\">Projected restore time per scenario against its restore budget</figcaption>\n");
        h.Append(CultureInfo.InvariantCulture, $"<svg xmlns=\"{SvgNs}\" class=\"restore-chart\" role=\"img\" width=\"{Width}\" height=\"{F(height)}\" viewBox=\"0 0 {Width} {F(height)}\" aria-labelledby=\"restore-title restore-desc\">\n");
        h.Append("<title id=\"restore-title\">Restore time against budget</title>\n<desc id=\"restore-desc\">One bar per scenario: its components restored one after another at the slowest measured speed (or a restore test's projection); the black mark is the scenario's restore budget.</desc>\n");
        var baseY = height - Bottom;
        h.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(left)}\" x2=\"{F(left)}\" y1=\"{F(Top)}\" y2=\"{F(baseY)}\" stroke=\"#57606a\"/>\n<line x1=\"{F(left)}\" x2=\"{F(Width - Right)}\" y1=\"{F(baseY)}\" y2=\"{F(baseY)}\" stroke=\"#57606a\"/>\n");
        foreach (var (f, anchor) in new[] { (0.0, "start"), (0.5, "middle"), (1.0, "end") })
        {
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(X(xMax * f))}\" y=\"{F(baseY + 14)}\" text-anchor=\"{anchor}\">{E(ReportText.Duration(xMax * f))}</text>\n");
        }

        h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F((Width + left) / 2)}\" y=\"{F(height - 6)}\" text-anchor=\"middle\">restore time</text>\n");
        for (var i = 0; i < m.Scenarios.Count; i++)
        {
            var s = m.Scenarios[i];
            var y = Top + (i * row) + 6;
            var fill = s.Verdict switch { "within" => "#1a7f37", "over" => "#cf222e", _ => "#8c959f" };
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left - 6)}\" y=\"{F(y + 14)}\" text-anchor=\"end\">{E(s.Name)}</text>\n");
            var w = s.ProjectedSeconds is { } p ? Math.Max(1, X(p) - left) : 0;
            h.Append(CultureInfo.InvariantCulture, $"<rect class=\"restore-bar\" x=\"{F(left)}\" y=\"{F(y)}\" width=\"{F(w)}\" height=\"20\" fill=\"{fill}\"><title>{E(s.Name)}: {E(ReportText.Duration(s.ProjectedSeconds))} projected, budget {E(ReportText.Duration(s.RestoreBudgetSeconds))} ({E(ReportText.Verdict(s.Verdict))})</title></rect>\n");
            var label = s.ProjectedSeconds is null ? "not measured" : ReportText.Duration(s.ProjectedSeconds);
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(left + w + 6)}\" y=\"{F(y + 14)}\">{E(label)}</text>\n");
            if (s.RestoreBudgetSeconds is { } b)
            {
                h.Append(CultureInfo.InvariantCulture, $"<line class=\"budget\" x1=\"{F(X(b))}\" x2=\"{F(X(b))}\" y1=\"{F(y - 3)}\" y2=\"{F(y + 23)}\" stroke=\"#1b1f24\" stroke-width=\"3\"/>\n");
            }
        }

        h.Append("</svg>\n</figure>\n<table aria-describedby=\"restore-caption\">\n<caption>Restore time per scenario</caption>\n<thead><tr><th scope=\"col\">scenario</th><th scope=\"col\">budget</th><th scope=\"col\">projected</th><th scope=\"col\">verdict</th><th scope=\"col\">components</th></tr></thead>\n<tbody>\n");
        foreach (var s in m.Scenarios)
        {
            var parts = string.Join("; ", s.Components.Select(p => p.Seconds is null
                ? $"{p.Component}: not measured"
                : $"{p.Component}: {ReportText.Bytes(p.Bytes)} at {ReportText.Speed(p.BytesPerSecond)} = {ReportText.Duration(p.Seconds)} ({ReportText.Basis(p.Basis)})"));
            var cls = s.Verdict switch { "within" => "green", "over" => "red", _ => "amber" };
            h.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{E(s.Name)}</th><td>{E(ReportText.Duration(s.RestoreBudgetSeconds))}</td><td>{E(ReportText.Duration(s.ProjectedSeconds))}</td><td class=\"{cls}\">{E(ReportText.Verdict(s.Verdict))}</td><td>{E(parts)}</td></tr>\n");
        }

        h.Append("</tbody>\n</table>\n</div>\n</section>\n");
    }

    private static void Checks(StringBuilder h, ReportModel m)
    {
        h.Append("<section id=\"checks\">\n<h2>Checks</h2>\n");
        if (m.Checks.Count == 0)
        {
            h.Append("<p>No check is planned and no evidence is recorded.</p>\n");
        }
        else
        {
            h.Append("<table>\n<thead><tr><th scope=\"col\">check</th><th scope=\"col\">runs in period</th><th scope=\"col\">passed</th><th scope=\"col\">pass rate</th><th scope=\"col\">last</th></tr></thead>\n<tbody>\n");
            foreach (var k in m.Checks)
            {
                var last = k.LastTime is null ? "never" : $"{(k.LastPassed == true ? "passed" : "FAILED")} {ReportText.Time(k.LastTime)}";
                h.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{E(k.Check)}</th><td>{k.Runs}</td><td>{k.Passed}</td><td>{E(ReportText.Percent(k.PassRate))}</td><td class=\"{(k.LastPassed == false ? "red" : "")}\">{E(last)}</td></tr>\n");
            }

            h.Append("</tbody>\n</table>\n");
        }

        var results = m.Components.SelectMany(c => c.LastChecks.Select(r => (c.Name, r))).ToList();
        if (results.Count > 0)
        {
            h.Append("<table>\n<caption>Last result per component</caption>\n<thead><tr><th scope=\"col\">component</th><th scope=\"col\">check</th><th scope=\"col\">location</th><th scope=\"col\">time</th><th scope=\"col\">result</th><th scope=\"col\">pass rate</th><th scope=\"col\">summary</th></tr></thead>\n<tbody>\n");
            foreach (var (name, r) in results)
            {
                h.Append(CultureInfo.InvariantCulture, $"<tr><th scope=\"row\">{E(name)}</th><td>{E(r.Check)}</td><td>{E(r.Location ?? "–")}</td><td>{E(ReportText.Time(r.Time))}</td><td class=\"{(r.Passed ? "green" : "red")}\">{(r.Passed ? "passed" : "FAILED")}</td><td>{E(ReportText.Percent(r.PassRate))}</td><td>{E(r.Summary)}</td></tr>\n");
            }

            h.Append("</tbody>\n</table>\n");
        }

        h.Append("</section>\n");
    }

    private static void Incidents(StringBuilder h, ReportModel m)
    {
        h.Append("<section id=\"incidents\">\n<h2>Incidents</h2>\n");
        if (!m.Incidents.Recorded)
        {
            h.Append(CultureInfo.InvariantCulture, $"<p class=\"note\">{E(m.Incidents.Note ?? "incidents are not recorded here")}.</p>\n</section>\n");
            return;
        }

        if (m.Incidents.Items.Count == 0)
        {
            h.Append("<p>No incident in the period.</p>\n</section>\n");
            return;
        }

        h.Append(CultureInfo.InvariantCulture, $"<p>{m.Incidents.Open} open now.</p>\n<table>\n<thead><tr><th scope=\"col\">id</th><th scope=\"col\">title</th><th scope=\"col\">severity</th><th scope=\"col\">state</th><th scope=\"col\">opened</th><th scope=\"col\">resolved</th><th scope=\"col\">duration</th><th scope=\"col\">components</th></tr></thead>\n<tbody>\n");
        foreach (var i in m.Incidents.Items)
        {
            h.Append(CultureInfo.InvariantCulture,
                $"<tr><th scope=\"row\">{E(i.Id)}</th><td>{E(i.Title)}{(i.IsDrill ? " (drill)" : "")}</td><td>{E(i.Severity)}</td><td>{E(i.State)}</td><td>{E(ReportText.Time(i.OpenedAt))}</td><td>{E(ReportText.Time(i.ResolvedAt))}</td><td>{E(ReportText.Duration(i.DurationSeconds))}</td><td>{E(string.Join(", ", i.Components))}</td></tr>\n");
        }

        h.Append("</tbody>\n</table>\n</section>\n");
    }

    private static void Axes(StringBuilder h, string x0, string xMid, string x1, double yMax, string xLabel, string yLabel)
    {
        var baseY = Height - Bottom;
        h.Append(CultureInfo.InvariantCulture, $"<line x1=\"{F(Left)}\" x2=\"{F(Left)}\" y1=\"{F(Top)}\" y2=\"{F(baseY)}\" stroke=\"#57606a\"/>\n<line x1=\"{F(Left)}\" x2=\"{F(Width - Right)}\" y1=\"{F(baseY)}\" y2=\"{F(baseY)}\" stroke=\"#57606a\"/>\n");
        h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left)}\" y=\"{F(baseY + 14)}\" text-anchor=\"start\">{E(x0)}</text>\n<text x=\"{F((Left + Width - Right) / 2)}\" y=\"{F(baseY + 14)}\" text-anchor=\"middle\">{E(xMid)}</text>\n<text x=\"{F(Width - Right)}\" y=\"{F(baseY + 14)}\" text-anchor=\"end\">{E(x1)}</text>\n");
        h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F((Left + Width - Right) / 2)}\" y=\"{F(Height - 6)}\" text-anchor=\"middle\">{E(xLabel)}</text>\n");
        foreach (var f in new[] { 0, 0.5, 1 })
        {
            var y = baseY - (f * (Height - Top - Bottom));
            h.Append(CultureInfo.InvariantCulture, $"<text x=\"{F(Left - 6)}\" y=\"{F(y + 4)}\" text-anchor=\"end\">{E(ReportText.Duration(yMax * f))}</text>\n");
        }

        h.Append(CultureInfo.InvariantCulture, $"<text x=\"12\" y=\"{F((Top + baseY) / 2)}\" text-anchor=\"middle\" transform=\"rotate(-90 12 {F((Top + baseY) / 2)})\">{E(yLabel)}</text>\n");
    }

    private static string F(double v) => v.ToString("0.#", CultureInfo.InvariantCulture);

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
