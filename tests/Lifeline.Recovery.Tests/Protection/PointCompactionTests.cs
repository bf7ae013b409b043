using Lifeline.Recovery.Protection;
using Lifeline.Recovery.Status;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Protection;

public sealed class PointCompactionTests
{
    [Fact]
    public void Keep_AMinutelyPointFor70DaysCompactedHourly_StaysWithinTheBound()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var sut = PointCompaction.Default;
        var bound = sut.Bound(TimeSpan.FromMinutes(1), TimeSpan.FromHours(1));
        var points = new List<DateTimeOffset>();
        var most = 0;
        for (var minute = 1; minute <= 70 * 24 * 60; minute++)
        {
            time.Advance(TimeSpan.FromMinutes(1));
            points.Add(time.GetUtcNow());
            if (minute % 60 == 0)
            {
                var keep = sut.Keep(points, time.GetUtcNow());
                points = [.. points.Where((_, i) => keep.Contains(i))];
            }

            most = Math.Max(most, points.Count);
        }

        Assert.InRange(most, 1, bound);
        var now = time.GetUtcNow();
        Assert.Equal(60, points.Count(p => now - p < TimeSpan.FromHours(1))); // all of the last hour
        Assert.Equal(31, points.Select(p => p.Date).Distinct().Count(d => now - d <= TimeSpan.FromDays(31))); // a point per day for a month
        Assert.Contains(points, p => now - p > TimeSpan.FromDays(35)); // and the newest of January, monthly, beyond
    }

    [Fact]
    public async Task CompactAsync_CutRecordsOfTwoDays_KeepsTheLastHourAndOnePerHour()
    {
        using var dir = new TempDirectory();
        var store = new FileSystemObjectStore(dir.Path);
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero));
        for (var i = 0; i < 2 * 24 * 4; i++) // every 15 minutes for two days
        {
            time.Advance(TimeSpan.FromMinutes(15));
            await CutLog.AppendAsync(store, new CutRecord { Time = time.GetUtcNow(), Tables = new Dictionary<string, CutTable> { ["leads"] = new(i, null) } }, CancellationToken.None);
        }

        var removed = await CutLog.CompactAsync(store, PointCompaction.Default, time.GetUtcNow(), CancellationToken.None);

        var left = await CutLog.ListAsync(store, CancellationToken.None);
        Assert.Equal(2 * 24 * 4 - left.Count, removed);
        Assert.Equal(4, left.Count(c => time.GetUtcNow() - c.Cut.Time < TimeSpan.FromHours(1)));
        Assert.InRange(left.Count, 24 + 3, 4 + 24 + 31 + 12);
        Assert.Equal(2 * 24 * 4 - 1, left[^1].Cut.Tables["leads"].Version);
    }

    [Fact]
    public async Task ApplyAsync_HeartbeatInSecondarySevenSecondsOld_StatusRedWithThatAge()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        await f.SeedLakeAsync();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        await Lifeline.Lake.Recovery.TableReplicator.ReplicateAsync(f.Leads, f.ReplicaOf("leads"));
        var heartbeat = f.ReplicaOf(ProtectionLayout.HeartbeatTable);
        await Heartbeat.EnsureAsync(heartbeat, CancellationToken.None);
        await Heartbeat.BeatAsync(heartbeat, time.GetUtcNow(), 1, "test-host", overwrite: false, CancellationToken.None);
        var beat = time.GetUtcNow();
        time.Advance(TimeSpan.FromSeconds(7));
        var report = new StatusReport(time.GetUtcNow(),
            [new ComponentStatus { Component = "leads", Color = StatusColor.Red, Reason = "no recovery point", RpoTarget = TimeSpan.FromSeconds(2), RpoMax = TimeSpan.FromSeconds(5) }]);

        var status = (await ContinuousStatus.ApplyAsync(f.Plan, f.Locations, report, CancellationToken.None)).Components.Single();

        Assert.Equal(TimeSpan.FromSeconds(7), status.Age);
        Assert.Equal(StatusColor.Red, status.Color);
        Assert.Equal(new ContinuousPosition("b", await f.Leads.GetLatestVersionAsync(), beat), status.Continuous);
        Assert.Contains("over the RPO maximum 5s", status.Reason, StringComparison.Ordinal);
    }
}
