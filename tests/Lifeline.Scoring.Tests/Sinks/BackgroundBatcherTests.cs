using System.Collections.Concurrent;
using Lifeline.Scoring.Sinks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Scoring.Tests.Sinks;

public class BackgroundBatcherTests
{
    private static BackgroundBatcher<int> CreateSut(Func<IReadOnlyList<int>, CancellationToken, Task> append, FakeTimeProvider time, int capacity = 1000) =>
        new("test", append, capacity, TimeSpan.FromSeconds(1), maxBatch: 100, time, NullLogger.Instance);

    [Fact]
    public async Task Stop_QueuedRecords_AllAppendedNothingLost()
    {
        var written = new ConcurrentQueue<int>();
        var time = new FakeTimeProvider();
        var sut = CreateSut((batch, _) => { foreach (var r in batch) { written.Enqueue(r); } return Task.CompletedTask; }, time, capacity: 10_000);
        await sut.StartAsync(CancellationToken.None);
        for (var i = 0; i < 5000; i++)
        {
            Assert.True(sut.TryEnqueue(i));
        }

        await sut.StopAsync(CancellationToken.None);

        Assert.Equal(Enumerable.Range(0, 5000), written);
        Assert.Equal(5000, sut.Written);
        Assert.Equal(0, sut.Dropped);
    }

    [Fact]
    public async Task FlushInterval_Elapsed_QueuedRecordsAppended()
    {
        var written = new ConcurrentQueue<int>();
        var time = new FakeTimeProvider();
        var sut = CreateSut((batch, _) => { foreach (var r in batch) { written.Enqueue(r); } return Task.CompletedTask; }, time);
        await sut.StartAsync(CancellationToken.None);
        sut.TryEnqueue(1);
        sut.TryEnqueue(2);
        Assert.Empty(written);

        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => Task.FromResult(written.Count == 2), "flush after one interval");
        await sut.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task TryEnqueue_QueueFull_DropsAndCountsWithoutWaiting()
    {
        var time = new FakeTimeProvider();
        var sut = CreateSut((_, _) => Task.CompletedTask, time, capacity: 10);
        for (var i = 0; i < 10; i++)
        {
            Assert.True(sut.TryEnqueue(i));
        }

        Assert.False(sut.TryEnqueue(10));
        Assert.Equal(1, sut.Dropped);
        await sut.StartAsync(CancellationToken.None);
        await sut.StopAsync(CancellationToken.None);
        Assert.Equal(10, sut.Written);
    }

    [Fact]
    public async Task Append_FailsOnce_SameBatchRetriedNothingLost()
    {
        var written = new ConcurrentQueue<int>();
        var attempts = 0;
        var time = new FakeTimeProvider();
        var sut = CreateSut((batch, _) =>
        {
            if (Interlocked.Increment(ref attempts) == 1)
            {
                throw new IOException("disk hiccup");
            }

            foreach (var r in batch)
            {
                written.Enqueue(r);
            }

            return Task.CompletedTask;
        }, time);
        await sut.StartAsync(CancellationToken.None);
        sut.TryEnqueue(7);
        time.Advance(TimeSpan.FromSeconds(1));
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref attempts) >= 1), "first attempt");
        // The retry delay's timer is created just after the failed attempt returns: keep moving the clock until the
        // retry has run, so an advance made before the timer exists is not lost.
        await Eventually.TrueAsync(() =>
        {
            time.Advance(TimeSpan.FromSeconds(1));
            return Task.FromResult(written.Count == 1);
        }, "retried append");
        await sut.StopAsync(CancellationToken.None);

        Assert.Equal([7], written);
        Assert.Equal(0, sut.Dropped);
    }

    [Fact]
    public async Task JsonLinesSink_Batches_AppendedAsLines()
    {
        using var dir = new TempDir();
        var sink = new JsonLinesPredictionSink(dir.Sub("p.jsonl"));
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        await sink.AppendAsync([new PredictionRecord("a", 0.5, "Medium", "1", at, 0.1)], CancellationToken.None);
        await sink.AppendAsync([new PredictionRecord("b", 0.9, "Very High", "1", at, 0.1), new PredictionRecord("c", 0.1, "Low", "2", at, 0.2)], CancellationToken.None);

        var lines = await File.ReadAllLinesAsync(dir.Sub("p.jsonl"));
        Assert.Equal(3, lines.Length);
        Assert.Contains("\"lead_id\":\"b\"", lines[1], StringComparison.Ordinal);
        Assert.Contains("\"score_category\":\"Very High\"", lines[1], StringComparison.Ordinal);
    }
}
