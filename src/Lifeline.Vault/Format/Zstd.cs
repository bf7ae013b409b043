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

    /// <summary>A compression context (not thread-safe).</summary>
    internal sealed class Compressor(int level) : IDisposable
    {
        private readonly nint _native = s_available ? CreateCCtx() : 0;
        private readonly ZstdSharp.Compressor? _managed = s_available ? null : new ZstdSharp.Compressor(level);

        public int Wrap(ReadOnlySpan<byte> src, Span<byte> dst)
        {
            if (_managed is not null)
            {
                return _managed.Wrap(src, dst);
            }

            var n = CompressCCtx(_native, ref MemoryMarshal.GetReference(dst), (nuint)dst.Length, ref MemoryMarshal.GetReference(src), (nuint)src.Length, level);
            return IsError(n) != 0 ? throw new InvalidOperationException("zstd compression failed") : (int)n;
        }

        public void Dispose()
        {
            _managed?.Dispose();
            if (_native != 0)
            {
                FreeCCtx(_native);
            }
        }
    }

    /// <summary>A decompression context (not thread-safe).</summary>
    internal sealed class Decompressor : IDisposable
    {
        private readonly nint _native = s_available ? CreateDCtx() : 0;
        private readonly ZstdSharp.Decompressor? _managed = s_available ? null : new ZstdSharp.Decompressor();

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
            _managed?.Dispose();
            if (_native != 0)
            {
                FreeDCtx(_native);
            }
        }
    }
}
