using System.Collections.Concurrent;
using Lifeline.Storage;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Maintenance;

/// <summary>Repository consistency check (docs/vault-format.md, "Check"). Never writes.</summary>
internal sealed class CheckEngine(VaultRepository repo, CheckOptions options, IProgress<VaultProgress>? progress, CancellationToken ct)
{
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly List<string> _warnings = [];

    public static BlobId? ParsePackKey(string key)
    {
        var name = key[(key.LastIndexOf('/') + 1)..];
        return BlobId.TryParse(name, out var id) && key == VaultRepository.PackKey(id) ? id : null;
    }

    /// <summary>Every pack in the store with its size.</summary>
    public static async Task<Dictionary<BlobId, long>> ListPacksAsync(VaultRepository repo, List<string>? strays, CancellationToken ct)
    {
        var packs = new Dictionary<BlobId, long>();
        await foreach (var o in repo.Store.ListAsync("data/", ct))
        {
            if (ParsePackKey(o.Key) is { } id)
            {
                packs[id] = o.Size;
            }
            else
            {
                strays?.Add(o.Key);
            }
        }

        return packs;
    }

    /// <summary>Every index file, decoded (corrupt ones are reported via <paramref name="onError"/>).</summary>
    public static async Task<List<(string Key, List<(BlobId Pack, List<PackEntry> Entries)> Packs)>> LoadIndexFilesAsync(VaultRepository repo, Action<string> onError, CancellationToken ct)
    {
        var keys = new List<string>();
        await foreach (var o in repo.Store.ListAsync("index/", ct))
        {
            keys.Add(o.Key);
        }

        var result = new (string, List<(BlobId, List<PackEntry>)>)?[keys.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, keys.Count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (i, c) =>
        {
            try
            {
                var plain = await repo.LoadFileAsync(keys[i], Roles.Index, contentAddressed: true, c);
                result[i] = (keys[i], IndexFile.Decode(plain, keys[i]));
            }
            catch (VaultCorruptException e)
            {
                onError(e.Message);
            }
            catch (ObjectNotFoundException)
            {
            }
        });
        return result.OfType<(string, List<(BlobId, List<PackEntry>)>)>().ToList();
    }

    public async Task<CheckResult> RunAsync()
    {
        var strays = new List<string>();
        var packs = await ListPacksAsync(repo, strays, ct);
        foreach (var s in strays)
        {
            _warnings.Add($"object {s} in data/ is not a pack (ignored)");
        }

        var indexFiles = await LoadIndexFilesAsync(repo, e => _errors.Enqueue(e), ct);
        var indexed = new Dictionary<BlobId, List<PackEntry>>();
        long blobs = 0;
        foreach (var (key, list) in indexFiles)
        {
            foreach (var (pack, entries) in list)
            {
                blobs += entries.Count;
                if (!packs.TryGetValue(pack, out var size))
                {
                    _errors.Enqueue($"index {key} references pack {pack}, which does not exist");
                    continue;
                }

                long blobsEnd = 0;
                foreach (var e in entries)
                {
                    blobsEnd = Math.Max(blobsEnd, (long)e.Offset + e.Length);
                    if ((long)e.Offset + e.Length > size - 4)
                    {
                        _errors.Enqueue($"index {key}: blob {e.Id} lies outside pack {pack} (offset {e.Offset} + {e.Length} > {size} bytes)");
                    }
                }

                // a pack is its blobs, then its sealed header (46 bytes per entry), then the header's length: one
                // shorter than the entries its index lists need is truncated, found here without reading it
                var needed = blobsEnd + ((long)entries.Count * PackEntry.Size) + Sealer.Overhead + 4;
                if (size < needed && blobsEnd <= size - 4)
                {
                    _errors.Enqueue($"pack {pack} is truncated: {size} bytes, its {entries.Count} indexed blobs and header need at least {needed} (damaged after it was written; its blobs are intact in the other locations the plan copies to)");
                }

                indexed.TryAdd(pack, entries);
            }
        }

        foreach (var pack in packs.Keys.Where(p => !indexed.ContainsKey(p)).Order())
        {
            _warnings.Add($"pack {pack} is in no index (left by an interrupted backup or prune; 'lifeline vault prune' removes it)");
        }

        var snapshots = 0;
        long trees = 0;
        var snapshotKeys = new List<string>();
        await foreach (var o in repo.Store.ListAsync("snapshots/", ct))
        {
            snapshotKeys.Add(o.Key);
        }

        var seenTrees = new HashSet<BlobId>();
        foreach (var key in snapshotKeys)
        {
            ct.ThrowIfCancellationRequested();
            SnapshotJson snap;
            try
            {
                snap = WireJson.Deserialize(await repo.LoadFileAsync(key, Roles.Snapshot, contentAddressed: true, ct), WireJson.Default.SnapshotJson, key);
            }
            catch (VaultCorruptException e)
            {
                _errors.Enqueue(e.Message);
                continue;
            }

            snapshots++;
            if (!BlobId.TryParse(snap.Tree, out var root))
            {
                _errors.Enqueue($"{key} has an invalid tree id '{snap.Tree}'");
                continue;
            }

            var stack = new Stack<(BlobId Tree, string Path)>();
            stack.Push((root, ""));
            while (stack.Count > 0)
            {
                var (treeId, path) = stack.Pop();
                if (!seenTrees.Add(treeId))
                {
                    continue;
                }

                trees++;
                TreeJson tree;
                try
                {
                    tree = await repo.LoadTreeAsync(treeId, ct);
                }
                catch (Exception e) when (e is VaultCorruptException or ObjectNotFoundException)
                {
                    _errors.Enqueue($"{key}: tree {treeId} of '{(path.Length == 0 ? "/" : path)}': {e.Message}");
                    continue;
                }

                foreach (var n in tree.Nodes)
                {
                    var p = path + "/" + n.Name;
                    if (n.Type == "dir")
                    {
                        if (BlobId.TryParse(n.Subtree, out var sub))
                        {
                            stack.Push((sub, p));
                        }
                        else
                        {
                            _errors.Enqueue($"{key}: directory '{p}' has an invalid subtree id");
                        }
                    }
                    else if (n.Type == "file")
                    {
                        foreach (var c in n.Content ?? [])
                        {
                            if (!BlobId.TryParse(c, out var b) || !repo.Index.Contains(b))
                            {
                                _errors.Enqueue($"{key}: blob {c} of '{p}' is not in the index (data missing)");
                            }
                        }
                    }
                }
            }
        }

        var packsRead = 0;
        long bytesRead = 0;
        if (options.ReadData || options.ReadDataSubset is not null)
        {
            var (n, t) = options.ReadDataSubset ?? (1, 1);
            if (t < 1 || n < 1 || n > t)
            {
                throw new ArgumentException($"invalid read-data subset {n}/{t}: need 1 <= n <= t");
            }

            var toRead = packs.Where(p => p.Key.Prefix32 % (uint)t == (uint)(n - 1)).OrderBy(p => p.Key).ToList();
            long total = toRead.Sum(p => p.Value);
            var workers = Math.Max(1, repo.Options.Workers ?? Environment.ProcessorCount);
            await Parallel.ForEachAsync(toRead, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = ct }, async (p, c) =>
            {
                await ReadPackAsync(p.Key, indexed.GetValueOrDefault(p.Key), c);
                var done = Interlocked.Increment(ref packsRead);
                var bytes = Interlocked.Add(ref bytesRead, p.Value);
                progress?.Report(new VaultProgress { Phase = "read-data", FilesDone = done, FilesTotal = toRead.Count, BytesDone = bytes, BytesTotal = total });
            });
        }

        return new CheckResult
        {
            Errors = [.. _errors],
            Warnings = _warnings,
            Snapshots = snapshots,
            Trees = trees,
            Packs = packs.Count,
            Blobs = blobs,
            PacksRead = packsRead,
            BytesRead = bytesRead,
        };
    }

    private async Task ReadPackAsync(BlobId pack, List<PackEntry>? indexEntries, CancellationToken c)
    {
        byte[] data;
        try
        {
            data = await repo.Store.GetAsync(VaultRepository.PackKey(pack), cancellationToken: c);
        }
        catch (ObjectNotFoundException)
        {
            _errors.Enqueue($"pack {pack} disappeared during the check");
            return;
        }

        LargeReads.Add(data.Length);
        if (BlobId.Hash(data) != pack)
        {
            _errors.Enqueue($"pack {pack} is corrupt: its content does not match its id (hash mismatch)");
        }

        List<PackEntry> header;
        try
        {
            header = PackBuilder.ReadHeader(data, repo.Key.Data, pack.ToString());
        }
        catch (VaultCorruptException e)
        {
            _errors.Enqueue(e.Message);
            return;
        }

        if (indexEntries is not null && !indexEntries.Order(EntryOrder.Instance).SequenceEqual(header.Order(EntryOrder.Instance)))
        {
            _errors.Enqueue($"pack {pack}: header and index disagree about its blobs");
        }

        foreach (var e in header)
        {
            if ((long)e.Offset + e.Length > data.Length)
            {
                _errors.Enqueue($"pack {pack}: blob {e.Id} lies outside the pack");
                continue;
            }

            try
            {
                var raw = VaultBuffers.Pool.Rent((int)e.RawLength);
                try
                {
                    BlobDecoder.Decode(data.AsSpan((int)e.Offset, (int)e.Length), e, repo.Key.Data, pack.ToString(), raw);
                }
                finally
                {
                    VaultBuffers.Pool.Return(raw);
                }
            }
            catch (VaultCorruptException ex)
            {
                _errors.Enqueue(ex.Message);
            }
        }
    }

    private sealed class EntryOrder : IComparer<PackEntry>
    {
        public static readonly EntryOrder Instance = new();

        public int Compare(PackEntry x, PackEntry y) => x.Offset.CompareTo(y.Offset);
    }
}
