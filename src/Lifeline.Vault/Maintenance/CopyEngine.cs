using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Maintenance;

/// <summary>
/// Copies snapshots to another repository (docs/vault-format.md, ordering 5): only blobs the destination lacks,
/// each decrypted with the source key, verified by hash, re-encrypted with the destination's; packs → index → snapshots.
/// </summary>
internal sealed class CopyEngine(VaultRepository src, VaultRepository dest, SnapshotFilter? filter, IProgress<VaultProgress>? progress, Locking.VaultLock destLock, CancellationToken ct)
{
    private const int PacksPerIndexFile = 8;
    private readonly List<(BlobId Pack, IReadOnlyList<PackEntry> Entries)> _pendingIndex = [];
    private readonly HashSet<BlobId> _copied = [];
    private readonly HashSet<BlobId> _visited = [];
    private PackBuilder? _builder;
    private long _blobs;
    private long _bytes;
    private int _readBack;

    public async Task<CopyResult> RunAsync()
    {
        var sources = await src.LoadSnapshotsAsync(filter, ct);
        var present = (await dest.LoadSnapshotsAsync(null, ct)).Select(s => s.OriginalId ?? s.Id).ToHashSet(StringComparer.Ordinal);
        var todo = sources.Where(s => !present.Contains(s.OriginalId ?? s.Id)).ToList();
        var skipped = sources.Count - todo.Count;
        try
        {
            var done = 0;
            foreach (var s in todo)
            {
                await CopyTreeAsync(BlobId.Parse(s.TreeId));
                progress?.Report(new VaultProgress { Phase = "copy", FilesDone = ++done, FilesTotal = todo.Count, BytesDone = _bytes, Current = s.ShortId });
            }

            await FlushPackAsync();
            if (_pendingIndex.Count > 0)
            {
                await dest.WriteIndexFileAsync([.. _pendingIndex], ct);
                _pendingIndex.Clear();
            }
        }
        finally
        {
            _builder?.Dispose();
        }

        destLock.ThrowIfExpired();
        foreach (var s in todo)
        {
            var json = VaultRepository.ToJson(s) with { OriginalId = s.OriginalId ?? s.Id, Parent = null };
            var id = await dest.SaveSnapshotAsync(json, ct);
            Log.SnapshotCopied(src.Logger, s.ShortId, dest.Store.Location, id[..8]);
        }

        return new CopyResult { SnapshotsCopied = todo.Count, SnapshotsSkipped = skipped, BlobsCopied = _blobs, BytesCopied = _bytes, PacksReadBack = _readBack };
    }

    private async Task CopyTreeAsync(BlobId treeId)
    {
        // Every tree is walked even when the destination has it: a tree there does not prove that all its content
        // is (an interrupted copy or backup may have stored the tree's pack before a content pack). Trees are small.
        if (!_visited.Add(treeId))
        {
            return;
        }

        byte[] raw;
        if (dest.Index.Contains(treeId) || _copied.Contains(treeId))
        {
            raw = await src.LoadBlobAsync(treeId, ct);
        }
        else
        {
            raw = await CopyBlobAsync(treeId, BlobType.Tree);
        }

        var tree = WireJson.Deserialize(raw, WireJson.Default.TreeJson, $"tree {treeId}");
        foreach (var n in tree.Nodes)
        {
            foreach (var c in n.Content ?? [])
            {
                var id = BlobId.Parse(c);
                if (!dest.Index.Contains(id) && !_copied.Contains(id))
                {
                    await CopyBlobAsync(id, BlobType.Data);
                }
            }

            if (n.Subtree is not null)
            {
                await CopyTreeAsync(BlobId.Parse(n.Subtree));
            }
        }
    }

    private async Task<byte[]> CopyBlobAsync(BlobId id, BlobType type)
    {
        if (!src.Index.TryGet(id, out var loc))
        {
            throw new VaultCorruptException($"blob {id} is not in the source index");
        }

        var stored = await src.Store.GetAsync(VaultRepository.PackKey(loc.Pack), loc.Entry.Offset, loc.Entry.Length, ct);
        var e = loc.Entry;
        LargeReads.Add(stored.Length);
        var payload = BlobDecoder.OpenPayload(stored, id, src.Key.Data) ?? throw new VaultCorruptException($"blob {id} in pack {loc.Pack} fails authentication");
        var raw = BlobDecoder.Decode(stored, e, src.Key.Data, loc.Pack.ToString()); // verifies the hash
        if (_builder is not null && _builder.Length + payload.Length + ((_builder.Count + 1) * PackEntry.Size) + 128 > dest.Config.PackSize)
        {
            await FlushPackAsync();
        }

        _builder ??= new PackBuilder(dest.Config.PackSize);
        _builder.Add(type, id, payload, e.Compressed, (int)e.RawLength, dest.Key.Data);
        _copied.Add(id);
        _blobs++;
        _bytes += e.RawLength;
        return raw;
    }

    private async Task FlushPackAsync()
    {
        if (_builder is not { Count: > 0 })
        {
            return;
        }

        var (id, bytes) = _builder.Finish(dest.Key.Data);
        await dest.Store.PutIfAbsentAsync(VaultRepository.PackKey(id), bytes, ct);
        var entries = _builder.Entries.ToArray();
        if (dest.Options.ReadBackPacks)
        {
            await PackReadBack.VerifyAsync(dest.Store, id, bytes.Length, entries, dest.Key.Data, "after-copy", ct);
            _readBack++;
        }
        dest.Index.AddPack(id, entries);
        _builder.Dispose();
        _builder = null;
        _pendingIndex.Add((id, entries));
        if (_pendingIndex.Count >= PacksPerIndexFile)
        {
            await dest.WriteIndexFileAsync([.. _pendingIndex], ct);
            _pendingIndex.Clear();
        }
    }
}
