using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Lifeline.Storage;
using Lifeline.Vault.Backup;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    private readonly ConcurrentDictionary<string, SnapshotInfo> _snapshotCache = new(StringComparer.Ordinal);

    /// <summary>Lists the readable snapshots matching the filter, oldest first (corrupt ones are left out: see <see cref="ScanSnapshotsAsync"/>).</summary>
    public async IAsyncEnumerable<SnapshotInfo> ListSnapshotsAsync(SnapshotFilter? filter = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var s in await LoadSnapshotsAsync(filter, ct))
        {
            yield return s;
        }
    }

    /// <summary>
    /// Lists the readable snapshots matching the filter, oldest first, and every snapshot file that cannot be read
    /// (hash mismatch, failed authentication, bad encoding), so that a caller can report them instead of silently
    /// working on the others.
    /// </summary>
    public async Task<SnapshotListing> ScanSnapshotsAsync(SnapshotFilter? filter = null, CancellationToken ct = default)
    {
        var (snapshots, corrupt) = await ReadSnapshotsAsync(ct);
        return new SnapshotListing { Snapshots = Select(snapshots, filter), Corrupt = corrupt };
    }

    internal async Task<List<SnapshotInfo>> LoadSnapshotsAsync(SnapshotFilter? filter, CancellationToken ct)
        => Select((await ReadSnapshotsAsync(ct)).Snapshots, filter);

    private static List<SnapshotInfo> Select(IEnumerable<SnapshotInfo> all, SnapshotFilter? filter)
        => all.Where(s => Matches(s, filter)).OrderBy(s => s.Time).ThenBy(s => s.Id, StringComparer.Ordinal).ToList();

    private async Task<(List<SnapshotInfo> Snapshots, List<CorruptSnapshotInfo> Corrupt)> ReadSnapshotsAsync(CancellationToken ct)
    {
        var objects = new List<ObjectInfo>();
        await foreach (var o in Store.ListAsync("snapshots/", ct))
        {
            objects.Add(o);
        }

        var result = new SnapshotInfo?[objects.Count];
        var corrupt = new CorruptSnapshotInfo?[objects.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, objects.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, c) =>
        {
            var key = objects[i].Key;
            var id = key["snapshots/".Length..];
            if (_snapshotCache.TryGetValue(id, out var cached))
            {
                result[i] = cached;
                return;
            }

            try
            {
                var plain = await LoadFileAsync(key, Roles.Snapshot, contentAddressed: true, c);
                var json = WireJson.Deserialize(plain, WireJson.Default.SnapshotJson, $"snapshot {id}");
                var info = new SnapshotInfo
                {
                    Id = id,
                    Time = json.Time,
                    Host = json.Host,
                    Source = json.Source,
                    Paths = json.Paths,
                    Tags = json.Tags,
                    ParentId = json.Parent,
                    TreeId = json.Tree,
                    OriginalId = json.OriginalId,
                    Summary = json.Summary,
                };
                _snapshotCache[id] = info;
                result[i] = info;
            }
            catch (ObjectNotFoundException)
            {
                // forgotten between list and get
            }
            catch (VaultCorruptException e)
            {
                // Reported to the caller (and by check) by id; every other snapshot stays usable.
                Log.CorruptSnapshot(Logger, key, e.Message);
                corrupt[i] = new CorruptSnapshotInfo { Id = id, Reason = ReasonOf(e, key), StoredAt = objects[i].LastModified };
            }
        });

        return (result.OfType<SnapshotInfo>().ToList(), corrupt.OfType<CorruptSnapshotInfo>().ToList());
    }

    /// <summary>The short reason of a corrupt-file error ("fails authentication"), without the generic advice around it.</summary>
    private static string ReasonOf(VaultCorruptException e, string key)
    {
        const string Prefix = "vault data is corrupt: ";
        var text = e.Message.StartsWith(Prefix, StringComparison.Ordinal) ? e.Message[Prefix.Length..] : e.Message;
        var advice = text.IndexOf("; run 'lifeline vault check", StringComparison.Ordinal);
        text = advice >= 0 ? text[..advice] : text;
        return text.StartsWith(key + " ", StringComparison.Ordinal) ? text[(key.Length + 1)..] : text;
    }

    internal static bool Matches(SnapshotInfo s, SnapshotFilter? f)
        => f is null
           || ((f.Source is null || s.Source == f.Source)
               && (f.Host is null || s.Host == f.Host)
               && (f.Tags is null || f.Tags.All(t => s.Tags.Contains(t)))
               && (f.Since is null || s.Time >= f.Since)
               && (f.Until is null || s.Time <= f.Until));

    /// <summary>Finds a snapshot by id prefix, or "latest" (newest matching the filter; with <paramref name="at"/>, newest at or before it).</summary>
    /// <exception cref="SnapshotNotFoundException">Nothing matches, or the prefix is ambiguous.</exception>
    /// <exception cref="SnapshotCorruptException">The id names a corrupt snapshot, or with "latest" a corrupt snapshot may be
    /// newer than the one that would be picked (it is never silently skipped).</exception>
    public async Task<SnapshotInfo> FindSnapshotAsync(string idPrefixOrLatest, SnapshotFilter? filter = null, DateTimeOffset? at = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(idPrefixOrLatest);
        var listing = await ScanSnapshotsAsync(filter, ct);
        var all = listing.Snapshots;
        if (string.Equals(idPrefixOrLatest, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var candidates = at is null ? all : all.Where(s => s.Time <= at).ToList();
            var chosen = candidates.Count > 0 ? candidates[^1] : null;
            var newer = listing.MaybeNewerThan(chosen);
            if (newer.Count > 0)
            {
                throw new SnapshotCorruptException(newer[^1], asLatest: true, chosen);
            }

            return chosen ?? throw new SnapshotNotFoundException(at is null ? "'latest'" + Describe(filter) : $"'latest' at or before {at:u}" + Describe(filter));
        }

        var matches = all.Where(s => s.Id.StartsWith(idPrefixOrLatest, StringComparison.OrdinalIgnoreCase)).ToList();
        var corruptMatches = listing.Corrupt.Where(s => s.Id.StartsWith(idPrefixOrLatest, StringComparison.OrdinalIgnoreCase)).ToList();
        return (matches.Count, corruptMatches.Count) switch
        {
            (1, 0) => matches[0],
            (0, 1) => throw new SnapshotCorruptException(corruptMatches[0], asLatest: false, null),
            (0, 0) => throw new SnapshotNotFoundException($"'{idPrefixOrLatest}'" + Describe(filter)),
            _ => throw new SnapshotNotFoundException($"'{idPrefixOrLatest}' uniquely ({matches.Count + corruptMatches.Count} snapshots start with it; give more characters)"),
        };
    }

    private static string Describe(SnapshotFilter? f)
    {
        if (f is null)
        {
            return "";
        }

        var parts = new List<string>();
        if (f.Source is not null)
        {
            parts.Add($"source '{f.Source}'");
        }

        if (f.Host is not null)
        {
            parts.Add($"host '{f.Host}'");
        }

        if (f.Tags is { Count: > 0 })
        {
            parts.Add($"tags '{string.Join(',', f.Tags)}'");
        }

        return parts.Count == 0 ? "" : " with " + string.Join(", ", parts);
    }

    internal async Task<string> SaveSnapshotAsync(SnapshotJson json, CancellationToken ct)
        => await SaveFileAsync("snapshots", Roles.Snapshot, WireJson.Serialize(json, WireJson.Default.SnapshotJson), ct);

    internal static SnapshotJson ToJson(SnapshotInfo s) => new()
    {
        Time = s.Time,
        Host = s.Host,
        Source = s.Source,
        Paths = [.. s.Paths],
        Tags = [.. s.Tags],
        Parent = s.ParentId,
        Tree = s.TreeId,
        OriginalId = s.OriginalId,
        Summary = s.Summary,
    };

    /// <summary>Lists a snapshot's entries depth-first in name order, optionally only at or below <paramref name="pathPrefix"/>.</summary>
    public async IAsyncEnumerable<NodeInfo> ListNodesAsync(SnapshotInfo snapshot, string? pathPrefix = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var prefix = pathPrefix is null ? null : "/" + pathPrefix.Trim('/');
        if (prefix == "/")
        {
            prefix = null;
        }

        // Pre-order: an entry, then (for a directory) everything below it, siblings in name order.
        var stack = new Stack<(string Dir, List<NodeJson> Nodes, int Next)>();
        stack.Push(("", (await LoadTreeAsync(BlobId.Parse(snapshot.TreeId), ct)).Nodes, 0));
        while (stack.Count > 0)
        {
            var (dir, nodes, next) = stack.Pop();
            if (next >= nodes.Count)
            {
                continue;
            }

            stack.Push((dir, nodes, next + 1));
            var n = nodes[next];
            var path = dir + "/" + n.Name;
            var inScope = prefix is null || path == prefix || path.StartsWith(prefix + "/", StringComparison.Ordinal);
            var onTheWay = prefix is not null && prefix.StartsWith(path + "/", StringComparison.Ordinal);
            if (inScope)
            {
                yield return ToNodeInfo(path, n);
            }

            if (n.Type == "dir" && n.Subtree is not null && (inScope || onTheWay))
            {
                stack.Push((path, (await LoadTreeAsync(BlobId.Parse(n.Subtree), ct)).Nodes, 0));
            }
        }
    }

    internal static NodeType ParseType(string type) => type switch
    {
        "file" => NodeType.File,
        "dir" => NodeType.Dir,
        "symlink" => NodeType.Symlink,
        _ => throw new VaultCorruptException($"unknown node type '{type}'"),
    };

    internal static NodeInfo ToNodeInfo(string path, NodeJson n) => new()
    {
        Path = path,
        Type = ParseType(n.Type),
        Size = n.Size,
        Mode = n.Mode,
        ModTime = FileStats.FromNs(n.Mtime),
        LinkTarget = n.Target,
    };

    /// <summary>Compares two snapshots; identical subtrees are skipped without loading them.</summary>
    public async Task<DiffResult> DiffAsync(SnapshotInfo from, SnapshotInfo to, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var added = new List<string>();
        var removed = new List<string>();
        var modified = new List<string>();
        long addedBytes = 0, removedBytes = 0;

        async Task AllBelow(string dir, string? treeId, List<string> into, Action<long> bytes)
        {
            if (treeId is null)
            {
                return;
            }

            foreach (var n in (await LoadTreeAsync(BlobId.Parse(treeId), ct)).Nodes)
            {
                into.Add(dir + "/" + n.Name);
                bytes(n.Size);
                if (n.Type == "dir")
                {
                    await AllBelow(dir + "/" + n.Name, n.Subtree, into, bytes);
                }
            }
        }

        async Task Walk(string dir, string? a, string? b)
        {
            if (a == b)
            {
                return;
            }

            var left = a is null ? [] : (await LoadTreeAsync(BlobId.Parse(a), ct)).Nodes;
            var right = b is null ? [] : (await LoadTreeAsync(BlobId.Parse(b), ct)).Nodes;
            var l = left.ToDictionary(n => n.Name, StringComparer.Ordinal);
            var r = right.ToDictionary(n => n.Name, StringComparer.Ordinal);
            foreach (var name in l.Keys.Union(r.Keys).Order(StringComparer.Ordinal))
            {
                var path = dir + "/" + name;
                l.TryGetValue(name, out var x);
                r.TryGetValue(name, out var y);
                if (x is null)
                {
                    added.Add(path);
                    addedBytes += y!.Size;
                    if (y.Type == "dir")
                    {
                        await AllBelow(path, y.Subtree, added, s => addedBytes += s);
                    }
                }
                else if (y is null)
                {
                    removed.Add(path);
                    removedBytes += x.Size;
                    if (x.Type == "dir")
                    {
                        await AllBelow(path, x.Subtree, removed, s => removedBytes += s);
                    }
                }
                else if (x.Type != y.Type)
                {
                    modified.Add(path);
                }
                else if (x.Type == "dir")
                {
                    if (x.Mode != y.Mode)
                    {
                        modified.Add(path);
                    }

                    await Walk(path, x.Subtree, y.Subtree);
                }
                else if (x.Size != y.Size || x.Mode != y.Mode || x.Mtime != y.Mtime || x.Target != y.Target
                         || !(x.Content ?? []).SequenceEqual(y.Content ?? []))
                {
                    modified.Add(path);
                }
            }
        }

        await Walk("", from.TreeId, to.TreeId);
        return new DiffResult { Added = added, Removed = removed, Modified = modified, AddedBytes = addedBytes, RemovedBytes = removedBytes };
    }
}
