using System.Text.Json;
using System.Text.Json.Serialization.Metadata;

namespace Lifeline.Scoring.Sinks;

/// <summary>Appends records as JSON lines to one file, fsynced per batch. The stand-in for the lake's tables.</summary>
internal sealed class JsonLinesSink<T>(string path, JsonTypeInfo<T> typeInfo)
{
    private readonly SemaphoreSlim _gate = new(1, 1);

    public string Path { get; } = path;

    public async Task AppendAsync(IReadOnlyList<T> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        var buffer = new MemoryStream();
        await using (var writer = new Utf8JsonWriter(buffer))
        {
            foreach (var record in batch)
            {
                JsonSerializer.Serialize(writer, record, typeInfo);
                await writer.FlushAsync(cancellationToken);
                buffer.WriteByte((byte)'\n');
                writer.Reset();
            }
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!);
            await using var file = new FileStream(Path, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16, useAsync: true);
            await file.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), cancellationToken);
            await file.FlushAsync(cancellationToken);
            file.Flush(flushToDisk: true);
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>Predictions to <c>predictions.jsonl</c>.</summary>
internal sealed class JsonLinesPredictionSink(string path) : IPredictionSink
{
    private readonly JsonLinesSink<PredictionRecord> _sink = new(path, ScoringJsonContext.Default.PredictionRecord);

    public Task AppendAsync(IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken) => _sink.AppendAsync(batch, cancellationToken);
}

/// <summary>Audit records to <c>audit_logs.jsonl</c>.</summary>
internal sealed class JsonLinesAuditSink(string path) : IAuditSink
{
    private readonly JsonLinesSink<AuditRecord> _sink = new(path, ScoringJsonContext.Default.AuditRecord);

    public Task AppendAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken) => _sink.AppendAsync(batch, cancellationToken);
}

/// <summary>Discards predictions (sinks switched off, e.g. for the benchmark without sinks).</summary>
internal sealed class NullPredictionSink : IPredictionSink
{
    public Task AppendAsync(IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken) => Task.CompletedTask;
}
