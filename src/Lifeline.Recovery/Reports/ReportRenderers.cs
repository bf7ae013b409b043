using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Lifeline.Recovery.Reports;

/// <summary>The report's file formats and the names <c>lifeline report</c> writes them under.</summary>
public static class ReportFormats
{
    /// <summary>Markdown: <c>report.md</c>.</summary>
    public const string Markdown = "md";

    /// <summary>JSON: <c>report.json</c>.</summary>
    public const string Json = "json";

    /// <summary>One self-contained HTML page: <c>report.html</c>.</summary>
    public const string Html = "html";

    /// <summary>All three.</summary>
    public const string All = "all";

    /// <summary>The formats one by one.</summary>
    public static readonly IReadOnlyList<string> Each = [Markdown, Json, Html];

    /// <summary>The file name of <paramref name="format"/>.</summary>
    public static string FileName(string format) => "report." + format;

    /// <summary>Renders <paramref name="model"/> in <paramref name="format"/> (one of <see cref="Each"/>).</summary>
    public static string Render(ReportModel model, string format) => format switch
    {
        Markdown => MarkdownReport.Render(model),
        Json => JsonReport.Render(model),
        Html => HtmlReport.Render(model),
        _ => throw new ArgumentOutOfRangeException(nameof(format), format, "md, json or html"),
    };
}

/// <summary>The JSON rendering: the model itself (docs/reports.md lists the fields).</summary>
internal static class JsonReport
{
    public static string Render(ReportModel model) => JsonSerializer.Serialize(model, ReportJson.Default.ReportModel) + "\n";

    public static ReportModel? Parse(string json) => JsonSerializer.Deserialize(json, ReportJson.Default.ReportModel);
}

/// <summary>How figures read in the Markdown and HTML renderings.</summary>
internal static class ReportText
{
    public static string Duration(double? seconds)
    {
        if (seconds is not { } s)
        {
            return "–";
        }

        var t = TimeSpan.FromSeconds(Math.Max(0, s));
        return t switch
        {
            { TotalSeconds: < 60 } => string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.##}s"),
            { TotalHours: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m {t.Seconds:00}s"),
            { TotalDays: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{t.Hours}h {t.Minutes:00}m"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalDays}d {t.Hours}h"),
        };
    }

    public static string Bytes(double? bytes)
    {
        if (bytes is not { } b)
        {
            return "–";
        }

        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var i = 0;
        while (b >= 1024 && i < units.Length - 1)
        {
            b /= 1024;
            i++;
        }

        return i == 0
            ? string.Create(CultureInfo.InvariantCulture, $"{b:0} {units[i]}")
            : string.Create(CultureInfo.InvariantCulture, $"{b:0.#} {units[i]}");
    }

    public static string Speed(double? bytesPerSecond) => bytesPerSecond is null ? "–" : Bytes(bytesPerSecond) + "/s";

    public static string Time(DateTimeOffset? time) => time is { } t ? t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) : "–";

    public static string Percent(double? rate) => rate is { } r ? string.Create(CultureInfo.InvariantCulture, $"{r * 100:0.#} %") : "–";

    public static string Objective(double? target, double? max) => $"{Duration(target)} / {Duration(max)}";

    public static string Verdict(string verdict) => verdict switch
    {
        "within" => "within budget",
        "over" => "OVER budget",
        _ => "unknown",
    };

    public static string Basis(string basis) => basis switch
    {
        "measured-restore" => "measured restores",
        "restore-test" => "restore test",
        _ => "not measured",
    };

    public static string Number(double value) => value.ToString("0.##", CultureInfo.InvariantCulture);
}

/// <summary>The Markdown rendering: one section per part of the model, tables for the figures.</summary>
internal static class MarkdownReport
{
    public static string Render(ReportModel m)
    {
        ArgumentNullException.ThrowIfNull(m);
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"# Recovery report{(m.Plan is null ? "" : ": " + Cell(m.Plan))}");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Generated {ReportText.Time(m.GeneratedAt)}, covering {ReportText.Time(m.PeriodStart)} to {ReportText.Time(m.GeneratedAt)} ({ReportText.Duration(m.PeriodSeconds)}).");
        if (m.Owner is not null)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"Owner: {Cell(m.Owner)}.");
        }

        sb.AppendLine();
        sb.AppendLine("## Summary");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Overall: **{m.Overall}**. Recovery points from the {(m.StatusSource == "vaults" ? "vaults (as `lifeline status`)" : "audit records")}.");
        sb.AppendLine();
        foreach (var c in m.Components)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"- {c.Name}: **{c.Color}**: {Cell(c.Reason)}");
        }

        if (m.NotRead.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Not read:");
            sb.AppendLine();
            foreach (var n in m.NotRead)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"- {Cell(n)}");
            }
        }

        sb.AppendLine();
        sb.AppendLine("## Objectives");
        sb.AppendLine();
        sb.AppendLine(CultureInfo.InvariantCulture, $"Plan: RTO {ReportText.Objective(m.Objectives.RtoTargetSeconds, m.Objectives.RtoMaxSeconds)} (target / maximum), RPO {ReportText.Objective(m.Objectives.RpoTargetSeconds, m.Objectives.RpoMaxSeconds)}.");
        sb.AppendLine();
        sb.AppendLine("## Recovery points");
        sb.AppendLine();
        sb.AppendLine("| component | status | recovery point | age | RPO target / max | worst case (plan check) | peak age in period | over target | over max |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|");
        foreach (var c in m.Components)
        {
            var worst = c.WorstCaseRpoSeconds is null ? "–" : $"{ReportText.Duration(c.WorstCaseRpoSeconds)} ({(c.WorstCaseMeasured ? "measured" : "estimated")})";
            var point = c.RecoveryPoint is null ? "none" : $"{c.RecoveryPoint[..Math.Min(8, c.RecoveryPoint.Length)]} {ReportText.Time(c.RecoveryPointTime)}";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Name} | {c.Color} | {point} | {ReportText.Duration(c.AgeSeconds)} | {ReportText.Objective(c.RpoTargetSeconds, c.RpoMaxSeconds)} | {worst} | {(c.HasHistory ? ReportText.Duration(c.PeakAgeSeconds) : "no history")} | {ReportText.Duration(c.OverTargetSeconds)} | {ReportText.Duration(c.OverMaxSeconds)} |");
        }

        sb.AppendLine();
        sb.AppendLine("## Backups");
        sb.AppendLine();
        sb.AppendLine("| component | ok | partial | failed | last | size | longest capture | longest copy | longest verification | median backup |");
        sb.AppendLine("|---|---|---|---|---|---|---|---|---|---|");
        foreach (var c in m.Components)
        {
            var b = c.Backups;
            var last = b.LastTime is null ? "never in the period" : $"{b.LastOutcome} {ReportText.Time(b.LastTime)}";
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"| {c.Name} | {b.Ok} | {b.Partial} | {b.Failed} | {Cell(last)} | {ReportText.Bytes(b.Bytes)} | {ReportText.Duration(b.MaxBackupSeconds)} | {ReportText.Duration(b.MaxCopySeconds)} | {ReportText.Duration(b.MaxVerifySeconds)} | {ReportText.Duration(b.MedianTotalSeconds)} |");
        }

        foreach (var c in m.Components.Where(c => c.Backups.LastMessage is not null))
        {
            sb.AppendLine();
            sb.AppendLine(CultureInfo.InvariantCulture, $"{c.Name}, last backup: {Cell(c.Backups.LastMessage!)}");
        }

        sb.AppendLine();
        sb.AppendLine("## Restores against budget");
        sb.AppendLine();
        if (m.Scenarios.Count == 0)
        {
            sb.AppendLine("The plan names no scenario.");
        }
        else
        {
            sb.AppendLine("| scenario | RTO target / max | restore budget | projected restore | verdict | components |");
            sb.AppendLine("|---|---|---|---|---|---|");
            foreach (var s in m.Scenarios)
            {
                var parts = string.Join("; ", s.Components.Select(p => p.Seconds is null
                    ? $"{p.Component}: not measured"
                    : $"{p.Component}: {ReportText.Bytes(p.Bytes)} at {ReportText.Speed(p.BytesPerSecond)} = {ReportText.Duration(p.Seconds)} ({ReportText.Basis(p.Basis)})"));
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {s.Name} | {ReportText.Objective(s.RtoTargetSeconds, s.RtoMaxSeconds)} | {ReportText.Duration(s.RestoreBudgetSeconds)} | {ReportText.Duration(s.ProjectedSeconds)} | {ReportText.Verdict(s.Verdict)} | {Cell(parts)} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("Measured restore speeds:");
        sb.AppendLine();
        sb.AppendLine("| component | restores | slowest | fastest | last |");
        sb.AppendLine("|---|---|---|---|---|");
        foreach (var c in m.Components)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"| {c.Name} | {c.Restores.Count} | {ReportText.Speed(c.Restores.SlowestBytesPerSecond)} | {ReportText.Speed(c.Restores.FastestBytesPerSecond)} | {ReportText.Time(c.Restores.LastTime)} |");
        }

        sb.AppendLine();
        sb.AppendLine("## Checks");
        sb.AppendLine();
        if (m.Checks.Count == 0)
        {
            sb.AppendLine("No check is planned and no evidence is recorded.");
        }
        else
        {
            sb.AppendLine("| check | runs in period | passed | pass rate | last |");
            sb.AppendLine("|---|---|---|---|---|");
            foreach (var k in m.Checks)
            {
                var last = k.LastTime is null ? "never" : $"{(k.LastPassed == true ? "passed" : "FAILED")} {ReportText.Time(k.LastTime)}";
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {k.Check} | {k.Runs} | {k.Passed} | {ReportText.Percent(k.PassRate)} | {last} |");
            }
        }

        var results = m.Components.SelectMany(c => c.LastChecks.Select(r => (c.Name, r))).ToList();
        if (results.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("Last result per component:");
            sb.AppendLine();
            sb.AppendLine("| component | check | location | time | result | pass rate | summary |");
            sb.AppendLine("|---|---|---|---|---|---|---|");
            foreach (var (name, r) in results)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {name} | {r.Check} | {r.Location ?? "–"} | {ReportText.Time(r.Time)} | {(r.Passed ? "passed" : "FAILED")} | {ReportText.Percent(r.PassRate)} | {Cell(r.Summary)} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("## Incidents");
        sb.AppendLine();
        if (!m.Incidents.Recorded)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{Capital(m.Incidents.Note ?? "incidents are not recorded here")}.");
        }
        else if (m.Incidents.Items.Count == 0)
        {
            sb.AppendLine("No incident in the period.");
        }
        else
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"{m.Incidents.Open} open now.");
            sb.AppendLine();
            sb.AppendLine("| id | title | severity | state | opened | resolved | duration | components |");
            sb.AppendLine("|---|---|---|---|---|---|---|---|");
            foreach (var i in m.Incidents.Items)
            {
                sb.AppendLine(CultureInfo.InvariantCulture,
                    $"| {Cell(i.Id)} | {Cell(i.Title)}{(i.IsDrill ? " (drill)" : "")} | {i.Severity} | {i.State} | {ReportText.Time(i.OpenedAt)} | {ReportText.Time(i.ResolvedAt)} | {ReportText.Duration(i.DurationSeconds)} | {Cell(string.Join(", ", i.Components))} |");
            }
        }

        if (m.Jobs.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Jobs");
            sb.AppendLine();
            sb.AppendLine("| job | kind | status | detail |");
            sb.AppendLine("|---|---|---|---|");
            foreach (var j in m.Jobs)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"| {Cell(j.Job)} | {j.Kind} | {j.Color} | {Cell(j.Reason)} |");
            }
        }

        sb.AppendLine();
        sb.AppendLine("## Plan findings");
        sb.AppendLine();
        if (m.Findings.Count == 0)
        {
            sb.AppendLine("`plan check` finds nothing with the measured history.");
        }
        else
        {
            foreach (var f in m.Findings)
            {
                sb.AppendLine(CultureInfo.InvariantCulture, $"- {f.Severity} [{f.Rule}] {Cell(f.Subject)}: {Cell(f.Message)}");
            }
        }

        return sb.ToString();
    }

    /// <summary>Text safe inside a table cell: no line break, no pipe.</summary>
    private static string Cell(string text) => text.Replace("\r", " ", StringComparison.Ordinal).Replace("\n", " ", StringComparison.Ordinal).Replace("|", "\\|", StringComparison.Ordinal);

    private static string Capital(string text) => text.Length == 0 ? text : char.ToUpperInvariant(text[0]) + text[1..];
}
