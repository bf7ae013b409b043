using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeline.Storage;

namespace Lifeline.Recovery.Protection;

/// <summary>One table's position in a cut.</summary>
/// <param name="Version">The table version that goes with the registry point (its replica in the secondary has it).</param>
/// <param name="Point">The newest vault point of the table at or before the cut, if any (its id).</param>
public sealed record CutTable(long Version, string? Point);

/// <summary>
/// A consistent cut, recorded per protection round: which registry state goes with which table versions. The table
/// versions are read just before the registry is captured, so no table of the cut is ahead of the registry (a
/// prediction never names a model version the restored registry lacks). Written as one JSON object under
/// <see cref="ProtectionLayout.CutPrefix"/> in the secondary; see docs/protection.md.
/// </summary>
public sealed record CutRecord
{
    /// <summary>When the cut was taken (the time its table versions were read).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The registry component and its vault point id, when the plan has an on-change registry.</summary>
    public string? Registry { get; init; }

    /// <summary>The registry point's id.</summary>
    public string? RegistryPoint { get; init; }

    /// <summary>Per on-change table component.</summary>
    public IReadOnlyDictionary<string, CutTable> Tables { get; init; } = new Dictionary<string, CutTable>();

    /// <summary>The newest heartbeat in the secondary when the cut was written.</summary>
    public DateTimeOffset? Heartbeat { get; init; }
}

/// <summary>The cut records of one location: append, list, choose for <c>restore --at</c>, compact.</summary>
public static class CutLog
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        WriteIndented = false,
    };

    /// <summary>Writes <paramref name="cut"/> (its key sorts by time).</summary>
    public static async Task<string> AppendAsync(IObjectStore store, CutRecord cut, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(cut);
        var key = ProtectionLayout.CutPrefix + cut.Time.UtcDateTime.ToString("yyyyMMdd'T'HHmmss.fffffff'Z'", CultureInfo.InvariantCulture) + ".json";
        await store.PutAsync(key, JsonSerializer.SerializeToUtf8Bytes(cut, Json), cancellationToken);
        return key;
    }

    /// <summary>The id of the cut stored at <paramref name="key"/>: its time stamp, <c>20261201T145600.1234567Z</c>
    /// (what <c>lifeline restore --all --cut ID</c> takes, any prefix of it).</summary>
    public static string IdOf(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var name = key.StartsWith(ProtectionLayout.CutPrefix, StringComparison.Ordinal) ? key[ProtectionLayout.CutPrefix.Length..] : key;
        return name.EndsWith(".json", StringComparison.Ordinal) ? name[..^5] : name;
    }

    /// <summary>Every cut record, oldest first (a torn or foreign object is skipped).</summary>
    public static async Task<IReadOnlyList<(string Key, CutRecord Cut)>> ListAsync(IObjectStore store, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var list = new List<(string, CutRecord)>();
        await foreach (var o in store.ListAsync(ProtectionLayout.CutPrefix, cancellationToken))
        {
            try
            {
                var cut = JsonSerializer.Deserialize<CutRecord>(await store.GetAsync(o.Key, cancellationToken: cancellationToken), Json);
                if (cut is not null)
                {
                    list.Add((o.Key, cut));
                }
            }
            catch (Exception e) when (e is JsonException or ObjectNotFoundException)
            {
                // torn by a crash, or removed by a concurrent compaction
            }
        }

        return [.. list.OrderBy(c => c.Item2.Time)];
    }

    /// <summary>The newest cut at or before <paramref name="time"/> (what <c>restore --all --at</c> brings back,
    /// <see cref="RecoveryService.RestoreSetAsync"/>), or null.</summary>
    public static async Task<CutRecord?> FindAtAsync(IObjectStore store, DateTimeOffset time, CancellationToken cancellationToken) =>
        (await ListAsync(store, cancellationToken)).Select(c => c.Cut).LastOrDefault(c => c.Time <= time);

    /// <summary>Deletes the cut records <paramref name="compaction"/> does not keep at <paramref name="now"/>; returns how many.</summary>
    public static async Task<int> CompactAsync(IObjectStore store, PointCompaction compaction, DateTimeOffset now, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(compaction);
        var cuts = await ListAsync(store, cancellationToken);
        var keep = compaction.Keep(cuts.Select(c => c.Cut.Time).ToList(), now);
        var removed = 0;
        for (var i = 0; i < cuts.Count; i++)
        {
            if (!keep.Contains(i))
            {
                await store.DeleteAsync(cuts[i].Key, cancellationToken);
                removed++;
            }
        }

        return removed;
    }
}
