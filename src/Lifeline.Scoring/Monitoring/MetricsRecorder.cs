using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeline.Lake.LeadScoring;
using Lifeline.Scoring.Failover;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sinks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Monitoring;

/// <summary>
/// Records the service's own metrics into the <c>monitoring_metrics</c> table (docs/scoring.md, "Monitoring metrics"):
/// every <see cref="MonitoringOptions.Interval"/> (on the injected <see cref="TimeProvider"/>) it reads the registry that
/// <c>GET /metrics</c> exports, turns the change since the last interval into one row (requests, rate, 4xx/5xx,
/// prediction errors, latency p50/p95/p99, model name and version, rollbacks and failovers, spool backlog, dead letters)
/// and appends it to its own durable spool; a <see cref="SpoolDrainer{T}"/> moves the rows to the table with
/// effectively-once commits. A SIGKILL loses at most the interval in progress; a graceful stop records it.
/// </summary>
internal sealed class MetricsRecorder : IHostedService, IDisposable
{
    private const string Requests = "lifeline_scoring_requests_total";
    private const string Latency = "lifeline_scoring_request_duration_seconds";

    private readonly MonitoringOptions _options;
    private readonly string _modelName;
    private readonly ScoringMetrics _metrics;
    private readonly ModelManager _models;
    private readonly PredictionLog _predictions;
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;
    private readonly Spool? _spool;
    private readonly SpoolDrainer<MonitoringMetricRecord>? _drainer;
    private readonly CancellationTokenSource _stopping = new();
    private readonly SemaphoreSlim _recording = new(1, 1);
    private PrometheusSnapshot _last = PrometheusSnapshot.Empty;
    private DateTimeOffset _lastAt;
    private Task? _loop;
    private long _recorded;

    public MetricsRecorder(IMonitoringSink sink, ScoringOptions options, ScoringMetrics metrics, ModelManager models, PredictionLog predictions,
        TimeProvider timeProvider, IAlertSink alerts, ILogger<MetricsRecorder> logger)
    {
        _options = options.Monitoring;
        _modelName = options.ModelName;
        _metrics = metrics;
        _models = models;
        _predictions = predictions;
        _timeProvider = timeProvider;
        _logger = logger;
        if (sink is NullMonitoringSink)
        {
            return;
        }

        _spool = Spool.Open(new SpoolOptions
        {
            Directory = SpoolDirectory(options),
            MaxBytes = 256L << 20,
            SegmentBytes = 4L << 20,
            FsyncInterval = options.SpoolFsyncInterval,
        }, timeProvider);
        _drainer = new SpoolDrainer<MonitoringMetricRecord>("monitoring_metrics", _spool, MonitoringJsonContext.Default.MonitoringMetricRecord,
            sink.AppendAsync, sink as IPositionedSink<MonitoringMetricRecord>, _options.FlushInterval, 1000, timeProvider, metrics, alerts, logger);
    }

    /// <summary>Whether a sink is configured (else the recorder does nothing).</summary>
    public bool Enabled => _spool is not null;

    /// <summary>Rows recorded into the spool since start.</summary>
    public long Recorded => Interlocked.Read(ref _recorded);

    /// <summary>Rows appended to the table since start.</summary>
    public long Written => _drainer?.Written ?? 0;

    internal Spool? Spool => _spool;

    internal static string SpoolDirectory(ScoringOptions options) =>
        options.Monitoring.SpoolDirectory
        ?? (options.HasSpool ? options.SpoolOptions("monitoring_metrics").Directory
            : Path.Combine(Path.GetDirectoryName(Path.GetFullPath(options.CacheDirectory)) ?? ".", "monitoring-spool"));

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_drainer is null)
        {
            return;
        }

        _last = await PrometheusSnapshot.CollectAsync(_metrics.Registry, cancellationToken);
        _lastAt = _timeProvider.GetUtcNow();
        await _drainer.StartAsync(cancellationToken);
        // The timer exists once StartAsync returns: the first interval is counted from here, whatever the loop's thread does.
        _loop = RunAsync(new PeriodicTimer(_options.Interval, _timeProvider), _stopping.Token);
    }

    /// <summary>Stops the timer, records the interval in progress, then drains the spool into the table (bounded by the host's shutdown timeout).</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_drainer is null)
        {
            return;
        }

        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        await RecordAsync(final: true);
        await _drainer.StopAsync(cancellationToken);
        _spool!.Dispose();
    }

    public void Dispose()
    {
        _drainer?.Dispose();
        _spool?.Dispose();
        _stopping.Dispose();
        _recording.Dispose();
    }

    private async Task RunAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        using var owned = timer;
        await Task.Yield();
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RecordAsync(final: false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Takes one sample: the change since the last one, appended to the spool. A final sample of an empty, zero-length
    /// interval is skipped. A started sample always completes (one small spool append), so it takes no cancellation token.
    /// </summary>
    internal async Task RecordAsync(bool final)
    {
        await _recording.WaitAsync(CancellationToken.None);
        try
        {
            var now = _timeProvider.GetUtcNow();
            var snapshot = await PrometheusSnapshot.CollectAsync(_metrics.Registry, CancellationToken.None);
            var row = Sample(_last, snapshot, _lastAt, now);
            if (final && row.Requests == 0 && now <= _lastAt && row.Rollbacks == 0)
            {
                return;
            }

            var payload = JsonSerializer.SerializeToUtf8Bytes(row, MonitoringJsonContext.Default.MonitoringMetricRecord);
            Span<int> lengths = [payload.Length];
            if (_spool!.TryAppend(payload, lengths) is not { } appended)
            {
                Log.MonitoringSampleDropped(_logger, now, "the monitoring spool's disk budget is full (the table has been unreachable for long)");
            }
            else
            {
                try
                {
                    await appended;
                    Interlocked.Increment(ref _recorded);
                }
                catch (IOException ex)
                {
                    Log.MonitoringSampleDropped(_logger, now, ex.Message);
                }
            }

            // The next interval starts here whether or not this one was kept: its counts are never added to the next.
            _last = snapshot;
            _lastAt = now;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // a sample that cannot be taken is logged, never the end of the timer loop or a failed stop
            Log.MonitoringSampleDropped(_logger, _timeProvider.GetUtcNow(), ex.Message);
        }
        finally
        {
            _recording.Release();
        }
    }

    private MonitoringMetricRecord Sample(PrometheusSnapshot before, PrometheusSnapshot after, DateTimeOffset from, DateTimeOffset to)
    {
        long Delta(string name, Func<IReadOnlyDictionary<string, string>, bool>? where = null) =>
            (long)Math.Round(after.Sum(name, where) - before.Sum(name, where));

        var seconds = Math.Max(0, (to - from).TotalSeconds);
        var requests = Delta(Requests);
        var errors5xx = Delta(Requests, l => l.TryGetValue("status", out var s) && s.StartsWith('5'));
        var bucketsBefore = before.Buckets(Latency);
        var bucketsAfter = after.Buckets(Latency);
        double? Ms(double q) => PrometheusSnapshot.Quantile(q, bucketsBefore, bucketsAfter) is { } s ? Math.Round(s * 1000, 4) : null;
        var current = _models.Current;
        return new MonitoringMetricRecord(to, Ms(0.5), Ms(0.95), Ms(0.99), seconds > 0 ? requests / seconds : 0,
            requests > 0 ? (double)errors5xx / requests : null, null, null, null, null)
        {
            Service = _options.Service,
            Region = _options.Region,
            Instance = _options.Instance ?? Environment.MachineName,
            IntervalSeconds = seconds,
            Requests = requests,
            Errors4xx = Delta(Requests, l => l.TryGetValue("status", out var s) && s.StartsWith('4')),
            Errors5xx = errors5xx,
            PredictionErrors = Delta("lifeline_scoring_prediction_errors_total"),
            Predictions = Delta("lifeline_scoring_predictions_total"),
            ModelName = current?.Info.Name ?? _modelName,
            ModelVersion = current?.Version,
            Rollbacks = Delta("lifeline_scoring_rollbacks_total"),
            Failovers = Delta("lifeline_scoring_failovers_total"),
            SpoolBacklogBytes = (_predictions.Spool?.Backlog ?? 0) + (_spool?.Backlog ?? 0),
            SpoolRejected = Delta("lifeline_scoring_spool_rejected_total"),
            DeadLetters = Delta("lifeline_scoring_sink_dead_letters_total"),
        };
    }
}

/// <summary>The spool's record format of a monitoring sample (snake_case JSON).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals)]
[JsonSerializable(typeof(MonitoringMetricRecord))]
internal sealed partial class MonitoringJsonContext : JsonSerializerContext;
