using System.Buffers;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Lifeline.Scoring.Sinks;

/// <summary>
/// Appends records as JSON lines to one file, fsynced per batch. The stand-in for the lake's tables. Drained from
/// a spool it is effectively-once: after each batch <c>FILE.position</c> records the spool id, the spool position
/// and the file's length (temporary file, fsync, rename); on start, bytes past that length (a batch written but not
/// recorded before a crash) are cut off and the spool resumes from the recorded position. The file belongs to the
/// service: rotate it only while the service is stopped.
/// </summary>
internal sealed class JsonLinesSink<T>(string path, JsonTypeInfo<T> typeInfo) : IPositionedSink<T>, IRawJsonLinesSink
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly byte[] _chunk = new byte[256 << 10];
    private ArrayBufferWriter<byte> _buffer = new(1 << 16);

    public string Path { get; } = path;

    private string PositionPath => Path + ".position";

    public Task AppendAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken) => AppendCoreAsync(batch, null, 0, cancellationToken);

    public Task AppendAsync(IReadOnlyList<T> batch, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        AppendCoreAsync(batch, spoolId, endPosition, cancellationToken);

    private async Task AppendCoreAsync(IReadOnlyList<T> batch, string? spoolId, long endPosition, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            _buffer.ResetWrittenCount();
            using (var writer = new Utf8JsonWriter(_buffer))
            {
                foreach (var record in batch)
                {
                    JsonSerializer.Serialize(writer, record, typeInfo);
                    writer.Flush();
                    _buffer.Write("\n"u8);
                    writer.Reset(_buffer);
                }
            }

            Persist(spoolId, endPosition);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The spool's payloads are this sink's JSON already (same type info): written as lines, unchanged.</summary>
    public async Task AppendRawAsync(IReadOnlyList<ReadOnlyMemory<byte>> payloads, string spoolId, long endPosition, CancellationToken cancellationToken)
    {
        if (payloads.Count == 0)
        {
            return;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            // Lines go out through one fixed chunk (made once, reused by every batch): a batch of any size costs no
            // allocation, where a buffer holding the whole batch was a large-object allocation per flush. A crash
            // between two chunks leaves a partial batch past the recorded length, cut off on start like a torn one.
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
            long length;
            using (var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 0))
            {
                var chunk = _chunk;
                var used = 0;
                foreach (var payload in payloads)
                {
                    if (used + payload.Length + 1 > chunk.Length && used > 0)
                    {
                        file.Write(chunk, 0, used);
                        used = 0;
                    }

                    if (payload.Length + 1 > chunk.Length)
                    {
                        file.Write(payload.Span); // a record larger than the chunk: written as it is
                        file.Write("\n"u8);
                        continue;
                    }

                    payload.Span.CopyTo(chunk.AsSpan(used));
                    used += payload.Length;
                    chunk[used++] = (byte)'\n';
                }

                file.Write(chunk, 0, used);
                file.Flush(flushToDisk: true);
                length = file.Length;
            }

            RecordPosition(spoolId, endPosition, length);
        }
        finally
        {
            _gate.Release();
        }
    }

    // Appends the buffer to the file (fsync), then records the position (temp file, fsync, rename). Under _gate.
    private void Persist(string? spoolId, long endPosition)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
        long length;
        using (var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 0))
        {
            file.Write(_buffer.WrittenSpan);
            file.Flush(flushToDisk: true);
            length = file.Length;
        }

        RecordPosition(spoolId, endPosition, length);
        if (_buffer.Capacity > 1 << 20)
        {
            _buffer = new ArrayBufferWriter<byte>(1 << 16); // a rare huge batch does not keep its buffer for the life of the service
        }
    }

    // Records the spool position the file holds up to `length` (temp file, fsync, rename). Under _gate.
    private void RecordPosition(string? spoolId, long endPosition, long length)
    {
        if (spoolId is not null)
        {
            var tmp = PositionPath + ".tmp";
            using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 0))
            {
                file.Write(System.Text.Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"{spoolId} {endPosition} {length}\n")));
                file.Flush(flushToDisk: true);
            }

            File.Move(tmp, PositionPath, overwrite: true);
        }
    }

    public async Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (!File.Exists(PositionPath))
            {
                return null;
            }

            var parts = (await File.ReadAllTextAsync(PositionPath, cancellationToken)).Split(' ', StringSplitOptions.TrimEntries);
            if (parts.Length != 3 || parts[0] != spoolId
                || !long.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var position)
                || !long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var length))
            {
                return null;
            }

            if (File.Exists(Path) && new FileInfo(Path).Length > length)
            {
                // a batch was appended but not recorded before a crash: the spool still holds it and writes it again
                using var file = new FileStream(Path, FileMode.Open, FileAccess.Write, FileShare.Read, 0);
                file.SetLength(length);
                file.Flush(flushToDisk: true);
            }

            return position;
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>Predictions to <c>predictions.jsonl</c>.</summary>
internal sealed class JsonLinesPredictionSink(string path) : IPredictionSink, IPositionedSink<PredictionRecord>, IRawJsonLinesSink
{
    private readonly JsonLinesSink<PredictionRecord> _sink = new(path, ScoringJsonContext.Default.PredictionRecord);

    public Task AppendAsync(IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken) => _sink.AppendAsync(batch, cancellationToken);

    public Task AppendAsync(IReadOnlyList<PredictionRecord> batch, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        _sink.AppendAsync(batch, spoolId, endPosition, cancellationToken);

    public Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken) => _sink.GetCommittedPositionAsync(spoolId, cancellationToken);

    public Task AppendRawAsync(IReadOnlyList<ReadOnlyMemory<byte>> payloads, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        _sink.AppendRawAsync(payloads, spoolId, endPosition, cancellationToken);
}

/// <summary>Audit records to <c>audit_logs.jsonl</c>.</summary>
internal sealed class JsonLinesAuditSink(string path) : IAuditSink, IPositionedSink<AuditRecord>, IRawJsonLinesSink
{
    private readonly JsonLinesSink<AuditRecord> _sink = new(path, ScoringJsonContext.Default.AuditRecord);

    public Task AppendAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken) => _sink.AppendAsync(batch, cancellationToken);

    public Task AppendAsync(IReadOnlyList<AuditRecord> batch, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        _sink.AppendAsync(batch, spoolId, endPosition, cancellationToken);

    public Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken) => _sink.GetCommittedPositionAsync(spoolId, cancellationToken);

    public Task AppendRawAsync(IReadOnlyList<ReadOnlyMemory<byte>> payloads, string spoolId, long endPosition, CancellationToken cancellationToken) =>
        _sink.AppendRawAsync(payloads, spoolId, endPosition, cancellationToken);
}

/// <summary>Discards predictions (sinks switched off, e.g. for the benchmark without sinks).</summary>
internal sealed class NullPredictionSink : IPredictionSink
{
    public Task AppendAsync(IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken) => Task.CompletedTask;
}
