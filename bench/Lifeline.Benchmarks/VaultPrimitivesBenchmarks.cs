using System.Security.Cryptography;
using System.Text;
using BenchmarkDotNet.Attributes;
using Lifeline.Vault.Chunking;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Benchmarks;

/// <summary>
/// The vault's hot primitives over 64 MiB buffers, in the 1 MiB blocks backup feeds them (docs/benchmarks.md,
/// "Vault primitives"). Run: dotnet run -c Release --project bench/Lifeline.Benchmarks -- --filter '*VaultPrimitives*' --job short
/// </summary>
[MemoryDiagnoser]
public class VaultPrimitivesBenchmarks
{
    private const int Size = 64 * 1024 * 1024;
    private const int Block = 1024 * 1024;
    private byte[] _random = [];
    private byte[] _text = [];
    private byte[] _dest = [];
    private FastCdc _cdc = null!;
    private MasterKey _key = null!;
    private BlobEncoder _encoder = null!;
    private BlobEncoder _encoder3 = null!;
    private ZstdSharp.Compressor _managed = null!;

    [GlobalSetup]
    public void Setup()
    {
        _random = new byte[Size];
        new Random(1).NextBytes(_random);
        _text = CsvText(Size);
        _dest = new byte[ZstdSharp.Compressor.GetCompressBound(Block) + 64];
        _cdc = new FastCdc(new byte[32], 512 * 1024, 1024 * 1024, 8 * 1024 * 1024);
        _key = MasterKey.Create();
        _encoder = new BlobEncoder(1);
        _encoder3 = new BlobEncoder(3);
        _managed = new ZstdSharp.Compressor(3);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _key.Dispose();
        _encoder.Dispose();
        _encoder3.Dispose();
        _managed.Dispose();
    }

    /// <summary>Lead rows like bench/make-dataset.py's CSV part.</summary>
    private static byte[] CsvText(int size)
    {
        var r = new Random(42);
        string[] industries = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education"];
        string[] sizes = ["Small", "Medium", "Large", "Enterprise"];
        string[] sources = ["Organic Search", "Paid Search", "Social Media", "Direct", "Referral", "Email"];
        var sb = new StringBuilder(size + 200);
        var n = 0;
        while (sb.Length < size)
        {
            sb.Append(System.Globalization.CultureInfo.InvariantCulture, $"lead_{++n:D8},{sizes[r.Next(4)]},{industries[r.Next(6)]},{r.Next(41)},{r.NextDouble() * 900:F1},{(r.NextDouble() * 59) + 1:F1},{sources[r.Next(6)]},2024-{r.Next(1, 13):D2}-{r.Next(1, 29):D2}T{r.Next(24):D2}:{r.Next(60):D2}:00Z\n");
        }

        return Encoding.ASCII.GetBytes(sb.ToString(0, size));
    }

    [Benchmark(Description = "FastCDC chunking (64 MiB)")]
    public int Chunk()
    {
        var pos = 0;
        var chunks = 0;
        while (pos < _random.Length)
        {
            pos += _cdc.FindCut(_random.AsSpan(pos));
            chunks++;
        }

        return chunks;
    }

    [Benchmark(Description = "SHA-256 (64 MiB in 1 MiB blobs)")]
    public byte Sha256()
    {
        Span<byte> h = stackalloc byte[32];
        byte x = 0;
        for (var i = 0; i < Size; i += Block)
        {
            SHA256.HashData(_random.AsSpan(i, Block), h);
            x ^= h[0];
        }

        return x;
    }

    [Benchmark(Description = "AES-256-GCM seal (64 MiB in 1 MiB blobs)")]
    public int AesGcmSeal()
    {
        var n = 0;
        for (var i = 0; i < Size; i += Block)
        {
            n += _key.Data.Seal(_random.AsSpan(i, Block), Roles.Blob, _dest);
        }

        return n;
    }

    [Benchmark(Description = "zstd-1 native (default), CSV text (64 MiB)")]
    public int ZstdText()
    {
        var n = 0;
        for (var i = 0; i < Size; i += Block)
        {
            n += _encoder.Encode(_text.AsSpan(i, Block), out _).Length;
        }

        return n;
    }

    [Benchmark(Description = "zstd-3 native, CSV text (64 MiB)")]
    public int ZstdText3()
    {
        var n = 0;
        for (var i = 0; i < Size; i += Block)
        {
            n += _encoder3.Encode(_text.AsSpan(i, Block), out _).Length;
        }

        return n;
    }

    [Benchmark(Description = "zstd-3 managed (ZstdSharp), CSV text (64 MiB)")]
    public int ZstdTextManaged()
    {
        var n = 0;
        for (var i = 0; i < Size; i += Block)
        {
            n += _managed.Wrap(_text.AsSpan(i, Block), _dest);
        }

        return n;
    }

    [Benchmark(Description = "compression decision, random data (64 MiB, skipped)")]
    public int ZstdRandomSkipped()
    {
        var n = 0;
        for (var i = 0; i < Size; i += Block)
        {
            n += _encoder.Encode(_random.AsSpan(i, Block), out _).Length;
        }

        return n;
    }
}
