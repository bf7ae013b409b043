using Lifeline.Vault.Format;

namespace Lifeline.Vault.Index;

/// <summary>Where a blob is: 16 bytes (pack ordinal 30 bits + type bit + compressed bit, offset, length, raw length).</summary>
internal readonly struct IndexEntry
{
    private const uint TreeBit = 1u << 30;
    private const uint CompressedBit = 1u << 31;
    private readonly uint _packAndFlags;

    public IndexEntry(int packOrdinal, PackEntry e)
    {
        _packAndFlags = (uint)packOrdinal | (e.Type == BlobType.Tree ? TreeBit : 0) | (e.Compressed ? CompressedBit : 0);
        Offset = e.Offset;
        Length = e.Length;
        RawLength = e.RawLength;
    }

    public int PackOrdinal => (int)(_packAndFlags & (TreeBit - 1));

    public BlobType Type => (_packAndFlags & TreeBit) != 0 ? BlobType.Tree : BlobType.Data;

    public bool Compressed => (_packAndFlags & CompressedBit) != 0;

    public uint Offset { get; }

    public uint Length { get; }

    public uint RawLength { get; }

    public PackEntry ToPackEntry(BlobId id) => new(Type, Compressed, id, Offset, Length, RawLength);
}

/// <summary>A blob's location with its pack id resolved.</summary>
internal readonly record struct BlobLocation(BlobId Pack, PackEntry Entry);

/// <summary>
/// The in-memory index of every blob (docs/vault-format.md, "Index"): ~60 bytes per blob. Thread-safe; lookups
/// take a lock because backup workers add entries while the reader looks up chunks.
/// </summary>
internal sealed class MemoryIndex
{
    private readonly Dictionary<BlobId, IndexEntry> _blobs = [];
    private readonly List<BlobId> _packs = [];
    private readonly Dictionary<BlobId, int> _packOrdinals = [];
    private readonly Lock _lock = new();

    public int BlobCount
    {
        get
        {
            lock (_lock)
            {
                return _blobs.Count;
            }
        }
    }

    public int PackCount
    {
        get
        {
            lock (_lock)
            {
                return _packs.Count;
            }
        }
    }

    public void AddPack(BlobId pack, IEnumerable<PackEntry> entries)
    {
        lock (_lock)
        {
            if (!_packOrdinals.TryGetValue(pack, out var ordinal))
            {
                ordinal = _packs.Count;
                _packs.Add(pack);
                _packOrdinals.Add(pack, ordinal);
            }

            foreach (var e in entries)
            {
                _blobs.TryAdd(e.Id, new IndexEntry(ordinal, e));
            }
        }
    }

    public bool Contains(BlobId id)
    {
        lock (_lock)
        {
            return _blobs.ContainsKey(id);
        }
    }

    public bool TryGet(BlobId id, out BlobLocation location)
    {
        lock (_lock)
        {
            if (_blobs.TryGetValue(id, out var e))
            {
                location = new BlobLocation(_packs[e.PackOrdinal], e.ToPackEntry(id));
                return true;
            }
        }

        location = default;
        return false;
    }

    public bool ContainsPack(BlobId pack)
    {
        lock (_lock)
        {
            return _packOrdinals.ContainsKey(pack);
        }
    }
}
