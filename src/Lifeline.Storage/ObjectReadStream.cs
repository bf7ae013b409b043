namespace Lifeline.Storage;

/// <summary>
/// A forward-only stream over one object (or one range of it), as <see cref="IObjectStore.OpenReadAsync"/> returns it:
/// <see cref="Length"/> is the number of bytes it yields, and it never yields fewer silently: if the backend's stream
/// ends early, a read throws <see cref="IOException"/>.
/// </summary>
public sealed class ObjectReadStream : Stream
{
    private readonly Stream _inner;
    private readonly IDisposable? _owner;
    private readonly long _length;
    private long _skip;
    private long _remaining;
    private bool _disposed;

    /// <summary>Wraps <paramref name="inner"/>, which yields exactly <paramref name="length"/> bytes.</summary>
    /// <param name="inner">The backend's stream; disposed with this one.</param>
    /// <param name="length">How many bytes this stream yields (bytes past it are not read).</param>
    /// <param name="owner">Disposed with this stream, after <paramref name="inner"/> (e.g. the HTTP response).</param>
    public ObjectReadStream(Stream inner, long length, IDisposable? owner = null)
        : this(inner, length, 0, owner)
    {
    }

    /// <summary>As the public constructor, discarding <paramref name="skip"/> bytes of <paramref name="inner"/> first (a server that ignored a range).</summary>
    internal ObjectReadStream(Stream inner, long length, long skip, IDisposable? owner)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfNegative(length);
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        _inner = inner;
        _owner = owner;
        _length = length;
        _remaining = length;
        _skip = skip;
    }

    /// <summary>A stream of no bytes.</summary>
    public static ObjectReadStream Empty() => new(Stream.Null, 0);

    /// <inheritdoc />
    public override bool CanRead => !_disposed;

    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override bool CanWrite => false;

    /// <summary>The number of bytes this stream yields in all.</summary>
    public override long Length => _length;

    /// <summary>The number of bytes yielded so far; it cannot be set.</summary>
    public override long Position
    {
        get => _length - _remaining;
        set => throw new NotSupportedException("an object stream is forward-only: open it again at an offset");
    }

    /// <inheritdoc />
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        Span<byte> scratch = _skip > 0 ? stackalloc byte[4096] : default;
        while (_skip > 0)
        {
            var n = _inner.Read(scratch[..(int)Math.Min(scratch.Length, _skip)]);
            _skip -= n > 0 ? n : throw Ended();
        }

        if (_remaining == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = _inner.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        _remaining -= read > 0 ? read : throw Ended();
        return read;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_skip > 0)
        {
            var scratch = new byte[(int)Math.Min(81920, _skip)];
            while (_skip > 0)
            {
                var n = await _inner.ReadAsync(scratch.AsMemory(0, (int)Math.Min(scratch.Length, _skip)), cancellationToken);
                _skip -= n > 0 ? n : throw Ended();
            }
        }

        if (_remaining == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        var read = await _inner.ReadAsync(buffer[..(int)Math.Min(buffer.Length, _remaining)], cancellationToken);
        _remaining -= read > 0 ? read : throw Ended();
        return read;
    }

    /// <inheritdoc />
    public override void Flush()
    {
    }

    /// <inheritdoc />
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException("an object stream is forward-only: open it again at an offset");

    /// <inheritdoc />
    public override void SetLength(long value) => throw new NotSupportedException("an object stream is read-only");

    /// <inheritdoc />
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException("an object stream is read-only");

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _inner.Dispose();
            _owner?.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <inheritdoc />
    public override async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await _inner.DisposeAsync();
            _owner?.Dispose();
        }

        await base.DisposeAsync();
    }

    private IOException Ended() =>
        new($"the object stream ended after {Position} of {_length} bytes (the connection or the object was cut short)");
}
