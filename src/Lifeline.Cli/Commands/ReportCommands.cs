using System.CommandLine;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Reports;
using Lifeline.Recovery.Verification;
using Lifeline.Storage;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline report</c>: the state of the plan over a period (objectives against measured recovery points and
/// restore times, checks, incidents) as Markdown, JSON and one self-contained HTML page (docs/reports.md). Reads the
/// audit and evidence records, which need no password; with a password it also lists the vaults, as
/// <c>lifeline status</c> does. What it could not read is said in the report and on the console.
/// </summary>
internal static class ReportCommands
{
    /// <summary>How long each location may take to answer.</summary>
    private static readonly TimeSpan LocationTimeout = TimeSpan.FromSeconds(30);

    public static Command Create()
    {
        var plan = CommonOptions.PlanFile("The plan file");
        var output = new Option<string>("--out", "-o") { Description = "The directory the report files are written to (created if missing)", DefaultValueFactory = _ => "." };
        var format = new Option<string>("--format") { Description = "md, json, html or all", DefaultValueFactory = _ => ReportFormats.All };
        var since = new Option<string>("--since") { Description = "The period the report covers, back from now (30d, 12h, 2w)", DefaultValueFactory = _ => "30d" };
        var command = new Command("report", "Write the state of the plan (objectives against measured recovery points and restore times, checks, incidents) as report.md, report.json and report.html (no password needed)")
        {
            plan, output, format, since,
        };
        command.Run(async (context, ct) =>
        {
            var formats = Formats(context.Get(format));
            var period = Period(context.Get(since));
            var directory = Path.GetFullPath(string.IsNullOrWhiteSpace(context.Get(output)) ? "." : context.Get(output)!);
            var password = HasPassword(context);
            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: null, ct, needsPassword: password);

            var notRead = new List<string>();
            var history = await PlanHistory.ReadAsync(session.Plan, session.Locations, LocationTimeout, ct);
            notRead.AddRange(history.Unreachable.Select(u => $"location '{u.Location}' could not be read: {u.Error}"));
            var records = await history.History.RecordsAsync(ct);
            var stores = history.Reachable.Where(name => Exists(session, name)).Select(session.Locations.Store).ToList();
            Lifeline.Recovery.Status.StatusReport? status = null;
            if (password)
            {
                try
                {
                    status = await session.Service.StatusAsync(ct);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    notRead.Add($"the vaults could not be listed: {Lifeline.Recovery.Configuration.Secrets.RedactText(Lifeline.Recovery.Locations.LocationSet.FirstLine(e.Message))}");
                }
            }

            var model = await ReportBuilder.BuildAsync(new ReportSources
            {
                Plan = session.Plan,
                Audit = records,
                Status = status,
                Evidence = new ObjectStoreEvidenceLog((IReadOnlyList<IObjectStore>)stores),
                // the incidents of the plan's data directory, when any were ever recorded there (otherwise the report says so)
                Incidents = Lifeline.Recovery.Incidents.IncidentStore.ForData(Lifeline.Recovery.Hosting.DeploymentLayout.DefaultDataDirectory(Path.GetFullPath(context.Get(plan)!))) is var incidents && File.Exists(incidents.Path) ? incidents : null,
                NotRead = notRead,
                Period = period,
                PlanFile = Path.GetFullPath(context.Get(plan)!),
                Time = context.Time,
            }, ct);

            Directory.CreateDirectory(directory);
            var written = new List<string>();
            foreach (var f in formats)
            {
                var path = Path.Combine(directory, ReportFormats.FileName(f));
                await File.WriteAllTextAsync(path, ReportFormats.Render(model, f), ct);
                written.Add(path);
            }

            context.Console.Document(new { overall = model.Overall, files = written, notRead = model.NotRead });
            foreach (var path in written)
            {
                context.Console.Line(path);
            }

            foreach (var n in model.NotRead)
            {
                context.Console.Line($"not read: {n}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The formats <c>--format</c> names; a usage error (exit 2) for anything else.</summary>
    internal static IReadOnlyList<string> Formats(string? text)
    {
        var value = (text ?? ReportFormats.All).Trim().ToLowerInvariant();
        return value switch
        {
            ReportFormats.All => ReportFormats.Each,
            "markdown" => [ReportFormats.Markdown],
            _ when ReportFormats.Each.Contains(value) => [value],
            _ => throw new UsageException($"--format '{text}' is not a report format: write md, json, html or all"),
        };
    }

    /// <summary>The period <c>--since</c> gives (a plan duration); a usage error (exit 2) when it is not one.</summary>
    internal static TimeSpan Period(string? text)
    {
        if (!PlanDuration.TryParse(text, out var value, out var error))
        {
            throw new UsageException($"--since: {error}: {PlanDuration.Hint}");
        }

        return value > TimeSpan.Zero ? value : throw new UsageException($"--since '{text}' is no period: give a length back from now, e.g. --since 30d");
    }

    /// <summary>True when a password is given (<c>--password-file</c>, which must then be readable, or the variable).</summary>
    private static bool HasPassword(CommandContext context)
    {
        if (!string.IsNullOrEmpty(context.Get(CommonOptions.PasswordFile)))
        {
            _ = context.Settings.Password(context.Get(CommonOptions.PasswordFile));
            return true;
        }

        try
        {
            _ = context.Settings.Password(null);
            return true;
        }
        catch (UsageException)
        {
            return false;
        }
    }

    /// <summary>A file-system location whose directory does not exist holds nothing, and reading it must not create it.</summary>
    private static bool Exists(RecoverySession session, string name)
    {
        var info = session.Locations.Get(name);
        return info.Kind != LocationKind.FileSystem
            || Directory.Exists(info.Url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(info.Url).LocalPath : info.Url);
    }
}
