using System.Globalization;

namespace Lifeline.Vault.Maintenance;

/// <summary>restic's retention policy semantics (docs/vault-format.md, "Retention"), in UTC.</summary>
internal static class Retention
{
    /// <summary>Groups snapshots by host, source and paths (the unit retention applies to).</summary>
    public static string GroupKey(SnapshotInfo s) => $"{s.Host}\n{s.Source}\n{string.Join('\n', s.Paths.Order(StringComparer.Ordinal))}";

    /// <summary>Applies the policy to one group; returns kept (with reasons) and removed, both newest first.</summary>
    public static (List<KeptSnapshot> Keep, List<SnapshotInfo> Remove) Apply(IEnumerable<SnapshotInfo> group, RetentionPolicy policy)
    {
        if (policy.IsEmpty)
        {
            throw new VaultException("refusing to forget: the policy keeps nothing; give at least one --keep-* option");
        }

        var sorted = group.OrderByDescending(s => s.Time).ThenByDescending(s => s.Id, StringComparer.Ordinal).ToList();
        var keep = new List<KeptSnapshot>();
        var remove = new List<SnapshotInfo>();
        if (sorted.Count == 0)
        {
            return (keep, remove);
        }

        var buckets = new List<Bucket>
        {
            new("last", policy.KeepLast, null),
            new("hourly", policy.KeepHourly, t => (t.Year * 1_000_000L) + (t.Month * 10_000L) + (t.Day * 100L) + t.Hour),
            new("daily", policy.KeepDaily, t => (t.Year * 10_000L) + (t.Month * 100L) + t.Day),
            new("weekly", policy.KeepWeekly, t => (ISOWeek.GetYear(t.UtcDateTime) * 100L) + ISOWeek.GetWeekOfYear(t.UtcDateTime)),
            new("monthly", policy.KeepMonthly, t => (t.Year * 100L) + t.Month),
            new("yearly", policy.KeepYearly, t => t.Year),
        };
        var newest = sorted[0].Time;
        for (var i = 0; i < sorted.Count; i++)
        {
            var s = sorted[i];
            var t = s.Time.ToUniversalTime();
            var reasons = new List<string>();
            if (policy.KeepTags is { Count: > 0 } tags && s.Tags.Any(tags.Contains))
            {
                reasons.Add("tag");
            }

            if (policy.KeepWithin is { } within && s.Time >= newest - within)
            {
                reasons.Add($"within {within}");
            }

            foreach (var b in buckets)
            {
                if (b.Remaining == 0)
                {
                    continue;
                }

                var value = b.Of is null ? i : b.Of(t);
                if (value != b.Last)
                {
                    reasons.Add(b.Name);
                    b.Last = value;
                    if (b.Remaining > 0)
                    {
                        b.Remaining--;
                    }
                }
            }

            if (reasons.Count > 0)
            {
                keep.Add(new KeptSnapshot(s, reasons));
            }
            else
            {
                remove.Add(s);
            }
        }

        return (keep, remove);
    }

    private sealed class Bucket(string name, int? count, Func<DateTimeOffset, long>? of)
    {
        public string Name { get; } = name;

        /// <summary>Snapshots this rule may still keep; negative means unlimited, 0 means the rule is off or used up.</summary>
        public int Remaining { get; set; } = count ?? 0;

        public Func<DateTimeOffset, long>? Of { get; } = of;

        public long? Last { get; set; }
    }
}
