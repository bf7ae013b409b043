namespace Lifeline.Scoring.Monitoring;

/// <summary>
/// Where and how often the service records its own metrics into a <c>monitoring_metrics</c> Delta table
/// (docs/scoring.md, "Monitoring metrics"). Off unless <see cref="Table"/> is set or an <see cref="IMonitoringSink"/> is registered.
/// </summary>
public sealed class MonitoringOptions
{
    /// <summary>
    /// The <c>monitoring_metrics</c> table: any object-store location (a directory, <c>s3://bucket/prefix</c>,
    /// <c>azure://container/prefix</c>), created when missing. Default null (no recording unless a sink is registered).
    /// </summary>
    public string? Table { get; set; }

    /// <summary>Length of one sample's interval; the row's timestamp is the interval's end. Default 10 s.</summary>
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The <c>service</c> column. Default <c>lifeline-scoring</c>.</summary>
    public string Service { get; set; } = "lifeline-scoring";

    /// <summary>The <c>region</c> column (e.g. the plan's primary or secondary region). Default null.</summary>
    public string? Region { get; set; }

    /// <summary>The <c>instance</c> column. Default null = the host name.</summary>
    public string? Instance { get; set; }

    /// <summary>
    /// The durable spool the samples go through before the table. Default null = <c>monitoring_metrics</c> in the
    /// service's spool directory, or <c>monitoring-spool</c> beside the model cache when no spool is configured.
    /// </summary>
    public string? SpoolDirectory { get; set; }

    /// <summary>How long spooled samples gather before one table commit. Default 1 s (a commit per interval in practice).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Throws when an option is out of range (called at start-up).</summary>
    public void Validate()
    {
        if (Interval < TimeSpan.FromMilliseconds(100) || FlushInterval <= TimeSpan.Zero)
        {
            throw new ArgumentException("monitoring: the interval must be at least 100 ms and the flush interval positive");
        }

        if (string.IsNullOrWhiteSpace(Service))
        {
            throw new ArgumentException("monitoring: the service name must not be empty");
        }

        if (Table is { } table && string.IsNullOrWhiteSpace(table))
        {
            throw new ArgumentException("monitoring: the metrics table location is empty: give a directory, s3://bucket/prefix or azure://container/prefix");
        }
    }
}
