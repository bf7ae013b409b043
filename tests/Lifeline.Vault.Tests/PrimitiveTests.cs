using Lifeline.Vault.Chunking;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Tests;

public sealed class PrimitiveTests
{
    private static FastCdc CreateSut(byte seed = 7) => new(Enumerable.Repeat(seed, 32).ToArray(), 16 * 1024, 64 * 1024, 256 * 1024);

    private static List<int> Cuts(FastCdc cdc, byte[] data)
    {
        var cuts = new List<int>();
        var pos = 0;
        while (pos < data.Length)
        {
            var cut = cdc.FindCut(data.AsSpan(pos, Math.Min(cdc.MaxSize, data.Length - pos)));
            Assert.InRange(cut, 1, cdc.MaxSize);
            if (pos + cut < data.Length)
            {
                Assert.True(cut >= cdc.MinSize, $"chunk of {cut} bytes below the minimum");
            }

            pos += cut;
            cuts.Add(pos);
        }

        return cuts;
    }

    [Fact]
    public void FindCut_SameDataAndSeed_IsDeterministicWithinBounds()
    {
        var data = Vaults.RandomBytes(4 * 1024 * 1024, 3);

        var a = Cuts(CreateSut(), data);
        var b = Cuts(CreateSut(), data);
        var other = Cuts(CreateSut(seed: 8), data);

        Assert.Equal(a, b);
        Assert.NotEqual(a, other);
        var average = data.Length / a.Count;
        Assert.InRange(average, 40 * 1024, 160 * 1024);
    }

    [Fact]
    public void FindCut_AfterAnInsertion_KeepsLaterBoundaries()
    {
        var data = Vaults.RandomBytes(4 * 1024 * 1024, 4);
        var inserted = new byte[data.Length + 100];
        Array.Copy(data, 0, inserted, 0, 1_000_000);
        Vaults.RandomBytes(100, 9).CopyTo(inserted, 1_000_000);
        Array.Copy(data, 1_000_000, inserted, 1_000_100, data.Length - 1_000_000);

        var before = Cuts(CreateSut(), data);
        var after = Cuts(CreateSut(), inserted).Select(c => c - 100).ToHashSet();

        var later = before.Where(c => c > 1_400_000).ToList();
        Assert.NotEmpty(later);
        var kept = later.Count(after.Contains);
        Assert.True(kept >= later.Count - 1, $"only {kept} of {later.Count} boundaries after the insertion survived");
        Assert.Equal(before.Where(c => c < 1_000_000), Cuts(CreateSut(), inserted).Where(c => c < 1_000_000));
    }

    [Fact]
    public void Encode_RandomData_IsStoredRawAndTextCompressed()
    {
        using var encoder = new BlobEncoder();

        var random = encoder.Encode(Vaults.RandomBytes(1024 * 1024, 1), out var randomCompressed).Length;
        var text = encoder.Encode(Vaults.TextBytes(1024 * 1024, 1), out var textCompressed).Length;

        Assert.False(randomCompressed);
        Assert.Equal(1024 * 1024, random);
        Assert.True(textCompressed);
        Assert.True(text < 512 * 1024);
    }

    [Fact]
    public void Decode_TamperedBlob_ThrowsCorrupt()
    {
        using var key = MasterKey.Create();
        using var pack = new PackBuilder(1024 * 1024);
        var plain = Vaults.TextBytes(10_000, 2);
        using var encoder = new BlobEncoder();
        var payload = encoder.Encode(plain, out var compressed).ToArray();
        pack.Add(BlobType.Data, BlobId.Hash(plain), payload, compressed, plain.Length, key.Data);
        var (_, bytes) = pack.Finish(key.Data);
        var header = PackBuilder.ReadHeader(bytes.Span, key.Data, "p");
        var e = Assert.Single(header);
        var stored = bytes.Slice((int)e.Offset, (int)e.Length).ToArray();

        Assert.Equal(plain, BlobDecoder.Decode(stored, e, key.Data, "p"));
        stored[20] ^= 1;
        Assert.Throws<VaultCorruptException>(() => BlobDecoder.Decode(stored, e, key.Data, "p"));
        Assert.Throws<VaultCorruptException>(() => BlobDecoder.Decode(bytes.Slice((int)e.Offset, (int)e.Length).ToArray(), e with { Id = BlobId.Hash([1]) }, key.Data, "p"));
    }

    [Fact]
    public void MemoryIndex_BytesPerBlob_StaysBelow64()
    {
        const int n = 200_000;
        var entries = new PackEntry[n];
        var rng = new Random(1);
        var idBytes = new byte[32];
        for (var i = 0; i < n; i++)
        {
            rng.NextBytes(idBytes);
            entries[i] = new PackEntry(BlobType.Data, false, new BlobId(idBytes), (uint)i, 1000, 1000);
        }

        var index = new Index.MemoryIndex();
        var packs = new List<(BlobId, IEnumerable<PackEntry>)>();
        for (var p = 0; p < n / 16; p++)
        {
            rng.NextBytes(idBytes);
            packs.Add((new BlobId(idBytes), new ArraySegment<PackEntry>(entries, p * 16, 16)));
        }

        index.AddPacks(packs);
        packs = null;

        var perBlob = index.ApproximateBytes / (double)n;
        Assert.Equal(n, index.BlobCount);
        Assert.True(perBlob < 64, $"{perBlob:F1} bytes per blob");
        Assert.True(index.TryGet(entries[12345].Id, out var found));
        Assert.Equal(12345u, found.Entry.Offset);
        Assert.False(index.Contains(BlobId.Hash([1, 2, 3])));
        GC.KeepAlive(index);
    }
}
