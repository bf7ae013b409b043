using Lifeline.Vault.Format;

namespace Lifeline.Vault.Tests;

/// <summary>Builds repository content through the internal API that a normal backup would never produce.</summary>
internal static class Crafted
{
    /// <summary>Writes a snapshot whose root tree holds the good snapshot's entries plus a file named <paramref name="name"/>.</summary>
    public static async Task<SnapshotInfo> SnapshotWithEntryAsync(VaultRepository repo, SnapshotInfo good, string name)
    {
        var root = await repo.LoadTreeAsync(BlobId.Parse(good.TreeId), CancellationToken.None);
        var firstFile = root.Nodes[0];
        var nodes = new List<NodeJson>(root.Nodes) { new() { Name = name, Type = "file", Mode = 420, Size = 0, Content = [] } };
        var treeId = await StoreTreeAsync(repo, new TreeJson { Nodes = nodes });
        var json = VaultRepository.ToJson(good) with { Tree = treeId.ToString() };
        var id = await repo.SaveSnapshotAsync(json, CancellationToken.None);
        return good with { Id = id, TreeId = treeId.ToString() };
    }

    /// <summary>Stores one tree blob in its own pack and index file.</summary>
    public static async Task<BlobId> StoreTreeAsync(VaultRepository repo, TreeJson tree)
    {
        var bytes = WireJson.Serialize(tree, WireJson.Default.TreeJson);
        var id = BlobId.Hash(bytes);
        using var pack = new PackBuilder(1024 * 1024);
        pack.Add(BlobType.Tree, id, bytes, false, bytes.Length, repo.Key.Data);
        var (packId, packBytes) = pack.Finish(repo.Key.Data);
        await repo.Store.PutIfAbsentAsync(VaultRepository.PackKey(packId), packBytes);
        var entries = pack.Entries.ToArray();
        repo.Index.AddPack(packId, entries);
        await repo.WriteIndexFileAsync([(packId, entries)], CancellationToken.None);
        return id;
    }
}
