using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using Lifeline.Vault.Crypto;

namespace Lifeline.Vault.Format;

/// <summary>One blob's record in a pack header and in the index (46 bytes on disk).</summary>
internal readonly record struct PackEntry(BlobType Type, bool Compressed, BlobId Id, uint Offset, uint Length, uint RawLength)
{
    public const int Size = 46;

    public void WriteTo(Span<byte> d)
    {
        d[0] = (byte)Type;
        d[1] = Compressed ? (byte)1 : (byte)0;
        Id.WriteTo(d[2..]);
        BinaryPrimitives.WriteUInt32LittleEndian(d[34..], Offset);
        BinaryPrimitives.WriteUInt32LittleEndian(d[38..], Length);
        BinaryPrimitives.WriteUInt32LittleEndian(d[42..], RawLength);
    }

    public static PackEntry Read(ReadOnlySpan<byte> s)
    {
        if (s[0] > 1 || s[1] > 1)
        {
            throw new FormatException("unknown blob type or flags");
        }

        var entry = new PackEntry((BlobType)s[0], s[1] == 1, new BlobId(s[2..]), BinaryPrimitives.ReadUInt32LittleEndian(s[34..]),
            BinaryPrimitives.ReadUInt32LittleEndian(s[38..]), BinaryPrimitives.ReadUInt32LittleEndian(s[42..]));
        // readers index spans and rent buffers with these as int: a value past what an array can hold is corrupt
        if (entry.Offset > int.MaxValue || entry.Length > Array.MaxLength || entry.RawLength > Array.MaxLength)
        {
            throw new FormatException($"blob {entry.Id} has an offset or length out of range ({entry.Offset}, {entry.Length}, {entry.RawLength})");
        }

        return entry;
    }

    public static byte[] EncodeList(IReadOnlyList<PackEntry> entries)
    {
        var b = new byte[entries.Count * Size];
        for (var i = 0; i < entries.Count; i++)
        {
            entries[i].WriteTo(b.AsSpan(i * Size));
        }

        return b;
    }

    public static List<PackEntry> DecodeList(ReadOnlySpan<byte> s)
    {
        if (s.Length % Size != 0)
        {
            throw new FormatException("entry list length is not a multiple of 46");
        }

        var list = new List<PackEntry>(s.Length / Size);
        for (var i = 0; i < s.Length; i += Size)
        {
            list.Add(Read(s.Slice(i, Size)));
        }

        return list;
    }
}

/// <summary>A pack of blobs being assembled in one pooled buffer (docs/vault-format.md, "Packs").</summary>
internal sealed class PackBuilder : IDisposable
{
    private readonly List<PackEntry> _entries = [];
    private readonly ArrayPool<byte> _pool;
    private byte[] _buffer;
    private int _length;

    public PackBuilder(int capacity, ArrayPool<byte>? pool = null)
    {
        _pool = pool ?? VaultBuffers.Pool;
        _buffer = _pool.Rent(capacity);
    }

    public int Length => _length;

    public int Count => _entries.Count;

    public IReadOnlyList<PackEntry> Entries => _entries;

    /// <summary>Reserves room for a sealed payload and returns the span to seal into.</summary>
    public void Add(BlobType type, BlobId id, ReadOnlySpan<byte> payload, bool compressed, int rawLength, Sealer sealer)
    {
        Ensure(payload.Length + Sealer.Overhead);
        Span<byte> ad = stackalloc byte[Roles.BlobAdSize];
        Roles.BlobAd(id, ad);
        var written = sealer.Seal(payload, ad, _buffer.AsSpan(_length));
        _entries.Add(new PackEntry(type, compressed, id, (uint)_length, (uint)written, (uint)rawLength));
        _length += written;
    }

    /// <summary>Appends an already sealed blob (prune rewrites and copies of the same repository's blobs).</summary>
    public void AddSealed(PackEntry entry, ReadOnlySpan<byte> stored)
    {
        Ensure(stored.Length);
        stored.CopyTo(_buffer.AsSpan(_length));
        _entries.Add(entry with { Offset = (uint)_length, Length = (uint)stored.Length });
        _length += stored.Length;
    }

    /// <summary>Appends the sealed header and its length; returns the pack id and the whole pack's bytes.</summary>
    public (BlobId Id, ReadOnlyMemory<byte> Bytes) Finish(Sealer sealer)
    {
        var header = PackEntry.EncodeList(_entries);
        Ensure(header.Length + Sealer.Overhead + 4);
        var written = sealer.Seal(header, Roles.PackHeader, _buffer.AsSpan(_length));
        _length += written;
        BinaryPrimitives.WriteUInt32LittleEndian(_buffer.AsSpan(_length), (uint)written);
        _length += 4;
        var bytes = _buffer.AsMemory(0, _length);
        return (BlobId.Hash(bytes.Span), bytes);
    }

    private void Ensure(int extra)
    {
        if (_length + extra <= _buffer.Length)
        {
            return;
        }

        var bigger = _pool.Rent(Math.Max(_buffer.Length * 2, _length + extra));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        _pool.Return(_buffer);
        _buffer = bigger;
    }

    public void Dispose()
    {
        if (_buffer.Length > 0)
        {
            _pool.Return(_buffer);
            _buffer = [];
        }
    }

    /// <summary>Reads a pack's header from its last bytes (the caller passes the whole pack or at least its tail).</summary>
    public static List<PackEntry> ReadHeader(ReadOnlySpan<byte> pack, Sealer sealer, string packName)
    {
        if (pack.Length < 4 + Sealer.Overhead)
        {
            throw new VaultCorruptException($"pack {packName} is too short ({pack.Length} bytes)");
        }

        var hlen = (int)BinaryPrimitives.ReadUInt32LittleEndian(pack[^4..]);
        if (hlen < Sealer.Overhead || hlen > pack.Length - 4)
        {
            throw new VaultCorruptException($"pack {packName} has an invalid header length {hlen}");
        }

        var plain = sealer.TryOpen(pack.Slice(pack.Length - 4 - hlen, hlen), Roles.PackHeader)
            ?? throw new VaultCorruptException($"pack {packName} header fails authentication");
        try
        {
            return PackEntry.DecodeList(plain);
        }
        catch (FormatException e)
        {
            throw new VaultCorruptException($"pack {packName} header does not decode ({e.Message})", e);
        }
    }
}

/// <summary>Compresses blobs (or decides not to); one instance per worker thread.</summary>
internal sealed class BlobEncoder : IDisposable
{
    private const int SampleSize = 32 * 1024;
    private const int SampleThreshold = 64 * 1024;
    private readonly NativeZstd.Compressor _sample = NativeZstd.RentCompressor(1);
    private readonly NativeZstd.Compressor _main;
    private byte[] _scratch = [];

    public BlobEncoder(int level = 1)
    {
        _main = NativeZstd.RentCompressor(Math.Clamp(level, 1, 19));
    }

    /// <summary>Returns the payload to seal: the zstd frame when it saves at least 3 %, else the input.</summary>
    public ReadOnlySpan<byte> Encode(ReadOnlySpan<byte> plain, out bool compressed)
    {
        compressed = false;
        if (plain.Length < 64)
        {
            return plain;
        }

        var bound = ZstdSharp.Compressor.GetCompressBound(plain.Length);
        if (_scratch.Length < bound)
        {
            _scratch = GC.AllocateUninitializedArray<byte>(Math.Max(bound, ZstdSharp.Compressor.GetCompressBound(SampleSize)));
        }

        if (plain.Length > SampleThreshold)
        {
            var sample = plain.Slice((plain.Length / 2) - (SampleSize / 2), SampleSize);
            var n = _sample.Wrap(sample, _scratch);
            if (n >= SampleSize * 97L / 100)
            {
                return plain;
            }
        }

        var len = _main.Wrap(plain, _scratch);
        if (len >= plain.Length * 97L / 100)
        {
            return plain;
        }

        compressed = true;
        return _scratch.AsSpan(0, len);
    }

    public void Dispose()
    {
        NativeZstd.Return(_sample);
        NativeZstd.Return(_main);
    }
}

/// <summary>Decodes stored blobs: authenticate, decompress, verify the id.</summary>
internal static class BlobDecoder
{
    /// <summary>Decrypts only (the payload as stored: a zstd frame or raw bytes); null when authentication fails.</summary>
    public static byte[]? OpenPayload(ReadOnlySpan<byte> stored, BlobId id, Sealer sealer)
    {
        Span<byte> ad = stackalloc byte[Roles.BlobAdSize];
        Roles.BlobAd(id, ad);
        return sealer.TryOpen(stored, ad);
    }

    /// <summary>Decrypts and decompresses into a new array of the raw length, and checks SHA-256 against the id.</summary>
    public static byte[] Decode(ReadOnlySpan<byte> stored, PackEntry entry, Sealer sealer, string packName)
    {
        if (entry.RawLength > Array.MaxLength)
        {
            throw new VaultCorruptException($"blob {entry.Id} in pack {packName} claims a length of {entry.RawLength} bytes, more than any blob can have");
        }

        var raw = GC.AllocateUninitializedArray<byte>((int)entry.RawLength);
        Decode(stored, entry, sealer, packName, raw);
        return raw;
    }

    /// <summary>
    /// Decrypts (the GCM tag also proves the blob id, bound as associated data) and decompresses into
    /// <paramref name="raw"/>; with <paramref name="verifyHash"/> also re-hashes the plaintext (check, prune, copy).
    /// </summary>
    public static void Decode(ReadOnlySpan<byte> stored, PackEntry entry, Sealer sealer, string packName, Span<byte> raw, bool verifyHash = true)
    {
        if (entry.RawLength > (uint)raw.Length)
        {
            throw new VaultCorruptException($"blob {entry.Id} in pack {packName} claims a length of {entry.RawLength} bytes, more than the {raw.Length} expected");
        }

        Span<byte> ad = stackalloc byte[Roles.BlobAdSize];
        Roles.BlobAd(entry.Id, ad);
        var payloadLen = stored.Length - Sealer.Overhead;
        if (payloadLen < 0)
        {
            throw new VaultCorruptException($"blob {entry.Id} in pack {packName} is truncated");
        }

        if (!entry.Compressed)
        {
            if (payloadLen != entry.RawLength || !sealer.TryOpen(stored, ad, raw))
            {
                throw new VaultCorruptException($"blob {entry.Id} in pack {packName} fails authentication");
            }
        }
        else
        {
            var payload = VaultBuffers.Pool.Rent(payloadLen);
            try
            {
                if (!sealer.TryOpen(stored, ad, payload))
                {
                    throw new VaultCorruptException($"blob {entry.Id} in pack {packName} fails authentication");
                }

                var zstd = NativeZstd.RentDecompressor();
                int n;
                try
                {
                    n = zstd.Unwrap(payload.AsSpan(0, payloadLen), raw[..(int)entry.RawLength]);
                }
                finally
                {
                    NativeZstd.Return(zstd);
                }

                if (n < 0)
                {
                    throw new VaultCorruptException($"blob {entry.Id} in pack {packName} does not decompress");
                }

                if (n != entry.RawLength)
                {
                    throw new VaultCorruptException($"blob {entry.Id} in pack {packName} decompresses to {n} bytes, expected {entry.RawLength}");
                }
            }
            finally
            {
                VaultBuffers.Pool.Return(payload);
            }
        }

        if (!verifyHash)
        {
            return;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(raw[..(int)entry.RawLength], hash);
        if (new BlobId(hash) != entry.Id)
        {
            throw new VaultCorruptException($"blob {entry.Id} in pack {packName} has the wrong content (hash mismatch)");
        }
    }
}

/// <summary>Codec of index files (docs/vault-format.md, "Index").</summary>
internal static class IndexFile
{
    private static ReadOnlySpan<byte> Magic => "LLIX"u8;

    public static byte[] Encode(IReadOnlyList<(BlobId Pack, IReadOnlyList<PackEntry> Entries)> packs)
    {
        var size = 4 + 1 + 4 + packs.Sum(p => 32 + 4 + (p.Entries.Count * PackEntry.Size));
        var b = new byte[size];
        Magic.CopyTo(b);
        b[4] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(5), (uint)packs.Count);
        var o = 9;
        foreach (var (pack, entries) in packs)
        {
            pack.WriteTo(b.AsSpan(o));
            BinaryPrimitives.WriteUInt32LittleEndian(b.AsSpan(o + 32), (uint)entries.Count);
            o += 36;
            foreach (var e in entries)
            {
                e.WriteTo(b.AsSpan(o));
                o += PackEntry.Size;
            }
        }

        return b;
    }

    public static List<(BlobId Pack, List<PackEntry> Entries)> Decode(ReadOnlySpan<byte> s, string name)
    {
        try
        {
            if (s.Length < 9 || !s[..4].SequenceEqual(Magic) || s[4] != 1)
            {
                throw new FormatException("bad magic or version");
            }

            var count = BinaryPrimitives.ReadUInt32LittleEndian(s[5..]);
            var o = 9;
            var result = new List<(BlobId, List<PackEntry>)>();
            for (var i = 0; i < count; i++)
            {
                var pack = new BlobId(s.Slice(o, 32));
                var n = (int)BinaryPrimitives.ReadUInt32LittleEndian(s[(o + 32)..]);
                o += 36;
                result.Add((pack, PackEntry.DecodeList(s.Slice(o, n * PackEntry.Size))));
                o += n * PackEntry.Size;
            }

            if (o != s.Length)
            {
                throw new FormatException("trailing bytes");
            }

            return result;
        }
        catch (Exception e) when (e is FormatException or ArgumentOutOfRangeException or ArgumentException)
        {
            throw new VaultCorruptException($"index {name} does not decode ({e.Message})", e);
        }
    }
}
