using Lifeline.Storage;
using Lifeline.Vault.Format;
using Lifeline.Vault.Locking;

namespace Lifeline.Vault.Maintenance;

/// <summary>
/// Deletes data no snapshot uses (docs/vault-format.md, "Read and write ordering" 4): new packs → new index →
/// delete old index files → delete old packs. A crash at any step leaves a repository that checks and restores.
/// </summary>
internal sealed class PruneEngine(VaultRepository repo, VaultLock held, bool dryRun, IProgress<VaultProgress>? progress, CancellationToken ct)
{
    /// <summary>A pack whose unused bytes are at least this share of it is rewritten.</summary>
    public const double RewriteThreshold = 0.2;
    private const int PacksPerIndexFile = 512;

    public async Task<PruneResult> RunAsync()
    {
        var indexErrors = new List<string>();
        var indexFiles = await CheckEngine.LoadIndexFilesAsync(repo, indexErrors.Add, ct);
        if (indexErrors.Count > 0)
        {
            throw new VaultCorruptException($"prune refuses to run with a damaged index ({indexErrors[0]})");
        }

        var packSizes = await CheckEngine.ListPacksAsync(repo, null, ct);
        var used = await UsedBlobsAsync();
        progress?.Report(new VaultProgress { Phase = "prune", Current = $"{used.Count} blobs in use" });

        // Deterministic order: packs as listed by the index files, first listing wins.
        var packs = new Dictionary<BlobId, List<PackEntry>>();
        foreach (var (_, list) in indexFiles)
        {
            foreach (var (pack, entries) in list)
            {
                packs.TryAdd(pack, entries);
            }
        }

        var kept = new HashSet<BlobId>();
        var keepPacks = new List<(BlobId Pack, IReadOnlyList<PackEntry> Entries)>();
        var rewrite = new List<(BlobId Pack, List<PackEntry> Keep)>();
        var delete = new List<BlobId>();
        long blobsRemoved = 0;
        foreach (var (pack, entries) in packs.OrderBy(p => p.Key))
        {
            if (!packSizes.TryGetValue(pack, out var size))
            {
                // Indexed but missing: its blobs must be found in another pack (checked below) or prune stops.
                continue;
            }

            var keepEntries = new List<PackEntry>();
            long unusedBytes = 0;
            foreach (var e in entries)
            {
                if (used.Contains(e.Id) && kept.Add(e.Id))
                {
                    keepEntries.Add(e);
                }
                else
                {
                    unusedBytes += e.Length;
                    blobsRemoved++;
                }
            }

            if (keepEntries.Count == 0)
            {
                delete.Add(pack);
            }
            else if (unusedBytes >= size * RewriteThreshold)
            {
                rewrite.Add((pack, keepEntries));
            }
            else
            {
                keepPacks.Add((pack, entries));
                blobsRemoved -= entries.Count - keepEntries.Count; // stay in the kept pack (and its index entries)
            }
        }

        var missing = used.Where(b => !kept.Contains(b)).ToList();
        if (missing.Count > 0)
        {
            throw new VaultCorruptException($"prune refuses to run: {missing.Count} blobs in use are in no existing pack (e.g. {missing[0]}); run 'lifeline vault check'");
        }

        var orphans = packSizes.Keys.Where(p => !packs.ContainsKey(p)).ToList();
        long bytesDeleted = delete.Sum(p => packSizes[p]) + rewrite.Sum(r => packSizes[r.Pack]) + orphans.Sum(p => packSizes[p]);
        if (dryRun)
        {
            return new PruneResult
            {
                PacksDeleted = delete.Count + rewrite.Count + orphans.Count,
                PacksRewritten = rewrite.Count,
                BlobsRemoved = blobsRemoved,
                BytesFreed = bytesDeleted - rewrite.Sum(r => r.Keep.Sum(e => (long)e.Length)),
                IndexFilesReplaced = indexFiles.Count,
                DryRun = true,
            };
        }

        // 1. New packs with the used blobs of packs to rewrite (sealed bytes copied after verification).
        var newPacks = new List<(BlobId Pack, IReadOnlyList<PackEntry> Entries)>();
        long bytesWritten = 0;
        PackBuilder? builder = null;
        async Task FlushAsync()
        {
            if (builder is { Count: > 0 })
            {
                var (id, bytes) = builder.Finish(repo.Key.Data);
                await repo.Store.PutIfAbsentAsync(VaultRepository.PackKey(id), bytes, ct);
                newPacks.Add((id, builder.Entries.ToArray()));
                bytesWritten += bytes.Length;
            }

            builder?.Dispose();
            builder = null;
        }

        try
        {
            var done = 0;
            foreach (var (pack, keepEntries) in rewrite)
            {
                var data = await repo.Store.GetAsync(VaultRepository.PackKey(pack), cancellationToken: ct);
                LargeReads.Add(data.Length);
                foreach (var e in keepEntries)
                {
                    var stored = data.AsMemory((int)e.Offset, (int)e.Length);
                    BlobDecoder.Decode(stored.Span, e, repo.Key.Data, pack.ToString()); // never copy a damaged blob
                    if (builder is not null && builder.Length + e.Length + ((builder.Count + 1) * PackEntry.Size) + 64 > repo.Config.PackSize)
                    {
                        await FlushAsync();
                    }

                    builder ??= new PackBuilder(repo.Config.PackSize);
                    builder.AddSealed(e, stored.Span);
                }

                progress?.Report(new VaultProgress { Phase = "prune", FilesDone = ++done, FilesTotal = rewrite.Count, Current = "rewriting packs" });
            }

            await FlushAsync();
        }
        finally
        {
            builder?.Dispose();
        }

        // 2. The new complete index.
        var all = keepPacks.Concat(newPacks).ToList();
        for (var i = 0; i < all.Count; i += PacksPerIndexFile)
        {
            await repo.WriteIndexFileAsync(all.Skip(i).Take(PacksPerIndexFile).ToList(), ct);
        }

        // 3. Old index files, then 4. old packs; never while someone else may hold the repository.
        held.ThrowIfExpired();
        foreach (var (key, _) in indexFiles)
        {
            await repo.Store.DeleteAsync(key, ct);
        }

        var deletePacks = delete.Concat(rewrite.Select(r => r.Pack)).Concat(orphans).ToList();
        var deleted = 0;
        foreach (var pack in deletePacks)
        {
            held.ThrowIfExpired();
            await repo.Store.DeleteAsync(VaultRepository.PackKey(pack), ct);
            progress?.Report(new VaultProgress { Phase = "prune", FilesDone = ++deleted, FilesTotal = deletePacks.Count, Current = "deleting packs" });
        }

        await repo.RefreshIndexAsync(ct);
        var result = new PruneResult
        {
            PacksDeleted = deletePacks.Count,
            PacksRewritten = rewrite.Count,
            PacksWritten = newPacks.Count,
            BlobsRemoved = blobsRemoved,
            BytesFreed = bytesDeleted - bytesWritten,
            IndexFilesReplaced = indexFiles.Count,
        };
        Log.PruneDone(repo.Logger, result.PacksDeleted, result.PacksRewritten, result.BytesFreed);
        return result;
    }

    private async Task<HashSet<BlobId>> UsedBlobsAsync()
    {
        var used = new HashSet<BlobId>();
        var listing = await repo.ScanSnapshotsAsync(null, ct);
        if (listing.Corrupt.Count > 0)
        {
            // The data a corrupt snapshot uses cannot be known: deleting "unused" data could destroy what repairing it needs.
            var c = listing.Corrupt[0];
            throw new VaultCorruptException($"snapshot {c.ShortId} ({c.Reason}); prune cannot tell which data it uses and deletes nothing");
        }

        foreach (var s in listing.Snapshots)
        {
            var stack = new Stack<BlobId>();
            stack.Push(BlobId.Parse(s.TreeId));
            while (stack.Count > 0)
            {
                var tree = stack.Pop();
                if (!used.Add(tree))
                {
                    continue;
                }

                TreeJson json;
                try
                {
                    json = await repo.LoadTreeAsync(tree, ct);
                }
                catch (Exception e) when (e is VaultCorruptException or ObjectNotFoundException)
                {
                    throw new VaultCorruptException($"prune refuses to run: tree {tree} of snapshot {s.ShortId} cannot be read ({e.Message})", e);
                }

                foreach (var n in json.Nodes)
                {
                    if (n.Subtree is not null)
                    {
                        stack.Push(BlobId.Parse(n.Subtree));
                    }

                    foreach (var c in n.Content ?? [])
                    {
                        used.Add(BlobId.Parse(c));
                    }
                }
            }
        }

        return used;
    }
}
