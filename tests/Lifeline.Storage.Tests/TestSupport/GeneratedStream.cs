namespace Lifeline.Storage.Tests.TestSupport;

/// <summary>
/// A forward-only (not seekable) stream of <c>length</c> seeded pseudo-random bytes, as a network upload would be;
/// optionally it runs an action (throw, cancel) once <c>failAt</c> bytes have been read.
/// </summary>
internal sealed class GeneratedStream(long length, int seed, long failAt = -1, Action? atFailPoint = null) : Stream
{
    private long _position;

    /// <summary>The same bytes as an array, for comparison (small lengths only).</summary>
    public static byte[] Bytes(int length, int seed)
    {
        var bytes = new byte[length];
        using var stream = new GeneratedStream(length, seed);
        stream.ReadExactly(bytes);
        return bytes;
    }

    /// <summary>How many times a read was asked for (to check that a store did not read at all).</summary>
    public int Reads { get; private set; }

    /// <summary>The byte at a position: a function of the seed and the position only, however the stream is read.</summary>
    private byte ByteAt(long position)
    {
        var x = (ulong)position + ((ulong)seed * 0x9E3779B97F4A7C15);
        x ^= x >> 33;
        x *= 0xFF51AFD7ED558CCD;
        x ^= x >> 33;
        return (byte)x;
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        Reads++;
        if (failAt >= 0 && _position >= failAt)
        {
            atFailPoint?.Invoke();
        }

        var limit = failAt >= 0 && _position < failAt ? failAt : length;
        var n = (int)Math.Min(buffer.Length, limit - _position);
        for (var i = 0; i < n; i++)
        {
            buffer[i] = ByteAt(_position + i);
        }

        _position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(Read(buffer.Span));
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
