using System.Globalization;
using Cronos;

namespace Lifeline.Recovery.Plan;

/// <summary>A component's worst-case recovery point against its objective.</summary>
public sealed record ComponentRpo
{
    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>Its policy, if it has one that exists.</summary>
    public string? Policy { get; init; }

    /// <summary>The strictest RPO target of the plan and of the scenarios naming the component.</summary>
    public TimeSpan? Target { get; init; }

    /// <summary>The strictest RPO maximum.</summary>
    public TimeSpan? Max { get; init; }

    /// <summary>The most data (as time) the component can lose: interval + backup + copy + verification; null when nothing protects it.</summary>
    public TimeSpan? WorstCase { get; init; }

    /// <summary>True when the durations come from measured history rather than estimates.</summary>
    public bool Measured { get; init; }

    /// <summary>How <see cref="WorstCase"/> was reached, in words.</summary>
    public string Basis { get; init; } = "";
}

/// <summary>What <see cref="PlanChecker"/> found.</summary>
public sealed record PlanCheckReport
{
    /// <summary>The plan file.</summary>
    public required string File { get; init; }

    /// <summary>The plan, when it could be read.</summary>
    public LifelinePlan? Plan { get; init; }

    /// <summary>Every finding, ordered by position in the file.</summary>
    public required IReadOnlyList<PlanFinding> Findings { get; init; }

    /// <summary>Each component's worst-case RPO (empty when the plan could not be read).</summary>
    public IReadOnlyList<ComponentRpo> Components { get; init; } = [];

    /// <summary>Number of errors.</summary>
    public int ErrorCount => Findings.Count(f => f.Severity == FindingSeverity.Error);

    /// <summary>Number of warnings.</summary>
    public int WarningCount => Findings.Count(f => f.Severity == FindingSeverity.Warning);

    /// <summary>True when <c>plan check</c> must exit non-zero.</summary>
    public bool HasErrors => ErrorCount > 0;
}

/// <summary>The engine of <c>lifeline plan check</c>: lints a plan against itself (objectives against schedules,
/// retention against compliance, locations against failure domains, restore budgets against measured speed).
/// Rules and ids: <see cref="PlanRules"/>, <c>docs/plan.md</c>.</summary>
public sealed class PlanChecker
{
    private static readonly Dictionary<string, ComponentKind> WellKnown = new(StringComparer.Ordinal)
    {
        ["registry"] = ComponentKind.Registry,
        ["leads"] = ComponentKind.LakeTable,
        ["predictions"] = ComponentKind.LakeTable,
        ["conversions"] = ComponentKind.LakeTable,
        ["audit_logs"] = ComponentKind.LakeTable,
        ["monitoring_metrics"] = ComponentKind.LakeTable,
        ["configuration"] = ComponentKind.Configuration,
        ["jobs"] = ComponentKind.Jobs,
    };

    private readonly TimeProvider _time;
    private readonly IBackupHistory _history;
    private readonly PlanCheckOptions _options;
    private readonly IDeviceProbe _devices;

    /// <summary>A checker reading time from <paramref name="time"/> and durations from <paramref name="history"/>.</summary>
    public PlanChecker(TimeProvider? time = null, IBackupHistory? history = null, PlanCheckOptions? options = null)
        : this(time, history, options, null)
    {
    }

    internal PlanChecker(TimeProvider? time, IBackupHistory? history, PlanCheckOptions? options, IDeviceProbe? devices)
    {
        _time = time ?? TimeProvider.System;
        _history = history ?? EmptyBackupHistory.Instance;
        _options = options ?? new PlanCheckOptions();
        _devices = devices ?? StatDeviceProbe.Instance;
    }

    /// <summary>The names Lifeline knows how to protect without a <c>kind</c>.</summary>
    public static IReadOnlyCollection<string> WellKnownComponents => WellKnown.Keys;

    /// <summary>The kind of <paramref name="component"/>: its own, or the one its well-known name implies.</summary>
    public static ComponentKind? KindOf(PlanComponent component) =>
        component.Kind ?? (WellKnown.TryGetValue(component.Name, out var kind) ? kind : null);

    /// <summary>Reads and checks the plan file at <paramref name="path"/>; a missing or unreadable file is an error finding.</summary>
    public async Task<PlanCheckReport> CheckFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var parsed = await PlanFile.LoadAsync(path, cancellationToken);
        if (!parsed.Succeeded)
        {
            return new PlanCheckReport { File = path, Findings = parsed.Errors };
        }

        return await CheckAsync(parsed.Plan!, cancellationToken);
    }

    /// <summary>Checks a parsed plan.</summary>
    public async Task<PlanCheckReport> CheckAsync(LifelinePlan plan, CancellationToken cancellationToken = default)
    {
        var run = new Run(this, plan);
        run.CheckObjectives();
        run.CheckComponentNames();
        run.CheckScenarioReferences();
        run.CheckPolicies();
        run.CheckReferences();
        run.CheckSources();
        run.CheckBatchJobs();
        run.CheckChannels();
        var rpos = new List<ComponentRpo>();
        foreach (var component in plan.Components)
        {
            rpos.Add(await run.CheckComponentAsync(component, cancellationToken));
        }

        await run.CheckRestoreBudgetsAsync(cancellationToken);
        var findings = run.Findings
            .Select((f, i) => (f, i))
            .OrderBy(x => x.f.Mark.Line).ThenBy(x => x.f.Mark.Column).ThenBy(x => x.i)
            .Select(x => x.f)
            .ToList();
        return new PlanCheckReport { File = plan.Source.File, Plan = plan, Findings = findings, Components = rpos };
    }

    /// <summary>The longest gap between two runs of <paramref name="cron"/> within the horizon from now, or null if it never runs twice.</summary>
    internal TimeSpan? LongestGap(string cron, string? timeZone) => Gap(Occurrences(cron, timeZone, _time.GetUtcNow(), _options.ScheduleHorizon));

    private static TimeSpan? Gap(List<DateTimeOffset> times) => times.Count > 1 ? times.Zip(times.Skip(1), (a, b) => b - a).Max() : null;

    private static List<DateTimeOffset> Occurrences(string cron, string? timeZone, DateTimeOffset now, TimeSpan horizon)
    {
        var zone = timeZone is not null && PlanParser.TryFindTimeZone(timeZone, out var z) ? z : TimeZoneInfo.Utc;
        CronExpression expression;
        try
        {
            expression = CronExpression.Parse(cron, CronFormat.Standard);
        }
        catch (CronFormatException)
        {
            // only a plan built in code gets here (the parser rejects bad cron); it never runs
            return [];
        }

        var end = now + horizon;
        var times = new List<DateTimeOffset>();
        var next = expression.GetNextOccurrence(now, zone);
        // a per-minute schedule has 527,000 runs a year; its longest gap shows within the first 50,000
        while (next is { } t && t <= end && times.Count < 50_000)
        {
            times.Add(t);
            next = expression.GetNextOccurrence(t, zone);
        }

        return times;
    }

    private static string Fmt(TimeSpan value) => PlanDuration.Format(value);

    private static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (value >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return string.Create(CultureInfo.InvariantCulture, $"{value:0.#} {units[unit]}");
    }

    /// <summary>One check of one plan.</summary>
    private sealed class Run(PlanChecker checker, LifelinePlan plan)
    {
        private readonly DateTimeOffset _now = checker._time.GetUtcNow();
        private readonly Dictionary<(string, string?), List<DateTimeOffset>> _occurrences = [];

        public List<PlanFinding> Findings { get; } = [];

        /// <summary>The runs of a schedule over the horizon from the check's one "now".</summary>
        private List<DateTimeOffset> RunsOf(string cron, string? timeZone)
        {
            if (!_occurrences.TryGetValue((cron, timeZone), out var times))
            {
                times = Occurrences(cron, timeZone, _now, checker._options.ScheduleHorizon);
                _occurrences[(cron, timeZone)] = times;
            }

            return times;
        }

        private PlanObjectives Objectives => plan.Objectives;

        private string BaseDirectory => Path.GetDirectoryName(Path.GetFullPath(plan.Source.File)) ?? Directory.GetCurrentDirectory();

        public void CheckObjectives()
        {
            Contradiction(Objectives.Rto, "RTO", "objectives.rto", "objectives");
            Contradiction(Objectives.Rpo, "RPO", "objectives.rpo", "objectives");
            foreach (var s in Objectives.Scenarios)
            {
                var path = $"objectives.scenarios.{s.Name}";
                var subject = "scenario " + s.Name;
                Contradiction(s.Rto, "RTO", path + ".rto", subject);
                Contradiction(s.Rpo, "RPO", path + ".rpo", subject);
                Exceeds(s.Rto.Target, Objectives.Rto.EffectiveMax, "RTO target", path + ".rto", subject);
                Exceeds(s.Rpo.Target, Objectives.Rpo.EffectiveMax, "RPO target", path + ".rpo", subject);
                Exceeds(s.Rto.Max, Objectives.Rto.EffectiveMax, "RTO maximum", path + ".rto", subject);
                Exceeds(s.Rpo.Max, Objectives.Rpo.EffectiveMax, "RPO maximum", path + ".rpo", subject);
                var rto = Effective(s.Rto, Objectives.Rto).Target;
                if (s.RestoreBudget is { } budget && rto is { } r && budget > r)
                {
                    Add(FindingSeverity.Error, PlanRules.ContradictoryObjectives, subject, path + ".restore-budget",
                        $"the restore budget {Fmt(budget)} is longer than the scenario's RTO target {Fmt(r)}",
                        $"make restore-budget at most {Fmt(r)}, or raise the RTO");
                }

                if (s.Steps.Count > 0 && rto is { } stepsRto && s.Steps.Aggregate(TimeSpan.Zero, (sum, step) => sum + step.Budget) is var total && total > stepsRto)
                {
                    Add(FindingSeverity.Error, PlanRules.ContradictoryObjectives, subject, path + ".steps",
                        $"the recovery steps add up to {Fmt(total)} ({string.Join(" + ", s.Steps.Select(step => $"{step.Name} {Fmt(step.Budget)}"))}), more than the scenario's RTO target {Fmt(stepsRto)}",
                        $"shorten the steps by {Fmt(total - stepsRto)} (run some in parallel, automate them), or raise the RTO");
                }

                if (Effective(s.Rpo, Objectives.Rpo).Target == TimeSpan.Zero && s.Components.Count > 0)
                {
                    Add(FindingSeverity.Error, PlanRules.ContradictoryObjectives, subject, path + ".rpo",
                        $"an RPO of 0 means no data loss at all, which no backup gives, but the scenario restores {string.Join(", ", s.Components)}",
                        "list no components for a stateless scenario, or give the RPO the replication lag you accept (e.g. 5m)");
                }
            }

            void Contradiction(ObjectivePair pair, string what, string path, string subject)
            {
                if (pair is { Target: { } t, Max: { } m } && t > m)
                {
                    Add(FindingSeverity.Error, PlanRules.ContradictoryObjectives, subject, path,
                        $"the {what} target {Fmt(t)} is longer than its maximum {Fmt(m)}", $"make the target at most {Fmt(m)}, or raise the maximum");
                }
            }

            void Exceeds(TimeSpan? value, TimeSpan? planMax, string what, string path, string subject)
            {
                if (value is { } v && planMax is { } m && v > m)
                {
                    Add(FindingSeverity.Error, PlanRules.ContradictoryObjectives, subject, path,
                        $"the scenario's {what} {Fmt(v)} is longer than the plan's maximum {Fmt(m)}", $"make it at most {Fmt(m)}, or raise the plan's maximum");
                }
            }
        }

        /// <summary>A user job named like one the scheduler derives from the plan (<c>backup-POLICY</c>, <c>check-NAME</c>,
        /// <c>drill-NAME</c>) would make <c>lifeline jobs run NAME</c> ambiguous.</summary>
        public void CheckBatchJobs()
        {
            var derived = Scheduling.PlanJobs.DerivedNames(plan);
            foreach (var job in plan.Jobs.Where(j => derived.Contains(j.Name)))
            {
                Add(FindingSeverity.Error, PlanRules.BadValue, "job " + job.Name, $"jobs.{job.Name}",
                    $"job '{job.Name}' has the name of a job the scheduler derives from the plan", "rename the job (names starting backup-, check- and drill- are the plan's)");
            }
        }

        public void CheckComponentNames()
        {
            foreach (var c in plan.Components)
            {
                if (KindOf(c) is null)
                {
                    Add(FindingSeverity.Error, PlanRules.UnknownComponent, c.Name, $"components.{c.Name}",
                        $"'{c.Name}' is not a component Lifeline knows how to protect{Suggestions.DidYouMean(c.Name, WellKnown.Keys)}",
                        $"name it one of {string.Join(", ", WellKnown.Keys)}, or set `kind:` (registry, lake-table, configuration, jobs)");
                }
            }
        }

        public void CheckScenarioReferences()
        {
            var names = plan.Components.Select(c => c.Name).ToList();
            foreach (var s in Objectives.Scenarios)
            {
                for (var i = 0; i < s.Components.Count; i++)
                {
                    var name = s.Components[i];
                    if (!names.Contains(name))
                    {
                        Add(FindingSeverity.Error, PlanRules.UnknownComponent, "scenario " + s.Name, $"objectives.scenarios.{s.Name}.components[{i}]",
                            $"scenario '{s.Name}' names component '{name}', which the plan does not define{Suggestions.DidYouMean(name, names.Concat(WellKnown.Keys).Distinct())}",
                            $"add '{name}' under components, or correct the name");
                    }
                }
            }
        }

        public void CheckPolicies()
        {
            foreach (var p in plan.Policies)
            {
                var path = $"policies.{p.Name}";
                var subject = "policy " + p.Name;
                if (p.Retention is null || p.Retention.IsEmpty)
                {
                    Add(FindingSeverity.Warning, PlanRules.RetentionShort, subject, path,
                        $"policy '{p.Name}' has no retention: every snapshot is kept for ever and `lifeline forget` removes nothing",
                        "add `retention:` (e.g. keep-within: 48h, daily: 30, monthly: 12)");
                }

                var named = p.Locations.Named().ToList();
                foreach (var (role, name) in named)
                {
                    if (plan.FindLocation(name) is null)
                    {
                        Add(FindingSeverity.Error, PlanRules.UnknownReference, subject, $"{path}.locations.{role}",
                            $"the {role} location '{name}' is not defined{Suggestions.DidYouMean(name, plan.Locations.Select(l => l.Name))}",
                            $"add '{name}' under locations, or correct the name");
                    }
                }

                var distinct = named.Select(n => n.Location).Distinct().Count();
                if (distinct < checker._options.RequiredLocations)
                {
                    var missing = new[] { "primary", "secondary", "tertiary" }.Except(named.Select(n => n.Role)).ToList();
                    Add(FindingSeverity.Error, PlanRules.TooFewLocations, subject, plan.Source.Marks.ContainsKey(path + ".locations") ? path + ".locations" : path,
                        $"policy '{p.Name}' keeps its backups in {distinct} location{(distinct == 1 ? "" : "s")}, fewer than the {checker._options.RequiredLocations} required" +
                        (missing.Count > 0 ? $" (no {string.Join(", no ", missing)})" : " (the same location named twice)"),
                        "name a distinct primary (same region), secondary (another region) and tertiary (object storage) location");
                }

                CheckFailureDomains(p, path, subject, named);
                if (p.Full is not null)
                {
                    Add(FindingSeverity.Info, PlanRules.FullBackupMeaning, subject, path + ".full",
                        $"'full: {p.Full}' in a deduplicating vault: every snapshot, the daily ones too, is already a full restore point that restores on its own; " +
                        "a \"full\" backup costs no extra storage, Lifeline runs it as a re-read of all the data that trusts no parent snapshot, a verification that catches what change detection missed",
                        "nothing to fix: keep it as the weekly re-read, or remove 'full' and rely on the verification checks");
                }
            }
        }

        private void CheckFailureDomains(BackupPolicy p, string path, string subject, List<(string Role, string Location)> named)
        {
            var locations = named.Select(n => (n.Role, Location: plan.FindLocation(n.Location))).Where(n => n.Location is not null).ToList();
            for (var i = 0; i < locations.Count; i++)
            {
                for (var j = i + 1; j < locations.Count; j++)
                {
                    var (roleA, a) = locations[i];
                    var (roleB, b) = locations[j];
                    if (a!.Name == b!.Name)
                    {
                        continue;
                    }

                    string? why = null;
                    if (a.FailureDomain is not null && a.FailureDomain == b.FailureDomain)
                    {
                        why = $"the same failure domain '{a.FailureDomain}'";
                    }
                    else if (FailureDomain.Of(a, BaseDirectory, checker._devices) is { } da && FailureDomain.Of(b, BaseDirectory, checker._devices) is { } db && da.Key == db.Key)
                    {
                        why = da.Description;
                    }

                    if (why is not null)
                    {
                        Add(FindingSeverity.Error, PlanRules.SharedFailureDomain, subject, $"{path}.locations.{roleB}",
                            $"the {roleA} '{a.Name}' and the {roleB} '{b.Name}' share {why}: one failure loses both copies",
                            $"put '{b.Name}' on another disk, host or provider (secondary: another region; tertiary: object storage)");
                    }

                    if (roleA == "primary" && roleB == "secondary" && a.Region is not null && a.Region == b.Region)
                    {
                        Add(FindingSeverity.Warning, PlanRules.SharedRegion, subject, $"{path}.locations.secondary",
                            $"the primary '{a.Name}' and the secondary '{b.Name}' are both in region '{a.Region}'; the secondary should survive a region failure",
                            $"move '{b.Name}' to another region");
                    }
                }
            }
        }

        public void CheckReferences()
        {
            var scenarios = Objectives.Scenarios.Select(s => s.Name).ToList();
            foreach (var d in plan.Drills)
            {
                for (var i = 0; i < d.Scenarios.Count; i++)
                {
                    if (!scenarios.Contains(d.Scenarios[i]))
                    {
                        Add(FindingSeverity.Error, PlanRules.UnknownReference, "drill " + d.Name, $"drills.{d.Name}.scenarios[{i}]",
                            $"drill '{d.Name}' plays scenario '{d.Scenarios[i]}', which the plan does not define{Suggestions.DidYouMean(d.Scenarios[i], scenarios)}",
                            "name a scenario under objectives.scenarios");
                    }
                }

                if (RunsOf(d.Schedule, null).Count == 0)
                {
                    Add(FindingSeverity.Error, PlanRules.BadSchedule, "drill " + d.Name, $"drills.{d.Name}.schedule",
                        $"drill schedule '{d.Schedule}' never runs within {Fmt(checker._options.ScheduleHorizon)}", "write a schedule that runs at least once a year");
                }
            }

            var channels = plan.Notifications.Channels.Select(c => c.Name).ToList();
            foreach (var r in plan.Roles)
            {
                for (var i = 0; i < r.Notify.Count; i++)
                {
                    if (!channels.Contains(r.Notify[i]))
                    {
                        Add(FindingSeverity.Error, PlanRules.UnknownReference, "role " + r.Name, $"roles.{r.Name}.notify[{i}]",
                            $"role '{r.Name}' is notified through channel '{r.Notify[i]}', which the plan does not define{Suggestions.DidYouMean(r.Notify[i], channels)}",
                            "name a channel under notifications.channels");
                    }
                }
            }

            var n = plan.Notifications;
            if (n.FirstNotice is { } first && n.StakeholderUpdate is { } stakeholders && first > stakeholders)
            {
                Add(FindingSeverity.Error, PlanRules.BadValue, "notifications", "notifications.stakeholder-update",
                    $"stakeholders hear within {Fmt(stakeholders)}, before the team is notified ({Fmt(first)})", "make first-notice at most stakeholder-update");
            }
        }

        /// <summary>The notification channels and the heartbeat (docs/notifications.md): a malformed endpoint URL or
        /// SMTP address is an error; a secret or setting not present in this environment is an info finding (plan check
        /// may run where the secrets are not; <c>up</c>'s start-up probe reports it again as a failed probe), one line each.</summary>
        public void CheckChannels()
        {
            var env = checker._options.Environment;
            foreach (var c in plan.Notifications.Channels)
            {
                foreach (var problem in Notifications.ChannelChecks.Problems(c, BaseDirectory, env))
                {
                    Add(problem.IsError ? FindingSeverity.Error : FindingSeverity.Info, problem.IsError ? PlanRules.BadUrl : PlanRules.MissingField,
                        "channel " + c.Name, $"notifications.channels.{c.Name}{(problem.Field is { } f ? "." + f : "")}", problem.Message, problem.Fix);
                }
            }

            if (plan.Notifications.Heartbeat is { } heartbeat)
            {
                foreach (var problem in Notifications.ChannelChecks.Problems(heartbeat, env))
                {
                    Add(problem.IsError ? FindingSeverity.Error : FindingSeverity.Info, problem.IsError ? PlanRules.BadUrl : PlanRules.MissingField,
                        "notifications", $"notifications.heartbeat{(problem.Field is { } f ? "." + f : "")}", problem.Message, problem.Fix);
                }
            }
        }

        /// <summary>The sources: fields that do not apply to a component's kind, unset <c>${VAR}</c>s, secrets written
        /// into the plan, and a component's own local source that is not there.</summary>
        public void CheckSources()
        {
            var env = checker._options.Environment;
            var sources = new ComponentSources(plan, BaseDirectory, env);
            // the data directory and the lake root are created by `lifeline up`: their absence before is not a finding
            foreach (var c in plan.Components)
            {
                var kind = KindOf(c);
                var path = $"components.{c.Name}";
                var given = new (string Key, string? Value, ComponentKind Kind)[]
                {
                    ("data", c.Data, ComponentKind.Registry), ("postgres", c.Postgres, ComponentKind.Registry), ("api", c.Api, ComponentKind.Registry),
                    ("token-env", c.TokenEnv, ComponentKind.Registry), ("location", c.Location, ComponentKind.LakeTable), ("store", c.Store, ComponentKind.Jobs),
                };
                foreach (var (key, value, wants) in given)
                {
                    if (value is not null && kind is { } k && k != wants)
                    {
                        Add(FindingSeverity.Error, PlanRules.SourceNotApplicable, c.Name, $"{path}.{key}",
                            $"'{key}' says where a {KindWord(wants)} lives, but '{c.Name}' is a {KindWord(k)}",
                            $"remove '{key}' (a {KindWord(k)} takes {FieldsOf(k)})");
                    }
                }

                if (c.Files.Count > 0 && kind is ComponentKind.Registry or ComponentKind.LakeTable)
                {
                    Add(FindingSeverity.Error, PlanRules.SourceNotApplicable, c.Name, $"{path}.files",
                        $"'files' names configuration or job-definition files, but '{c.Name}' is a {KindWord(kind.Value)}", $"remove 'files' (a {KindWord(kind.Value)} takes {FieldsOf(kind.Value)})");
                }

                if (c.TokenEnv is not null && c.Api is null && kind == ComponentKind.Registry)
                {
                    Add(FindingSeverity.Warning, PlanRules.SourceNotApplicable, c.Name, $"{path}.token-env",
                        "'token-env' is used only with 'api' (a native backup reads the data directory)", "add `api: URL`, or remove 'token-env'");
                }

                foreach (var (key, value, _) in given.Where(g => g.Value is not null))
                {
                    foreach (var name in SourceText.References(value!).Distinct())
                    {
                        if ((env is null ? Environment.GetEnvironmentVariable(name) : env.GetValueOrDefault(name)) is null)
                        {
                            Add(FindingSeverity.Warning, PlanRules.SourceSecret, c.Name, $"{path}.{key}",
                                $"'{key}' refers to the environment variable {name}, which is not set here", $"set {name} where backups run (the plan keeps only its name)");
                        }
                    }
                }

                if (c.Postgres is { } pg && System.Text.RegularExpressions.Regex.IsMatch(pg, @"(?i)(^|;)\s*(password|pwd)\s*=\s*(?!\$\{)[^;\s]"))
                {
                    Add(FindingSeverity.Error, PlanRules.SourceSecret, c.Name, $"{path}.postgres",
                        "the connection string holds a password: the plan file is not a place for secrets",
                        "write `Password=${REGISTRY_DB_PASSWORD}` and set the variable in the environment");
                }

                switch (kind)
                {
                    case ComponentKind.Registry when c.Api is null:
                        Missing(c.Data, $"{path}.data", c.Name, FindingSeverity.Warning,
                            p => !Directory.Exists(p) ? "does not exist" : c.Postgres is null && !File.Exists(Path.Combine(p, "registry.db")) ? "holds no registry.db" : null,
                            "point 'data' at the registry's data directory (registry.db and artifacts/), or remove it for DATA/registry");
                        break;
                    case ComponentKind.LakeTable:
                        Missing(c.Location, $"{path}.location", c.Name, FindingSeverity.Warning,
                            p => !Directory.Exists(p) ? "does not exist" : !Directory.Exists(Path.Combine(p, "_delta_log")) ? "is not a Delta table (no _delta_log)" : null,
                            "point 'location' at the table's directory, or remove it for LAKE/TABLE");
                        break;
                    case ComponentKind.Jobs:
                        Missing(c.Store, $"{path}.store", c.Name, FindingSeverity.Warning, p => File.Exists(p) ? null : "does not exist",
                            "point 'store' at the scheduler's SQLite job store, or remove it for DATA/scheduler/jobs.db");
                        break;
                }
            }

            void Missing(string? value, string at, string subject, FindingSeverity severity, Func<string, string?> problem, string fix)
            {
                if (value is null || ComponentSources.IsUrl(value) || SourceText.References(value).Count > 0)
                {
                    return;
                }

                var full = value.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(value).LocalPath : Path.GetFullPath(Path.Combine(sources.BaseDirectory, value));
                if (problem(full) is { } why)
                {
                    Add(severity, PlanRules.SourceMissing, subject, at, $"'{at.Split('.')[^1]}' {full} {why}", fix);
                }
            }
        }

        private static string KindWord(ComponentKind kind) => kind switch
        {
            ComponentKind.Registry => "registry",
            ComponentKind.LakeTable => "lake table",
            ComponentKind.Configuration => "configuration",
            _ => "jobs component",
        };

        private static string FieldsOf(ComponentKind kind) => kind switch
        {
            ComponentKind.Registry => "data, postgres, api, token-env",
            ComponentKind.LakeTable => "table, location",
            ComponentKind.Configuration => "files, env, secrets",
            _ => "files, store",
        };

        public async Task<ComponentRpo> CheckComponentAsync(PlanComponent c, CancellationToken cancellationToken)
        {
            var (target, max) = RpoObjective(c.Name);
            var result = new ComponentRpo { Component = c.Name, Target = target, Max = max };
            if (c.Policy is null)
            {
                Add(FindingSeverity.Error, PlanRules.Unprotected, c.Name, $"components.{c.Name}",
                    $"no backup policy protects '{c.Name}'" + (ScenariosNaming(c.Name) is { Count: > 0 } s ? $", yet scenario{(s.Count == 1 ? "" : "s")} {string.Join(", ", s)} restore{(s.Count == 1 ? "s" : "")} it" : ""),
                    "add `policy: NAME` naming a policy under policies");
                return result with { Basis = "not protected" };
            }

            var policy = plan.FindPolicy(c.Policy);
            if (policy is null)
            {
                Add(FindingSeverity.Error, PlanRules.UnknownReference, c.Name, $"components.{c.Name}.policy",
                    $"policy '{c.Policy}' is not defined{Suggestions.DidYouMean(c.Policy, plan.Policies.Select(p => p.Name))}",
                    $"add '{c.Policy}' under policies, or correct the name");
                return result with { Basis = "unknown policy" };
            }

            var policyPath = $"policies.{policy.Name}";
            TimeSpan? interval = policy.Schedule.OnChange ? policy.Coalesce ?? checker._options.DefaultCoalesce : Gap(RunsOf(policy.Schedule.Cron!, policy.TimeZone));
            if (interval is null)
            {
                Add(FindingSeverity.Error, PlanRules.BadSchedule, c.Name, policyPath + ".schedule",
                    $"schedule '{policy.Schedule}' does not run twice within {Fmt(checker._options.ScheduleHorizon)}", "write a schedule that runs at least daily");
                return result with { Policy = policy.Name, Basis = "schedule never repeats" };
            }

            if (c.Compliance is { } compliance && policy.Retention is { IsEmpty: false } retention && retention.Reach(interval) < compliance)
            {
                Add(FindingSeverity.Error, PlanRules.RetentionShort, c.Name, policyPath + ".retention",
                    $"policy '{policy.Name}' keeps recovery points for {Fmt(retention.Reach(interval))}, less than the compliance period {Fmt(compliance)} of '{c.Name}'",
                    $"keep at least {Fmt(compliance)} (e.g. `monthly: {(int)Math.Ceiling(compliance.TotalDays / (365.25 / 12))}` or `yearly: {(int)Math.Ceiling(compliance.TotalDays / 365.25)}`)");
            }

            var copies = Math.Max(0, policy.Locations.Named().Select(n => n.Location).Distinct().Count() - 1);
            var runs = await checker._history.GetRecentBackupsAsync(c.Name, checker._options.HistoryDepth, cancellationToken);
            var measured = runs.Count > 0;
            var backup = measured ? runs.Max(r => r.Backup) : checker._options.BackupEstimate;
            var copy = measured ? runs.Max(r => r.Copy) : checker._options.CopyEstimate * copies;
            var verification = measured ? runs.Max(r => r.Verification) : checker._options.VerificationEstimate;
            var source = measured ? $"worst of {runs.Count} measured backup{(runs.Count == 1 ? "" : "s")}" : "estimated: no measured history";
            TimeSpan worst;
            string verifyWords;
            if (plan.Verification.AfterBackup)
            {
                worst = interval.Value + backup + copy + verification;
                verifyWords = $"verification {Fmt(verification)}";
            }
            else
            {
                var checks = plan.Verification.Checks.Where(k => k.Run.Contains("integrity")).Select(k => Gap(RunsOf(k.Schedule, null))).OfType<TimeSpan>().ToList();
                if (checks.Count == 0)
                {
                    Add(FindingSeverity.Error, PlanRules.RpoUnmet, c.Name, "verification.after-backup",
                        "no snapshot is ever verified (after-backup is false and no check runs 'integrity'), so none becomes a recovery point",
                        "set `after-backup: true`, or add a check that runs integrity");
                    return result with { Policy = policy.Name, Basis = "never verified" };
                }

                var wait = checks.Min();
                worst = interval.Value + backup + copy + wait + verification;
                verifyWords = $"wait for the integrity check up to {Fmt(wait)} + verification {Fmt(verification)}";
            }

            var what = policy.Schedule.OnChange ? $"changes gathered {Fmt(interval.Value)}" : $"interval {Fmt(interval.Value)}";
            var basis = $"{what} + backup {Fmt(backup)} + copy {Fmt(copy)} to {copies} location{(copies == 1 ? "" : "s")} + {verifyWords}; {source}";
            result = result with { Policy = policy.Name, WorstCase = worst, Measured = measured, Basis = basis };
            var overhead = worst - interval.Value;
            if (max is { } m && worst > m)
            {
                Add(FindingSeverity.Error, PlanRules.RpoUnmet, c.Name, policyPath + ".schedule",
                    $"worst-case RPO {Fmt(worst)} ({basis}) exceeds the maximum {Fmt(m)}" + (target is { } t0 ? $" and the target {Fmt(t0)}" : ""),
                    ScheduleFix(target ?? m, overhead));
            }
            else if (target is { } t && worst > t)
            {
                Add(FindingSeverity.Warning, PlanRules.RpoUnmet, c.Name, policyPath + ".schedule",
                    $"worst-case RPO {Fmt(worst)} ({basis}) exceeds the target {Fmt(t)} (within the maximum)", ScheduleFix(t, overhead));
            }

            return result;
        }

        private static string ScheduleFix(TimeSpan objective, TimeSpan overhead)
        {
            var allowed = objective - overhead;
            if (allowed <= TimeSpan.Zero)
            {
                return $"backup, copy and verification alone take {Fmt(overhead)}, the objective {Fmt(objective)}: make them faster or relax the objective";
            }

            // a step that divides the hour (or the day) keeps every gap equal to it
            int[] minuteSteps = [1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30];
            int[] hourSteps = [1, 2, 3, 4, 6, 8, 12];
            var cron = allowed >= TimeSpan.FromDays(1) ? "0 0 * * *"
                : allowed >= TimeSpan.FromHours(1) ? $"0 */{hourSteps.Last(h => h <= allowed.TotalHours)} * * *"
                : allowed >= TimeSpan.FromMinutes(1) ? $"*/{minuteSteps.Last(m => m <= allowed.TotalMinutes)} * * * *"
                : null;
            if (cron is null)
            {
                return $"use `schedule: on-change` with a short coalesce: the objective {Fmt(objective)} leaves less than a minute between backups";
            }

            return $"use `schedule: on-change`, or back up at least every {Fmt(allowed)} (`schedule: \"{cron}\"`)";
        }

        public async Task CheckRestoreBudgetsAsync(CancellationToken cancellationToken)
        {
            foreach (var s in Objectives.Scenarios)
            {
                var budget = s.RestoreBudget ?? Effective(s.Rto, Objectives.Rto).Target;
                if (budget is null || s.Components.Count == 0)
                {
                    continue;
                }

                var total = TimeSpan.Zero;
                var parts = new List<string>();
                var unmeasured = new List<string>();
                foreach (var name in s.Components.Distinct())
                {
                    var backups = await checker._history.GetRecentBackupsAsync(name, 1, cancellationToken);
                    var restores = await checker._history.GetRecentRestoresAsync(name, checker._options.HistoryDepth, cancellationToken);
                    var speeds = restores.Where(r => r.Duration > TimeSpan.Zero && r.Bytes > 0).Select(r => r.Bytes / r.Duration.TotalSeconds).ToList();
                    if (backups.Count == 0 || speeds.Count == 0)
                    {
                        unmeasured.Add(name);
                        continue;
                    }

                    var bytes = backups[0].Bytes;
                    var speed = speeds.Min();
                    var time = TimeSpan.FromSeconds(Math.Ceiling(bytes / speed));
                    total += time;
                    parts.Add($"{name} {Bytes(bytes)} at {Bytes((long)speed)}/s = {Fmt(time)}");
                }

                if (parts.Count > 0 && total > budget)
                {
                    var path = $"objectives.scenarios.{s.Name}" + (s.RestoreBudget is null ? ".rto" : ".restore-budget");
                    Add(FindingSeverity.Error, PlanRules.RestoreTooSlow, "scenario " + s.Name, path,
                        $"restoring at the measured speed takes {Fmt(total)} ({string.Join("; ", parts)}, one after another), more than the restore budget {Fmt(budget.Value)}" +
                        (unmeasured.Count > 0 ? $"; not measured yet: {string.Join(", ", unmeasured)}" : ""),
                        "restore faster (a closer location, parallel restores), restore less, or raise the budget");
                }
            }
        }

        private (TimeSpan? Target, TimeSpan? Max) RpoObjective(string component)
        {
            var target = Objectives.Rpo.Target;
            var max = Objectives.Rpo.EffectiveMax;
            foreach (var s in Objectives.Scenarios.Where(s => s.Components.Contains(component)))
            {
                var e = Effective(s.Rpo, Objectives.Rpo);
                target = Min(target, e.Target);
                max = Min(max, e.EffectiveMax);
            }

            return (target, max);
        }

        private List<string> ScenariosNaming(string component) => Objectives.Scenarios.Where(s => s.Components.Contains(component)).Select(s => s.Name).ToList();

        private static TimeSpan? Min(TimeSpan? a, TimeSpan? b) => a is null ? b : b is null ? a : a < b ? a : b;

        /// <summary>A scenario's objective with the plan's filled in where it says nothing.</summary>
        private static ObjectivePair Effective(ObjectivePair scenario, ObjectivePair plan) =>
            new(scenario.Target ?? plan.Target, scenario.Max ?? plan.EffectiveMax);

        private void Add(FindingSeverity severity, string rule, string subject, string path, string message, string fix) =>
            Findings.Add(new PlanFinding
            {
                Severity = severity,
                Rule = rule,
                Subject = subject,
                File = plan.Source.File,
                Mark = plan.Source.Find(path),
                Message = message,
                Fix = fix,
            });
    }
}
