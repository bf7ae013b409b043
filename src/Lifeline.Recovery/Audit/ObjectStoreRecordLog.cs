using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Lifeline.Storage;

namespace Lifeline.Recovery.Audit;

/// <summary>
/// What a reader of an <see cref="ObjectStoreRecordLog{T}"/> has already read: the records by id and the objects (store and
/// key) that were not records. Reading with the same cache again fetches only the objects it does not hold yet (the listing
/// is still made, a record is fetched once), so a service that reads the log every round pays for the new records
/// only. Records are never changed once written, so a cached one stays true. Not thread-safe: one reader at a time.
/// </summary>
/// <remarks>
/// Made with a <c>group</c>, the cache is bounded: after each read it keeps only the newest <c>keepPerGroup</c>
/// records of each group (ids sort by time) and lets go of the older ones, remembering only the newest id it let go
/// of; a later read skips every id at or below that mark instead of fetching it again. A long-running reader (the
/// incidents service of <c>lifeline up</c>, which needs the newest records of each component and outcome) then holds a
/// bounded number of records however many are written (an on-change backup writes two a second under a busy
/// registry): it held every record ever read, and grew by them (docs/benchmarks.md, "Soak"). The price: a record
/// that appears after the reader passed its time (written late with an old time, or only in a store unreachable
/// until then) and older than the mark is not read by this cache; a new cache (a restart, or any other reader) reads it.
/// </remarks>
/// <typeparam name="T">The record type.</typeparam>
public sealed class RecordLogCache<T>
    where T : class
{
    private readonly Func<T, string>? _group;
    private readonly int _keepPerGroup;

    /// <summary>An unbounded cache: it holds every record read.</summary>
    public RecordLogCache()
    {
    }

    /// <summary>A bounded cache: at most <paramref name="keepPerGroup"/> records of each <paramref name="group"/> (the newest).</summary>
    public RecordLogCache(Func<T, string> group, int keepPerGroup)
    {
        ArgumentNullException.ThrowIfNull(group);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepPerGroup, 1);
        _group = group;
        _keepPerGroup = keepPerGroup;
    }

    internal SortedDictionary<string, T> Records { get; } = new(StringComparer.Ordinal);

    internal HashSet<string> NotRecords { get; } = new(StringComparer.Ordinal);

    /// <summary>The newest id let go of (null while none was): ids at or below it are not fetched again.</summary>
    internal string? ReleasedThrough { get; private set; }

    /// <summary>How many records the cache holds.</summary>
    public int Count => Records.Count;

    /// <summary>Whether the record <paramref name="id"/> needs no fetch: held, or let go of.</summary>
    internal bool Knows(string id) =>
        Records.ContainsKey(id) || (ReleasedThrough is { } mark && string.CompareOrdinal(id, mark) <= 0);

    /// <summary>Lets go of all but the newest records of each group (a bounded cache; nothing for an unbounded one).</summary>
    internal void Trim()
    {
        if (_group is null || Records.Count <= _keepPerGroup)
        {
            return;
        }

        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        List<string>? release = null;
        foreach (var (id, record) in Records.Reverse())
        {
            var g = _group(record);
            var n = seen.TryGetValue(g, out var c) ? c + 1 : 1;
            seen[g] = n;
            if (n > _keepPerGroup)
            {
                (release ??= []).Add(id);
            }
        }

        if (release is null)
        {
            return;
        }

        foreach (var id in release)
        {
            Records.Remove(id);
        }

        // release holds the ids newest first
        if (ReleasedThrough is null || string.CompareOrdinal(release[0], ReleasedThrough) > 0)
        {
            ReleasedThrough = release[0];
        }
    }
}

/// <summary>
/// One JSON object per record under a key prefix in a location's store (<c>PREFIX</c><c>yyyyMMddTHHmmss.fffZ-RANDOM.json</c>),
/// written put-if-absent under a key that sorts by time, so a record is never overwritten and a crash leaves either
/// the whole record or none; read merged by id from every store, so a record written while another store was down is
/// still read. The audit (<see cref="ObjectStoreAuditLog"/>: appends to the first store that takes them) and the
/// evidence (<see cref="Verification.ObjectStoreEvidenceLog"/>: appends to every store) are two such logs.
/// </summary>
/// <typeparam name="T">The record type.</typeparam>
internal sealed class ObjectStoreRecordLog<T>(
    string prefix,
    JsonTypeInfo<T> type,
    Func<T, string, T> withId,
    Func<CancellationToken, Task<IReadOnlyList<IObjectStore>>> stores)
    where T : class
{
    /// <summary>The key prefix of the records.</summary>
    public string Prefix => prefix;

    /// <summary>A new id for a record of <paramref name="time"/>: unique, and sorted by time.</summary>
    public static string NewId(DateTimeOffset time) =>
        time.ToUniversalTime().ToString("yyyyMMdd'T'HHmmss.fff'Z'", CultureInfo.InvariantCulture) + "-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));

    /// <summary>Writes <paramref name="record"/> under <paramref name="id"/>: to the first store that takes it, or
    /// to every store when <paramref name="everywhere"/>. Returns how many stores took it and the last failure.</summary>
    public async Task<(int Written, Exception? Last)> PutAsync(string id, T record, bool everywhere, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(record, type);
        var written = 0;
        Exception? last = null;
        foreach (var store in await stores(cancellationToken))
        {
            try
            {
                var put = await store.PutIfAbsentAsync(prefix + id + ".json", bytes, cancellationToken);
                if (everywhere)
                {
                    written++;
                }
                else if (put)
                {
                    return (1, null);
                }
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                last = e;
            }
        }

        return (written, last);
    }

    /// <summary>Every record, oldest first (by id); with a <paramref name="cache"/>, only the objects it lacks are
    /// fetched, and it holds them afterwards. An unreachable store is passed over (the records only it holds are
    /// missing from this read, and read when it is back); an object that is not a record is skipped.</summary>
    public async Task<IReadOnlyList<T>> ReadAsync(RecordLogCache<T>? cache, CancellationToken cancellationToken)
    {
        cache ??= new RecordLogCache<T>();
        foreach (var store in await stores(cancellationToken))
        {
            try
            {
                await foreach (var o in store.ListAsync(prefix, cancellationToken))
                {
                    var id = o.Key[prefix.Length..];
                    id = id.EndsWith(".json", StringComparison.Ordinal) ? id[..^5] : id;
                    var where = store.Location + "\n" + o.Key;
                    if (cache.Knows(id) || cache.NotRecords.Contains(where))
                    {
                        continue;
                    }

                    try
                    {
                        if (JsonSerializer.Deserialize(await store.GetAsync(o.Key, cancellationToken: cancellationToken), type) is { } r)
                        {
                            cache.Records[id] = withId(r, id);
                        }
                    }
                    catch (JsonException)
                    {
                        // a foreign or damaged object under the prefix is not a record; the others still are
                        cache.NotRecords.Add(where);
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException and not RecoveryException)
            {
                // an unreachable location: the records it alone holds are missing from this read
            }
        }

        cache.Trim();
        return [.. cache.Records.Values];
    }
}
