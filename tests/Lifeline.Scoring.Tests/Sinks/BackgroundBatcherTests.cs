using Lifeline.Scoring.Sinks;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Scoring.Tests.Sinks;

public class BackgroundBatcherTests
{
    [Fact]
    public async Task FlushAsync_RecordsArrivingDuringTheAppend_WaitForTheNextFlush()
    {
        // like the spool drainer: a flush appends what was queued when it started, one append per flush interval under
        // steady load, instead of chasing the records that arrive during each append
        var batches = new List<int>();
        BackgroundBatcher<int>? batcher = null;
        Task Sink(IReadOnlyList<int> batch, CancellationToken ct)
        {
            batches.Add(batch.Count);
            if (batches.Count <= 3)
            {
                for (var i = 0; i < 5; i++)
                {
                    Assert.True(batcher!.TryEnqueue(i));
                }
            }

            return Task.CompletedTask;
        }

        using var created = batcher = new BackgroundBatcher<int>("audit_logs", Sink, 10_000, TimeSpan.FromSeconds(1), 1000, new FakeTimeProvider(), NullLogger.Instance);
        for (var i = 0; i < 5; i++)
        {
            Assert.True(batcher.TryEnqueue(i));
        }

        await batcher.FlushAsync(CancellationToken.None);

        Assert.Equal([5], batches);
        Assert.Equal(5, batcher.Queued);

        await batcher.FlushAsync(CancellationToken.None);
        Assert.Equal([5, 5], batches);
    }
}
