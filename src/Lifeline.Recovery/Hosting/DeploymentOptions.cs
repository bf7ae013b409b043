using Lifeline.Recovery.Plan;
using Lifeline.Registry;

namespace Lifeline.Recovery.Hosting;

/// <summary>How <c>lifeline up</c> runs the deployment; every property has the documented default.</summary>
public sealed record DeploymentOptions
{
    /// <summary>The data directory (<see cref="DeploymentLayout"/>). Default <c>lifeline-data</c> beside the plan file.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The loopback address every service listens on. Default <c>127.0.0.1</c>.</summary>
    public string ListenAddress { get; init; } = "127.0.0.1";

    /// <summary>Port of the registry's MLflow REST API; 0 picks a free one. Default 5100 (as <c>registry serve</c>).</summary>
    public int RegistryPort { get; init; } = 5100;

    /// <summary>Port of the scoring service; 0 picks a free one. Default 5200 (as <c>scoring serve</c>).</summary>
    public int ScoringPort { get; init; } = 5200;

    /// <summary>Port of the up process's own status endpoint (<c>GET /status</c>, <c>GET /metrics</c>); 0 picks a free one. Default 5300.</summary>
    public int StatusPort { get; init; } = 5300;

    /// <summary>The registered model the scoring service serves. Default <c>lead-scoring</c>.</summary>
    public string ModelName { get; init; } = "lead-scoring";

    /// <summary>
    /// When the registry has no Production version of <see cref="ModelName"/> at start: train one (on the lake's leads
    /// when it holds at least 500 labelled ones, else on generated leads), register and promote it, as <c>lifeline
    /// demo</c> does. When false the scoring service starts without a model (readiness false) and polls. Default true.
    /// </summary>
    public bool TrainWhenNoModel { get; init; } = true;

    /// <summary>Tokens the registry accepts besides the up process's own (from <c>LIFELINE_REGISTRY_*_TOKEN</c>). Default none.</summary>
    public IReadOnlyList<RegistryToken> RegistryTokens { get; init; } = [];

    /// <summary>Bearer token of the scoring service's admin endpoints; null = they answer 403. Never logged. Default null.</summary>
    public string? ScoringAdminToken { get; init; }

    /// <summary>How long each service may take to stop gracefully. Default 30 s.</summary>
    public TimeSpan StopTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the scoring service asks the registry for a new Production version. Default 30 s.</summary>
    public TimeSpan ModelPollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The plan's locations and recovery service, for the scheduler's backups and the protection on change; called
    /// once, when the first of them starts (it may ask for the vault password). Null: those two run degraded and say
    /// why (no plan file, or no password given).
    /// </summary>
    public Func<CancellationToken, Task<RecoveryRuntime>>? Recovery { get; init; }

    /// <summary>
    /// The locations and recovery service over a plan reloaded from the plan file (<see cref="PlanReloadService"/>),
    /// for the scheduler's backups and the protection after a reload; called with the reloaded plan. Null: a reload
    /// changes the schedules, and the protection and the backups keep the runtime of <see cref="Recovery"/>.
    /// </summary>
    public Func<Plan.LifelinePlan, CancellationToken, Task<RecoveryRuntime>>? RecoveryFor { get; init; }

    /// <summary>How often <c>up</c> looks at its plan file for a change (besides a file-system watcher and SIGHUP).
    /// Default 1 s.</summary>
    public TimeSpan PlanPollInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How often the incidents service reads the status, the audit, the scheduler's jobs and the scoring
    /// service's counters and sends the timeline's due notices (docs/incidents.md). Default 30 s.</summary>
    public TimeSpan IncidentPollInterval { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often, at most, a round of the incidents service also reads the status and the audit records (a
    /// read of every location: the RPO maximum is hours, a location down shows within this). Default 2 min.</summary>
    public TimeSpan IncidentStatusInterval { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>Where the incidents' notices go: the durable outbox that delivers them to the plan's channels. Null:
    /// a started deployment service that is an <see cref="Notifications.INoticeSink"/>, else they are only logged. Default null.</summary>
    public Notifications.INoticeSink? Notices { get; init; }

    /// <summary>Compaction of the lake's tables (Delta OPTIMIZE, then a checkpoint): every interval (10 min), each
    /// table with at least the threshold of small files (50 under 32 MiB) is compacted towards 128 MiB files (the
    /// predictions get a file per second otherwise; docs/lake.md, "OPTIMIZE"). Null: off. Default: on.</summary>
    public Lifeline.Lake.TableCompactionOptions? LakeCompaction { get; init; } = new();

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        foreach (var (name, port) in new[] { ("registry", RegistryPort), ("scoring", ScoringPort), ("status", StatusPort) })
        {
            if (port is < 0 or > 65535)
            {
                throw new ArgumentException($"the {name} port {port} is out of range: give 0 (any free port) to 65535");
            }
        }

        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("the data directory is empty: give a directory");
        }

        if (IncidentPollInterval < TimeSpan.FromMilliseconds(10))
        {
            throw new ArgumentException($"the incident poll interval {IncidentPollInterval} is too short: give at least 10 ms (default 30 s)");
        }
    }
}

/// <summary>
/// Where <c>lifeline up</c> keeps everything in its data directory: the same names the plan's default sources use
/// (<c>&lt;data&gt;/registry</c>, <c>&lt;data&gt;/lake</c>), the scoring service's cache and spool, and the up
/// process's own lock and state files.
/// </summary>
/// <param name="Root">The data directory (absolute).</param>
public sealed record DeploymentLayout(string Root)
{
    /// <summary>The registry's data directory (<c>registry.db</c> and <c>artifacts/</c>).</summary>
    public string Registry => Path.Combine(Root, "registry");

    /// <summary>The lake root: one Delta table per sub-directory (leads, predictions, ...).</summary>
    public string Lake => Path.Combine(Root, "lake");

    /// <summary>The scoring service's directory: <c>cache/</c> (model artifacts), <c>sinks/spool/</c> (durable spool), <c>train/</c>.</summary>
    public string Scoring => Path.Combine(Root, "scoring");

    /// <summary>The exclusive lock held for the life of the up process: one <c>up</c> per data directory.</summary>
    public string LockFile => Path.Combine(Root, "lifeline.lock");

    /// <summary>The up process's pid, ports and status URL, for <c>lifeline status</c>.</summary>
    public string StateFile => Path.Combine(Root, "lifeline.state.json");

    /// <summary>The recovery service's staging for captures and restores (<c>work/recovery</c>): under the data
    /// directory, since the captures keep a mirror of hard links to the live files (the same file system).</summary>
    public string RecoveryWork => Path.Combine(Root, "work", "recovery");

    /// <summary>The layout of <paramref name="dataDirectory"/> (made absolute).</summary>
    public static DeploymentLayout For(string dataDirectory) => new(Path.GetFullPath(dataDirectory));

    /// <summary>
    /// The data directory used when none is given: <c>lifeline-data</c> beside the plan file (the directory the plan's
    /// default sources <c>./lifeline-data/registry</c> and <c>./lifeline-data/lake</c> point into).
    /// </summary>
    public static string DefaultDataDirectory(string planPath)
    {
        var path = Path.GetFullPath(planPath);
        try
        {
            // the plan's own sources.data when the plan reads (the directory its adapters back up), else lifeline-data beside it
            if (File.Exists(path) && PlanFile.Parse(File.ReadAllText(path), path) is { Succeeded: true, Plan: { } plan })
            {
                return new ComponentSources(plan, Path.GetDirectoryName(path)).DataDirectory;
            }
        }
        catch (RecoveryException)
        {
            // an unset ${VAR} in sources.data: the default, and the plan's own error is reported where it is used
        }

        return Path.Combine(Path.GetDirectoryName(path) ?? ".", PlanSources.DefaultData);
    }

    /// <summary>Creates the directories (idempotent).</summary>
    public void Create()
    {
        foreach (var directory in new[] { Root, Registry, Lake, Scoring })
        {
            Directory.CreateDirectory(directory);
        }
    }
}
