using System.Runtime.InteropServices;

namespace Lifeline.Vault.Format;

/// <summary>
/// zstd through the system's native libzstd when present (2-3x faster than the managed port on this hardware),
/// else ZstdSharp.Port. Both produce and read standard zstd frames, so the stored format does not depend on which.
/// </summary>
internal static partial class NativeZstd
{
    private const string Lib = "libzstd.so.1";
    private static readonly bool s_available = Probe();

    public static bool Available => s_available;

    [LibraryImport(Lib, EntryPoint = "ZSTD_createCCtx")]
    private static partial nint CreateCCtx();

    [LibraryImport(Lib, EntryPoint = "ZSTD_freeCCtx")]
    private static partial nuint FreeCCtx(nint ctx);

    [LibraryImport(Lib, EntryPoint = "ZSTD_createDCtx")]
    private static partial nint CreateDCtx();

    [LibraryImport(Lib, EntryPoint = "ZSTD_freeDCtx")]
    private static partial nuint FreeDCtx(nint ctx);

    [LibraryImport(Lib, EntryPoint = "ZSTD_compressCCtx")]
    private static partial nuint CompressCCtx(nint ctx, ref byte dst, nuint dstCapacity, ref byte src, nuint srcSize, int level);

    [LibraryImport(Lib, EntryPoint = "ZSTD_decompressDCtx")]
    private static partial nuint DecompressDCtx(nint ctx, ref byte dst, nuint dstCapacity, ref byte src, nuint srcSize);

    [LibraryImport(Lib, EntryPoint = "ZSTD_isError")]
    private static partial uint IsError(nuint code);

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("LIFELINE_ZSTD_MANAGED") == "1")
        {
            return false;
        }

        try
        {
            var c = CreateCCtx();
            FreeCCtx(c);
            return c != 0;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Most idle contexts kept per kind (and per level for compressors); more are freed on return.</summary>
    internal const int PoolLimit = 8;

    private static readonly Stack<Decompressor> s_idleDecompressors = new();
    private static readonly Dictionary<int, Stack<Compressor>> s_idleCompressors = [];
    private static int s_live;

    /// <summary>Contexts made and not yet freed, pooled or in use (for tests and the soak).</summary>
    internal static int Live => Volatile.Read(ref s_live);

    /// <summary>
    /// A decompression context from the process-wide pool; give it back with <see cref="Return(Decompressor)"/>.
    /// Pooled rather than one per thread: the thread pool starts and retires threads all day under `lifeline up`,
    /// and a context per thread that ever decoded, with no finalizer, kept one native context for every thread the
    /// process ever had.
    /// </summary>
    public static Decompressor RentDecompressor()
    {
        lock (s_idleDecompressors)
        {
            if (s_idleDecompressors.TryPop(out var d))
            {
                return d;
            }
        }

        return new Decompressor();
    }

    public static void Return(Decompressor d)
    {
        lock (s_idleDecompressors)
        {
            if (s_idleDecompressors.Count < PoolLimit)
            {
                s_idleDecompressors.Push(d);
                return;
            }
        }

        d.Dispose();
    }

    /// <summary>A compression context for <paramref name="level"/> from the pool: each backup worker takes two and gives them back.</summary>
    public static Compressor RentCompressor(int level)
    {
        lock (s_idleCompressors)
        {
            if (s_idleCompressors.TryGetValue(level, out var idle) && idle.TryPop(out var c))
            {
                return c;
            }
        }

        return new Compressor(level);
    }

    public static void Return(Compressor c)
    {
        lock (s_idleCompressors)
        {
            if (!s_idleCompressors.TryGetValue(c.Level, out var idle))
            {
                s_idleCompressors[c.Level] = idle = new Stack<Compressor>();
            }

            if (idle.Count < PoolLimit)
            {
                idle.Push(c);
                return;
            }
        }

        c.Dispose();
    }

    /// <summary>A compression context (not thread-safe). Freed by Dispose, or by the finalizer if abandoned.</summary>
    internal sealed class Compressor : IDisposable
    {
        private readonly ZstdSharp.Compressor? _managed;
        private nint _native;
        private int _freed;

        public Compressor(int level)
        {
            Level = level;
            if (s_available)
            {
                _native = CreateCCtx();
            }
            else
            {
                _managed = new ZstdSharp.Compressor(level);
            }

            Interlocked.Increment(ref s_live);
        }

        ~Compressor() => Free();

        public int Level { get; }

        public int Wrap(ReadOnlySpan<byte> src, Span<byte> dst)
        {
            if (_managed is not null)
            {
                return _managed.Wrap(src, dst);
            }

            var n = CompressCCtx(_native, ref MemoryMarshal.GetReference(dst), (nuint)dst.Length, ref MemoryMarshal.GetReference(src), (nuint)src.Length, Level);
            return IsError(n) != 0 ? throw new InvalidOperationException("zstd compression failed") : (int)n;
        }

        public void Dispose()
        {
            Free();
            GC.SuppressFinalize(this);
        }

        private void Free()
        {
            if (Interlocked.Exchange(ref _freed, 1) != 0)
            {
                return;
            }

            _managed?.Dispose();
            if (_native != 0)
            {
                FreeCCtx(_native);
                _native = 0;
            }

            Interlocked.Decrement(ref s_live);
        }
    }

    /// <summary>A decompression context (not thread-safe). Freed by Dispose, or by the finalizer if abandoned.</summary>
    internal sealed class Decompressor : IDisposable
    {
        private readonly ZstdSharp.Decompressor? _managed;
        private nint _native;
        private int _freed;

        public Decompressor()
        {
            if (s_available)
            {
                _native = CreateDCtx();
            }
            else
            {
                _managed = new ZstdSharp.Decompressor();
            }

            Interlocked.Increment(ref s_live);
        }

        ~Decompressor() => Free();

        /// <summary>Returns the decompressed length, or -1 when the frame is invalid.</summary>
        public int Unwrap(ReadOnlySpan<byte> src, Span<byte> dst)
        {
            if (_managed is not null)
            {
                try
                {
                    return _managed.Unwrap(src, dst);
                }
                catch (ZstdSharp.ZstdException)
                {
                    return -1;
                }
            }

            var n = DecompressDCtx(_native, ref MemoryMarshal.GetReference(dst), (nuint)dst.Length, ref MemoryMarshal.GetReference(src), (nuint)src.Length);
            return IsError(n) != 0 ? -1 : (int)n;
        }

        public void Dispose()
        {
            Free();
            GC.SuppressFinalize(this);
        }

        private void Free()
        {
            if (Interlocked.Exchange(ref _freed, 1) != 0)
            {
                return;
            }

            _managed?.Dispose();
            if (_native != 0)
            {
                FreeDCtx(_native);
                _native = 0;
            }

            Interlocked.Decrement(ref s_live);
        }
    }
}
