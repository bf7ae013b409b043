namespace Lifeline.Recovery.Protection;

/// <summary>
/// The compaction of frequent recovery points (and of the cut records that go with them): every point younger than
/// <see cref="KeepAllWithin"/>, then the newest of each hour for <see cref="Hours"/> hours, of each day for
/// <see cref="Days"/> days, of each month for <see cref="Months"/> months (UTC calendar buckets, as restic's forget).
/// The number kept is bounded by <see cref="Bound"/>, whatever the write rate.
/// </summary>
/// <param name="KeepAllWithin">Every point younger than this is kept (default 1 hour).</param>
/// <param name="Hours">Hourly points kept (default 24).</param>
/// <param name="Days">Daily points kept (default 31).</param>
/// <param name="Months">Monthly points kept (default 12).</param>
public sealed record PointCompaction(TimeSpan KeepAllWithin, int Hours, int Days, int Months)
{
    /// <summary>All of the last hour, hourly for a day, daily for a month, monthly for a year.</summary>
    public static PointCompaction Default { get; } = new(TimeSpan.FromHours(1), 24, 31, 12);

    /// <summary>The most points there are when at most one is made every <paramref name="interval"/> and the
    /// compaction runs every <paramref name="compactEvery"/>: the last hour's, those made since the last compaction,
    /// one per hour, day and month.</summary>
    public int Bound(TimeSpan interval, TimeSpan compactEvery)
    {
        var every = interval <= TimeSpan.Zero ? TimeSpan.FromSeconds(1) : interval;
        return (int)Math.Ceiling(KeepAllWithin / every) + (int)Math.Ceiling(compactEvery / every) + 1 + Hours + Days + Months;
    }

    /// <summary>The points of <paramref name="times"/> to keep at <paramref name="now"/> (indices into the list).</summary>
    public IReadOnlySet<int> Keep(IReadOnlyList<DateTimeOffset> times, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(times);
        var keep = new HashSet<int>();
        var order = Enumerable.Range(0, times.Count).OrderByDescending(i => times[i]).ToList();
        foreach (var i in order.Where(i => now - times[i] < KeepAllWithin))
        {
            keep.Add(i);
        }

        Bucket(Hours, t => new DateTimeOffset(t.Year, t.Month, t.Day, t.Hour, 0, 0, TimeSpan.Zero));
        Bucket(Days, t => new DateTimeOffset(t.Year, t.Month, t.Day, 0, 0, 0, TimeSpan.Zero));
        Bucket(Months, t => new DateTimeOffset(t.Year, t.Month, 1, 0, 0, 0, TimeSpan.Zero));
        return keep;

        void Bucket(int count, Func<DateTimeOffset, DateTimeOffset> bucketOf)
        {
            var seen = new HashSet<DateTimeOffset>();
            foreach (var i in order)
            {
                if (seen.Count >= count)
                {
                    break;
                }

                if (seen.Add(bucketOf(times[i].ToUniversalTime())))
                {
                    keep.Add(i); // the newest of its bucket (order is newest first)
                }
            }
        }
    }
}
