using System.Buffers;
using System.Numerics;

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
    /// The read buffers, chunks, packs and read-back pieces of backup and copy runs. One pool for every run of the
    /// process, so runs that follow each other (<c>lifeline up</c> backs up and copies on every change, several times
    /// a second) reuse the same 16 and 32 MiB buffers; a pool per run made each run allocate them afresh (about
    /// 100 MB/s of large-object garbage in the soak: docs/benchmarks.md). An array that sits unused in the pool for
    /// 30 s is let go of, so the pool holds what the runs of the last half minute needed at once, not the most they
    /// ever needed (a pool released only when wholly idle never was under on-change backups, and grew to its bound).
    /// </summary>
    public static ArrayPool<byte> Runs { get; } = new TrimmingArrayPool(RunsPerBucket, TimeSpan.FromSeconds(30));

    /// <summary>The bytes the run pool (<see cref="Runs"/>) keeps unused now, for up's metrics (<see cref="VaultMemory"/>).</summary>
    public static long RunsKeptBytes => ((TrimmingArrayPool)Runs).KeptBytes;

    /// <summary>A private bounded pool (tests, and callers that want their buffers freed with the pool).</summary>
    public static ArrayPool<byte> Create() => ArrayPool<byte>.Create(32 * 1024 * 1024, PerBucket);
}

/// <summary>
/// A bounded pool of byte arrays (power-of-two sizes from 16 bytes to 32 MiB, at most <c>perBucket</c> kept per size)
/// that lets go of an array once it has sat unused in the pool for <c>idle</c>: a timer checks every half of it. Each
/// size is a stack (a rent takes the array returned last), so the arrays that stay unused are the ones beyond what is
/// in use at once, and those go. Written here because the framework's pools trim only on gen2 collections
/// (<c>ArrayPool.Shared</c>) or never (<c>ArrayPool.Create</c>).
/// </summary>
internal sealed class TrimmingArrayPool : ArrayPool<byte>
{
    private const int MinSize = 16;
    private const int MaxSize = 32 * 1024 * 1024;
    private readonly Bucket[] _buckets;
    private readonly long _idleMs;
    private readonly Func<long> _clock;
    private readonly Timer? _timer;

    /// <param name="perBucket">Arrays kept at most per size.</param>
    /// <param name="idle">How long an array may sit unused in the pool before it is let go of.</param>
    /// <param name="clock">Milliseconds (tests); default <see cref="Environment.TickCount64"/>, and a timer trims.
    /// With a clock given there is no timer: the caller calls <see cref="Trim"/>.</param>
    public TrimmingArrayPool(int perBucket, TimeSpan idle, Func<long>? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perBucket, 1);
        _idleMs = (long)idle.TotalMilliseconds;
        _clock = clock ?? (() => Environment.TickCount64);
        _buckets = new Bucket[BitOperations.Log2(MaxSize) - BitOperations.Log2(MinSize) + 1];
        for (var i = 0; i < _buckets.Length; i++)
        {
            _buckets[i] = new Bucket(MinSize << i, perBucket);
        }

        if (clock is null)
        {
            var period = TimeSpan.FromMilliseconds(Math.Max(1000, _idleMs / 2));
            _timer = new Timer(static s => ((TrimmingArrayPool)s!).Trim(), this, period, period);
        }
    }

    /// <summary>The arrays the pool keeps now (tests).</summary>
    public int Kept => _buckets.Sum(b => b.Count);

    /// <summary>The bytes of the arrays the pool keeps now: live to the GC, though no run uses them.</summary>
    public long KeptBytes => _buckets.Sum(b => (long)b.Count * b.Size);

    public override byte[] Rent(int minimumLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(minimumLength);
        if (minimumLength > MaxSize)
        {
            return GC.AllocateUninitializedArray<byte>(minimumLength);
        }

        var bucket = _buckets[Index(minimumLength)];
        return bucket.TryPop() ?? GC.AllocateUninitializedArray<byte>(bucket.Size);
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        ArgumentNullException.ThrowIfNull(array);
        if (array.Length > MaxSize)
        {
            return;
        }

        var i = Index(array.Length);
        if (_buckets[i].Size != array.Length)
        {
            throw new ArgumentException("the array is not one of this pool's sizes", nameof(array));
        }

        if (clearArray)
        {
            Array.Clear(array);
        }

        _buckets[i].Push(array, _clock());
    }

    /// <summary>Lets go of the arrays unused for the idle time; returns how many (the timer's work; public for tests).</summary>
    public int Trim()
    {
        var before = _clock() - _idleMs;
        var released = 0;
        foreach (var bucket in _buckets)
        {
            released += bucket.TrimOlderThan(before);
        }

        return released;
    }

    private static int Index(int length) =>
        Math.Max(0, BitOperations.Log2((uint)Math.Max(length, 1) - 1) + 1 - BitOperations.Log2(MinSize));

    /// <summary>One size: a stack of arrays with the time each was returned, oldest at the bottom.</summary>
    private sealed class Bucket(int size, int capacity)
    {
        private readonly byte[]?[] _arrays = new byte[capacity][];
        private readonly long[] _returned = new long[capacity];
        private int _count;

        public int Size { get; } = size;

        public int Count
        {
            get
            {
                lock (_arrays)
                {
                    return _count;
                }
            }
        }

        public byte[]? TryPop()
        {
            lock (_arrays)
            {
                if (_count == 0)
                {
                    return null;
                }

                var array = _arrays[--_count];
                _arrays[_count] = null;
                return array;
            }
        }

        public void Push(byte[] array, long now)
        {
            lock (_arrays)
            {
                for (var i = 0; i < _count; i++)
                {
                    if (ReferenceEquals(_arrays[i], array))
                    {
                        // kept, it would be lent to two renters at once: their bytes would overwrite each other's
                        throw new InvalidOperationException("a buffer was returned to the vault's pool twice (a bug in its caller); the pool did not keep it again");
                    }
                }

                if (_count < _arrays.Length)
                {
                    _arrays[_count] = array;
                    _returned[_count++] = now;
                }
            }
        }

        public int TrimOlderThan(long before)
        {
            lock (_arrays)
            {
                var old = 0;
                while (old < _count && _returned[old] <= before)
                {
                    old++;
                }

                if (old == 0)
                {
                    return 0;
                }

                Array.Copy(_arrays, old, _arrays, 0, _count - old);
                Array.Copy(_returned, old, _returned, 0, _count - old);
                Array.Clear(_arrays, _count - old, old);
                _count -= old;
                return old;
            }
        }
    }
}
