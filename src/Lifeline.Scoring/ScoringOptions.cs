namespace Lifeline.Scoring;

/// <summary>Options of the scoring service; every property has the documented default.</summary>
public sealed class ScoringOptions
{
    /// <summary>The registered model to serve. Default <c>lead-scoring</c>.</summary>
    public string ModelName { get; set; } = "lead-scoring";

    /// <summary>Directory of the local artifact cache. Default <c>./scoring-cache</c>.</summary>
    public string CacheDirectory { get; set; } = "scoring-cache";

    /// <summary>How often the source is asked for a new Production version. Default 30 s.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Largest accepted body of <c>POST /score-lead</c>, in bytes. Default 16 KiB.</summary>
    public int MaxLeadBodyBytes { get; set; } = 16 * 1024;

    /// <summary>Largest accepted body of <c>POST /score-leads</c>, in bytes. Default 4 MiB.</summary>
    public int MaxBatchBodyBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Most leads in one <c>POST /score-leads</c>. Default 1000.</summary>
    public int MaxBatchSize { get; set; } = 1000;

    /// <summary>Bearer token of the admin endpoints; when unset they answer 403. Never logged.</summary>
    public string? AdminToken { get; set; }

    /// <summary>Directory of the JSON-lines sinks (predictions.jsonl, audit_logs.jsonl); <c>null</c> = predictions are not recorded. Default null.</summary>
    public string? SinkDirectory { get; set; }

    /// <summary>
    /// How long the spool's drainer lets records gather before one sink append. Default 200 ms; use 1 s or more for the
    /// Delta sinks, where each append is one commit. Not a loss window: records are durable in the spool before the answer.
    /// </summary>
    public TimeSpan SinkFlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>Directory of the durable spools (<c>predictions/</c>, <c>audit_logs/</c>); null = <c>spool</c> in <see cref="SinkDirectory"/>. Default null.</summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>Disk budget of the prediction spool (bytes written and not yet drained); when full, scoring answers 503 with Retry-After. Default 1 GiB.</summary>
    public long SpoolMaxBytes { get; set; } = 1L << 30;

    /// <summary>Size at which a spool segment is closed and a new one started. Default 64 MiB.</summary>
    public long SpoolSegmentBytes { get; set; } = 64L << 20;

    /// <summary>How often the spool is fsynced: the most a power loss can lose (a crash of the process loses nothing). Default 100 ms.</summary>
    public TimeSpan SpoolFsyncInterval { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Most records in one sink append. Default 10 000.</summary>
    public int SinkMaxBatch { get; set; } = 10_000;

    /// <summary>
    /// Let Kestrel run request handlers inline on its socket threads (no hop to the thread pool). Safe because no
    /// handler blocks; turn off when plugging in a model or sink that does blocking work on the request path. Default true.
    /// </summary>
    public bool InlineScheduling { get; set; } = true;

    /// <summary>Model failover settings.</summary>
    public FailoverOptions Failover { get; set; } = new();

    /// <summary>Recording the service's metrics into a <c>monitoring_metrics</c> table (off unless a table is set).</summary>
    public Monitoring.MonitoringOptions Monitoring { get; set; } = new();

    /// <summary>Throws when an option is out of range (called at start-up).</summary>
    public void Validate()
    {
        if (PollInterval <= TimeSpan.Zero || SinkFlushInterval <= TimeSpan.Zero || SpoolFsyncInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("poll and flush intervals must be positive");
        }

        if (MaxBatchSize < 1 || MaxLeadBodyBytes < 256 || MaxBatchBodyBytes < MaxLeadBodyBytes || SinkMaxBatch < 1
            || SpoolMaxBytes < 1 << 20 || SpoolSegmentBytes < 1 << 16)
        {
            throw new ArgumentException("batch size, body limits and sink sizes must be positive (body limits at least 256 bytes, spool budget at least 1 MiB, segments at least 64 KiB)");
        }

        Failover.Validate();
        Monitoring.Validate();
    }

    /// <summary>Whether a spool directory is known (set, or derived from the sink directory).</summary>
    internal bool HasSpool => (SpoolDirectory ?? SinkDirectory) is not null;

    internal Sinks.SpoolOptions SpoolOptions(string name) => new()
    {
        Directory = Path.Combine(SpoolDirectory ?? (SinkDirectory is { } sinks ? Path.Combine(sinks, "spool")
            : throw new ArgumentException("a prediction sink is configured but no spool directory: set SpoolDirectory or SinkDirectory")), name),
        MaxBytes = SpoolMaxBytes,
        SegmentBytes = SpoolSegmentBytes,
        FsyncInterval = SpoolFsyncInterval,
    };
}

/// <summary>When the service gives up on the current model version and goes back to the previous one.</summary>
public sealed class FailoverOptions
{
    /// <summary>Automatic failover on or off. Default on.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Length of the rolling window of outcomes. Default 60 s.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Share of failed predictions in the window that triggers a rollback (the plan's 5%). Default 0.05.</summary>
    public double FailureShare { get; set; } = 0.05;

    /// <summary>Fewest predictions in the window before the share is judged. Default 100.</summary>
    public int MinRequests { get; set; } = 100;

    /// <summary>A prediction slower than this counts as a failure (timeout). Default 250 ms.</summary>
    public TimeSpan PredictionTimeout { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>p99 latency budget of a request; sustained excess is the second trigger. Default 50 ms.</summary>
    public TimeSpan LatencyBudget { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>How long p99 must stay over budget before rolling back. Default 30 s.</summary>
    public TimeSpan LatencySustain { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the latency trigger is evaluated. Default 1 s.</summary>
    public TimeSpan CheckInterval { get; set; } = TimeSpan.FromSeconds(1);

    public void Validate()
    {
        if (FailureShare is <= 0 or > 1 || MinRequests < 1 || Window <= TimeSpan.Zero || CheckInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("failover: share must be in (0,1], MinRequests ≥ 1, window and check interval positive");
        }
    }
}
