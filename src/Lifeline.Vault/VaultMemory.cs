using Lifeline.Vault.Format;

namespace Lifeline.Vault;

/// <summary>What the vault's buffer pools hold in this process, for a deployment's metrics.</summary>
public static class VaultMemory
{
    /// <summary>
    /// The bytes of the pack, chunk and read buffers the vault's run pool keeps unused, for the next backup or copy.
    /// They are live to the GC until the pool lets go of them (30 s after their last use), so they are part of the heap
    /// a full collection leaves: a soak subtracts them to see the objects that stay.
    /// </summary>
    public static long PooledIdleBytes => VaultBuffers.RunsKeptBytes;
}
