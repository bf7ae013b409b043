using System.Globalization;
using Prometheus;

namespace Lifeline.Scoring;

/// <summary>The service's Prometheus metrics, in a registry of its own (so several services in one process do not mix).</summary>
internal sealed class ScoringMetrics
{
    public ScoringMetrics()
    {
        var factory = Metrics.WithCustomRegistry(Registry);
        Requests = factory.CreateCounter("lifeline_scoring_requests_total", "Scoring API requests by endpoint and status code",
            new CounterConfiguration { LabelNames = ["endpoint", "status"] });
        Latency = factory.CreateHistogram("lifeline_scoring_request_duration_seconds", "Time to answer a scoring request",
            new HistogramConfiguration
            {
                LabelNames = ["endpoint"],
                Buckets = Histogram.ExponentialBuckets(0.00005, 2, 16),
            });
        PredictionErrors = factory.CreateCounter("lifeline_scoring_prediction_errors_total", "Failed predictions by kind (exception, invalid_score, timeout)",
            new CounterConfiguration { LabelNames = ["kind"] });
        Predictions = factory.CreateCounter("lifeline_scoring_predictions_total", "Leads scored");
        ModelVersion = factory.CreateGauge("lifeline_scoring_model_version", "Numeric model version in use (0 when none or not numeric)");
        Rollbacks = factory.CreateCounter("lifeline_scoring_rollbacks_total", "Model rollbacks (automatic and manual)");
        Failovers = factory.CreateCounter("lifeline_scoring_failovers_total", "Automatic model rollbacks (failover), also counted in lifeline_scoring_rollbacks_total");
        SpoolRejected = factory.CreateCounter("lifeline_scoring_spool_rejected_total",
            "Requests answered 503 because the spool's disk budget was full (back-pressure; nothing answered is dropped)",
            new CounterConfiguration { LabelNames = ["sink"] });
        SinkWritten = factory.CreateCounter("lifeline_scoring_sink_written_total", "Records appended to a sink from its spool",
            new CounterConfiguration { LabelNames = ["sink"] });
        SinkErrors = factory.CreateCounter("lifeline_scoring_sink_errors_total", "Failed sink appends (retried)",
            new CounterConfiguration { LabelNames = ["sink"] });
        SinkDeadLetters = factory.CreateCounter("lifeline_scoring_sink_dead_letters_total", "Records the sink refused, moved to the dead-letter file",
            new CounterConfiguration { LabelNames = ["sink"] });
        SpoolBacklog = factory.CreateGauge("lifeline_scoring_spool_backlog_bytes", "Bytes in the spool not yet drained to the sink",
            new GaugeConfiguration { LabelNames = ["sink"] });
        RecordFailures = factory.CreateCounter("lifeline_scoring_record_failures_total",
            "Predictions answered 503 because they could not be serialised or written to the spool");
        // GC pauses of the process (read at scrape time): what the tail latency of a 2-core box is made of, partly
        GcPauseSeconds = factory.CreateGauge("lifeline_scoring_gc_pause_seconds_total", "Time the process was paused by the GC since start");
        GcCollections = factory.CreateGauge("lifeline_scoring_gc_collections_total", "Garbage collections since start by generation",
            new GaugeConfiguration { LabelNames = ["generation"] });
        GcLastPauseSeconds = factory.CreateGauge("lifeline_scoring_gc_last_pause_seconds", "The pause of the last collection of each kind",
            new GaugeConfiguration { LabelNames = ["kind"] });
        GcAllocatedBytes = factory.CreateGauge("lifeline_scoring_gc_allocated_bytes_total", "Bytes allocated on the managed heap since start (all threads)");
        Registry.AddBeforeCollectCallback(CollectGc);
        ScoreLeadOk = Requests.WithLabels("score-lead", "200");
        ScoreLeadLatency = Latency.WithLabels("score-lead");
    }

    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    public Counter Requests { get; }

    public Counter.Child ScoreLeadOk { get; }

    public Histogram Latency { get; }

    public Histogram.Child ScoreLeadLatency { get; }

    public Counter PredictionErrors { get; }

    public Counter Predictions { get; }

    public Gauge ModelVersion { get; }

    public Counter Rollbacks { get; }

    public Counter Failovers { get; }

    public Counter SpoolRejected { get; }

    public Counter SinkWritten { get; }

    public Counter SinkErrors { get; }

    public Counter SinkDeadLetters { get; }

    public Gauge SpoolBacklog { get; }

    public Counter RecordFailures { get; }

    public Gauge GcPauseSeconds { get; }

    public Gauge GcCollections { get; }

    public Gauge GcLastPauseSeconds { get; }

    public Gauge GcAllocatedBytes { get; }

    private void CollectGc()
    {
        GcPauseSeconds.Set(GC.GetTotalPauseDuration().TotalSeconds);
        GcAllocatedBytes.Set(GC.GetTotalAllocatedBytes(precise: false));
        for (var generation = 0; generation <= GC.MaxGeneration; generation++)
        {
            GcCollections.WithLabels(generation.ToString(CultureInfo.InvariantCulture)).Set(GC.CollectionCount(generation));
        }

        foreach (var (kind, label) in new[] { (GCKind.Ephemeral, "ephemeral"), (GCKind.FullBlocking, "full_blocking"), (GCKind.Background, "background") })
        {
            var info = GC.GetGCMemoryInfo(kind);
            var pause = TimeSpan.Zero;
            foreach (var part in info.PauseDurations)
            {
                pause += part;
            }

            GcLastPauseSeconds.WithLabels(label).Set(pause.TotalSeconds);
        }
    }

    public void SetModelVersion(string version) =>
        ModelVersion.Set(double.TryParse(version, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0);

    public void Request(string endpoint, int status) =>
        Requests.WithLabels(endpoint, status.ToString(CultureInfo.InvariantCulture)).Inc();
}
