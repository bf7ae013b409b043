using System.Buffers;
using System.Text.Json;
using Lifeline.Scoring.Failover;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Sinks;

/// <summary>
/// The prediction log: every answered prediction is serialised on the request path and appended to the durable
/// spool before the answer goes out (<see cref="TryRecord(PredictionRecord)"/>); <see cref="SpoolDrainer{T}"/> moves
/// it to the sink in the background. Nothing is dropped: when the spool's disk budget is full the request is answered
/// 503 with Retry-After instead.
/// </summary>
internal sealed class PredictionLog : IHostedService, IDisposable
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private readonly Spool? _spool;
    private readonly SpoolDrainer<PredictionRecord>? _drainer;

    public PredictionLog(IPredictionSink sink, ScoringOptions options, TimeProvider timeProvider, ScoringMetrics metrics, IAlertSink alerts,
        ILogger<PredictionLog> logger)
    {
        if (sink is NullPredictionSink)
        {
            return;
        }

        _spool = Spool.Open(options.SpoolOptions("predictions"), timeProvider);
        _drainer = new SpoolDrainer<PredictionRecord>("predictions", _spool, ScoringJsonContext.Default.PredictionRecord, sink.AppendAsync,
            sink as IPositionedSink<PredictionRecord>, options.SinkFlushInterval, options.SinkMaxBatch, timeProvider, metrics, alerts, logger);
    }

    public bool Enabled => _spool is not null;

    public Spool? Spool => _spool;

    public SpoolDrainer<PredictionRecord>? Drainer => _drainer;

    /// <summary>Records appended to the sink since start.</summary>
    public long Written => _drainer?.Written ?? 0;

    /// <summary>
    /// Serialises the record and appends it to the spool. Null when the spool is full (answer 503, nothing recorded);
    /// else a task that completes when the record is in the spool file (answer only then) or faults (answer 503).
    /// </summary>
    public Task? TryRecord(PredictionRecord record)
    {
        var (buffer, writer) = Writer();
        JsonSerializer.Serialize(writer, record, ScoringJsonContext.Default.PredictionRecord);
        writer.Flush();
        Span<int> lengths = [buffer.WrittenCount];
        var appended = _spool!.TryAppend(buffer.WrittenSpan, lengths);
        ReleaseIfBig(buffer);
        return appended;
    }

    /// <summary>
    /// The same for one answered lead, written straight from the response and the lead into the per-thread buffer
    /// (<see cref="PredictionRecordJson"/>: the bytes of the serialised <see cref="PredictionRecord"/>, no record object made).
    /// </summary>
    public Task? TryRecord(Apis.ScoreLeadResponse response, Apis.ScoreLeadRequest lead)
    {
        var (buffer, writer) = Writer();
        PredictionRecordJson.Write(writer, response, lead);
        writer.Flush();
        Span<int> lengths = [buffer.WrittenCount];
        var appended = _spool!.TryAppend(buffer.WrittenSpan, lengths);
        ReleaseIfBig(buffer);
        return appended;
    }

    /// <summary>The same for a batch, all or none.</summary>
    public Task? TryRecord(IReadOnlyList<PredictionRecord> records)
    {
        // Each record through the small per-thread buffer, gathered in a pooled array returned before this returns
        // (the spool copies the frames synchronously): no per-thread buffer grows to the size of a batch.
        var (buffer, writer) = Writer();
        var lengths = ArrayPool<int>.Shared.Rent(records.Count);
        var all = ArrayPool<byte>.Shared.Rent(Math.Max(4096, records.Count * 512));
        var used = 0;
        try
        {
            for (var i = 0; i < records.Count; i++)
            {
                buffer.ResetWrittenCount();
                writer.Reset(buffer);
                JsonSerializer.Serialize(writer, records[i], ScoringJsonContext.Default.PredictionRecord);
                writer.Flush();
                var record = buffer.WrittenSpan;
                if (used + record.Length > all.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(all.Length * 2, used + record.Length));
                    all.AsSpan(0, used).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(all);
                    all = bigger;
                }

                record.CopyTo(all.AsSpan(used));
                used += record.Length;
                lengths[i] = record.Length;
            }

            return _spool!.TryAppend(all.AsSpan(0, used), lengths.AsSpan(0, records.Count));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(all);
            ArrayPool<int>.Shared.Return(lengths);
            ReleaseIfBig(buffer);
        }
    }

    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer) Writer()
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        return (buffer, writer);
    }

    // Per-thread buffers stay small: the thread pool can grow to many threads, and each keeps its own.
    private static void ReleaseIfBig(ArrayBufferWriter<byte> buffer)
    {
        if (buffer.Capacity > 16 * 1024)
        {
            t_buffer = null;
            t_writer = null;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => _drainer?.StartAsync(cancellationToken) ?? Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_drainer is not null)
        {
            await _drainer.StopAsync(cancellationToken);
        }

        _spool?.Dispose();
    }

    public void Dispose()
    {
        _drainer?.Dispose();
        _spool?.Dispose();
    }
}

/// <summary>
/// The audit log: every admin or automatic action. With a sink directory, through its own durable spool like the
/// predictions (appended before the action's caller goes on; never refused for the disk budget: audit records are
/// rare); without, to memory through <see cref="BackgroundBatcher{T}"/> with back-pressure.
/// </summary>
internal sealed class AuditLog : IHostedService, IDisposable
{
    private readonly BackgroundBatcher<AuditRecord>? _batcher;
    private readonly Spool? _spool;
    private readonly SpoolDrainer<AuditRecord>? _drainer;

    public AuditLog(IAuditSink sink, ScoringOptions options, TimeProvider timeProvider, ScoringMetrics metrics, IAlertSink alerts, ILogger<AuditLog> logger)
    {
        if (sink is MemoryAuditSink || !options.HasSpool)
        {
            _batcher = new BackgroundBatcher<AuditRecord>("audit_logs", sink.AppendAsync, 10_000, options.SinkFlushInterval, 1000, timeProvider, logger);
            return;
        }

        _spool = Spool.Open(options.SpoolOptions("audit_logs"), timeProvider);
        _drainer = new SpoolDrainer<AuditRecord>("audit_logs", _spool, ScoringJsonContext.Default.AuditRecord, sink.AppendAsync,
            sink as IPositionedSink<AuditRecord>, options.SinkFlushInterval, 1000, timeProvider, metrics, alerts, logger);
    }

    public long Written => _batcher?.Written ?? _drainer!.Written;

    public ValueTask WriteAsync(AuditRecord record, CancellationToken cancellationToken)
    {
        if (_batcher is not null)
        {
            return _batcher.EnqueueAsync(record, cancellationToken);
        }

        var payload = JsonSerializer.SerializeToUtf8Bytes(record, ScoringJsonContext.Default.AuditRecord);
        Span<int> lengths = [payload.Length];
        return new ValueTask(_spool!.TryAppend(payload, lengths, ignoreBudget: true)!);
    }

    public Task StartAsync(CancellationToken cancellationToken) => _batcher?.StartAsync(cancellationToken) ?? _drainer!.StartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_batcher is not null)
        {
            await _batcher.StopAsync(cancellationToken);
            return;
        }

        await _drainer!.StopAsync(cancellationToken);
        _spool!.Dispose();
    }

    public void Dispose()
    {
        _batcher?.Dispose();
        _drainer?.Dispose();
        _spool?.Dispose();
    }
}

/// <summary>Audit records when no sink directory is configured: kept in memory (the last 1000) and visible in logs.</summary>
internal sealed class MemoryAuditSink : IAuditSink
{
    private readonly Lock _gate = new();
    private readonly Queue<AuditRecord> _records = new();

    public IReadOnlyList<AuditRecord> Records
    {
        get
        {
            lock (_gate)
            {
                return [.. _records];
            }
        }
    }

    public Task AppendAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            foreach (var record in batch)
            {
                _records.Enqueue(record);
                if (_records.Count > 1000)
                {
                    _records.Dequeue();
                }
            }
        }

        return Task.CompletedTask;
    }
}

/// <summary>
/// Writes a prediction record's JSON from the response and the lead it answered, byte for byte what
/// <c>JsonSerializer.Serialize(record, ScoringJsonContext.Default.PredictionRecord)</c> writes for the record
/// <see cref="Apis.LeadScorer.ToRecord"/> makes (the same property order, names and writer calls; a test holds them equal),
/// without allocating the record.
/// </summary>
internal static class PredictionRecordJson
{
    private static readonly JsonEncodedText LeadId = JsonEncodedText.Encode("lead_id");
    private static readonly JsonEncodedText LeadScore = JsonEncodedText.Encode("lead_score");
    private static readonly JsonEncodedText ScoreCategory = JsonEncodedText.Encode("score_category");
    private static readonly JsonEncodedText ModelVersion = JsonEncodedText.Encode("model_version");
    private static readonly JsonEncodedText PredictionTimestamp = JsonEncodedText.Encode("prediction_timestamp");
    private static readonly JsonEncodedText LatencyMs = JsonEncodedText.Encode("latency_ms");
    private static readonly JsonEncodedText CompanySize = JsonEncodedText.Encode("company_size");
    private static readonly JsonEncodedText Industry = JsonEncodedText.Encode("industry");
    private static readonly JsonEncodedText PageViews = JsonEncodedText.Encode("page_views");
    private static readonly JsonEncodedText TimeOnSite = JsonEncodedText.Encode("time_on_site");
    private static readonly JsonEncodedText FormCompletionTime = JsonEncodedText.Encode("form_completion_time");
    private static readonly JsonEncodedText ReferralSource = JsonEncodedText.Encode("referral_source");
    private static readonly JsonEncodedText CreatedAt = JsonEncodedText.Encode("created_at");

    public static void Write(Utf8JsonWriter writer, Apis.ScoreLeadResponse response, Apis.ScoreLeadRequest lead)
    {
        writer.WriteStartObject();
        writer.WriteString(LeadId, response.LeadId);
        writer.WriteNumber(LeadScore, response.LeadScore);
        writer.WriteString(ScoreCategory, response.ScoreCategory);
        writer.WriteString(ModelVersion, response.ModelVersion);
        writer.WriteString(PredictionTimestamp, response.PredictionTimestamp);
        writer.WriteNumber(LatencyMs, response.LatencyMs);
        WriteStringOrNull(writer, CompanySize, lead.CompanySize);
        WriteStringOrNull(writer, Industry, lead.Industry);
        if (lead.PageViews is { } views)
        {
            writer.WriteNumber(PageViews, views);
        }
        else
        {
            writer.WriteNull(PageViews);
        }

        WriteNumberOrNull(writer, TimeOnSite, lead.TimeOnSite);
        WriteNumberOrNull(writer, FormCompletionTime, lead.FormCompletionTime);
        WriteStringOrNull(writer, ReferralSource, lead.ReferralSource);
        WriteStringOrNull(writer, CreatedAt, lead.CreatedAt);
        writer.WriteEndObject();
    }

    private static void WriteStringOrNull(Utf8JsonWriter writer, JsonEncodedText name, string? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteString(name, value);
        }
    }

    private static void WriteNumberOrNull(Utf8JsonWriter writer, JsonEncodedText name, double? value)
    {
        if (value is { } v)
        {
            writer.WriteNumber(name, v);
        }
        else
        {
            writer.WriteNull(name);
        }
    }
}
