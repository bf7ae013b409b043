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
/// The in-memory index of every blob (docs/vault-format.md, "Index"): two sorted parallel arrays (id 32 bytes,
/// entry 16 bytes: 48 bytes per blob, binary search) plus a small dictionary of recent additions that is merged
/// into the arrays when it reaches an eighth of them. Thread-safe: backup uploads add while the reader looks up.
/// </summary>
internal sealed class MemoryIndex
{
    private readonly Dictionary<BlobId, IndexEntry> _recent = [];
    private readonly List<BlobId> _packs = [];
    private readonly Dictionary<BlobId, int> _packOrdinals = [];
    private readonly Lock _lock = new();
    private BlobId[] _ids = [];
    private IndexEntry[] _entries = [];

    public int BlobCount
    {
        get
        {
            lock (_lock)
            {
                return _ids.Length + _recent.Count;
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

    /// <summary>
    /// The index's own memory: 48 bytes per merged blob, ~64 per recent one, ~100 per pack (list slot and
    /// ordinal dictionary entry). docs/vault-format.md states the resulting bytes per blob.
    /// </summary>
    public long ApproximateBytes
    {
        get
        {
            lock (_lock)
            {
                return (_ids.Length * 48L) + (_recent.Count * 64L) + (_packs.Count * 100L);
            }
        }
    }

    public void AddPack(BlobId pack, IEnumerable<PackEntry> entries) => AddPacks([(pack, entries)]);

    /// <summary>Adds many packs with one merge (loading index files).</summary>
    public void AddPacks(IEnumerable<(BlobId Pack, IEnumerable<PackEntry> Entries)> packs)
    {
        lock (_lock)
        {
            foreach (var (pack, entries) in packs)
            {
                if (!_packOrdinals.TryGetValue(pack, out var ordinal))
                {
                    ordinal = _packs.Count;
                    _packs.Add(pack);
                    _packOrdinals.Add(pack, ordinal);
                }

                foreach (var e in entries)
                {
                    if (Array.BinarySearch(_ids, e.Id) < 0)
                    {
                        _recent.TryAdd(e.Id, new IndexEntry(ordinal, e));
                    }
                }
            }

            if (_recent.Count > Math.Max(1024, _ids.Length / 8))
            {
                Merge();
            }
        }
    }

    private void Merge()
    {
        var add = _recent.Keys.ToArray();
        Array.Sort(add);
        var ids = new BlobId[_ids.Length + add.Length];
        var entries = new IndexEntry[ids.Length];
        int i = 0, j = 0, k = 0;
        while (i < _ids.Length || j < add.Length)
        {
            if (j >= add.Length || (i < _ids.Length && _ids[i] < add[j]))
            {
                ids[k] = _ids[i];
                entries[k++] = _entries[i++];
            }
            else
            {
                ids[k] = add[j];
                entries[k++] = _recent[add[j++]];
            }
        }

        _ids = ids;
        _entries = entries;
        _recent.Clear();
        _recent.TrimExcess();
    }

    private bool TryFind(BlobId id, out IndexEntry entry)
    {
        if (_recent.TryGetValue(id, out entry))
        {
            return true;
        }

        var i = Array.BinarySearch(_ids, id);
        if (i >= 0)
        {
            entry = _entries[i];
            return true;
        }

        return false;
    }

    public bool Contains(BlobId id)
    {
        lock (_lock)
        {
            return TryFind(id, out _);
        }
    }

    public bool TryGet(BlobId id, out BlobLocation location)
    {
        lock (_lock)
        {
            if (TryFind(id, out var e))
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
