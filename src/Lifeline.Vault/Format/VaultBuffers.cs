using System.Buffers;

namespace Lifeline.Vault.Format;

/// <summary>
/// The vault's own bounded buffer pools. ArrayPool.Shared keeps up to one array per size per thread plus per-core
/// stacks, which with many thread-pool threads and 1-16 MiB chunks and packs grew the process by hundreds of MB;
/// these keep at most a fixed number of arrays of each power-of-two size up to 32 MiB.
/// </summary>
internal static class VaultBuffers
{
    public const int PerBucket = 4;

    /// <summary>Shared by restore, check and prune for blob-sized buffers.</summary>
    public static ArrayPool<byte> Pool { get; } = Create();

    /// <summary>Arrays kept per size in <see cref="Runs"/>: a backup's pipeline (five per worker and two) and a copy's at once.</summary>
    public static int RunsPerBucket { get; } = Math.Max(16, (Environment.ProcessorCount * 10) + 4);

    /// <summary>
    /// The read buffers, chunks and packs of backup and copy runs. One pool for every run of the process, so runs
    /// that follow each other (<c>lifeline up</c> backs up and copies on every change, several times a second) reuse
    /// the same 16 and 32 MiB buffers; a pool per run made each run allocate them afresh (about 100 MB/s of
    /// large-object garbage in the soak: docs/benchmarks.md). Released after a minute without a run, so a process
    /// that backs up once an hour does not keep them in between.
    /// </summary>
    public static ArrayPool<byte> Runs { get; } = new IdleReleasingPool(RunsPerBucket, TimeSpan.FromMinutes(1));

    /// <summary>A private bounded pool (tests, and callers that want their buffers freed with the pool).</summary>
    public static ArrayPool<byte> Create() => ArrayPool<byte>.Create(32 * 1024 * 1024, PerBucket);
}

/// <summary>
/// A bounded pool (power-of-two buckets up to 32 MiB, at most <c>perBucket</c> arrays kept per size) that lets go of
/// everything it keeps once nothing was rented for <c>idle</c>: the next rent starts from an empty pool. An array
/// rented before the release and returned after it is accepted and let go (the new pool keeps only what it lent).
/// </summary>
internal sealed class IdleReleasingPool : ArrayPool<byte>
{
    private readonly int _perBucket;
    private readonly long _idleTicks;
    private readonly Timer _timer;
    private ArrayPool<byte> _inner;
    private long _lastRent = Environment.TickCount64;
    private int _holding;

    public IdleReleasingPool(int perBucket, TimeSpan idle)
    {
        _perBucket = perBucket;
        _idleTicks = (long)idle.TotalMilliseconds;
        _inner = NewInner();
        var period = TimeSpan.FromMilliseconds(Math.Max(1000, _idleTicks / 2));
        _timer = new Timer(static s => ((IdleReleasingPool)s!).ReleaseIfIdle(), this, period, period);
    }

    public override byte[] Rent(int minimumLength)
    {
        Volatile.Write(ref _lastRent, Environment.TickCount64);
        Volatile.Write(ref _holding, 1);
        return Volatile.Read(ref _inner).Rent(minimumLength);
    }

    public override void Return(byte[] array, bool clearArray = false) => Volatile.Read(ref _inner).Return(array, clearArray);

    /// <summary>Lets go of the kept arrays when nothing was rented for the idle time (the timer's work; public for tests).</summary>
    public bool ReleaseIfIdle()
    {
        if (Volatile.Read(ref _holding) == 0 || Environment.TickCount64 - Volatile.Read(ref _lastRent) < _idleTicks)
        {
            return false;
        }

        Volatile.Write(ref _holding, 0);
        Volatile.Write(ref _inner, NewInner());
        return true;
    }

    private ArrayPool<byte> NewInner() => Create(32 * 1024 * 1024, _perBucket);
}
