using System.CommandLine;
using System.Globalization;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Status;
using Lifeline.Recovery.Tags;
using Lifeline.Storage;
using Lifeline.Vault;
using Spectre.Console;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline backup|restore|forget|status|audit</c>: the plan's components over <see cref="RecoveryService"/>
/// (docs/cli.md, "Backup, restore, forget, status, audit"). Every command reads the plan (<c>--plan</c>, default
/// <c>./lifeline.yaml</c>) and opens its locations with the vault password of the usual places.
/// </summary>
internal static class RecoveryCommands
{
    /// <summary>Adds the five commands to <paramref name="root"/> (one line in <see cref="LifelineCommand"/>).</summary>
    public static void AddTo(RootCommand root)
    {
        root.Subcommands.Add(CreateBackup());
        root.Subcommands.Add(CreateRestore());
        root.Subcommands.Add(CreateForget());
        root.Subcommands.Add(CreatePrune());
        root.Subcommands.Add(CreateStatus());
        root.Subcommands.Add(CreateAudit());
    }

    private static Option<string> PlanOption() => CommonOptions.PlanFile("The plan file");

    private static Command CreateBackup()
    {
        var components = new Argument<string[]>("COMPONENT") { Description = "Components of the plan to back up", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Back up every component of the plan" };
        var full = new Option<bool>("--full") { Description = "Re-read every byte instead of only what changed (the policy's \"full\")" };
        var plan = PlanOption();
        var command = new Command("backup", $"Back up components into every location of their policy (exit {ExitCodes.PartialBackup} when a point is not in every location)")
        {
            components, all, full, plan,
        };
        command.Run(async (context, ct) =>
        {
            var names = context.Get(components) ?? [];
            var everything = context.Get(all);
            if (names.Length == 0 && !everything)
            {
                throw new UsageException("name the components to back up, or pass --all (see 'lifeline status' for the plan's components)");
            }

            if (names.Length > 0 && everything)
            {
                throw new UsageException("give either components or --all, not both");
            }

            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: true, restoreRoot: null, ct);
            var results = await context.WithActivityAsync("backing up", () => session.Service.BackupAsync(names, new BackupRunOptions { Full = context.Get(full) }, null, ct));
            context.Console.Document(new
            {
                ok = results.All(r => r.Outcome == AuditOutcomes.Ok),
                components = results.Select(r => new
                {
                    component = r.Component,
                    outcome = r.Outcome,
                    snapshot = r.Point?.Id,
                    shortId = r.Point?.ShortId,
                    time = r.Point?.Time,
                    bytes = r.Bytes,
                    durationSeconds = Seconds(r.Duration),
                    backupSeconds = Seconds(r.BackupDuration),
                    copySeconds = Seconds(r.CopyDuration),
                    verifySeconds = Seconds(r.VerifyDuration),
                    locations = r.Locations.Select(l => new { location = l.Location, role = l.Role, ok = l.Ok, error = l.Error }),
                    message = r.Message,
                }),
            });
            context.Console.Table(
                ["component", "result", "snapshot", "locations", "size", "duration"],
                results.Select(r => (IReadOnlyList<string>)
                [
                    r.Component, r.Outcome, r.Point?.ShortId ?? "-",
                    LocationsCell(r), CliConsole.Bytes(r.Bytes), Duration(r.Duration),
                ]),
                rightAligned: new HashSet<int> { 4, 5 },
                cellColor: (row, column) => column == 1 ? OutcomeColor(results[row].Outcome) : null);
            foreach (var r in results.Where(r => r.Outcome != AuditOutcomes.Ok))
            {
                context.Console.Line($"{r.Component}: {r.Message}");
            }

            var failed = results.Where(r => r.Outcome == AuditOutcomes.Failed).ToList();
            if (failed.Count > 0)
            {
                // the code of the first failure's own error (wrong password 12, unknown kind 60, ...); its redacted message
                var code = failed[0].Error is { } error ? ErrorTable.Describe(error).ExitCode : ExitCodes.Failure;
                throw new CliException(code == ExitCodes.Ok ? ExitCodes.Failure : code,
                    $"{failed.Count} of {results.Count} backups failed; {failed[0].Component}: {failed[0].Message}");
            }

            var partial = results.Where(r => r.Outcome == AuditOutcomes.Partial).ToList();
            if (partial.Count > 0)
            {
                throw new CliException(ExitCodes.PartialBackup,
                    $"{partial.Count} of {results.Count} backups are not in every location ({string.Join(", ", partial.Select(p => p.Component))}); the next backup copies them");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateRestore()
    {
        var component = new Argument<string?>("COMPONENT") { Description = "The component of the plan to restore (or --all)", Arity = ArgumentArity.ZeroOrOne };
        var all = new Option<bool>("--all") { Description = "Restore every component of the plan as one matching set: the newest cut at or before --at (registry point and table versions recorded together by the protection)" };
        var cut = new Option<string?>("--cut") { Description = "With --all: the cut with this id (or id prefix) instead of --at" };
        var at = new Option<string>("--at") { Description = $"Which point: latest, a time (the newest point at or before it; {CommonOptions.TimeRule}) or a snapshot id prefix", DefaultValueFactory = _ => "latest" };
        var asName = new Option<string?>("--as") { Description = "Restore beside the live component under this name, never over it" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be restored from which location; write nothing" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Replace the live (or existing) data" };
        var target = new Option<string?>("--target") { Description = "With --as: the directory the NAME is created in (default: beside the live component)" };
        var plan = PlanOption();
        var command = new Command("restore", "Restore a component as of a time, from the first location that has it (falling back to the next); --all: every component as one matching set")
        {
            component, all, cut, at, asName, dryRun, overwrite, target, plan,
        };
        command.Run(async (context, ct) =>
        {
            var name = context.Get(asName);
            var root = context.Get(target);
            if (root is not null && name is null)
            {
                throw new UsageException("--target needs --as NAME: the restore goes to TARGET/NAME");
            }

            var everything = context.Get(all);
            var cutId = context.Get(cut);
            if (everything && context.Get(component) is not null)
            {
                throw new UsageException("give either a component or --all, not both");
            }

            if (cutId is not null && !everything)
            {
                throw new UsageException("--cut restores a whole set: add --all (one component is restored with --at)");
            }

            if (cutId is not null && !string.Equals(context.Get(at) ?? "latest", "latest", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException("give either --cut or --at, not both");
            }

            if (!everything && context.Get(component) is null)
            {
                throw new UsageException("name the component to restore, or pass --all (see 'lifeline status' for the plan's components)");
            }

            if (everything)
            {
                return await RestoreSetAsync(context, context.Get(plan)!, context.Get(at) ?? "latest", cutId, name, root, context.Get(dryRun), context.Get(overwrite), ct);
            }

            var spec = PointSpec(context.Get(at) ?? "latest");
            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: root is null ? null : Path.GetFullPath(root), ct);
            var options = new RestoreRunOptions { Point = spec, As = name, DryRun = context.Get(dryRun), Overwrite = context.Get(overwrite) };
            var result = options.DryRun
                ? await session.Service.RestoreAsync(context.Get(component)!, options, null, ct)
                : await context.WithActivityAsync("restoring", () => session.Service.RestoreAsync(context.Get(component)!, options, null, ct));
            context.Console.Document(new
            {
                component = result.Component,
                dryRun = result.DryRun,
                point = new { id = result.Point.Id, shortId = result.Point.ShortId, time = result.Point.Time },
                servedBy = result.ServedBy,
                alsoIn = result.AlsoIn,
                attempts = result.Attempts.Select(a => new { location = a.Location, served = a.Served, error = a.Error }),
                target = result.Target.Directory,
                live = result.Target.IsLive,
                files = result.Files,
                bytes = result.Bytes,
                reinstated = result.Reinstated?.Summary,
                wouldRefuse = result.WouldRefuse,
                durationSeconds = Seconds(result.Duration),
            });
            var what = $"{result.Component} point {result.Point.ShortId} ({CliConsole.Time(result.Point.Time)}, {result.Files} files, {CliConsole.Bytes(result.Bytes)})";
            var into = result.Target.IsLive ? $"over the live data in {result.Target.Directory}" : $"into {result.Target.Directory}";
            context.Console.Line(result.DryRun
                ? $"would restore {what} from {result.ServedBy} {into}"
                : $"restored {what} from {result.ServedBy} {into} in {Duration(result.Duration)}");
            if (result.AlsoIn.Count > 0)
            {
                context.Console.Line($"also in: {string.Join(", ", result.AlsoIn)}");
            }

            foreach (var a in result.Attempts.Where(a => !a.Served))
            {
                context.Console.Line($"not from {a.Location}: {a.Error}");
            }

            if (result.Reinstated is { } reinstated)
            {
                context.Console.Line(reinstated.Summary);
            }

            if (result.WouldRefuse is { } refuse)
            {
                context.Console.Warning($"the real run would refuse: {refuse}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>restore --all</c>: the set of a cut (docs/protection.md, "Cut records"), or each component by its own points.</summary>
    private static async Task<int> RestoreSetAsync(CommandContext context, string planPath, string at, string? cutId, string? asName, string? root, bool dryRun, bool overwrite, CancellationToken ct)
    {
        var trimmed = at.Trim();
        DateTimeOffset? moment = trimmed.Length == 0 || trimmed.Equals("latest", StringComparison.OrdinalIgnoreCase) ? null : TimeArguments.ParseTime("--at", trimmed, TimeZoneInfo.Local);
        if (cutId is not null && (cutId.Length == 0 || cutId.Any(char.IsWhiteSpace)))
        {
            throw new UsageException($"--cut '{cutId}' is not a cut id: give the id 'lifeline restore --all --dry-run' shows (e.g. 20261201T145600)");
        }

        await using var session = await RecoverySession.OpenAsync(context, planPath, initializeMissing: false, restoreRoot: root is null ? null : Path.GetFullPath(root), ct);
        var options = new SetRestoreOptions { At = moment, CutId = cutId, As = asName, DryRun = dryRun, Overwrite = overwrite };
        var result = dryRun
            ? await session.Service.RestoreSetAsync(options, null, ct)
            : await context.WithActivityAsync("restoring", () => session.Service.RestoreSetAsync(options, null, ct));
        context.Console.Document(new
        {
            dryRun = result.DryRun,
            cut = result.Cut is { } c ? new { id = result.CutId, time = c.Time, location = result.CutLocation, registry = c.Registry, registryPoint = c.RegistryPoint, tables = c.Tables, heartbeat = c.Heartbeat } : null,
            basis = result.Basis,
            ok = result.FirstError is null,
            components = result.Items.Select(i => new
            {
                component = i.Component,
                from = i.From,
                inCut = i.InCut,
                version = i.Version,
                point = i.Point is { } p ? new { id = p.Id, shortId = p.ShortId, time = p.Time } : null,
                target = i.Target,
                summary = i.Summary,
                error = i.Error,
            }),
            durationSeconds = Seconds(result.Duration),
        });
        context.Console.Line((result.Cut is null ? "" : result.DryRun ? "would restore " : "restored ") + result.Basis);
        context.Console.Table(
            ["component", "from", "into", result.DryRun ? "would restore" : "result"],
            result.Items.Select(i => (IReadOnlyList<string>)[i.Component, i.From, i.Target, i.Error is null ? i.Summary : $"{i.Summary}: {i.Error}"]));
        if (result.DryRun)
        {
            foreach (var i in result.Items.Where(i => i.Error is not null))
            {
                context.Console.Warning($"the real run would refuse {i.Component}: {i.Error}");
            }

            return ExitCodes.Ok;
        }

        if (result.FirstError is { } error)
        {
            var failed = result.Items.Where(i => i.Summary == "failed").ToList();
            var code = ErrorTable.Describe(error).ExitCode;
            throw new CliException(code == ExitCodes.Ok ? ExitCodes.Failure : code,
                $"{failed.Count} of {result.Items.Count} components were not restored; {failed[0].Component}: {failed[0].Error}");
        }

        return ExitCodes.Ok;
    }

    private static Command CreateForget()
    {
        var components = new Argument<string[]>("COMPONENT") { Description = "Components to apply retention to (default: every component of the plan)", Arity = ArgumentArity.ZeroOrMore };
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be removed; remove nothing" };
        var plan = PlanOption();
        var command = new Command("forget", $"Apply each component's retention from the plan in every location of its policy (exit {ExitCodes.RetentionFinding} when a rule selects nothing)")
        {
            components, dryRun, plan,
        };
        command.Run(async (context, ct) =>
        {
            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: null, ct);
            var result = await session.Service.ForgetAsync(context.Get(components) ?? [], context.Get(dryRun), ct);
            context.Console.Document(new
            {
                ok = result.Ok,
                dryRun = result.DryRun,
                outcomes = result.Outcomes.Select(o => new
                {
                    component = o.Component,
                    location = o.Location,
                    keep = o.Result.Keep.Select(k => k.Snapshot.Id),
                    remove = o.Result.Remove.Select(s => s.Id),
                }),
                findings = result.Findings.Select(f => new { component = f.Component, location = f.Location, rule = f.Rule, message = f.Message }),
            });
            context.Console.Table(
                ["component", "location", "keep", result.DryRun ? "would remove" : "removed"],
                result.Outcomes.Select(o => (IReadOnlyList<string>)[o.Component, o.Location, Count(o.Result.Keep.Count), Count(o.Result.Remove.Count)]),
                rightAligned: new HashSet<int> { 2, 3 });
            foreach (var f in result.Findings)
            {
                context.Console.Line(f.ToString());
            }

            if (!result.Ok)
            {
                throw new CliException(ExitCodes.RetentionFinding,
                    $"{result.Findings.Count} retention finding{(result.Findings.Count == 1 ? "" : "s")}: {result.Findings[0]}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreatePrune()
    {
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what would be deleted; delete nothing" };
        var plan = PlanOption();
        var command = new Command("prune", $"Delete the data no snapshot uses from every location of the plan's policies (exit {ExitCodes.RetentionFinding} when a location could not be pruned)")
        {
            dryRun, plan,
        };
        command.Run(async (context, ct) =>
        {
            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: null, ct);
            var result = await session.Service.PruneAsync(context.Get(dryRun), ct);
            context.Console.Document(new
            {
                ok = result.Ok,
                dryRun = result.DryRun,
                outcomes = result.Outcomes.Select(o => new
                {
                    location = o.Location,
                    packsDeleted = o.Result.PacksDeleted,
                    packsRewritten = o.Result.PacksRewritten,
                    blobsRemoved = o.Result.BlobsRemoved,
                    bytesFreed = o.Result.BytesFreed,
                }),
                findings = result.Findings.Select(f => new { location = f.Location, rule = f.Rule, message = f.Message }),
            });
            context.Console.Table(
                ["location", "packs deleted", "rewritten", "blobs removed", result.DryRun ? "would free" : "freed"],
                result.Outcomes.Select(o => (IReadOnlyList<string>)[o.Location, Count(o.Result.PacksDeleted), Count(o.Result.PacksRewritten), Count(o.Result.BlobsRemoved), CliConsole.Bytes(o.Result.BytesFreed)]),
                rightAligned: new HashSet<int> { 1, 2, 3, 4 });
            foreach (var f in result.Findings)
            {
                context.Console.Line(f.ToString());
            }

            if (!result.Ok)
            {
                throw new CliException(ExitCodes.RetentionFinding,
                    $"{result.Findings.Count} location{(result.Findings.Count == 1 ? " was" : "s were")} not pruned: {result.Findings[0]}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateStatus()
    {
        var plan = PlanOption();
        var data = UpStatus.DataOption();
        var schedulerStore = JobsCommands.StoreOption();
        var command = new Command("status", $"Where each component stands: its recovery point's age against its RPO, green/amber/red (exit {ExitCodes.StatusRed} when any is red)")
        {
            plan, schedulerStore, data,
        };
        command.Run(async (context, ct) =>
        {
            // the live part: the services of a `lifeline up` running on the data directory (docs/up.md)
            var live = await UpStatus.ProbeAsync(context.Get(data), context.Get(plan)!, ct);
            RecoverySession opened;
            try
            {
                opened = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: null, ct);
            }
            catch (CliException e) when (e.ExitCode == ExitCodes.PlanHasErrors && live.Running)
            {
                // the running up keeps the plan it loaded: its live state says which plan runs and why the file's change was refused
                context.Console.Document(new { planError = e.Message, deployment = UpStatus.Json(live) });
                UpStatus.Print(context, live);
                throw;
            }

            await using var session = opened;
            var report = await session.Service.StatusAsync(ct);
            // --data names up's data directory: its job store too, unless the store is given (option or environment)
            var jobStore = context.Get(schedulerStore)
                ?? (context.Get(data) is { Length: > 0 } upData && string.IsNullOrWhiteSpace(Environment.GetEnvironmentVariable(JobsCommands.StoreVariable))
                    ? Path.Combine(Path.GetFullPath(upData), "scheduler", "jobs.db")
                    : null);
            report = report with { Jobs = await JobsCommands.StatusJobsAsync(context, context.Get(plan)!, jobStore, ct) };
            report = report with { Incidents = await IncidentsCommands.StatusIncidentsAsync(context.Get(plan)!, context.Get(data), ct) };
            context.Console.Document(new
            {
                time = report.Time,
                overall = report.Overall,
                components = report.Components.Select(c => new
                {
                    component = c.Component,
                    color = c.Color,
                    reason = c.Reason,
                    policy = c.Policy,
                    schedule = c.Schedule,
                    recoveryPoint = c.RecoveryPoint is { } p ? new { id = p.Id, shortId = p.ShortId, time = p.Time } : null,
                    ageSeconds = c.Age is { } age ? Seconds(age) : (double?)null,
                    rpoTargetSeconds = c.RpoTarget is { } t ? Seconds(t) : (double?)null,
                    rpoMaxSeconds = c.RpoMax is { } m ? Seconds(m) : (double?)null,
                    lastBackup = c.LastBackup is { } b ? new { time = b.Time, outcome = b.Outcome, durationSeconds = Seconds(b.Duration), message = b.Message } : null,
                    locations = c.Locations.Select(l => new { location = l.Location, role = l.Role, required = l.Required, newest = l.Newest?.Id, error = l.Error }),
                    continuous = c.Continuous is { } cp ? new { location = cp.Location, version = cp.Version, heartbeat = cp.Heartbeat } : null,
                }),
                jobs = report.Jobs.Select(j => new { job = j.Job, kind = j.Kind, color = j.Color, reason = j.Reason, nextRun = j.NextRun, paused = j.Pause is not null }),
                checks = report.Checks.Select(VerifyCommands.Json),
                deployment = UpStatus.Json(live),
                incidents = report.Incidents.Select(IncidentsCommands.Summary),
            });
            context.Console.Table(
                ["component", "status", "recovery point", "age", "RPO target/max", "last backup", "duration"],
                report.Components.Select(c => (IReadOnlyList<string>)
                [
                    c.Component, ColorWord(c.Color),
                    c.RecoveryPoint is { } p ? $"{p.ShortId} {CliConsole.Time(p.Time)}" : "-",
                    c.Age is { } age ? Duration(age) : "-",
                    $"{Objective(c.RpoTarget)} / {Objective(c.RpoMax)}",
                    c.LastBackup is { } b ? $"{b.Outcome} {CliConsole.Time(b.Time)}" : "never",
                    c.LastBackup is { } d ? Duration(d.Duration) : "-",
                ]),
                cellColor: (row, column) => column == 1 ? StatusColorOf(report.Components[row].Color) : null);
            foreach (var c in report.Components)
            {
                context.Console.Line($"{c.Component}: {c.Reason}");
            }

            if (report.Jobs.Count > 0)
            {
                context.Console.Table(
                    ["job", "kind", "status", "next run", "detail"],
                    report.Jobs.Select(j => (IReadOnlyList<string>)[j.Job, j.Kind, JobsCommands.StatusWord(j), j.NextRun is { } n ? CliConsole.Time(n) : "-", j.Reason]),
                    cellColor: (row, column) => column == 2 ? JobsCommands.ColorOf(report.Jobs[row].Color) : null);
            }
            if (report.Checks.Count > 0)
            {
                // the last result of each verification check (docs/verification.md)
                VerifyCommands.PrintTable(context, report.Checks);
            }

            if (report.Incidents.Count > 0)
            {
                context.Console.Table(
                    ["incident", "state", "severity", "owner", "opened", "title"],
                    report.Incidents.Select(i => (IReadOnlyList<string>)[i.Id, i.State, i.Severity + (i.IsDrill ? " (drill)" : ""), i.OwnerRole ?? "-", CliConsole.Time(i.OpenedAt), i.Title]),
                    cellColor: (row, column) => column == 2 ? IncidentsCommands.SeverityColor(report.Incidents[row]) : null);
            }

            UpStatus.Print(context, live);

            var red = report.Components.Where(c => c.Color == StatusColor.Red).ToList();
            if (red.Count == 0 && report.Checks.FirstOrDefault(c => !c.Passed) is { } failedCheck)
            {
                throw new CliException(ExitCodes.StatusRed, $"check {failedCheck.Check} failed for {failedCheck.Component ?? failedCheck.Location ?? "the plan"}: {failedCheck.Summary}");
            }

            var redJob = report.Jobs.FirstOrDefault(j => j.Color == StatusColor.Red);
            if (red.Count == 0 && redJob is not null && report.Overall == StatusColor.Red)
            {
                throw new CliException(ExitCodes.StatusRed, $"job {redJob.Job} is red: {redJob.Reason}");
            }

            if (red.Count == 0 && redJob is null && report.IncidentColor == StatusColor.Red)
            {
                var open = report.Incidents.First(i => !i.IsDrill && i.Severity is Lifeline.Recovery.Incidents.Severities.Critical or Lifeline.Recovery.Incidents.Severities.Error);
                throw new CliException(ExitCodes.StatusRed, $"incident {open.Id} is open ({open.Severity}): {open.Title}; see 'lifeline incidents show {open.Id}'");
            }

            if (report.Overall == StatusColor.Red)
            {
                throw new CliException(ExitCodes.StatusRed, red.Count == 0
                    ? "the plan names no component: add them under 'components' (lifeline plan check)"
                    : $"{red.Count} of {report.Components.Count} components are red; {red[0].Component}: {red[0].Reason}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateAudit()
    {
        var component = new Option<string?>("--component") { Description = "Only the records of this component" };
        var plan = PlanOption();
        var command = new Command("audit", "The audit records of every backup, restore, forget and key change, oldest first (no password needed)")
        {
            component, plan,
        };
        command.Run(async (context, ct) =>
        {
            await using var session = await RecoverySession.OpenAsync(context, context.Get(plan)!, initializeMissing: false, restoreRoot: null, ct, needsPassword: false);
            var only = context.Get(component);
            if (only is not null && session.Plan.FindComponent(only) is null)
            {
                throw new UnknownComponentException(only, $"the plan names {string.Join(", ", session.Plan.Components.Select(c => c.Name))}");
            }

            var records = new List<AuditRecord>();
            await foreach (var r in session.Service.Audit.ReadAsync(ct))
            {
                if (only is null || r.Component == only)
                {
                    records.Add(r);
                }
            }

            context.Console.Document(new { records });
            context.Console.Table(
                ["time", "action", "component", "outcome", "who", "duration", "message"],
                records.Select(r => (IReadOnlyList<string>)
                [
                    CliConsole.Time(r.Time), r.Action, r.Component ?? "-", r.Outcome, $"{r.Who}@{r.Host}", Duration(r.Duration), r.Message ?? "",
                ]),
                cellColor: (row, column) => column == 3 ? OutcomeColor(records[row].Outcome) : null);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary><c>latest</c> and id prefixes as the recovery core reads them; a time with the CLI's one time-zone rule.</summary>
    private static RestorePointSpec PointSpec(string text)
    {
        var trimmed = text.Trim();
        return trimmed.Length == 0 || trimmed.Equals("latest", StringComparison.OrdinalIgnoreCase) || (trimmed.Length is >= 4 and <= 64 && trimmed.All(Uri.IsHexDigit))
            ? RestorePointSpec.Parse(trimmed)
            : RestorePointSpec.AtOrBefore(TimeArguments.ParseTime("--at", trimmed, TimeZoneInfo.Local));
    }

    private static string LocationsCell(ComponentBackupResult r)
    {
        if (r.Locations.Count == 0)
        {
            return "-";
        }

        var verified = r.Locations.Where(l => l.Ok).Select(l => l.Location).ToList();
        var missing = r.Locations.Where(l => !l.Ok).Select(l => l.Location).Distinct().ToList();
        var total = r.Locations.Select(l => l.Location).Distinct().Count();
        return $"{verified.Count}/{total} verified ({string.Join(", ", verified)})" + (missing.Count == 0 ? "" : $", missing {string.Join(", ", missing)}");
    }

    private static string ColorWord(StatusColor color) => color switch
    {
        StatusColor.Green => "green",
        StatusColor.Amber => "amber",
        _ => "red",
    };

    private static Color? StatusColorOf(StatusColor color) => color switch
    {
        StatusColor.Green => Color.Green,
        StatusColor.Amber => Color.Orange1,
        _ => Color.Red,
    };

    private static Color? OutcomeColor(string outcome) => outcome switch
    {
        AuditOutcomes.Ok => Color.Green,
        AuditOutcomes.Partial => Color.Orange1,
        _ => Color.Red,
    };

    private static string Objective(TimeSpan? value) => value is { } v ? PlanDuration.Format(v) : "none";

    private static string Count(long n) => n.ToString(CultureInfo.InvariantCulture);

    private static double Seconds(TimeSpan t) => Math.Round(t.TotalSeconds, 3);

    /// <summary>A duration for people: <c>0.42s</c>, <c>3m 05s</c>, <c>2h 10m</c>, <c>3d 4h</c>.</summary>
    internal static string Duration(TimeSpan t) => t switch
    {
        { TotalSeconds: < 60 } => string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, t.TotalSeconds):0.##}s"),
        { TotalHours: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}m {t.Seconds:00}s"),
        { TotalDays: < 1 } => string.Create(CultureInfo.InvariantCulture, $"{t.Hours}h {t.Minutes:00}m"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalDays}d {t.Hours}h"),
    };
}

/// <summary>The plan, its locations and the recovery service of one command, built the one way docs/recovery.md describes.</summary>
internal sealed class RecoverySession : IAsyncDisposable
{
    private RecoverySession(LifelinePlan plan, LocationSet locations, RecoveryService service)
    {
        Plan = plan;
        Locations = locations;
        Service = service;
    }

    /// <summary>How long a plan command waits for a conflicting vault lock (restic's <c>--retry-lock</c>).</summary>
    internal static readonly TimeSpan LockWait = TimeSpan.FromMinutes(10);

    public LifelinePlan Plan { get; }

    public LocationSet Locations { get; }

    public RecoveryService Service { get; }

    /// <summary>Reads the plan at <paramref name="planPath"/> (a missing or bad plan is one line and exit
    /// <see cref="ExitCodes.PlanHasErrors"/>), then the password, and builds the service.</summary>
    /// <remarks>With <paramref name="plan"/> that plan is used as it is (read before, from <paramref name="planPath"/>).</remarks>
    public static async Task<RecoverySession> OpenAsync(CommandContext context, string planPath, bool initializeMissing, string? restoreRoot, CancellationToken ct, bool needsPassword = true,
        Func<LifelinePlan, LifelinePlan>? adjust = null, LifelinePlan? plan = null)
    {
        var path = Path.GetFullPath(planPath);
        if (plan is null)
        {
            var (loaded, _) = await PlanAndData.LoadAsync(planPath, countMoreErrors: true, ct);
            plan = adjust is null ? loaded : adjust(loaded);
        }

        var directory = Path.GetDirectoryName(path)!;
        var password = needsPassword ? context.Settings.Password(context.Get(CommonOptions.PasswordFile)) : null;
        var locations = LocationSet.FromPlan(plan, new LocationSetOptions
        {
            Password = password,
            PasswordFor = needsPassword ? null : _ => null,
            BaseDirectory = directory,
            InitializeMissing = initializeMissing,
            // a backup waits out a prune (of up's schedule, or a user's) rather than failing, and a forget or prune
            // waits for the running backups; past the wait it is RepositoryLockedException, exit code as before
            OpenOptions = new VaultOpenOptions { LockWait = LockWait },
            OpenStore = (url, env) => DelayingObjectStore.WrapFromEnvironment(ObjectStores.Open(url, env)), // the crash tests' hook
        }, context.Time);
        // where each component lives comes from the plan alone (sources and component fields, docs/plan.md)
        var adapters = RecoveryService.BuiltInAdapters(plan, new PlanAdapterOptions { BaseDirectory = directory, RestoreRoot = restoreRoot, Time = context.Time });
        var service = new RecoveryService(plan, locations, adapters, new RecoveryServiceOptions
        {
            Time = context.Time,
            HookDirectory = directory,
            WorkDirectory = WorkDirectoryOf(plan, directory),
            Arguments = context.Parse.Tokens.Select(t => t.Value).ToList(),
        });
        return new RecoverySession(plan, locations, service);
    }

    /// <summary>The staging of the plan's data directory (<c>sources.data</c>, which <c>up</c> sets to its
    /// <c>--data</c>): <c>DATA/work/recovery</c>; null (the service's temp default) when the data directory is an
    /// object-store URL or names an unset variable (that error is reported where the adapters use it).</summary>
    internal static string? WorkDirectoryOf(LifelinePlan plan, string planDirectory)
    {
        try
        {
            var data = new ComponentSources(plan, planDirectory).DataDirectory;
            return ComponentSources.IsUrl(data) ? null : DeploymentLayout.For(data).RecoveryWork;
        }
        catch (RecoveryException)
        {
            return null;
        }
    }

    public ValueTask DisposeAsync() => Locations.DisposeAsync();
}
