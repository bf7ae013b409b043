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
        SinkDropped = factory.CreateCounter("lifeline_scoring_sink_dropped_total", "Records dropped because a sink queue was full",
            new CounterConfiguration { LabelNames = ["sink"] });
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

    public Counter SinkDropped { get; }

    public void SetModelVersion(string version) =>
        ModelVersion.Set(double.TryParse(version, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : 0);

    public void Request(string endpoint, int status) =>
        Requests.WithLabels(endpoint, status.ToString(CultureInfo.InvariantCulture)).Inc();
}
