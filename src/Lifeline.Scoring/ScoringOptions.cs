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

    /// <summary>Interval between sink flushes: the most a crash can lose. Default 1 s.</summary>
    public TimeSpan SinkFlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Capacity of the prediction queue; when full, predictions are dropped and counted. Default 200 000.</summary>
    public int SinkCapacity { get; set; } = 200_000;

    /// <summary>Most records in one sink append. Default 10 000.</summary>
    public int SinkMaxBatch { get; set; } = 10_000;

    /// <summary>Model failover settings.</summary>
    public FailoverOptions Failover { get; set; } = new();

    /// <summary>Throws when an option is out of range (called at start-up).</summary>
    public void Validate()
    {
        if (PollInterval <= TimeSpan.Zero || SinkFlushInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("poll and flush intervals must be positive");
        }

        if (MaxBatchSize < 1 || MaxLeadBodyBytes < 256 || MaxBatchBodyBytes < MaxLeadBodyBytes || SinkCapacity < 1 || SinkMaxBatch < 1)
        {
            throw new ArgumentException("batch size, body limits and sink sizes must be positive (body limits at least 256 bytes)");
        }

        Failover.Validate();
    }
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
