using System.Text;
using Lifeline.Scoring.Sinks;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Scoring.Tests.Sinks;

public class SpoolTests
{
    private static Spool CreateSut(string directory, long maxBytes = 1L << 30, long segmentBytes = 64L << 20) =>
        Spool.Open(new SpoolOptions { Directory = directory, MaxBytes = maxBytes, SegmentBytes = segmentBytes }, new FakeTimeProvider());

    private static Task Append(Spool spool, string text)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        return spool.TryAppend(bytes, [bytes.Length]) ?? throw new InvalidOperationException("spool full");
    }

    private static List<string> ReadAll(Spool spool, long from = 0)
    {
        var buffer = Array.Empty<byte>();
        var records = new List<SpoolRecord>();
        var all = new List<string>();
        var position = from;
        while (position < spool.Written)
        {
            var next = spool.Read(position, 1000, 1 << 16, ref buffer, records, out var corrupt);
            Assert.Null(corrupt);
            all.AddRange(records.Select(r => Encoding.UTF8.GetString(r.Payload.Span)));
            Assert.True(next > position || records.Count == 0);
            if (next == position)
            {
                break;
            }

            position = next;
        }

        return all;
    }

    [Fact]
    public async Task TryAppend_FsyncIntervalPassesOnTheClock_WrittenRecordsAreFsyncedThen()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider();
        using var sut = Spool.Open(new SpoolOptions { Directory = dir.Path, FsyncInterval = TimeSpan.FromMilliseconds(100) }, time);
        await Append(sut, "one");
        await Append(sut, "two"); // rides on the timer the first write armed
        Assert.True(sut.Synced < sut.Written);
        time.Advance(TimeSpan.FromMilliseconds(99));
        Assert.True(sut.Synced < sut.Written); // not before the interval

        time.Advance(TimeSpan.FromMilliseconds(1));
        await Eventually.TrueAsync(() => Task.FromResult(sut.Synced == sut.Written), "the records fsynced once the interval passed");

        await Append(sut, "three"); // the first write after a sync arms the timer again
        Assert.True(sut.Synced < sut.Written);
        time.Advance(TimeSpan.FromMilliseconds(100));
        await Eventually.TrueAsync(() => Task.FromResult(sut.Synced == sut.Written), "the next record fsynced one interval after it");
        Assert.Equal(["one", "two", "three"], ReadAll(sut));
    }

    [Fact]
    public async Task TryAppend_ManyConcurrentWriters_EveryRecordReadBackOnceInOneOrderPerWriter()
    {
        using var dir = new TempDir();
        using var sut = CreateSut(dir.Path, segmentBytes: 1 << 16);

        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
        {
            for (var i = 0; i < 500; i++)
            {
                await Append(sut, $"w{w}-{i:D4}-" + new string('x', 40));
            }
        })));

        var all = ReadAll(sut);
        Assert.Equal(4000, all.Count);
        Assert.Equal(4000, all.Distinct().Count());
        for (var w = 0; w < 8; w++)
        {
            var mine = all.Where(r => r.StartsWith($"w{w}-", StringComparison.Ordinal)).ToList();
            Assert.Equal(mine.Order(StringComparer.Ordinal), mine);
        }

        Assert.True(sut.SegmentCount > 1, "small segments roll over");
    }

    [Fact]
    public async Task Open_TornTailAfterWrittenRecords_TailCutRecordsKeptAppendsGoOn()
    {
        using var dir = new TempDir();
        using (var first = CreateSut(dir.Path))
        {
            for (var i = 0; i < 10; i++)
            {
                await Append(first, $"record-{i}");
            }
        }

        var segment = Directory.GetFiles(dir.Path, "*.seg").Single();
        await using (var file = new FileStream(segment, FileMode.Append))
        {
            file.Write([40, 0, 0, 0, 1, 2, 3, 4, 5, 6]); // a frame header promising 40 bytes, then a torn write
        }

        using var second = CreateSut(dir.Path);
        await Append(second, "after-restart");

        Assert.Equal([.. Enumerable.Range(0, 10).Select(i => $"record-{i}"), "after-restart"], ReadAll(second));
    }

    [Fact]
    public async Task Commit_PastWholeSegments_DeletesThemAndReopenResumesThere()
    {
        using var dir = new TempDir();
        long middle;
        using (var sut = CreateSut(dir.Path, segmentBytes: 1 << 16))
        {
            for (var i = 0; i < 2000; i++)
            {
                await Append(sut, $"record-{i:D4}-" + new string('x', 40));
            }

            var segments = sut.SegmentCount;
            middle = sut.Written;
            for (var i = 2000; i < 2010; i++)
            {
                await Append(sut, $"record-{i:D4}-" + new string('x', 40));
            }

            sut.Commit(middle);
            Assert.True(sut.SegmentCount < segments);
        }

        using var reopened = CreateSut(dir.Path, segmentBytes: 1 << 16);
        Assert.Equal(middle, reopened.Checkpoint);
        var rest = ReadAll(reopened, reopened.Checkpoint);
        Assert.Equal(Enumerable.Range(2000, 10).Select(i => $"record-{i:D4}-" + new string('x', 40)), rest);
    }

    [Fact]
    public async Task TryAppend_DiskBudgetFull_RefusedUntilDrained()
    {
        using var dir = new TempDir();
        using var sut = CreateSut(dir.Path, maxBytes: 1 << 20);
        var payload = new string('p', 1000);
        var accepted = 0;
        while (sut.TryAppend(Encoding.UTF8.GetBytes(payload), [payload.Length]) is { } task)
        {
            await task;
            accepted++;
        }

        Assert.InRange(accepted, 1000, 1050);
        sut.Commit(sut.Written);
        Assert.NotNull(sut.TryAppend(Encoding.UTF8.GetBytes(payload), [payload.Length]));
    }
}
