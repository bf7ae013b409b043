using System.CommandLine;
using System.Globalization;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Verification;
using Spectre.Console;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline verify run [CHECK]</c> and <c>lifeline verify history</c>: the plan's verification checks by hand and
/// their evidence (docs/verification.md, docs/cli.md "Verification").
/// </summary>
internal static class VerifyCommands
{
    public static Command Create()
    {
        var group = new Command("verify", "The plan's verification checks: run them, read their evidence");
        group.Subcommands.Add(CreateRun());
        group.Subcommands.Add(CreateHistory());
        return group;
    }

    private static Command CreateRun()
    {
        var check = new Argument<string?>("CHECK") { Description = $"One check ({string.Join(", ", VerificationPlan.KnownChecks)}); default every check", Arity = ArgumentArity.ZeroOrOne };
        var component = new Option<string[]>("--component") { Description = "Only these components (repeatable)", AllowMultipleArgumentsPerToken = false };
        var plan = CommonOptions.PlanFile("The plan file");
        var command = new Command("run", $"Run the verification checks now and keep their evidence (exit {ExitCodes.VerificationFailed} when a check failed)")
        {
            check, component, plan,
        };
        command.Run(async (context, ct) =>
        {
            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: null, ct);
            var scratch = Path.Combine(Path.GetTempPath(), "lifeline-verify-" + Guid.NewGuid().ToString("N")[..8]);
            // a failure opens an incident in the plan's data directory (a running up sends its notices within a round)
            var incidents = Lifeline.Recovery.Incidents.IncidentStore.ForData(Lifeline.Recovery.Hosting.DeploymentLayout.DefaultDataDirectory(Path.GetFullPath(context.Get(plan)!)));
            await incidents.MigrateAsync(ct);
            var verification = new VerificationContext
            {
                Plan = session.Plan,
                Service = session.Service,
                Locations = session.Locations,
                Components = context.Get(component) ?? [],
                ScratchDirectory = scratch,
                Time = context.Time,
                Signals = new Lifeline.Recovery.Incidents.IncidentManager(incidents, session.Plan, context.Time),
            };
            var name = context.Get(check);
            VerificationRunResult result;
            try
            {
                result = await context.WithActivityAsync("verifying", () => VerificationRunner.BuiltIn().RunAsync(verification, name is null ? null : [name], ct));
            }
            finally
            {
                if (Directory.Exists(scratch))
                {
                    Directory.Delete(scratch, recursive: true);
                }
            }

            var records = result.Records.ToList();
            context.Console.Document(new
            {
                ok = result.Passed,
                checks = result.Checks.Select(c => new { check = c.Check, available = c.Available, passed = c.Passed, note = c.Note }),
                records = records.Select(Json),
                signals = result.Signals.Select(s => new { cause = s.Cause, kind = s.Kind, healthy = s.Healthy, severity = s.Severity, summary = s.Summary }),
            });
            PrintTable(context, records);
            foreach (var c in result.Checks.Where(c => !c.Available))
            {
                context.Console.Line($"{c.Check}: {c.Note}");
            }

            var failed = records.Where(r => !r.Passed).ToList();
            if (failed.Count > 0)
            {
                throw new CliException(ExitCodes.VerificationFailed,
                    $"{failed.Count} of {records.Count} checks failed; {failed[0].Check} {failed[0].Component ?? failed[0].Location}: {failed[0].Summary}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateHistory()
    {
        var check = new Option<string?>("--check") { Description = "Only the records of this check" };
        var component = new Option<string?>("--component") { Description = "Only the records of this component" };
        var last = new Option<int?>("--last") { Description = "Only the newest N records" };
        var plan = CommonOptions.PlanFile("The plan file");
        var command = new Command("history", "The evidence of every check, oldest first (no password needed)")
        {
            check, component, last, plan,
        };
        command.Run(async (context, ct) =>
        {
            if (context.Get(last) is < 1)
            {
                throw new UsageException("--last needs a count of 1 or more");
            }

            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: null, ct, needsPassword: false);
            var onlyCheck = context.Get(check);
            var onlyComponent = context.Get(component);
            if (onlyComponent is not null && session.Plan.FindComponent(onlyComponent) is null)
            {
                throw new UnknownComponentException(onlyComponent, $"the plan names {string.Join(", ", session.Plan.Components.Select(c => c.Name))}");
            }

            var records = new List<EvidenceRecord>();
            await foreach (var r in session.Service.Evidence.ReadAsync(ct))
            {
                if ((onlyCheck is null || r.Check == onlyCheck) && (onlyComponent is null || r.Component == onlyComponent))
                {
                    records.Add(r);
                }
            }

            if (context.Get(last) is { } n && records.Count > n)
            {
                records = records[^n..];
            }

            context.Console.Document(new { records = records.Select(Json) });
            PrintTable(context, records);
            return ExitCodes.Ok;
        });
        return command;
    }

    internal static object Json(EvidenceRecord r) => new
    {
        id = r.Id,
        check = r.Check,
        run = r.Run,
        component = r.Component,
        location = r.Location,
        against = r.Against,
        time = r.Time,
        durationSeconds = Math.Round(r.Duration.TotalSeconds, 3),
        passed = r.Passed,
        unreachable = r.Unreachable,
        summary = r.Summary,
        numbers = r.Numbers,
    };

    internal static void PrintTable(CommandContext context, IReadOnlyList<EvidenceRecord> records) =>
        context.Console.Table(
            ["time", "check", "component", "location", "result", "duration", "summary"],
            records.Select(r => (IReadOnlyList<string>)
            [
                CliConsole.Time(r.Time), r.Check, r.Component ?? "-", r.Location ?? "-", r.Passed ? "passed" : "FAILED",
                RecoveryCommands.Duration(r.Duration), r.Summary,
            ]),
            cellColor: (row, column) => column == 4 ? (records[row].Passed ? Color.Green : Color.Red) : null);
}
