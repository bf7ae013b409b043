using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Lake.Tests.Write;

public sealed class TableCompactorTests
{
    private static readonly StructType Simple = new([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]);

    private static async Task<DeltaTable> SeedAsync(TempDir dir, string name, int commits, TimeProvider time)
    {
        var table = new DeltaTable(new FileSystemObjectStore(dir.Path), name, new DeltaTableOptions { TimeProvider = time });
        await table.CreateAsync(Simple, ["part"]);
        for (var i = 0; i < commits; i++)
        {
            await table.AppendAsync([new Dictionary<string, object?> { ["id"] = (long)i, ["part"] = "p" }]);
        }

        return table;
    }

    [Fact]
    public async Task Start_IntervalPassesWithSmallFilesOverThreshold_CompactsAndCheckpoints()
    {
        using var dir = new TempDir();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var predictions = await SeedAsync(dir, "predictions", 12, time);
        var quiet = await SeedAsync(dir, "conversions", 2, time);
        var before = (await predictions.ReadRowsAsync(await predictions.GetSnapshotAsync())).Select(r => (long)r["id"]!).Order().ToList();
        await using var sut = new TableCompactor(
            [new("predictions", predictions), new("conversions", quiet)],
            new TableCompactionOptions { Interval = TimeSpan.FromMinutes(10), SmallFileThreshold = 5 }, time);
        var round = new TaskCompletionSource<IReadOnlyList<CompactionOutcome>>(TaskCreationOptions.RunContinuationsAsynchronously);
        sut.RoundCompleted += outcomes => round.TrySetResult(outcomes);

        sut.Start();
        time.Advance(TimeSpan.FromMinutes(10));
        var outcomes = await round.Task.WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal((12, 1), (outcomes[0].Result!.FilesRemoved, outcomes[0].Result!.FilesAdded));
        Assert.Null(outcomes[1].Result); // 2 small files: under the threshold, untouched
        Assert.Equal(2, (await quiet.GetSnapshotAsync()).Files.Count);
        var fresh = new DeltaTable(new FileSystemObjectStore(dir.Path), "predictions");
        var snapshot = await fresh.GetSnapshotAsync();
        Assert.Single(snapshot.Files);
        Assert.Equal(13, snapshot.CheckpointVersion); // the compacted version was checkpointed at once
        Assert.Equal(before, (await fresh.ReadRowsAsync(snapshot)).Select(r => (long)r["id"]!).Order().ToList());
    }
}
