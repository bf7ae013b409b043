using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Lifeline.Vault.Chunking;

/// <summary>
/// FastCDC content-defined chunking with normalized chunking (Xia et al.): a gear rolling hash, a stricter mask
/// before the average size and a looser one after it, and a hard maximum. Allocation-free; see docs/vault-format.md.
/// </summary>
internal sealed class FastCdc
{
    private readonly ulong[] _gear;
    private readonly ulong _maskS;
    private readonly ulong _maskL;

    public FastCdc(ReadOnlySpan<byte> seed, int minSize, int avgSize, int maxSize)
    {
        if (minSize < 64 || avgSize <= minSize || maxSize <= avgSize || !BitOperations.IsPow2(avgSize))
        {
            throw new ArgumentException($"invalid chunker sizes {minSize}/{avgSize}/{maxSize}: need 64 <= min < avg < max and avg a power of two");
        }

        MinSize = minSize;
        AvgSize = avgSize;
        MaxSize = maxSize;
        _gear = GearTable(seed);
        var bits = BitOperations.Log2((uint)avgSize);
        _maskS = ~0UL << (64 - (bits + 2));
        _maskL = ~0UL << (64 - (bits - 2));
    }

    public int MinSize { get; }

    public int AvgSize { get; }

    public int MaxSize { get; }

    /// <summary>The 256 gear values: SHA-256(seed | counter) split into 8-byte words.</summary>
    public static ulong[] GearTable(ReadOnlySpan<byte> seed)
    {
        var table = new ulong[256];
        var input = new byte[seed.Length + 4];
        seed.CopyTo(input);
        Span<byte> hash = stackalloc byte[32];
        for (var i = 0; i < 64; i++)
        {
            BinaryPrimitives.WriteInt32BigEndian(input.AsSpan(seed.Length), i);
            SHA256.HashData(input, hash);
            for (var j = 0; j < 4; j++)
            {
                table[(i * 4) + j] = BinaryPrimitives.ReadUInt64LittleEndian(hash[(j * 8)..]);
            }
        }

        return table;
    }

    /// <summary>
    /// Returns the length of the chunk starting at <paramref name="data"/>[0]. The caller passes at least
    /// <see cref="MaxSize"/> bytes unless the data ends sooner (then every byte left is passed).
    /// </summary>
    public int FindCut(ReadOnlySpan<byte> data)
    {
        var n = data.Length;
        if (n <= MinSize)
        {
            return n;
        }

        var end = Math.Min(n, MaxSize);
        var normal = Math.Min(AvgSize, end);
        ref var gear = ref MemoryMarshal.GetArrayDataReference(_gear);
        ref var src = ref MemoryMarshal.GetReference(data);
        ulong h = 0;
        var i = MinSize;
        var maskS = _maskS;
        var maskL = _maskL;

        // Two bytes per iteration (FastCDC 2020's unrolling), checking after each.
        for (; i + 1 < normal; i += 2)
        {
            h = (h << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref src, i));
            if ((h & maskS) == 0)
            {
                return i + 1;
            }

            h = (h << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref src, i + 1));
            if ((h & maskS) == 0)
            {
                return i + 2;
            }
        }

        for (; i < normal; i++)
        {
            h = (h << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref src, i));
            if ((h & maskS) == 0)
            {
                return i + 1;
            }
        }

        for (; i + 1 < end; i += 2)
        {
            h = (h << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref src, i));
            if ((h & maskL) == 0)
            {
                return i + 1;
            }

            h = (h << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref src, i + 1));
            if ((h & maskL) == 0)
            {
                return i + 2;
            }
        }

        for (; i < end; i++)
        {
            h = (h << 1) + Unsafe.Add(ref gear, Unsafe.Add(ref src, i));
            if ((h & maskL) == 0)
            {
                return i + 1;
            }
        }

        return end;
    }
}
