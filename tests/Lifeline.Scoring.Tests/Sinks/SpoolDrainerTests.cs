using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Lifeline.Scoring.Failover;
using Lifeline.Scoring.Sinks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Scoring.Tests.Sinks;

/// <summary>Issue 12: the drain path of the JSON-lines sinks and the spool's roll-over off the request thread.</summary>
public class SpoolDrainerTests
{
    private static PredictionRecord Record(int i) =>
        new($"lead-{i:D3}", 0.25 + (i / 1000.0), "warm", "7", new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero), 0.125)
        {
            CompanySize = "Large",
            PageViews = i,
        };

    private static Task Append(Spool spool, byte[] payload) =>
        spool.TryAppend(payload, [payload.Length]) ?? throw new InvalidOperationException("spool full");

    [Fact]
    public async Task Drain_JsonLinesSinkWithOneCorruptPayload_LinesAreTheTypedJsonAndTheBadOneDeadLettered()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider();
        using var spool = Spool.Open(new SpoolOptions { Directory = dir.Sub("spool") }, time);
        var sink = new JsonLinesPredictionSink(dir.Sub("predictions.jsonl"));
        var alerts = new ConcurrentQueue<Alert>();
        using var drainer = new SpoolDrainer<PredictionRecord>("predictions", spool, ScoringJsonContext.Default.PredictionRecord, sink.AppendAsync, sink,
            TimeSpan.FromMilliseconds(200), 1000, time, new ScoringMetrics(), new QueueAlertSink(alerts), NullLogger.Instance);
        var expected = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var json = JsonSerializer.SerializeToUtf8Bytes(Record(i), ScoringJsonContext.Default.PredictionRecord);
            await Append(spool, json);
            expected.Add(Encoding.UTF8.GetString(json));
            if (i == 2)
            {
                await Append(spool, "{\"lead_id\":\"torn"u8.ToArray());
            }
        }

        await drainer.DrainAsync(CancellationToken.None);

        // exactly what the typed path would have written: the record serialised with the sink's own type info
        var lines = await File.ReadAllLinesAsync(dir.Sub("predictions.jsonl"));
        Assert.Equal(expected, lines);
        Assert.Equal(Enumerable.Range(0, 5).Select(Record), lines.Select(l => JsonSerializer.Deserialize(l, ScoringJsonContext.Default.PredictionRecord)));
        var deadLetter = Assert.Single(await File.ReadAllLinesAsync(drainer.DeadLetterPath));
        Assert.Contains("torn", deadLetter, StringComparison.Ordinal);
        Assert.Equal(5, drainer.Written);
        Assert.Equal(spool.Written, spool.Checkpoint);
        Assert.Single(alerts);
    }

    [Fact]
    public async Task TryAppend_ManySegmentRollOvers_EveryRecordReadBackAfterReopen()
    {
        using var dir = new TempDir();
        var options = new SpoolOptions { Directory = dir.Sub("spool"), SegmentBytes = 512 };
        var written = Enumerable.Range(0, 200).Select(i => $"record-{i:D4}-" + new string('x', i % 50)).ToList();
        using (var spool = Spool.Open(options, new FakeTimeProvider()))
        {
            // one at a time: concurrent appends may be written as one batch into one segment on a busy machine,
            // and this test is about many roll-overs
            foreach (var text in written)
            {
                await Append(spool, Encoding.UTF8.GetBytes(text));
            }

            Assert.True(spool.SegmentCount > 10);
            spool.Sync(); // fsyncs and closes the rolled-over segments (the sync thread's job)
        }

        using var reopened = Spool.Open(options, new FakeTimeProvider());
        var buffer = Array.Empty<byte>();
        var records = new List<SpoolRecord>();
        var read = new List<string>();
        for (var position = 0L; position < reopened.Written;)
        {
            var next = reopened.Read(position, 1000, 1 << 16, ref buffer, records, out var corrupt);
            Assert.Null(corrupt);
            read.AddRange(records.Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
            Assert.True(next > position);
            position = next;
        }

        Assert.Equal(written.Order(StringComparer.Ordinal), read.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AppendRawAsync_BatchLargerThanItsWriteChunk_EveryLineInOrderAndPositionRecorded()
    {
        using var dir = new TempDir();
        var sink = new JsonLinesPredictionSink(dir.Sub("predictions.jsonl"));
        // ~1 MB of lines through the sink's 256 KiB chunk, with one record larger than the chunk in the middle
        var lines = Enumerable.Range(0, 4000).Select(i => $"{{\"lead_id\":\"lead-{i:D5}\",\"pad\":\"{new string('x', i % 300)}\"}}").ToList();
        lines[2000] = $"{{\"lead_id\":\"big\",\"pad\":\"{new string('y', 300 << 10)}\"}}";
        var payloads = lines.Select(l => (ReadOnlyMemory<byte>)Encoding.UTF8.GetBytes(l)).ToList();

        await sink.AppendRawAsync(payloads, "spool-1", 12345, CancellationToken.None);

        Assert.Equal(lines, await File.ReadAllLinesAsync(dir.Sub("predictions.jsonl")));
        Assert.Equal(12345, await sink.GetCommittedPositionAsync("spool-1", CancellationToken.None));
    }

    [Fact]
    public async Task DrainAsync_BacklogOfManyBatches_EveryRecordInTheSinkInOrder()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider();
        using var spool = Spool.Open(new SpoolOptions { Directory = dir.Sub("spool") }, time);
        var sink = new JsonLinesPredictionSink(dir.Sub("predictions.jsonl"));
        using var drainer = new SpoolDrainer<PredictionRecord>("predictions", spool, ScoringJsonContext.Default.PredictionRecord, sink.AppendAsync, sink,
            TimeSpan.FromMilliseconds(200), 1000, time, new ScoringMetrics(), new QueueAlertSink(new ConcurrentQueue<Alert>()), NullLogger.Instance);
        var expected = new List<string>();
        for (var call = 0; call < 100; call++)
        {
            // 100 records per append, ~3 MB in all: ten batches of 1000 through the one reused read buffer
            var payloads = new List<byte>();
            var lengths = new int[100];
            for (var i = 0; i < 100; i++)
            {
                var record = Record((call * 100) + i) with { Industry = new string('z', 200) };
                var json = JsonSerializer.SerializeToUtf8Bytes(record, ScoringJsonContext.Default.PredictionRecord);
                payloads.AddRange(json);
                lengths[i] = json.Length;
                expected.Add(Encoding.UTF8.GetString(json));
            }

            await (spool.TryAppend(payloads.ToArray(), lengths) ?? throw new InvalidOperationException("spool full"));
        }

        await drainer.DrainAsync(CancellationToken.None);

        Assert.Equal(expected, await File.ReadAllLinesAsync(dir.Sub("predictions.jsonl")));
        Assert.Equal(10_000, drainer.Written);
        Assert.Equal(spool.Written, spool.Checkpoint);
    }

    [Fact]
    public async Task DrainAsync_RecordsArrivingDuringTheAppend_WaitForTheNextFlush()
    {
        // under steady load records arrive while a batch is being appended; the drain takes what was written when
        // it started (one sink commit), and leaves the rest for the next flush instead of chasing it commit by commit
        using var dir = new TempDir();
        var time = new FakeTimeProvider();
        using var spool = Spool.Open(new SpoolOptions { Directory = dir.Sub("spool") }, time);
        var batches = new List<int>();
        var next = 0;
        async Task AppendMore(int count)
        {
            for (var i = 0; i < count; i++)
            {
                await Append(spool, JsonSerializer.SerializeToUtf8Bytes(Record(next++), ScoringJsonContext.Default.PredictionRecord));
            }
        }

        async Task Sink(IReadOnlyList<PredictionRecord> batch, CancellationToken ct)
        {
            batches.Add(batch.Count);
            if (batches.Count <= 3)
            {
                await AppendMore(5); // arrive during this append
            }
        }

        using var drainer = new SpoolDrainer<PredictionRecord>("predictions", spool, ScoringJsonContext.Default.PredictionRecord, Sink, null,
            TimeSpan.FromSeconds(1), 1000, time, new ScoringMetrics(), new QueueAlertSink(new ConcurrentQueue<Alert>()), NullLogger.Instance);
        await AppendMore(5);

        await drainer.DrainAsync(CancellationToken.None);

        Assert.Equal([5], batches);
        Assert.Equal(5, drainer.Written);
        Assert.True(spool.Written > spool.Checkpoint, "the records that arrived during the append wait in the spool");

        await drainer.DrainAsync(CancellationToken.None); // the next flush takes them in one batch
        Assert.Equal([5, 5], batches);
    }

    private sealed class QueueAlertSink(ConcurrentQueue<Alert> alerts) : IAlertSink
    {
        public Task RaiseAsync(Alert alert, CancellationToken cancellationToken)
        {
            alerts.Enqueue(alert);
            return Task.CompletedTask;
        }
    }
}
