using static Lifeline.Lake.Tests.Golden.GoldenLogReplayTests;

namespace Lifeline.Lake.Tests.Golden;

/// <summary>Time travel on the golden tables (DeltaTimeTravelSuite): commit times are file modification times, set on a copy.</summary>
public sealed class GoldenTimeTravelTests
{
    private static readonly DateTimeOffset Start = DateTimeOffset.FromUnixTimeMilliseconds(1540415658000L);

    private static DeltaTable CopyWithTimes(TempDir dir)
    {
        var table = GoldenData.Copy("time-travel-start-start20-start40", dir.Path);
        for (var v = 0; v < 3; v++)
        {
            File.SetLastWriteTimeUtc(Path.Combine(dir.Path, "_delta_log", $"{v:D20}.json"), Start.AddMinutes(20 * v).UtcDateTime);
        }

        return table;
    }

    [Theory]
    [InlineData(0, 10)]
    [InlineData(1, 20)]
    [InlineData(2, 30)]
    public async Task SnapshotByVersion_ReturnsRowsOfThatVersion(long version, int rows)
    {
        var read = await RowsAsync(GoldenData.Open("time-travel-start-start20-start40"), version);
        Assert.Equal(Enumerable.Range(0, rows).Select(i => (long)i), Col<long>(read, "id").Order());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(10, 0)]
    [InlineData(20, 1)]
    [InlineData(39, 1)]
    [InlineData(40, 2)]
    [InlineData(600, 2)]
    public async Task SnapshotAt_Timestamp_ReturnsLatestCommitAtOrBefore(int minutes, long version)
    {
        using var dir = new TempDir();
        var table = CopyWithTimes(dir);
        var snapshot = await table.GetSnapshotAtAsync(Start.AddMinutes(minutes));
        Assert.Equal(version, snapshot.Version);
        Assert.Equal(Start.AddMinutes(20 * version), snapshot.Timestamp);
    }

    [Fact]
    public async Task SnapshotAt_BeforeFirstCommit_FailsClearly()
    {
        using var dir = new TempDir();
        var table = CopyWithTimes(dir);
        var e = await Assert.ThrowsAsync<DeltaVersionNotFoundException>(() => table.GetSnapshotAtAsync(Start.AddSeconds(-1)));
        Assert.Contains("before the earliest", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SnapshotAt_NonMonotonicTimes_AreAdjustedToIncrease()
    {
        using var dir = new TempDir();
        var table = CopyWithTimes(dir);
        // version 2's file time goes back before version 1: readers treat it as version 1's time + 1 ms
        File.SetLastWriteTimeUtc(Path.Combine(dir.Path, "_delta_log", $"{2:D20}.json"), Start.AddMinutes(5).UtcDateTime);
        var history = await table.GetHistoryAsync(withCommitInfo: false);
        Assert.Equal(Start.AddMinutes(20).AddMilliseconds(1), history[2].Timestamp);
        Assert.Equal(2, (await table.GetSnapshotAtAsync(Start.AddMinutes(30))).Version);
    }

    [Fact]
    public async Task SnapshotByVersion_SchemaChanges_InstantiatesOldSchema()
    {
        var table = GoldenData.Open("time-travel-schema-changes-b");
        Assert.Equal(["id"], (await table.GetSnapshotAsync(0)).Schema.Fields.Select(f => f.Name));
        Assert.Equal(["id", "part"], (await table.GetSnapshotAsync(1)).Schema.Fields.Select(f => f.Name));
    }

    [Fact]
    public async Task SnapshotByVersion_PartitionChanges_InstantiatesOldPartitioning()
    {
        var table = GoldenData.Open("time-travel-partition-changes-b");
        var v0 = await table.GetSnapshotAsync(0);
        var v1 = await table.GetSnapshotAsync(1);
        Assert.Equal(["part5"], v0.Metadata.PartitionColumns);
        Assert.Equal(["part2"], v1.Metadata.PartitionColumns);
        var rows0 = await table.ReadRowsAsync(v0);
        Assert.All(rows0, r => Assert.Equal((long)r["id"]! % 5, r["part5"]));
        var rows1 = await table.ReadRowsAsync(v1);
        Assert.Equal(Enumerable.Range(10, 10).Select(i => (long)i), Col<long>(rows1, "id").Order());
        Assert.All(rows1, r => Assert.Equal((long)r["id"]! % 2, r["part2"]));
    }
}
