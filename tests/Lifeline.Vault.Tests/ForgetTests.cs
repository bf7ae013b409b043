using Lifeline.Vault.Maintenance;

namespace Lifeline.Vault.Tests;

public sealed class ForgetTests
{
    private static readonly DateTimeOffset Start = new(2020, 1, 1, 2, 0, 0, TimeSpan.Zero);

    /// <summary>One snapshot per day at 02:00 UTC for <paramref name="days"/> days, plus one extra at 14:00 on every day.</summary>
    private static List<SnapshotInfo> Daily(int days, bool twicePerDay = false)
    {
        var list = new List<SnapshotInfo>();
        for (var d = 0; d < days; d++)
        {
            list.Add(Snap(Start.AddDays(d)));
            if (twicePerDay)
            {
                list.Add(Snap(Start.AddDays(d).AddHours(12)));
            }
        }

        return list;
    }

    private static SnapshotInfo Snap(DateTimeOffset t, params string[] tags)
        => new() { Id = t.ToUnixTimeSeconds().ToString("x16") + new string('0', 48), Time = t, Host = "h", Source = "lake", Paths = ["/data"], Tags = tags };

    [Theory]
    [InlineData(5, null, null, null, null, 5)]
    [InlineData(null, 7, null, null, null, 7)]
    [InlineData(null, null, 4, null, null, 4)]
    [InlineData(null, null, null, 24, null, 24)]
    [InlineData(null, null, null, null, 7, 7)]
    [InlineData(3, 7, 4, 12, 7, 7 + 12 + 7 - 2)] // the newest counts for every rule; the newest of this month and year overlap
    public void Apply_BucketRules_KeepNewestPerBucket(int? last, int? daily, int? weekly, int? monthly, int? yearly, int expectedKeptAtLeast)
    {
        var snaps = Daily(10 * 365);
        var (keep, remove) = Retention.Apply(snaps, new RetentionPolicy { KeepLast = last, KeepDaily = daily, KeepWeekly = weekly, KeepMonthly = monthly, KeepYearly = yearly });

        Assert.Equal(snaps.Count, keep.Count + remove.Count);
        Assert.True(keep.Count >= Math.Min(expectedKeptAtLeast, 7), $"kept {keep.Count}");
        // Rules are independent: the combined policy keeps exactly the union of what each rule keeps alone.
        var union = new[]
        {
            new RetentionPolicy { KeepLast = last }, new RetentionPolicy { KeepDaily = daily }, new RetentionPolicy { KeepWeekly = weekly },
            new RetentionPolicy { KeepMonthly = monthly }, new RetentionPolicy { KeepYearly = yearly },
        }.Where(p => !p.IsEmpty).SelectMany(p => Retention.Apply(snaps, p).Keep.Select(k => k.Snapshot.Id)).ToHashSet();
        Assert.Equal(union.Order(StringComparer.Ordinal), keep.Select(k => k.Snapshot.Id).Order(StringComparer.Ordinal));
        Assert.Equal(snaps.MaxBy(s => s.Time)!.Id, keep[0].Snapshot.Id); // the newest is always kept by any count rule
        if (monthly is { } m)
        {
            var months = keep.Where(k => k.Reasons.Contains("monthly")).Select(k => k.Snapshot.Time).ToList();
            Assert.Equal(m, months.Count);
            Assert.All(months.Skip(1), t => Assert.Equal(DateTime.DaysInMonth(t.Year, t.Month), t.Day)); // newest of each full month is its last day
        }

        if (yearly is { } y)
        {
            var years = keep.Where(k => k.Reasons.Contains("yearly")).Select(k => k.Snapshot.Time.Year).ToList();
            Assert.Equal(Math.Min(y, 10), years.Count);
            Assert.Equal(years.Distinct().Count(), years.Count);
        }

        if (daily is { } d && last is null && weekly is null && monthly is null && yearly is null)
        {
            Assert.Equal(d, keep.Count);
        }
    }

    [Fact]
    public void Apply_PlanRetentions_30Days2Years7Years_AreExpressible()
    {
        var snaps = Daily(9 * 365, twicePerDay: true);
        var newest = snaps.Max(s => s.Time);
        var policy = new RetentionPolicy { KeepWithin = TimeSpan.FromDays(30), KeepMonthly = 24, KeepYearly = 7 };

        var (keep, _) = Retention.Apply(snaps, policy);

        var within = keep.Where(k => k.Reasons.Any(r => r.StartsWith("within", StringComparison.Ordinal))).ToList();
        Assert.Equal(61, within.Count); // 30 days back from the newest, two per day, both ends included
        Assert.All(within, k => Assert.True(k.Snapshot.Time >= newest.AddDays(-30)));
        Assert.Equal(24, keep.Count(k => k.Reasons.Contains("monthly")));
        Assert.Equal(7, keep.Count(k => k.Reasons.Contains("yearly")));
        Assert.Contains(keep, k => k.Snapshot.Time.Year == newest.Year - 6);
        Assert.DoesNotContain(keep, k => k.Snapshot.Time.Year < newest.Year - 6);
    }

    [Fact]
    public void Apply_KeepTagsAndEmptyPolicy_BehaveLikeRestic()
    {
        var snaps = new List<SnapshotInfo> { Snap(Start), Snap(Start.AddDays(1), "release"), Snap(Start.AddDays(2)) };

        var (keep, remove) = Retention.Apply(snaps, new RetentionPolicy { KeepTags = ["release"], KeepLast = 1 });

        Assert.Equal(2, keep.Count);
        Assert.Equal(Start, Assert.Single(remove).Time);
        Assert.Throws<VaultException>(() => Retention.Apply(snaps, new RetentionPolicy()));
    }

    [Fact]
    public async Task Forget_WithFakeTime_RemovesSnapshotFilesPerGroup()
    {
        using var tmp = new TempDir();
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp), time: time);
        var src = tmp.Sub("src");
        File.WriteAllText(Path.Combine(src, "f.txt"), "x");
        var other = tmp.Sub("other");
        File.WriteAllText(Path.Combine(other, "g.txt"), "y");
        for (var i = 0; i < 5; i++)
        {
            await repo.BackupAsync(new BackupRequest { Paths = [src], Source = "lake" });
            await repo.BackupAsync(new BackupRequest { Paths = [other], Source = "registry" });
            time.Advance(TimeSpan.FromDays(1));
        }

        var dry = await repo.ForgetAsync(new RetentionPolicy { KeepLast = 2 }, dryRun: true);
        Assert.Equal(6, dry.Remove.Count);
        Assert.Equal(10, (await repo.ListSnapshotsAsync().ToListAsync()).Count);

        var result = await repo.ForgetAsync(new RetentionPolicy { KeepLast = 2 }, new SnapshotFilter { Source = "lake" });

        Assert.Equal(3, result.Remove.Count);
        var left = await repo.ListSnapshotsAsync().ToListAsync();
        Assert.Equal(2, left.Count(s => s.Source == "lake"));
        Assert.Equal(5, left.Count(s => s.Source == "registry"));
        Assert.True((await repo.CheckAsync(new CheckOptions())).Ok);
    }
}
