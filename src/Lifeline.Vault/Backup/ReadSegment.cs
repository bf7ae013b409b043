using System.Buffers;

namespace Lifeline.Vault.Backup;

/// <summary>
/// One pooled buffer the backup's reader reads file content into. Chunks go to the workers as slices of it (no copy
/// per chunk); it goes back to its pool when the reader has moved on and the last chunk in it was hashed and stored.
/// </summary>
internal sealed class ReadSegment(byte[] buffer, ArrayPool<byte> pool)
{
    private int _refs = 1; // the reader's own hold

    public byte[] Buffer { get; } = buffer;

    /// <summary>One more holder (a chunk handed to the workers).</summary>
    public void Retain() => Interlocked.Increment(ref _refs);

    /// <summary>A holder is done; the last one returns the buffer to the pool.</summary>
    public void Release()
    {
        var left = Interlocked.Decrement(ref _refs);
        if (left == 0)
        {
            pool.Return(Buffer);
        }
        else if (left < 0)
        {
            throw new InvalidOperationException("a read segment was released more often than it was held");
        }
    }
}
