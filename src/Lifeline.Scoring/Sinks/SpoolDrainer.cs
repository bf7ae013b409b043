using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Lifeline.Scoring.Failover;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Sinks;

/// <summary>
/// A sink that stores the spool position with each batch, so a batch replayed after a crash is not written twice
/// (effectively-once): the Delta sinks as a <c>txn</c> action (appId = spool id, version = position), the JSON-lines
/// sinks in a <c>.position</c> file next to the data.
/// </summary>
internal interface IPositionedSink<T>
{
    /// <summary>The end position of the last batch from spool <paramref name="spoolId"/> that the sink holds, or null.</summary>
    Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken);

    /// <summary>Appends the batch, whose last record ends at <paramref name="endPosition"/> of spool <paramref name="spoolId"/>.</summary>
    Task AppendAsync(IReadOnlyList<T> batch, string spoolId, long endPosition, CancellationToken cancellationToken);
}

/// <summary>
/// A sink that takes the spool's payloads as they are: each is already the record's JSON (serialised on the request
/// path with the sink's own type info), so the drainer neither deserialises nor re-serialises it, and no record object
/// is made or kept alive between the request and the sink (the JSON-lines sinks).
/// </summary>
internal interface IRawJsonLinesSink
{
    /// <summary>Appends the JSON payloads as lines, whose last ends at <paramref name="endPosition"/> of spool <paramref name="spoolId"/>.</summary>
    Task AppendRawAsync(IReadOnlyList<ReadOnlyMemory<byte>> payloads, string spoolId, long endPosition, CancellationToken cancellationToken);
}

/// <summary>
/// Drains a <see cref="Spool"/> into a sink in the background, on a thread of its own (the sink's fsyncs never hold a
/// thread-pool thread, which on a 2-core box is half of the request capacity): waits for records, lets them gather for the flush
/// interval (one Delta commit per flush), reads up to the maximum batch, appends, then records the position
/// (<see cref="Spool.Commit"/>). A failure the sink may recover from (I/O, network, the table) is retried with the
/// same batch, with backoff, for as long as it takes: records wait in the spool, never dropped. A failure caused by
/// the data (the sink rejects a record) is isolated by bisecting the batch; the one record left is moved to the
/// dead-letter file, counted and alerted, and the rest is written.
/// </summary>
internal sealed class SpoolDrainer<T> : IDisposable
    where T : class
{
    private readonly string _name;
    private readonly Spool _spool;
    private readonly JsonTypeInfo<T> _typeInfo;
    private readonly Func<IReadOnlyList<T>, CancellationToken, Task> _append;
    private readonly IPositionedSink<T>? _positioned;
    private readonly IRawJsonLinesSink? _raw;
    // Read buffer, record list and raw batch are made once at their working size and reused for every batch: a buffer
    // that grows with each flush's backlog and shrinks after it is a large-object allocation per flush, and those are
    // what made a gen2 collection about every second at saturation (docs/benchmarks.md). Only a single record larger
    // than the buffer gets a bigger one, given back when the drainer has caught up.
    private const int ReadBytes = 4 << 20; // the most one batch reads (as before: a Delta commit per batch stays as large)
    private const int ListCapacity = 4096;
    private readonly List<ReadOnlyMemory<byte>> _rawBatch = new(ListCapacity);
    private readonly TimeSpan _flushInterval;
    private readonly int _maxBatch;
    private readonly TimeProvider _timeProvider;
    private readonly ScoringMetrics _metrics;
    private readonly IAlertSink _alerts;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<SpoolRecord> _records = new(ListCapacity);
    private byte[] _buffer = new byte[ReadBytes];
    private long _position;
    private long _written;
    private long _deadLetters;
    private Task? _loop;
    private bool _resumed;

    public SpoolDrainer(string name, Spool spool, JsonTypeInfo<T> typeInfo, Func<IReadOnlyList<T>, CancellationToken, Task> append,
        IPositionedSink<T>? positioned, TimeSpan flushInterval, int maxBatch, TimeProvider timeProvider, ScoringMetrics metrics,
        IAlertSink alerts, ILogger logger)
    {
        _name = name;
        _spool = spool;
        _typeInfo = typeInfo;
        _append = append;
        _positioned = positioned;
        _raw = positioned as IRawJsonLinesSink;
        _flushInterval = flushInterval;
        _maxBatch = maxBatch;
        _timeProvider = timeProvider;
        _metrics = metrics;
        _alerts = alerts;
        _logger = logger;
    }

    /// <summary>Records appended to the sink since start.</summary>
    public long Written => Interlocked.Read(ref _written);

    /// <summary>Records moved to the dead-letter file since start.</summary>
    public long DeadLetters => Interlocked.Read(ref _deadLetters);

    /// <summary>Where the drainer is (everything before it is in the sink or the dead-letter file).</summary>
    public long Position => Volatile.Read(ref _position);

    /// <summary>The dead-letter file: one JSON line per record the sink refused.</summary>
    public string DeadLetterPath => Path.Combine(_spool.Directory, "dead-letter.jsonl");

    /// <summary>Starts draining (in the background: a sink that is down at start does not stop the service from starting).</summary>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _position = _spool.Checkpoint;
        var token = _stopping.Token;
        _loop = Task.Factory.StartNew(() => RunLoop(token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return Task.CompletedTask;
    }

    /// <summary>Drains everything written (the server has stopped taking requests), then returns.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        if (_loop is not null)
        {
            await _loop;
        }

        // The final drain: bounded by the host's shutdown timeout; what the sink cannot take now stays in the spool.
        if (_resumed || await TryResumeAsync(cancellationToken))
        {
            await DrainAsync(cancellationToken);
        }
    }


    /// <summary>
    /// Resumes from the checkpoint, or from the position the sink says it holds when that is further (a crash came
    /// between the sink's append and the checkpoint): what the sink holds is never written again.
    /// </summary>
    private async Task<bool> TryResumeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var position = _spool.Checkpoint;
            if (_positioned is not null && await _positioned.GetCommittedPositionAsync(_spool.Id, cancellationToken) is { } committed && committed > position)
            {
                position = Math.Min(committed, _spool.Written);
                _spool.Commit(position);
            }

            Volatile.Write(ref _position, position);
            _resumed = true;
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.SinkAppendFailed(_logger, _name, 0, 0, ex);
            _metrics.SinkErrors.WithLabels(_name).Inc();
            return false;
        }
    }

    public void Dispose() => _stopping.Dispose();

    // Runs on the drainer's own thread and blocks it while waiting: a sink whose append completes synchronously (the
    // JSON-lines files, their fsyncs, the spool checkpoint) runs here whole; an asynchronous one (Delta over the
    // network) continues on the pool while this thread waits.
    private void RunLoop(CancellationToken stoppingToken)
    {
        try
        {
            var delay = TimeSpan.FromMilliseconds(100);
            while (!TryResumeAsync(stoppingToken).GetAwaiter().GetResult())
            {
                Task.Delay(delay, _timeProvider, stoppingToken).GetAwaiter().GetResult();
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }

            while (!stoppingToken.IsCancellationRequested)
            {
                _spool.WaitForDataAsync(Position, stoppingToken).GetAwaiter().GetResult();
                if (_spool.Written - Position < (1 << 20))
                {
                    // let a flush interval's records gather (one sink commit per flush); a big backlog goes at once
                    Task.Delay(_flushInterval, _timeProvider, stoppingToken).GetAwaiter().GetResult();
                }

                DrainAsync(stoppingToken).GetAwaiter().GetResult();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>Drains up to what is written now; returns early (records stay in the spool) only when cancelled during a retry.</summary>
    internal async Task DrainAsync(CancellationToken cancellationToken)
    {
        var items = new List<(T Record, SpoolRecord Raw)>();
        // Up to what is written when the drain starts, not a moving end: chasing the records that arrive during each
        // append made the drainer commit back to back under steady load (about 14 Delta commits a second of ~180
        // predictions each at 2,500 requests/s, instead of one a flush interval), and the table, its checkpoints and
        // every on-change backup and replication grew with the commit count (docs/benchmarks.md, "Soak").
        var end = _spool.Written;
        while (Position < end)
        {
            var next = _spool.Read(Position, _maxBatch, ReadBytes, ref _buffer, _records, out var corrupt);
            if (corrupt is not null)
            {
                Log.SpoolCorrupt(_logger, _name, corrupt);
                await RaiseAsync("spool-corrupt", corrupt);
            }

            if (_raw is not null)
            {
                if (!await WriteRawAsync(cancellationToken))
                {
                    return;
                }

                Volatile.Write(ref _position, next);
                _spool.Commit(next);
                _metrics.SpoolBacklog.WithLabels(_name).Set(_spool.Written - next);
                continue;
            }

            items.Clear();
            foreach (var raw in _records)
            {
                T? record = null;
                Exception? error = null;
                try
                {
                    record = JsonSerializer.Deserialize(raw.Payload.Span, _typeInfo);
                }
                catch (JsonException ex)
                {
                    error = ex;
                }

                if (record is null)
                {
                    await DeadLetterAsync(raw, error ?? new JsonException("the record is JSON null"));
                }
                else
                {
                    items.Add((record, raw));
                }
            }

            if (items.Count > 0 && !await WriteIsolatingAsync(items, 0, items.Count, cancellationToken))
            {
                return;
            }

            Volatile.Write(ref _position, next);
            _spool.Commit(next);
            _metrics.SpoolBacklog.WithLabels(_name).Set(_spool.Written - next);
        }

        // Caught up: a huge record's read buffer, or lists grown past their working size, are not kept for the life of the service.
        if (_buffer.Length > ReadBytes)
        {
            _buffer = new byte[ReadBytes];
        }

        if (_records.Capacity > 4 * ListCapacity)
        {
            _records.Clear();
            _records.Capacity = ListCapacity;
        }

        if (_rawBatch.Capacity > 4 * ListCapacity)
        {
            _rawBatch.Clear();
            _rawBatch.Capacity = ListCapacity;
        }
    }

    // The raw path: payloads that are not one JSON object go to the dead-letter file (what deserialising would have
    // refused), the rest to the sink as they are. The sink's failures are I/O: retried with backoff, never dead-lettered.
    private async Task<bool> WriteRawAsync(CancellationToken cancellationToken)
    {
        _rawBatch.Clear();
        long end = 0;
        foreach (var raw in _records)
        {
            if (IsOneJsonObject(raw.Payload.Span, out var error))
            {
                _rawBatch.Add(raw.Payload);
                end = raw.End;
            }
            else
            {
                await DeadLetterAsync(raw, error!);
            }
        }

        if (_rawBatch.Count == 0)
        {
            return true;
        }

        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _raw!.AppendRawAsync(_rawBatch, _spool.Id, end, CancellationToken.None);
                Interlocked.Add(ref _written, _rawBatch.Count);
                _metrics.SinkWritten.WithLabels(_name).Inc(_rawBatch.Count);
                return true;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                Log.SinkAppendFailed(_logger, _name, _rawBatch.Count, attempt, ex);
                _metrics.SinkErrors.WithLabels(_name).Inc();
                if (cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                try
                {
                    await Task.Delay(delay, _timeProvider, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private static bool IsOneJsonObject(ReadOnlySpan<byte> payload, out Exception? error)
    {
        error = null;
        try
        {
            var reader = new Utf8JsonReader(payload, new JsonReaderOptions { AllowTrailingCommas = false, CommentHandling = JsonCommentHandling.Disallow });
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                error = new JsonException("the record is not a JSON object");
                return false;
            }

            reader.Skip();
            if (reader.Read())
            {
                error = new JsonException("the record has bytes after its JSON object");
                return false;
            }

            return true;
        }
        catch (JsonException ex)
        {
            error = ex;
            return false;
        }
    }

    private async Task<bool> WriteIsolatingAsync(List<(T Record, SpoolRecord Raw)> items, int from, int to, CancellationToken cancellationToken)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                var batch = new T[to - from];
                for (var i = from; i < to; i++)
                {
                    batch[i - from] = items[i].Record;
                }

                if (_positioned is not null)
                {
                    await _positioned.AppendAsync(batch, _spool.Id, items[to - 1].Raw.End, CancellationToken.None);
                }
                else
                {
                    await _append(batch, CancellationToken.None);
                }

                Interlocked.Add(ref _written, batch.Length);
                _metrics.SinkWritten.WithLabels(_name).Inc(batch.Length);
                return true;
            }
            catch (Exception ex) when (IsCausedByTheData(ex))
            {
                if (to - from == 1)
                {
                    await DeadLetterAsync(items[from].Raw, ex);
                    return true;
                }

                var middle = from + ((to - from) / 2);
                return await WriteIsolatingAsync(items, from, middle, cancellationToken)
                    && await WriteIsolatingAsync(items, middle, to, cancellationToken);
            }
            catch (Exception ex)
            {
                Log.SinkAppendFailed(_logger, _name, to - from, attempt, ex);
                _metrics.SinkErrors.WithLabels(_name).Inc();
                if (cancellationToken.IsCancellationRequested)
                {
                    return false;
                }

                try
                {
                    await Task.Delay(delay, _timeProvider, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return false;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    /// <summary>
    /// Errors that the record itself causes and that retrying cannot fix. Anything else (I/O, network, a store's
    /// own exceptions, a broken table) is treated as the sink being unavailable: retried, never dead-lettered.
    /// </summary>
    internal static bool IsCausedByTheData(Exception ex) => ex is ArgumentException or FormatException or InvalidCastException
        or OverflowException or JsonException or NullReferenceException or KeyNotFoundException or IndexOutOfRangeException
        or InvalidDataException;

    private async Task DeadLetterAsync(SpoolRecord raw, Exception error)
    {
        var line = new MemoryStream();
        using (var writer = new Utf8JsonWriter(line))
        {
            writer.WriteStartObject();
            writer.WriteString("at", _timeProvider.GetUtcNow());
            writer.WriteString("sink", _name);
            writer.WriteString("spool_id", _spool.Id);
            writer.WriteNumber("spool_position", raw.Start);
            writer.WriteString("error", $"{error.GetType().Name}: {error.Message}");
            writer.WriteString("payload", Encoding.UTF8.GetString(raw.Payload.Span));
            writer.WriteEndObject();
        }

        line.WriteByte((byte)'\n');
        await using (var file = new FileStream(DeadLetterPath, FileMode.Append, FileAccess.Write, FileShare.Read, 0))
        {
            file.Write(line.GetBuffer(), 0, (int)line.Length);
            file.Flush(flushToDisk: true);
        }

        var count = Interlocked.Increment(ref _deadLetters);
        _metrics.SinkDeadLetters.WithLabels(_name).Inc();
        Log.SinkDeadLetter(_logger, _name, raw.Start, DeadLetterPath, error);
        if ((count & (count - 1)) == 0)
        {
            await RaiseAsync("sink-dead-letter",
                $"sink {_name} refused a record ({error.GetType().Name}: {error.Message}); it is in {DeadLetterPath} ({count} so far)");
        }
    }

    private async Task RaiseAsync(string kind, string message)
    {
        try
        {
            await _alerts.RaiseAsync(new Alert(_timeProvider.GetUtcNow(), "warning", kind, message), CancellationToken.None);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            Log.Alert(_logger, "warning", kind, message + " (alert delivery failed: " + ex.Message + ")");
        }
    }
}
