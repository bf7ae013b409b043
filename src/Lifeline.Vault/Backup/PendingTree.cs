using Lifeline.Vault.Format;

namespace Lifeline.Vault.Backup;

/// <summary>One chunk handed to the workers: the worker that hashes it writes its id here.</summary>
internal sealed class ChunkRef
{
    public BlobId Id;
}

/// <summary>
/// An entry of a <see cref="PendingTree"/> in the reader's order: a ready node, a file whose chunk ids the workers
/// are still computing, or a directory whose own tree is stored first.
/// </summary>
internal readonly record struct PendingNode(NodeJson Node, List<ChunkRef>? Chunks, PendingTree? Subtree);

/// <summary>
/// A directory the reader has walked whose tree blob cannot be written yet: its files' chunks are hashed by the workers
/// (in any order). The reader counts every chunk it hands out and seals the directory when it has walked all of it;
/// <see cref="Hashed"/> completes when the last of those chunks has its id. The tree writer takes directories in the
/// reader's post-order (children before their parent), so a subdirectory's <see cref="Id"/> is set when its parent
/// is written. Nodes keep the reader's (ordinal) order whatever order the workers finish in.
/// </summary>
internal sealed class PendingTree(NodeJson? parentNode)
{
    private readonly TaskCompletionSource _hashed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _outstanding = 1; // the reader's own hold until it seals the directory

    /// <summary>The directory's node in the parent snapshot, if any (for the new/changed/unmodified counters).</summary>
    public NodeJson? ParentNode { get; } = parentNode;

    public List<PendingNode> Nodes { get; } = [];

    /// <summary>The stored tree's id: set by the tree writer.</summary>
    public BlobId Id { get; set; }

    public Task Hashed => _hashed.Task;

    /// <summary>Reader: one more chunk of this directory's files is on its way to the workers.</summary>
    public void ChunkSent() => Interlocked.Increment(ref _outstanding);

    /// <summary>Worker: a chunk of this directory has its id.</summary>
    public void ChunkHashed()
    {
        if (Interlocked.Decrement(ref _outstanding) == 0)
        {
            _hashed.TrySetResult();
        }
    }

    /// <summary>Reader: every entry of the directory has been walked.</summary>
    public void Seal() => ChunkHashed();
}
