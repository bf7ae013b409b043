using System.CommandLine;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Plan;
using Spectre.Console;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline incidents ls [--all] | show ID | ack ID [--note T] | resolve ID [--note T]</c>: the incidents in the
/// data directory's store (<c>DATA/incidents/incidents.db</c>; docs/incidents.md, docs/cli.md). No running
/// <c>up</c> is needed: an acknowledgement or resolution is stored, and a running <c>up</c> sends its notice at its
/// next round (within its poll interval, 30 s by default).
/// </summary>
internal static class IncidentsCommands
{
    public static Command Create()
    {
        var command = new Command("incidents", "The incidents: list, show, acknowledge and resolve them");
        command.Subcommands.Add(CreateList());
        command.Subcommands.Add(CreateShow());
        command.Subcommands.Add(CreateAcknowledge());
        command.Subcommands.Add(CreateResolve());
        return command;
    }

    private static Option<string> PlanOption() => CommonOptions.PlanFile("The plan file (its data directory holds the incident store)");

    private static Option<string?> DataOption() => new("--data") { Description = "The data directory of 'lifeline up' (default: the plan's sources.data, lifeline-data beside the plan)" };

    private static Command CreateList()
    {
        var all = new Option<bool>("--all") { Description = "Also the resolved incidents (default: open and acknowledged ones)" };
        var plan = PlanOption();
        var data = DataOption();
        var command = new Command("ls", "The open incidents, newest first (--all: every incident)") { all, plan, data };
        command.Run(async (context, ct) =>
        {
            var store = StoreOf(context.Get(plan)!, context.Get(data));
            var list = await store.ListAsync(openOnly: !context.Get(all), ct);
            context.Console.Document(new { incidents = list.Select(Summary) });
            if (list.Count == 0)
            {
                context.Console.Line(context.Get(all) ? "no incidents" : "no open incidents");
                return ExitCodes.Ok;
            }

            context.Console.Table(
                ["id", "state", "severity", "kind", "owner", "opened", "title"],
                list.Select(i => (IReadOnlyList<string>)
                [
                    i.Id, i.State, i.Severity + (i.IsDrill ? " (drill)" : ""), i.Kind, i.OwnerRole ?? "-", CliConsole.Time(i.OpenedAt), i.Title,
                ]),
                cellColor: (row, column) => column == 2 ? SeverityColor(list[row]) : null);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateShow()
    {
        var id = IdArgument();
        var plan = PlanOption();
        var data = DataOption();
        var command = new Command("show", "One incident: its state, owner, components, timeline and (once resolved) its drafted report") { id, plan, data };
        command.Run(async (context, ct) =>
        {
            var store = StoreOf(context.Get(plan)!, context.Get(data));
            var incident = await store.GetAsync(context.Get(id)!, ct) ?? throw new UnknownIncidentException(context.Get(id)!);
            context.Console.Document(Detail(incident));
            Print(context, incident);
            if (incident.Report is { } report)
            {
                context.Console.Line();
                context.Console.Line(report);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateAcknowledge()
    {
        var id = IdArgument();
        var note = NoteOption();
        var plan = PlanOption();
        var data = DataOption();
        var command = new Command("ack", "Acknowledge an incident: someone is on it (recorded on its timeline; up sends the acknowledgement)") { id, note, plan, data };
        command.Run(async (context, ct) =>
        {
            var manager = await ManagerAsync(context, context.Get(plan)!, context.Get(data), context.Get(id)!, ct);
            var incident = await manager.AcknowledgeAsync(context.Get(id)!, Environment.UserName, context.Get(note), ct);
            context.Console.Document(Detail(incident));
            context.Console.Line($"acknowledged {incident.Id}: {incident.Title}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateResolve()
    {
        var id = IdArgument();
        var note = NoteOption();
        var plan = PlanOption();
        var data = DataOption();
        var command = new Command("resolve", "Resolve an incident by hand: drafts its report (shown by 'incidents show'); up sends the resolution") { id, note, plan, data };
        command.Run(async (context, ct) =>
        {
            var manager = await ManagerAsync(context, context.Get(plan)!, context.Get(data), context.Get(id)!, ct);
            var incident = await manager.ResolveAsync(context.Get(id)!, Environment.UserName, context.Get(note), ct);
            context.Console.Document(Detail(incident));
            context.Console.Line($"resolved {incident.Id} after {RecoveryCommands.Duration(incident.ResolvedAt!.Value - incident.OpenedAt)}: {incident.Title}");
            context.Console.Line($"the drafted report: lifeline incidents show {incident.Id}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The open incidents of <c>lifeline status</c>: empty when the store does not exist yet.</summary>
    internal static async Task<IReadOnlyList<IncidentRecord>> StatusIncidentsAsync(string planPath, string? data, CancellationToken ct) =>
        await StoreOf(planPath, data).ListAsync(openOnly: true, ct);

    /// <summary>The incidents as <c>lifeline status --json</c> and <c>incidents ls --json</c> list them.</summary>
    internal static object Summary(IncidentRecord i) => new
    {
        id = i.Id,
        state = i.State,
        severity = i.Severity,
        kind = i.Kind,
        cause = i.Cause,
        title = i.Title,
        ownerRole = i.OwnerRole,
        isDrill = i.IsDrill,
        components = i.Components,
        openedAt = i.OpenedAt,
        acknowledgedAt = i.AcknowledgedAt,
        resolvedAt = i.ResolvedAt,
    };

    internal static Color? SeverityColor(IncidentRecord i) => i.State == IncidentStates.Resolved ? null : i.Severity switch
    {
        Severities.Critical or Severities.Error => Color.Red,
        Severities.Warning => Color.Yellow,
        _ => null,
    };

    private static object Detail(IncidentRecord i) => new
    {
        incident = Summary(i),
        timeline = i.Timeline.Select(e => new { time = e.Time, kind = e.Kind, text = e.Text, who = e.Who }),
        report = i.Report,
    };

    private static void Print(CommandContext context, IncidentRecord i)
    {
        context.Console.Line($"{i.Id}: {i.Title}");
        context.Console.Line($"state {i.State}, severity {i.Severity}{(i.IsDrill ? " (drill)" : "")}, owner {i.OwnerRole ?? "none"}, cause {i.Cause}");
        context.Console.Line($"components: {(i.Components.Count == 0 ? "none named" : string.Join(", ", i.Components))}");
        context.Console.Line($"opened {CliConsole.Time(i.OpenedAt)}" +
            (i.AcknowledgedAt is { } a ? $", acknowledged {CliConsole.Time(a)}" : "") + (i.ResolvedAt is { } r ? $", resolved {CliConsole.Time(r)}" : ""));
        context.Console.Table(
            ["time", "event", "detail", "who"],
            i.Timeline.Select(e => (IReadOnlyList<string>)[CliConsole.Time(e.Time), e.Kind, e.Text, e.Who ?? ""]));
    }

    private static Argument<string> IdArgument() => new("ID") { Description = "The incident's id (see 'lifeline incidents ls')" };

    private static Option<string?> NoteOption() => new("--note") { Description = "A note for the timeline (never put a secret here)" };

    private static IncidentStore StoreOf(string planPath, string? data) => IncidentStore.ForData(PlanAndData.DataDirectory(planPath, data));

    private static async Task<IncidentManager> ManagerAsync(CommandContext context, string planPath, string? data, string id, CancellationToken ct)
    {
        var (plan, _, directory) = await PlanAndData.OpenAsync(planPath, data, ct);
        var store = IncidentStore.ForData(directory);
        if (!File.Exists(store.Path))
        {
            // nothing was ever recorded here: every id is unknown (and no empty store is left behind)
            throw new UnknownIncidentException(id);
        }

        await store.MigrateAsync(ct);
        return new IncidentManager(store, plan, context.Time);
    }
}
