using System.Buffers;

namespace Lifeline.Vault.Format;

/// <summary>
/// The vault's own bounded buffer pool. ArrayPool.Shared keeps up to one array per size per thread plus per-core
/// stacks, which with many thread-pool threads and 1-16 MiB chunks and packs grew the process by hundreds of MB;
/// this pool keeps at most <see cref="PerBucket"/> arrays of each power-of-two size up to 32 MiB.
/// </summary>
internal static class VaultBuffers
{
    public const int PerBucket = 4;

    /// <summary>Shared by restore, check and prune for blob-sized buffers.</summary>
    public static ArrayPool<byte> Pool { get; } = Create();

    /// <summary>A private pool for one backup run, so its read buffer, chunks and packs are freed when it ends
    /// (a long-lived process that backs up once an hour should not keep ~150 MB between runs).</summary>
    public static ArrayPool<byte> Create() => ArrayPool<byte>.Create(32 * 1024 * 1024, PerBucket);
}
