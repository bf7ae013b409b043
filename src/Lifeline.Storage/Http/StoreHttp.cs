using System.Collections.Concurrent;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;

namespace Lifeline.Storage.Http;

/// <summary>
/// The HTTP plumbing of the cloud stores: a <see cref="SocketsHttpHandler"/> whose connections time out after
/// <see cref="ObjectStoreTimeouts.ConnectTimeout"/> with <see cref="ObjectStoreUnavailableException"/> and whose
/// socket reads and writes fail after <see cref="ObjectStoreTimeouts.InactivityTimeout"/> without progress.
/// </summary>
internal static class StoreHttp
{
    public static SocketsHttpHandler CreateHandler(ObjectStoreTimeouts timeouts)
    {
        timeouts.Validate();
        var unreachable = new ConcurrentDictionary<string, (long At, ObjectStoreUnavailableException Error)>(StringComparer.OrdinalIgnoreCase);
        var answered = new ConcurrentDictionary<string, bool>(StringComparer.OrdinalIgnoreCase);
        return new SocketsHttpHandler
        {
            // Our callback enforces the connect timeout with a typed error; this one is only a backstop.
            ConnectTimeout = timeouts.ConnectTimeout + TimeSpan.FromSeconds(5),
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            PooledConnectionIdleTimeout = TimeSpan.FromSeconds(50),
            AutomaticDecompression = DecompressionMethods.None,
            ConnectCallback = async (context, cancellationToken) =>
            {
                var endpoint = $"{context.DnsEndPoint.Host}:{context.DnsEndPoint.Port}";
                if (unreachable.TryGetValue(endpoint, out var known) && Environment.TickCount64 - known.At < timeouts.UnreachableMemory.TotalMilliseconds)
                {
                    throw new ObjectStoreUnavailableException(null, endpoint, known.Error.Reason, known.Error);
                }

                var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(timeouts.ConnectTimeout);
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint, deadline.Token);
                    unreachable.TryRemove(endpoint, out _);
                    return new IdleTimeoutStream(new NetworkStream(socket, ownsSocket: true), timeouts.InactivityTimeout, endpoint, () => answered.ContainsKey(endpoint), () => answered.TryAdd(endpoint, true), Remember);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    socket.Dispose();
                    throw Remember(new ObjectStoreUnavailableException(null, endpoint, $"connect timed out after {ObjectStoreTimeoutException.Seconds(timeouts.ConnectTimeout)}"));
                }
                catch (SocketException e)
                {
                    socket.Dispose();
                    throw Remember(new ObjectStoreUnavailableException(null, endpoint, Describe(e), e));
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }

                ObjectStoreUnavailableException Remember(ObjectStoreUnavailableException error)
                {
                    unreachable[endpoint] = (Environment.TickCount64, error);
                    return error;
                }
            },
        };
    }

    /// <summary>
    /// Finds a connection failure or inactivity timeout raised by the handler anywhere in <paramref name="exception"/>'s
    /// chain (the SDKs wrap it) and returns it again with the store's location, or <c>null</c> when there is none.
    /// </summary>
    public static Exception? Translate(Exception exception, string location)
    {
        for (var e = exception; e is not null; e = e is AggregateException { InnerExceptions.Count: > 0 } a ? a.InnerExceptions[0] : e.InnerException)
        {
            switch (e)
            {
                case ObjectStoreUnavailableException u:
                    return u.Location == location ? u : new ObjectStoreUnavailableException(location, u.Endpoint, u.Reason, exception);
                case ObjectStoreTimeoutException t:
                    return t.Location == location ? t : new ObjectStoreTimeoutException(location, t.Endpoint, t.Inactivity, exception);
                case OperationCanceledException:
                    return null;
            }
        }

        return null;
    }

    private static string Describe(SocketException e) => e.SocketErrorCode switch
    {
        SocketError.ConnectionRefused => "connection refused",
        SocketError.HostNotFound or SocketError.NoData or SocketError.TryAgain => "host name does not resolve",
        SocketError.NetworkUnreachable or SocketError.HostUnreachable => "no route to the host",
        SocketError.TimedOut => "connect timed out",
        _ => e.Message,
    };

    /// <summary>
    /// A socket stream whose reads and writes fail when nothing moves for the inactivity timeout. An endpoint that has
    /// never sent a byte on any connection is treated as unreachable (it accepts connections but does not serve);
    /// one that has answered before only timed out (transient).
    /// </summary>
    private sealed class IdleTimeoutStream(
        Stream inner,
        TimeSpan inactivity,
        string endpoint,
        Func<bool> hasAnswered,
        Action markAnswered,
        Func<ObjectStoreUnavailableException, ObjectStoreUnavailableException> rememberUnreachable) : Stream
    {
        private bool _answered;

        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => inner.CanWrite;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            // Zero-byte reads are how the connection pool watches idle connections: they may wait forever.
            if (buffer.IsEmpty || inactivity == Timeout.InfiniteTimeSpan)
            {
                return await inner.ReadAsync(buffer, cancellationToken);
            }

            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(inactivity);
            try
            {
                var n = await inner.ReadAsync(buffer, idle.Token);
                if (n > 0 && !_answered)
                {
                    _answered = true;
                    markAnswered();
                }

                return n;
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw TimedOut(e);
            }
        }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (buffer.IsEmpty || inactivity == Timeout.InfiniteTimeSpan)
            {
                await inner.WriteAsync(buffer, cancellationToken);
                return;
            }

            using var idle = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            idle.CancelAfter(inactivity);
            try
            {
                await inner.WriteAsync(buffer, idle.Token);
            }
            catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
            {
                throw TimedOut(e);
            }
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        // The HTTP stack reads and writes asynchronously; synchronous calls pass through (bounded by the socket's own timeouts).
        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

        public override void Flush() => inner.Flush();

        public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        public override ValueTask DisposeAsync() => inner.DisposeAsync();

        private IOException TimedOut(Exception cause)
        {
            var message = $"no data moved to or from {endpoint} for {ObjectStoreTimeoutException.Seconds(inactivity)}";
            return hasAnswered()
                ? new IOException(message, new ObjectStoreTimeoutException(null, endpoint, inactivity, cause))
                : new IOException(message, rememberUnreachable(new ObjectStoreUnavailableException(null, endpoint, $"it accepted the connection but sent nothing for {ObjectStoreTimeoutException.Seconds(inactivity)}", cause)));
        }
    }
}
