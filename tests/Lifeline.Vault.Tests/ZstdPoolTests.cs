using System.Security.Cryptography;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Tests;

[CollectionDefinition(nameof(ZstdPoolTests), DisableParallelization = true)]
public sealed class ZstdPoolCollection;

// The contexts are counted process-wide, so these run alone.
[Collection(nameof(ZstdPoolTests))]
public class ZstdPoolTests
{
    // The hour's soak on ac07c7c grew by about 86 MiB of native memory: a decompression context per thread that ever
    // decoded a blob, never freed, while the thread pool started and retired threads. Each thread here decodes once.
    [Fact]
    public void Decode_FromManyShortLivedThreads_RoundTripsAndKeepsAtMostThePoolLimitOfContexts()
    {
        using var sealer = new Sealer(RandomNumberGenerator.GetBytes(32));
        var raw = Compressible(200_000);
        var (stored, entry) = Seal(raw, sealer);
        Assert.True(entry.Compressed);
        var before = NativeZstd.Live;
        var failures = 0;
        for (var round = 0; round < 16; round++)
        {
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                if (!BlobDecoder.Decode(stored, entry, sealer, "p").AsSpan().SequenceEqual(raw))
                {
                    Interlocked.Increment(ref failures);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }

        Assert.Equal(0, failures);
        Assert.InRange(NativeZstd.Live - before, 0, NativeZstd.PoolLimit);
    }

    // Every backup run starts its workers with a fresh encoder; their compression contexts are reused, not made again.
    [Fact]
    public void BlobEncoder_OneAfterAnother_ReusesItsCompressionContexts()
    {
        var raw = Compressible(100_000);
        using (var warm = new BlobEncoder(1))
        {
            warm.Encode(raw, out _);
        }

        var before = NativeZstd.Live;
        for (var i = 0; i < 32; i++)
        {
            using var encoder = new BlobEncoder(1);
            encoder.Encode(raw, out var compressed);
            Assert.True(compressed);
        }

        Assert.Equal(before, NativeZstd.Live);
    }

    [Fact]
    public void Return_BeyondThePoolLimit_FreesTheContext()
    {
        var rented = Enumerable.Range(0, NativeZstd.PoolLimit + 4).Select(_ => NativeZstd.RentDecompressor()).ToList();
        var withAll = NativeZstd.Live;
        rented.ForEach(NativeZstd.Return);

        Assert.InRange(withAll - NativeZstd.Live, 4, NativeZstd.PoolLimit + 4);
    }

    private static byte[] Compressible(int length)
    {
        var words = "lead score model version artifact "u8.ToArray();
        return Enumerable.Range(0, length).Select(i => words[i % words.Length]).ToArray();
    }

    private static (byte[] Stored, PackEntry Entry) Seal(byte[] raw, Sealer sealer)
    {
        using var encoder = new BlobEncoder(1);
        var payload = encoder.Encode(raw, out var compressed).ToArray();
        var id = BlobId.Hash(raw);
        var ad = new byte[Roles.BlobAdSize];
        Roles.BlobAd(id, ad);
        var stored = sealer.Seal(payload, ad);
        return (stored, new PackEntry(BlobType.Data, compressed, id, 0, (uint)stored.Length, (uint)raw.Length));
    }
}
