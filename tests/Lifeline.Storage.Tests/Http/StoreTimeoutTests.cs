using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Lifeline.Storage.Resilience;

namespace Lifeline.Storage.Tests.Http;

/// <summary>
/// Unreachable and silent endpoints fail within seconds with a typed exception, for S3 and Azure, through
/// <see cref="ObjectStores.Open"/> as the command line opens them (SDK retries and the retry decorator included).
/// </summary>
public sealed class StoreTimeoutTests
{
    private const string DevAccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private static readonly ObjectStoreTimeouts Short = new() { ConnectTimeout = TimeSpan.FromSeconds(1), InactivityTimeout = TimeSpan.FromSeconds(1) };

    private static IObjectStore CreateSut(string scheme, int port) =>
        new RetryingObjectStore(
            scheme == "s3"
                ? ObjectStores.Open($"s3://bucket?endpoint=http://127.0.0.1:{port}&region=us-east-1", new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = "AKIDTEST", ["AWS_SECRET_ACCESS_KEY"] = "not-a-secret" }, timeouts: Short)
                : ObjectStores.Open($"azure://container?endpoint=http://127.0.0.1:{port}/devstoreaccount1", new Dictionary<string, string?> { ["AZURE_STORAGE_ACCOUNT"] = "devstoreaccount1", ["AZURE_STORAGE_KEY"] = DevAccountKey }, timeouts: Short),
            new RetryOptions { BaseDelay = TimeSpan.FromMilliseconds(10) });

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    public async Task StatAsync_ClosedPort_ThrowsUnavailableWithinSeconds(string scheme)
    {
        var port = ClosedPort();
        var store = CreateSut(scheme, port);
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ObjectStoreUnavailableException>(() => store.StatAsync("k"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal($"127.0.0.1:{port}", e.Endpoint);
        Assert.Equal("connection refused", e.Reason);
        Assert.StartsWith($"cannot reach {scheme}://", e.Message, StringComparison.Ordinal);
        Assert.EndsWith($"at 127.0.0.1:{port}: connection refused; check the endpoint", e.Message, StringComparison.Ordinal);
        Assert.False(TransientFaults.IsTransient(e));
    }

    [Theory]
    [InlineData("s3")]
    [InlineData("azure")]
    public async Task PutStreamAsync_ServerAcceptsButNeverAnswers_ThrowsUnavailableAfterOneInactivityTimeout(string scheme)
    {
        using var silent = new SilentServer();
        var store = CreateSut(scheme, silent.Port);
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ObjectStoreUnavailableException>(() => store.PutStreamAsync("k", new MemoryStream(new byte[1000])));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal($"127.0.0.1:{silent.Port}", e.Endpoint);
        Assert.Equal("it accepted the connection but sent nothing for 1 s", e.Reason);
        Assert.True(silent.Accepted > 0);
    }

    [Fact]
    public async Task GetAsync_ServerAnsweredBeforeThenGoesSilent_ThrowsTransientTimeout()
    {
        using var server = new SilentServer(answerFirstRequest: true);
        var config = Lifeline.Storage.S3.S3ObjectStore.CreateConfig($"http://127.0.0.1:{server.Port}", "us-east-1", Short);
        config.MaxErrorRetry = 0;
        using var client = new Amazon.S3.AmazonS3Client(new Amazon.Runtime.BasicAWSCredentials("AKIDTEST", "not-a-secret"), config);
        var store = new Lifeline.Storage.S3.S3ObjectStore(client, "bucket");
        Assert.Null(await store.StatAsync("k")); // answered: 404
        var clock = Stopwatch.StartNew();
        var e = await Assert.ThrowsAsync<ObjectStoreTimeoutException>(() => store.GetAsync("k"));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
        Assert.Equal(TimeSpan.FromSeconds(1), e.Inactivity);
        Assert.Contains($"no answer from s3://bucket (http://127.0.0.1:{server.Port}) at 127.0.0.1:{server.Port} for 1 s (inactivity timeout)", e.Message, StringComparison.Ordinal);
        Assert.True(TransientFaults.IsTransient(e));
    }

    [Fact]
    public async Task StatAsync_ConnectNeverCompletes_ThrowsConnectTimedOutAfterConnectTimeout()
    {
        // A listener that never accepts, with its backlog filled: the kernel drops further SYNs, so connects hang.
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(0);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;
        var fillers = new List<Socket>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                fillers.Add(filler);
                using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
                try
                {
                    await filler.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
                }
                catch (OperationCanceledException)
                {
                    break; // the backlog is full: from now on connects hang
                }
            }

            var store = CreateSut("s3", port);
            var clock = Stopwatch.StartNew();
            var e = await Assert.ThrowsAsync<ObjectStoreUnavailableException>(() => store.StatAsync("k"));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), $"took {clock.Elapsed}");
            Assert.Equal("connect timed out after 1 s", e.Reason);
        }
        finally
        {
            foreach (var filler in fillers)
            {
                filler.Dispose();
            }
        }
    }

    [Fact]
    public async Task StatAsync_S3WithoutCredentials_ThrowsObjectStoreAuthException()
    {
        using var silent = new SilentServer();
        var store = ObjectStores.Open($"s3://bucket?endpoint=http://127.0.0.1:{silent.Port}&region=us-east-1", new Dictionary<string, string?>(), timeouts: Short);
        var e = await Assert.ThrowsAsync<ObjectStoreAuthException>(() => store.StatAsync("k"));
        Assert.Contains("AWS_ACCESS_KEY_ID", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, silent.Accepted);
    }

    /// <summary>Accepts TCP connections and never sends a byte (optionally after answering the very first request with a 404).</summary>
    private sealed class SilentServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly List<TcpClient> _clients = [];
        private readonly Task _loop;
        private int _accepted;

        public SilentServer(bool answerFirstRequest = false)
        {
            var answered = !answerFirstRequest;
            _listener.Start();
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            _loop = Task.Run(async () =>
            {
                while (true)
                {
                    TcpClient client;
                    try
                    {
                        client = await _listener.AcceptTcpClientAsync();
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException)
                    {
                        return;
                    }

                    Interlocked.Increment(ref _accepted);
                    lock (_clients)
                    {
                        _clients.Add(client);
                    }

                    if (!answered)
                    {
                        answered = true;
                        _ = AnswerOnceAsync(client);
                    }
                }
            });
        }

        public int Port { get; }

        private static async Task AnswerOnceAsync(TcpClient client)
        {
            var stream = client.GetStream();
            var seen = new List<byte>();
            var buffer = new byte[4096];
            while (seen.Count < 4 || !seen.TakeLast(4).SequenceEqual("\r\n\r\n"u8.ToArray()))
            {
                var n = await stream.ReadAsync(buffer);
                if (n == 0)
                {
                    return;
                }

                seen.AddRange(buffer.AsSpan(0, n).ToArray());
            }

            await stream.WriteAsync("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"u8.ToArray());
        }

        public int Accepted => Volatile.Read(ref _accepted);

        public void Dispose()
        {
            _listener.Stop();
            _loop.Wait(TimeSpan.FromSeconds(5));
            lock (_clients)
            {
                foreach (var client in _clients)
                {
                    client.Dispose();
                }
            }
        }
    }
}
