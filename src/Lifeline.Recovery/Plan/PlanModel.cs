namespace Lifeline.Recovery.Plan;

/// <summary>A parsed <c>lifeline.yaml</c>: the disaster-recovery plan as data. See <c>docs/plan.md</c>.</summary>
public sealed record LifelinePlan
{
    /// <summary>The plan format version; only 1 exists.</summary>
    public int Version { get; init; } = 1;

    /// <summary>What the plan protects, for reports.</summary>
    public string? Name { get; init; }

    /// <summary>Who owns the plan.</summary>
    public string? Owner { get; init; }

    /// <summary>RTO and RPO for the whole deployment and per scenario.</summary>
    public required PlanObjectives Objectives { get; init; }

    /// <summary>The protected components, in file order.</summary>
    public IReadOnlyList<PlanComponent> Components { get; init; } = [];

    /// <summary>The backup policies, in file order.</summary>
    public IReadOnlyList<BackupPolicy> Policies { get; init; } = [];

    /// <summary>The backup locations, in file order.</summary>
    public IReadOnlyList<PlanLocation> Locations { get; init; } = [];

    /// <summary>How backups are verified.</summary>
    public VerificationPlan Verification { get; init; } = new();

    /// <summary>The recovery drills.</summary>
    public IReadOnlyList<DrillPlan> Drills { get; init; } = [];

    /// <summary>Notification channels and the communication timeline.</summary>
    public NotificationPlan Notifications { get; init; } = new();

    /// <summary>The incident-response roles.</summary>
    public IReadOnlyList<PlanRole> Roles { get; init; } = [];

    /// <summary>Where the components live by default (the data directory and the lake root).</summary>
    public PlanSources Sources { get; init; } = new();
    /// <summary>When the scheduler applies the retention and prunes the locations (<c>maintenance:</c>).</summary>
    public MaintenancePlan Maintenance { get; init; } = new();

    /// <summary>User batch jobs the scheduler runs (<c>jobs:</c>), in file order.</summary>
    public IReadOnlyList<PlanBatchJob> Jobs { get; init; } = [];

    /// <summary>Where each element was read from; <see cref="PlanSource.None"/> for a plan built in code.</summary>
    public PlanSource Source { get; init; } = PlanSource.None;

    /// <summary>The component named <paramref name="name"/>, or null.</summary>
    public PlanComponent? FindComponent(string name) => Components.FirstOrDefault(c => c.Name == name);

    /// <summary>The policy named <paramref name="name"/>, or null.</summary>
    public BackupPolicy? FindPolicy(string? name) => name is null ? null : Policies.FirstOrDefault(p => p.Name == name);

    /// <summary>The location named <paramref name="name"/>, or null.</summary>
    public PlanLocation? FindLocation(string? name) => name is null ? null : Locations.FirstOrDefault(l => l.Name == name);
}

/// <summary>A target and a maximum acceptable duration (an RTO or an RPO).</summary>
/// <param name="Target">What the plan aims for.</param>
/// <param name="Max">The most it accepts; when absent it is the plan-wide maximum (scenarios) or the target.</param>
public sealed record ObjectivePair(TimeSpan? Target, TimeSpan? Max)
{
    /// <summary>The maximum, or the target when no maximum is given.</summary>
    public TimeSpan? EffectiveMax => Max ?? Target;
}

/// <summary>The plan's recovery objectives.</summary>
public sealed record PlanObjectives
{
    /// <summary>Recovery time objective: how long restoring service may take.</summary>
    public required ObjectivePair Rto { get; init; }

    /// <summary>Recovery point objective: how much data (as time) may be lost.</summary>
    public required ObjectivePair Rpo { get; init; }

    /// <summary>The disaster scenarios, each with its own objectives.</summary>
    public IReadOnlyList<PlanScenario> Scenarios { get; init; } = [];
}

/// <summary>One disaster scenario.</summary>
public sealed record PlanScenario
{
    /// <summary>The scenario's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>A human title.</summary>
    public string? Title { get; init; }

    /// <summary>low, medium, high or critical.</summary>
    public string? Impact { get; init; }

    /// <summary>The scenario's RTO; a missing maximum inherits the plan's.</summary>
    public ObjectivePair Rto { get; init; } = new(null, null);

    /// <summary>The scenario's RPO; a missing maximum inherits the plan's.</summary>
    public ObjectivePair Rpo { get; init; } = new(null, null);

    /// <summary>The share of the RTO allotted to restoring data from backups; the RTO target when absent.</summary>
    public TimeSpan? RestoreBudget { get; init; }

    /// <summary>The components this scenario restores.</summary>
    public IReadOnlyList<string> Components { get; init; } = [];

    /// <summary>The recovery procedure's steps with their time budgets, in order (the document's "Recovery Procedures").</summary>
    public IReadOnlyList<ScenarioStep> Steps { get; init; } = [];
}

/// <summary>One step of a scenario's recovery procedure and the time it is given.</summary>
/// <param name="Name">The step's key (e.g. <c>restore-data</c>).</param>
/// <param name="Budget">How long the step may take.</param>
public sealed record ScenarioStep(string Name, TimeSpan Budget);

/// <summary>What kind of thing a component is; decides which adapter protects it.</summary>
public enum ComponentKind
{
    /// <summary>The model registry (metadata and artifacts).</summary>
    Registry,

    /// <summary>A Delta Lake table.</summary>
    LakeTable,

    /// <summary>Configuration files and environment variables.</summary>
    Configuration,

    /// <summary>Job definitions and their schedules.</summary>
    Jobs,
}

/// <summary>A protected component.</summary>
public sealed record PlanComponent
{
    /// <summary>The component's key in the file (e.g. <c>registry</c>, <c>leads</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Its kind; inferred from well-known names.</summary>
    public ComponentKind? Kind { get; init; }

    /// <summary>For a lake table: the table's name; the component's name when absent.</summary>
    public string? Table { get; init; }

    /// <summary>The backup policy protecting it; none is a finding.</summary>
    public string? Policy { get; init; }

    /// <summary>How long every recovery point must stay restorable (a legal or contractual period), if any.</summary>
    public TimeSpan? Compliance { get; init; }

    /// <summary>For configuration: the files to protect (paths or globs with <c>*</c>, <c>?</c>, <c>**</c>; relative to the plan's directory).</summary>
    public IReadOnlyList<string> Files { get; init; } = [];

    /// <summary>For configuration: the environment variables to protect, by name or by prefix ending in <c>*</c>.</summary>
    public IReadOnlyList<string> Env { get; init; } = [];

    /// <summary>For configuration: names (or prefixes ending in <c>*</c>) that are secrets besides those matching
    /// <c>*TOKEN*</c>, <c>*PASSWORD*</c>, <c>*SECRET*</c> and <c>*KEY*</c>.</summary>
    public IReadOnlyList<string> Secrets { get; init; } = [];

    /// <summary>Commands run before and after each backup of the component, if any.</summary>
    public ComponentHooks? Hooks { get; init; }

    /// <summary>For the registry: its data directory (<c>registry.db</c> and <c>artifacts/</c>); default
    /// <c>DATA/registry</c> (<see cref="PlanSources"/>). May hold <c>${VAR}</c>.</summary>
    public string? Data { get; init; }

    /// <summary>For the registry: a PostgreSQL connection string holding its metadata instead of SQLite; default none.
    /// Secrets go in <c>${VAR}</c> references, expanded from the environment when the adapter runs.</summary>
    public string? Postgres { get; init; }

    /// <summary>For the registry: back it up through the MLflow REST API of this server instead of natively; default
    /// none. May hold <c>${VAR}</c>.</summary>
    public string? Api { get; init; }

    /// <summary>For the registry in API mode: the environment variable holding the bearer token; default none.</summary>
    public string? TokenEnv { get; init; }

    /// <summary>For a lake table: the table's location (path, <c>s3://</c>, <c>azure://</c>); default
    /// <c>LAKE/TABLE</c>. May hold <c>${VAR}</c>.</summary>
    public string? Location { get; init; }

    /// <summary>For jobs: the scheduler's SQLite job store; default <c>DATA/scheduler/jobs.db</c>, backed up when it
    /// exists. May hold <c>${VAR}</c>.</summary>
    public string? Store { get; init; }

    /// <summary>Value equality, lists compared by their items.</summary>
    public bool Equals(PlanComponent? other) =>
        other is not null && Name == other.Name && Kind == other.Kind && Table == other.Table && Policy == other.Policy && Compliance == other.Compliance
        && Files.SequenceEqual(other.Files) && Env.SequenceEqual(other.Env) && Secrets.SequenceEqual(other.Secrets) && Hooks == other.Hooks
        && Data == other.Data && Postgres == other.Postgres && Api == other.Api && TokenEnv == other.TokenEnv && Location == other.Location && Store == other.Store;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Kind, Table, Policy, Compliance, Files.Count, Env.Count, Hooks);
}

/// <summary>The plan's <c>sources</c>: where the components live unless a component says otherwise. Relative paths
/// are taken from the plan file's directory; <c>lifeline up</c> lays out the same directory.</summary>
public sealed record PlanSources
{
    /// <summary>The default data directory, relative to the plan file: <c>lifeline-data</c>.</summary>
    public const string DefaultData = "lifeline-data";

    /// <summary>The data directory: the registry in <c>DATA/registry</c>, the lake in <c>DATA/lake</c>, the scheduler's
    /// job store in <c>DATA/scheduler/jobs.db</c>; default <see cref="DefaultData"/>.</summary>
    public string? Data { get; init; }

    /// <summary>The lake root: each table at <c>LAKE/TABLE</c> (a path, <c>s3://</c> or <c>azure://</c>); default <c>DATA/lake</c>.</summary>
    public string? Lake { get; init; }
}

/// <summary>Commands run around a component's backup (each through the shell, as a child process).</summary>
public sealed record ComponentHooks
{
    /// <summary>The default time a hook may take: 5 minutes.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromMinutes(5);

    /// <summary>Run before the recovery point is taken; a failure fails the backup and nothing is taken.</summary>
    public string? Pre { get; init; }

    /// <summary>Run after the backup (also after a failed one, with LIFELINE_BACKUP_OUTCOME=failed); a failure fails the backup.</summary>
    public string? Post { get; init; }

    /// <summary>How long each hook may run before it is killed (default <see cref="DefaultTimeout"/>).</summary>
    public TimeSpan? Timeout { get; init; }
}

/// <summary>When backups run: a cron expression, or on every change.</summary>
public sealed record BackupSchedule
{
    /// <summary>The text <c>on-change</c>.</summary>
    public const string OnChangeText = "on-change";

    /// <summary>True for <c>on-change</c>.</summary>
    public bool OnChange { get; init; }

    /// <summary>A five-field cron expression or a macro such as <c>@daily</c>, when not on change.</summary>
    public string? Cron { get; init; }

    /// <summary>The schedule as written in the file.</summary>
    public override string ToString() => OnChange ? OnChangeText : Cron ?? "";
}

/// <summary>How many snapshots a policy keeps (as restic's forget: every rule keeps what it selects).</summary>
public sealed record RetentionPolicy
{
    /// <summary>Keep the newest N snapshots.</summary>
    public int? Last { get; init; }

    /// <summary>Keep every snapshot younger than this.</summary>
    public TimeSpan? Within { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N hours that have one.</summary>
    public int? Hourly { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N days that have one.</summary>
    public int? Daily { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N weeks that have one.</summary>
    public int? Weekly { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N months that have one.</summary>
    public int? Monthly { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N years that have one.</summary>
    public int? Yearly { get; init; }

    /// <summary>True when no rule is set.</summary>
    public bool IsEmpty => Last is null && Within is null && Hourly is null && Daily is null && Weekly is null && Monthly is null && Yearly is null;

    /// <summary>How far back the oldest kept snapshot reaches when backups run at least once per period
    /// (month = 365.25/12 days, year = 365.25 days); <paramref name="interval"/> turns <see cref="Last"/> into time.</summary>
    public TimeSpan Reach(TimeSpan? interval)
    {
        var reach = Within ?? TimeSpan.Zero;
        Max(Hourly, TimeSpan.FromHours(1));
        Max(Daily, TimeSpan.FromDays(1));
        Max(Weekly, TimeSpan.FromDays(7));
        Max(Monthly, TimeSpan.FromDays(365.25 / 12));
        Max(Yearly, TimeSpan.FromDays(365.25));
        if (interval is { } i)
        {
            Max(Last, i);
        }

        return reach;

        void Max(int? count, TimeSpan unit)
        {
            if (count is { } n && unit * n > reach)
            {
                reach = unit * n;
            }
        }
    }
}

/// <summary>The locations a policy copies each backup to, by role.</summary>
/// <param name="Primary">Where the backup is written (same region).</param>
/// <param name="Secondary">The copy in another region.</param>
/// <param name="Tertiary">The copy in object storage.</param>
public sealed record PolicyLocations(string? Primary, string? Secondary, string? Tertiary)
{
    /// <summary>The named locations in role order (primary, secondary, tertiary), with their roles.</summary>
    public IEnumerable<(string Role, string Location)> Named()
    {
        if (Primary is not null)
        {
            yield return ("primary", Primary);
        }

        if (Secondary is not null)
        {
            yield return ("secondary", Secondary);
        }

        if (Tertiary is not null)
        {
            yield return ("tertiary", Tertiary);
        }
    }
}

/// <summary>A backup policy: when, how long, where.</summary>
public sealed record BackupPolicy
{
    /// <summary>The policy's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>When backups run.</summary>
    public required BackupSchedule Schedule { get; init; }

    /// <summary>For <c>on-change</c>: how long changes are gathered before a backup starts (default 1 minute).</summary>
    public TimeSpan? Coalesce { get; init; }

    /// <summary>When a full re-read runs (cron), if the plan asks for one.</summary>
    public string? Full { get; init; }

    /// <summary>The IANA time zone the cron expressions are read in (default UTC).</summary>
    public string? TimeZone { get; init; }

    /// <summary>What is kept; null keeps every snapshot.</summary>
    public RetentionPolicy? Retention { get; init; }

    /// <summary>Where each backup goes.</summary>
    public PolicyLocations Locations { get; init; } = new(null, null, null);
}

/// <summary>What kind of store a location URL names.</summary>
public enum LocationKind
{
    /// <summary>A local directory (a path or <c>file:///</c>).</summary>
    FileSystem,

    /// <summary><c>s3://bucket/prefix</c>.</summary>
    S3,

    /// <summary><c>azure://container/prefix</c>.</summary>
    AzureBlob,
}

/// <summary>A backup location.</summary>
public sealed record PlanLocation
{
    /// <summary>The location's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>A path, <c>file:///path</c>, <c>s3://bucket/prefix</c> or <c>azure://container/prefix</c>, as the vault takes.</summary>
    public required string Url { get; init; }

    /// <summary>The region it is in.</summary>
    public string? Region { get; init; }

    /// <summary>An explicit failure-domain label; locations with the same label fail together.</summary>
    public string? FailureDomain { get; init; }

    /// <summary>The kind of store the URL names.</summary>
    public LocationKind Kind => Url.StartsWith("s3://", StringComparison.OrdinalIgnoreCase) ? LocationKind.S3
        : Url.StartsWith("azure://", StringComparison.OrdinalIgnoreCase) ? LocationKind.AzureBlob
        : LocationKind.FileSystem;
}

/// <summary>A scheduled verification check.</summary>
public sealed record VerificationCheck
{
    /// <summary>The check's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>When it runs (cron).</summary>
    public required string Schedule { get; init; }

    /// <summary>What it runs: see <see cref="VerificationPlan.KnownChecks"/>.</summary>
    public IReadOnlyList<string> Run { get; init; } = [];
}

/// <summary>How backups are verified.</summary>
public sealed record VerificationPlan
{
    /// <summary>The checks a verification can run.</summary>
    public static readonly IReadOnlyList<string> KnownChecks =
        ["backup-completed", "size-in-range", "integrity", "replication", "restore-test", "completeness", "restore-speed", "retention"];

    /// <summary>Each snapshot is verified in every location right after its copies (default true); otherwise it
    /// becomes a recovery point only at the next scheduled <c>integrity</c> check.</summary>
    public bool AfterBackup { get; init; } = true;

    /// <summary>The scheduled checks.</summary>
    public IReadOnlyList<VerificationCheck> Checks { get; init; } = [];
}

/// <summary>A recovery drill.</summary>
public sealed record DrillPlan
{
    /// <summary>The checklist items a drill can assert.</summary>
    public static readonly IReadOnlyList<string> KnownChecklist =
        ["backup-restored", "services-operational", "data-integrity", "performance", "monitoring-alerting", "documentation-updated"];

    /// <summary>The drill's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>The scenarios it plays.</summary>
    public IReadOnlyList<string> Scenarios { get; init; } = [];

    /// <summary>When it runs (cron).</summary>
    public required string Schedule { get; init; }

    /// <summary>What it asserts: see <see cref="KnownChecklist"/>.</summary>
    public IReadOnlyList<string> Checklist { get; init; } = [];
}

/// <summary>A notification channel.</summary>
public sealed record NotificationChannel
{
    /// <summary>The kinds of channel.</summary>
    public static readonly IReadOnlyList<string> KnownKinds = ["pagerduty", "slack", "email", "webhook", "manual"];

    /// <summary>What a channel is used for.</summary>
    public static readonly IReadOnlyList<string> KnownUses = ["immediate", "status", "stakeholders", "external"];

    /// <summary>The channel's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>One of <see cref="KnownKinds"/>.</summary>
    public required string Kind { get; init; }

    /// <summary>Where it goes: a Slack channel, an e-mail address, a URL without secrets, a team.</summary>
    public string? Target { get; init; }

    /// <summary>The environment variable holding the channel's secret (routing key, webhook URL); never the secret.</summary>
    public string? SecretEnv { get; init; }

    /// <summary>What it is used for: see <see cref="KnownUses"/>.</summary>
    public IReadOnlyList<string> For { get; init; } = [];

    /// <summary>The endpoint to post to instead of the service's own (a proxy, a local receiver): PagerDuty's default is
    /// <c>https://events.pagerduty.com/v2/enqueue</c>; for a webhook it is the URL when the URL is not a secret. Default none.</summary>
    public string? Url { get; init; }

    /// <summary>A file whose first line is the channel's secret, read at send time (instead of <see cref="SecretEnv"/>). Default none.</summary>
    public string? SecretFile { get; init; }

    /// <summary>For email: the SMTP server as <c>host:port</c> (port 25 when absent).</summary>
    public string? Smtp { get; init; }

    /// <summary>For email: the sender's address (default <c>lifeline@localhost</c>).</summary>
    public string? From { get; init; }

    /// <summary>For email: the recipients (default <see cref="Target"/>).</summary>
    public IReadOnlyList<string> To { get; init; } = [];

    /// <summary>For email: the environment variable holding the SMTP user name, when the server wants a login.</summary>
    public string? UsernameEnv { get; init; }

    /// <summary>For email: the environment variable holding the SMTP password.</summary>
    public string? PasswordEnv { get; init; }

    /// <summary>For email: <c>auto</c> (the default: TLS on port 465, STARTTLS when offered), <c>tls</c>, <c>starttls</c> or <c>none</c>.</summary>
    public string? Tls { get; init; }

    /// <summary>The values <see cref="Tls"/> takes.</summary>
    public static readonly IReadOnlyList<string> KnownTls = ["auto", "tls", "starttls", "none"];

    /// <summary>Value equality, lists compared by their items.</summary>
    public bool Equals(NotificationChannel? other) =>
        other is not null && Name == other.Name && Kind == other.Kind && Target == other.Target && SecretEnv == other.SecretEnv && For.SequenceEqual(other.For)
        && Url == other.Url && SecretFile == other.SecretFile && Smtp == other.Smtp && From == other.From && To.SequenceEqual(other.To)
        && UsernameEnv == other.UsernameEnv && PasswordEnv == other.PasswordEnv && Tls == other.Tls;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, Kind, Target, SecretEnv, Url, Smtp);
}

/// <summary>The dead man's switch: Lifeline's own heartbeat to a receiver outside it (docs/notifications.md).</summary>
public sealed record HeartbeatPlan
{
    /// <summary>The default interval: 1 minute.</summary>
    public static readonly TimeSpan DefaultEvery = TimeSpan.FromMinutes(1);

    /// <summary>Where each beat goes (an http or https URL, GET; a secret in it belongs in <see cref="UrlEnv"/>).</summary>
    public string? Url { get; init; }

    /// <summary>The environment variable holding the URL, when the URL holds a token. Default none.</summary>
    public string? UrlEnv { get; init; }

    /// <summary>How often it beats (default <see cref="DefaultEvery"/>).</summary>
    public TimeSpan? Every { get; init; }

    /// <summary>POST instead of GET (default false).</summary>
    public bool Post { get; init; }
}

/// <summary>Notification channels and the communication timeline.</summary>
public sealed record NotificationPlan
{
    /// <summary>The channels.</summary>
    public IReadOnlyList<NotificationChannel> Channels { get; init; } = [];

    /// <summary>Within how long of an incident the team is notified.</summary>
    public TimeSpan? FirstNotice { get; init; }

    /// <summary>Within how long stakeholders get a first status update.</summary>
    public TimeSpan? StakeholderUpdate { get; init; }

    /// <summary>How often progress updates follow.</summary>
    public TimeSpan? UpdatesEvery { get; init; }

    /// <summary>The dead man's switch, if the plan has one.</summary>
    public HeartbeatPlan? Heartbeat { get; init; }

    /// <summary>Value equality, the channels compared by their items.</summary>
    public bool Equals(NotificationPlan? other) =>
        other is not null && Channels.SequenceEqual(other.Channels) && FirstNotice == other.FirstNotice && StakeholderUpdate == other.StakeholderUpdate
        && UpdatesEvery == other.UpdatesEvery && Heartbeat == other.Heartbeat;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Channels.Count, FirstNotice, StakeholderUpdate, UpdatesEvery, Heartbeat);
}

/// <summary>An incident-response role.</summary>
public sealed record PlanRole
{
    /// <summary>The role's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>A human title.</summary>
    public string? Title { get; init; }

    /// <summary>What the role does in an incident.</summary>
    public string? Duty { get; init; }

    /// <summary>The channels that reach this role.</summary>
    public IReadOnlyList<string> Notify { get; init; } = [];
}

/// <summary>A user batch job under <c>jobs:</c>: a command (or a built-in such as <c>train</c>) the scheduler runs on a
/// cron schedule, with a timeout and retries (docs/plan.md, docs/scheduling.md).</summary>
public sealed record PlanBatchJob
{
    /// <summary>The built-in jobs: each runs <c>lifeline NAME</c> with the job's <see cref="Args"/>.</summary>
    public static readonly IReadOnlyList<string> KnownBuiltIns = ["train"];

    /// <summary>The default time a batch job may run: 1 hour.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromHours(1);

    /// <summary>The default wait before a retry: 1 minute.</summary>
    public static readonly TimeSpan DefaultRetryDelay = TimeSpan.FromMinutes(1);

    /// <summary>The job's key in the file.</summary>
    public required string Name { get; init; }

    /// <summary>The program and its arguments (no shell), when the job is a command.</summary>
    public IReadOnlyList<string> Command { get; init; } = [];

    /// <summary>A built-in job (see <see cref="KnownBuiltIns"/>), when the job is not a command.</summary>
    public string? BuiltIn { get; init; }

    /// <summary>For a built-in: its arguments.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>When it runs: a five-field cron expression or a macro.</summary>
    public required string Schedule { get; init; }

    /// <summary>The IANA time zone of <see cref="Schedule"/> (default UTC).</summary>
    public string? TimeZone { get; init; }

    /// <summary>How long one attempt may run before it is killed (default <see cref="DefaultTimeout"/>).</summary>
    public TimeSpan? Timeout { get; init; }

    /// <summary>How many times a failed attempt is retried (default 0).</summary>
    public int Retries { get; init; }

    /// <summary>The wait before each retry (default <see cref="DefaultRetryDelay"/>).</summary>
    public TimeSpan? RetryDelay { get; init; }

    /// <summary>Value equality, lists compared by their items.</summary>
    public bool Equals(PlanBatchJob? other) =>
        other is not null && Name == other.Name && Command.SequenceEqual(other.Command) && BuiltIn == other.BuiltIn && Args.SequenceEqual(other.Args)
        && Schedule == other.Schedule && TimeZone == other.TimeZone && Timeout == other.Timeout && Retries == other.Retries && RetryDelay == other.RetryDelay;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Name, BuiltIn, Schedule, TimeZone, Timeout, Retries, Command.Count);
}

/// <summary>A 1-based line and column in a plan file.</summary>
public readonly record struct SourceMark(int Line, int Column);

/// <summary>Where a plan was read from: the file and the position of each element by its dotted path
/// (<c>policies.registry.schedule</c>).</summary>
public sealed record PlanSource(string File, IReadOnlyDictionary<string, SourceMark> Marks)
{
    /// <summary>The source of a plan built in code.</summary>
    public static readonly PlanSource None = new("lifeline.yaml", new Dictionary<string, SourceMark>());

    /// <summary>The mark of <paramref name="path"/>, or of its nearest parent that has one, or line 1.</summary>
    public SourceMark Find(string path)
    {
        while (true)
        {
            if (Marks.TryGetValue(path, out var mark))
            {
                return mark;
            }

            var dot = path.LastIndexOf('.');
            if (dot < 0)
            {
                return new SourceMark(1, 1);
            }

            path = path[..dot];
        }
    }
}

/// <summary>
/// The repository upkeep the scheduler runs (<c>maintenance:</c>, docs/plan.md): applying every policy's retention
/// (<c>lifeline forget</c>) and dropping the data no snapshot uses any more (<c>vault prune</c>) in every location, so
/// that no cron job is needed beside <c>lifeline up</c>. Each is a cron expression or macro; null (<c>off</c>) = never.
/// </summary>
public sealed record MaintenancePlan
{
    /// <summary>Retention is applied every hour by default.</summary>
    public const string DefaultForget = "@hourly";

    /// <summary>The locations are pruned daily at 03:30 by default (pruning reads every index and rewrites partly used packs).</summary>
    public const string DefaultPrune = "30 3 * * *";

    /// <summary>When the retention of every policy that has one is applied; null = never.</summary>
    public string? Forget { get; init; } = DefaultForget;

    /// <summary>When every location is pruned; null = never.</summary>
    public string? Prune { get; init; } = DefaultPrune;

    /// <summary>The IANA time zone both schedules are read in; null = UTC.</summary>
    public string? TimeZone { get; init; }
}
