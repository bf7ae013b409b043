using System.CommandLine;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline plan</c>: the disaster-recovery plan as code, <c>lifeline.yaml</c> (docs/plan.md).</summary>
internal static class PlanCommands
{
    public static Command Create()
    {
        var plan = new Command("plan", "The disaster-recovery plan as code (lifeline.yaml): write it, check it against itself, show it");
        plan.Subcommands.Add(CreateInit());
        plan.Subcommands.Add(CreateCheck());
        plan.Subcommands.Add(CreateShow());
        return plan;
    }

    private static Command CreateInit()
    {
        var recommended = new Option<bool>("--recommended") { Description = "Write Lifeline's recommended plan (meets every objective with a wide margin) instead of the customer's plan as it stands" };
        var force = new Option<bool>("--force") { Description = "Replace an existing plan file" };
        var file = CommonOptions.PlanFile("The plan file to write");
        var primary = Location("--primary", "The primary location (same region)", new PlanTemplateOptions().PrimaryUrl);
        var secondary = Location("--secondary", "The secondary location (another region)", "./lifeline-data/region-b/vault for the customer's plan, s3://lifeline-region-b/vault?region=eu-west-2 for the recommended one");
        var tertiary = Location("--tertiary", "The tertiary location (object storage)", new PlanTemplateOptions().TertiaryUrl);
        var data = new Option<string?>("--data") { Description = $"The data directory the components live in, a path relative to the plan file (sources.data: DATA/registry, DATA/lake, DATA/scheduler/jobs.db; default: {new PlanTemplateOptions().DataDirectory})" };
        data.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && (string.IsNullOrWhiteSpace(result.Tokens[0].Value) || result.Tokens[0].Value.Contains("://", StringComparison.Ordinal)))
            {
                result.AddError("--data must be a directory path (the lake root may be elsewhere: set sources.lake in the plan)");
            }
        });
        var command = new Command("init", "Write the customer's plan (DISASTER_RECOVERY_PLAN.md 1.0 as written), or with --recommended Lifeline's; never over an existing file without --force");
        foreach (var option in new Option[] { recommended, force, file, primary, secondary, tertiary, data })
        {
            command.Options.Add(option);
        }

        command.Run(async (context, ct) =>
        {
            var path = context.Get(file)!;
            if (Directory.Exists(path))
            {
                throw new UsageException($"--file '{path}' is a directory: name the plan file, e.g. --file {Path.Combine(path, PlanFile.DefaultFileName)}");
            }

            var isRecommended = context.Get(recommended);
            var defaults = new PlanTemplateOptions();
            var options = new PlanTemplateOptions
            {
                PrimaryUrl = context.Get(primary) ?? defaults.PrimaryUrl,
                SecondaryUrl = context.Get(secondary),
                TertiaryUrl = context.Get(tertiary) ?? defaults.TertiaryUrl,
                DataDirectory = context.Get(data) ?? defaults.DataDirectory,
            };
            var yaml = PlanTemplates.For(isRecommended, options);
            var replaced = File.Exists(path);
            // refuses an existing file without --force (IOException: one line, exit 1) and never leaves half a file
            await PlanFile.WriteAsync(path, yaml, overwrite: context.Get(force), ct);
            var template = isRecommended ? "recommended" : "customer";
            context.Console.Document(new PlanInitJson(path, Path.GetFullPath(path), template, System.Text.Encoding.UTF8.GetByteCount(yaml), replaced));
            var what = isRecommended ? "Lifeline's recommended plan" : "the customer's plan as its document states it";
            context.Console.Line($"wrote {path}{(replaced ? " (replaced)" : "")}: {what}; next: lifeline plan check{FileArgument(path)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateCheck()
    {
        var file = CommonOptions.PlanFile("The plan file to check");
        var noHistory = new Option<bool>("--no-history") { Description = "Use only the estimates, do not read the measured history (the audit records) from the plan's locations" };
        var command = new Command("check", $"Lint the plan against itself: one line per finding (FILE:LINE:COL: SEVERITY RULE [SUBJECT]: MESSAGE; fix: FIX); exit {ExitCodes.PlanHasErrors} when it has errors");
        command.Options.Add(file);
        command.Options.Add(noHistory);
        command.Run(async (context, ct) =>
        {
            var path = context.Get(file)!;
            var parsed = await PlanFile.LoadAsync(path, ct);
            PlanHistoryRead? history = null;
            if (parsed.Succeeded && !context.Get(noHistory))
            {
                // measured backup, copy, verification and restore durations from the locations that answer (no password:
                // audit records are beside the vaults, not in them)
                await using var locations = LocationSet.FromPlan(parsed.Plan!, new LocationSetOptions
                {
                    PasswordFor = _ => null,
                    BaseDirectory = Path.GetDirectoryName(Path.GetFullPath(path)),
                }, context.Time);
                history = await PlanHistory.ReadAsync(parsed.Plan!, locations, HistoryTimeout, ct);
            }

            var report = parsed.Succeeded
                ? await new PlanChecker(context.Time, history?.History).CheckAsync(parsed.Plan!, ct)
                : new PlanCheckReport { File = path, Findings = parsed.Errors };
            var console = context.Console;
            console.Document(CheckJson(report, history));
            foreach (var finding in report.Findings)
            {
                console.Line(finding.ToString());
            }

            if (report.Plan is not null)
            {
                console.Line(HistoryLine(report, history));
            }

            var infos = report.Findings.Count - report.ErrorCount - report.WarningCount;
            var counts = $"{Count(report.ErrorCount, "error")}, {Count(report.WarningCount, "warning")}, {Count(infos, "info")}";
            if (report.Plan is null)
            {
                throw new CliException(ExitCodes.PlanHasErrors, $"{path}: the plan cannot be read: {FirstError(report, "above")}");
            }

            if (report.HasErrors)
            {
                throw new CliException(ExitCodes.PlanHasErrors,
                    $"{path}: {counts}: the plan cannot be met as written; fix each error line above, or write Lifeline's plan with 'lifeline plan init --recommended --force{FileArgument(path)}'");
            }

            console.Line($"{path}: no errors ({Count(report.WarningCount, "warning")}, {Count(infos, "info")})");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateShow()
    {
        var file = CommonOptions.PlanFile("The plan file to show");
        var command = new Command("show", "Show the plan as a table: per component its policy, schedule, retention, locations and worst-case RPO against its objective; per scenario its objectives");
        command.Options.Add(file);
        command.Run(async (context, ct) =>
        {
            var path = context.Get(file)!;
            var report = await new PlanChecker(context.Time).CheckFileAsync(path, ct);
            if (report.Plan is null)
            {
                throw new CliException(ExitCodes.PlanHasErrors, $"{path}: the plan cannot be read: {FirstError(report, $"listed by 'lifeline plan check{FileArgument(path)}'")}");
            }

            var model = PlanTableModel.Create(report.Plan, report);
            var console = context.Console;
            console.Document(ShowJson(path, model, report));
            console.Line($"plan {model.Name ?? path}{(model.Owner is { } owner ? $" (owner: {owner})" : "")}: RTO {Pair(model.Rto.Target, model.Rto.EffectiveMax)}, RPO {Pair(model.Rpo.Target, model.Rpo.EffectiveMax)}");
            console.Line();
            console.Table(
                ["Component", "Kind", "Policy", "Schedule", "Retention", "Compliance", "Locations", "RPO target/max", "Worst-case RPO", "Status"],
                model.Rows.Select(r => (IReadOnlyList<string>)
                [
                    r.Component, r.Kind, r.Policy ?? "-", r.Schedule is null ? "-" : r.Full is { } full ? $"{r.Schedule}, full {full}" : r.Schedule,
                    r.Retention ?? "-", Duration(r.Compliance), r.Locations.Count == 0 ? "-" : string.Join("; ", r.Locations),
                    Pair(r.RpoTarget, r.RpoMax), r.WorstCase is { } worst ? PlanDuration.Format(worst) + (r.Measured ? " (measured)" : " (estimated)") : "-", r.Status,
                ]));
            if (model.Scenarios.Count > 0)
            {
                console.Line();
                console.Table(
                    ["Scenario", "Impact", "RTO target/max", "RPO target/max", "Restore budget", "Steps total", "Components"],
                    model.Scenarios.Select(s => (IReadOnlyList<string>)
                    [
                        s.Title is { } title ? $"{s.Scenario}: {title}" : s.Scenario, s.Impact ?? "-", Pair(s.RtoTarget, s.RtoMax), Pair(s.RpoTarget, s.RpoMax),
                        Duration(s.RestoreBudget), Duration(s.StepsTotal), s.Components.Count == 0 ? "-" : string.Join(", ", s.Components),
                    ]));
            }

            if (report.HasErrors)
            {
                console.Warning($"{path} has {Count(report.ErrorCount, "error")}: run 'lifeline plan check{FileArgument(path)}' to see them");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>How long each location may take to give its audit records to <c>plan check</c>.</summary>
    private static readonly TimeSpan HistoryTimeout = TimeSpan.FromSeconds(10);

    /// <summary>Which numbers of the worst-case RPOs were measured and which assumed, and where the history came from.</summary>
    private static string HistoryLine(PlanCheckReport report, PlanHistoryRead? history)
    {
        var measured = report.Components.Where(c => c.Measured).Select(c => c.Component).ToList();
        var assumed = report.Components.Where(c => !c.Measured && c.WorstCase is not null).Select(c => c.Component).ToList();
        var source = history is null
            ? "history not read (--no-history)"
            : $"history: {Count(history.Records, "audit record")} from {(history.Reachable.Count == 0 ? "no location" : string.Join(", ", history.Reachable))}"
              + (history.Unreachable.Count == 0 ? "" : $"; not read: {string.Join("; ", history.Unreachable.Select(u => $"{u.Location} ({u.Error})"))}");
        return $"{source}; measured: {(measured.Count == 0 ? "none" : string.Join(", ", measured))}; assumed (estimates: backup 5m, copy 5m per location, verification 5m): {(assumed.Count == 0 ? "none" : string.Join(", ", assumed))}";
    }

    /// <summary>A location URL option of <c>plan init</c>; an empty value is a usage error.</summary>
    private static Option<string?> Location(string name, string description, string defaultText)
    {
        var option = new Option<string?>(name) { Description = $"{description}: a path (relative to the plan file), s3://bucket/prefix or azure://container/prefix (default: {defaultText})" };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
            {
                result.AddError($"{name} is empty: give a path, s3://bucket/prefix or azure://container/prefix");
            }
        });
        return option;
    }

    private static string FileArgument(string path) => path == PlanFile.DefaultFileName ? "" : $" --file {path}";

    private static string FirstError(PlanCheckReport report, string where)
    {
        var errors = report.Findings.Where(f => f.Severity == FindingSeverity.Error).ToList();
        if (errors.Count == 0)
        {
            return "no details";
        }

        var first = errors[0];
        return $"line {first.Mark.Line}, column {first.Mark.Column}: {first.Message}; fix: {first.Fix}{(errors.Count > 1 ? $" (and {errors.Count - 1} more {where})" : "")}";
    }

    private static string Count(int n, string noun) => $"{n} {noun}{(n == 1 ? "" : "s")}";

    private static string Duration(TimeSpan? value) => value is { } v ? PlanDuration.Format(v) : "-";

    private static string? JsonDuration(TimeSpan? value) => value is { } v ? PlanDuration.Format(v) : null;

    private static string Pair(TimeSpan? target, TimeSpan? max) => $"{Duration(target)}/{Duration(max)}";

    private static PlanCheckJson CheckJson(PlanCheckReport report, PlanHistoryRead? history) => new(
        report.File,
        report.Plan is not null && !report.HasErrors,
        report.Plan is not null,
        report.ErrorCount,
        report.WarningCount,
        report.Findings.Count - report.ErrorCount - report.WarningCount,
        report.Findings.Select(f => new PlanFindingJson(
            PlanFindingSeverity(f.Severity), f.Rule, f.Subject, f.File, f.Mark.Line, f.Mark.Column, f.Message, f.Fix, f.ToString())).ToList(),
        report.Components.Select(c => new ComponentRpoJson(
            c.Component, c.Policy, JsonDuration(c.Target), JsonDuration(c.Max), JsonDuration(c.WorstCase), c.WorstCase?.TotalSeconds, c.Measured, c.Basis)).ToList(),
        history is null ? null : new PlanHistoryJson(history.Records, history.Reachable, history.Unreachable.Select(u => new PlanHistoryErrorJson(u.Location, u.Error)).ToList()));

    private static PlanShowJson ShowJson(string path, PlanTableModel model, PlanCheckReport report) => new(
        path, model.Name, model.Owner,
        new ObjectiveJson(JsonDuration(model.Rto.Target), JsonDuration(model.Rto.EffectiveMax)),
        new ObjectiveJson(JsonDuration(model.Rpo.Target), JsonDuration(model.Rpo.EffectiveMax)),
        model.Rows.Select(r => new PlanRowJson(
            r.Component, r.Kind, r.Policy, r.Schedule, r.Full, r.Retention, JsonDuration(r.Compliance), r.Locations,
            JsonDuration(r.RpoTarget), JsonDuration(r.RpoMax), JsonDuration(r.WorstCase), r.Measured, r.Status)).ToList(),
        model.Scenarios.Select(s => new PlanScenarioJson(
            s.Scenario, s.Title, s.Impact, JsonDuration(s.RtoTarget), JsonDuration(s.RtoMax), JsonDuration(s.RpoTarget), JsonDuration(s.RpoMax),
            JsonDuration(s.RestoreBudget), JsonDuration(s.StepsTotal), s.Components)).ToList(),
        report.ErrorCount, report.WarningCount);

    private static string PlanFindingSeverity(FindingSeverity severity) => severity switch
    {
        FindingSeverity.Error => "error",
        FindingSeverity.Warning => "warning",
        _ => "info",
    };
}

/// <summary>The document of <c>plan init --json</c>.</summary>
internal sealed record PlanInitJson(string File, string FullPath, string Template, int Bytes, bool Replaced);

/// <summary>The document of <c>plan check --json</c> (durations in the plan's own syntax, e.g. <c>24h15m</c>).</summary>
internal sealed record PlanCheckJson(
    string File, bool Ok, bool Parsed, int Errors, int Warnings, int Infos, IReadOnlyList<PlanFindingJson> Findings, IReadOnlyList<ComponentRpoJson> Components,
    PlanHistoryJson? History);

/// <summary>Where <c>plan check</c> read the measured history from (null with <c>--no-history</c> or an unreadable plan).</summary>
internal sealed record PlanHistoryJson(int Records, IReadOnlyList<string> Reachable, IReadOnlyList<PlanHistoryErrorJson> Unreachable);

/// <summary>A location whose history could not be read.</summary>
internal sealed record PlanHistoryErrorJson(string Location, string Error);

/// <summary>One finding; <c>text</c> is the line <c>plan check</c> prints.</summary>
internal sealed record PlanFindingJson(string Severity, string Rule, string Subject, string File, int Line, int Column, string Message, string Fix, string Text);

/// <summary>A component's worst-case RPO against its objective.</summary>
internal sealed record ComponentRpoJson(
    string Component, string? Policy, string? RpoTarget, string? RpoMax, string? WorstCase, double? WorstCaseSeconds, bool Measured, string Basis);

/// <summary>A target and maximum.</summary>
internal sealed record ObjectiveJson(string? Target, string? Max);

/// <summary>The document of <c>plan show --json</c>.</summary>
internal sealed record PlanShowJson(
    string File, string? Name, string? Owner, ObjectiveJson Rto, ObjectiveJson Rpo, IReadOnlyList<PlanRowJson> Components, IReadOnlyList<PlanScenarioJson> Scenarios,
    int Errors, int Warnings);

/// <summary>One component row of <c>plan show --json</c>.</summary>
internal sealed record PlanRowJson(
    string Component, string Kind, string? Policy, string? Schedule, string? Full, string? Retention, string? Compliance, IReadOnlyList<string> Locations,
    string? RpoTarget, string? RpoMax, string? WorstCase, bool Measured, string Status);

/// <summary>One scenario row of <c>plan show --json</c>.</summary>
internal sealed record PlanScenarioJson(
    string Scenario, string? Title, string? Impact, string? RtoTarget, string? RtoMax, string? RpoTarget, string? RpoMax, string? RestoreBudget, string? StepsTotal,
    IReadOnlyList<string> Components);
