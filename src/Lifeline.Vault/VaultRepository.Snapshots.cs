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

    /// <summary>Lists snapshots matching the filter, oldest first.</summary>
    public async IAsyncEnumerable<SnapshotInfo> ListSnapshotsAsync(SnapshotFilter? filter = null, [EnumeratorCancellation] CancellationToken ct = default)
    {
        foreach (var s in await LoadSnapshotsAsync(filter, ct))
        {
            yield return s;
        }
    }

    internal async Task<List<SnapshotInfo>> LoadSnapshotsAsync(SnapshotFilter? filter, CancellationToken ct)
    {
        var keys = new List<string>();
        await foreach (var o in Store.ListAsync("snapshots/", ct))
        {
            keys.Add(o.Key);
        }

        var result = new SnapshotInfo?[keys.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct }, async (i, c) =>
        {
            var id = keys[i]["snapshots/".Length..];
            if (_snapshotCache.TryGetValue(id, out var cached))
            {
                result[i] = cached;
                return;
            }

            try
            {
                var plain = await LoadFileAsync(keys[i], Roles.Snapshot, contentAddressed: true, c);
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
                // Listed by check as an error; every other snapshot stays usable.
                Log.CorruptSnapshot(Logger, keys[i], e.Message);
            }
        });

        return result.OfType<SnapshotInfo>().Where(s => Matches(s, filter)).OrderBy(s => s.Time).ThenBy(s => s.Id, StringComparer.Ordinal).ToList();
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
    public async Task<SnapshotInfo> FindSnapshotAsync(string idPrefixOrLatest, SnapshotFilter? filter = null, DateTimeOffset? at = null, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(idPrefixOrLatest);
        var all = await LoadSnapshotsAsync(filter, ct);
        if (string.Equals(idPrefixOrLatest, "latest", StringComparison.OrdinalIgnoreCase))
        {
            var candidates = at is null ? all : all.Where(s => s.Time <= at).ToList();
            return candidates.Count > 0
                ? candidates[^1]
                : throw new SnapshotNotFoundException(at is null ? "'latest'" + Describe(filter) : $"'latest' at or before {at:u}" + Describe(filter));
        }

        var matches = all.Where(s => s.Id.StartsWith(idPrefixOrLatest, StringComparison.OrdinalIgnoreCase)).ToList();
        return matches.Count switch
        {
            1 => matches[0],
            0 => throw new SnapshotNotFoundException($"'{idPrefixOrLatest}'" + Describe(filter)),
            _ => throw new SnapshotNotFoundException($"'{idPrefixOrLatest}' uniquely ({matches.Count} snapshots start with it; give more characters)"),
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
