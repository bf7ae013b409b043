using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Lifeline.Scoring;
using Lifeline.Scoring.Hosting;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

/// <summary>
/// <c>-- loopback [REQUESTS=200000] [CONNECTIONS=16] [sinks|nosinks] [ROUNDS=3]</c>: the real service (Kestrel, the
/// handler, the spool when <c>sinks</c>) in this process on 127.0.0.1, driven by a minimal keep-alive HTTP/1.1 client
/// over raw sockets (one pre-built <c>POST /score-lead</c> with the post.lua body; the client allocates nothing per
/// request after its warm-up). Prints per request: process CPU µs (server + client), bytes allocated (every thread;
/// GC.GetTotalAllocatedBytes), and GC collections per generation per 100k requests. These depend on the code, not on
/// how busy the machine is, so two builds can be compared on a busy machine (run each build's harness alternately).
/// </summary>
internal static class LoopbackLoad
{
    private static readonly byte[] Body = Encoding.UTF8.GetBytes(
        """{"lead_id":"lead_000001","company_size":"Medium","industry":"Healthcare","page_views":17,"time_on_site":243.8,"form_completion_time":20.4,"referral_source":"Social Media","created_at":"2024-12-04T03:24:08Z"}""");

    public static async Task RunAsync(int requests, int connections, bool sinks, int rounds)
    {
        var dir = Path.Combine(Path.GetTempPath(), "lifeline-loopback-" + Guid.NewGuid().ToString("N"));
        try
        {
            var trained = await new LeadModelTrainer(TimeProvider.System)
                .TrainAsync(SyntheticLeads.Generate(5_000, 1), "synthetic", "seed=1", new TrainingOptions(), Path.Combine(dir, "trained"), CancellationToken.None);
            var source = new DirectoryModelSource(Path.Combine(dir, "models"));
            var version = await source.AddVersionAsync(trained.ArtifactDirectory, CancellationToken.None);
            await source.PromoteAsync(version, CancellationToken.None);
            var app = ScoringHost.Build("http://127.0.0.1:0", o =>
            {
                o.CacheDirectory = Path.Combine(dir, "cache");
                o.SinkDirectory = sinks ? Path.Combine(dir, "sinks") : null;
            }, s => s.AddSingleton<IModelSource>(source));
            await app.StartAsync();
            try
            {
                var models = app.Services.GetRequiredService<ModelManager>();
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (models.Current is null)
                {
                    if (DateTime.UtcNow > deadline)
                    {
                        throw new TimeoutException("no model loaded after 60 s");
                    }

                    await Task.Delay(50);
                }

                var address = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
                var request = Encoding.ASCII.GetBytes(
                    $"POST /score-lead HTTP/1.1\r\nHost: 127.0.0.1:{address.Port}\r\nContent-Type: application/json\r\nContent-Length: {Body.Length}\r\n\r\n")
                    .Concat(Body).ToArray();
                var endpoint = new IPEndPoint(IPAddress.Loopback, address.Port);
                var clients = new Client[connections];
                for (var i = 0; i < connections; i++)
                {
                    clients[i] = await Client.ConnectAsync(endpoint, request);
                }

                await DriveAsync(clients, Math.Max(20_000, requests / 10)); // warm-up: JIT, pools, tiered compilation
                Console.WriteLine($"| build | sinks | requests | connections | CPU µs/request | bytes/request | gen0/gen1/gen2 per 100k | requests/s (noise on a busy machine) |");
                Console.WriteLine("|---|---|---:|---:|---:|---:|---|---:|");
                using var sampler = Environment.GetEnvironmentVariable("LIFELINE_ALLOC_TYPES") == "1" ? new AllocationSampler() : null;
                for (var round = 0; round < rounds; round++)
                {
                    sampler?.Start();
                    GC.Collect();
                    GC.WaitForPendingFinalizers();
                    var process = Process.GetCurrentProcess();
                    var cpu0 = process.TotalProcessorTime;
                    var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
                    int[] gc0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
                    var clock = Stopwatch.StartNew();
                    var ok = await DriveAsync(clients, requests);
                    var elapsed = clock.Elapsed;
                    process.Refresh();
                    var cpu = (process.TotalProcessorTime - cpu0).TotalMicroseconds;
                    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
                    if (ok != requests)
                    {
                        throw new InvalidOperationException($"{requests - ok} of {requests} requests were not answered 200");
                    }

                    var per100k = 100_000.0 / requests;
                    Console.WriteLine(FormattableString.Invariant(
                        $"| {Path.GetFileName(Path.GetDirectoryName(typeof(ScoringOptions).Assembly.Location))} | {(sinks ? "spool + JSON lines" : "none")} | {requests} | {connections} | {cpu / requests:F1} | {(double)allocated / requests:F0} | {(GC.CollectionCount(0) - gc0[0]) * per100k:F1}/{(GC.CollectionCount(1) - gc0[1]) * per100k:F1}/{(GC.CollectionCount(2) - gc0[2]) * per100k:F1} | {requests / elapsed.TotalSeconds:F0} |"));
                    sampler?.PrintTop(25);
                }

                foreach (var client in clients)
                {
                    client.Dispose();
                }
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<int> DriveAsync(Client[] clients, int requests)
    {
        var next = -1;
        var ok = 0;
        await Task.WhenAll(clients.Select(client => Task.Run(async () =>
        {
            var mine = 0;
            while (Interlocked.Increment(ref next) < requests)
            {
                if (await client.SendAsync() == 200)
                {
                    mine++;
                }
            }

            Interlocked.Add(ref ok, mine);
        })));
        return ok;
    }

    private sealed class Client(Socket socket, byte[] request) : IDisposable
    {
        private readonly byte[] _buffer = new byte[16 * 1024];
        private int _start;
        private int _end;

        public static async Task<Client> ConnectAsync(IPEndPoint endpoint, byte[] request)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(endpoint);
            return new Client(socket, request);
        }

        // Sends the request and reads one whole response (headers + Content-Length body); returns its status.
        // Pooled: the client's own waits allocate nothing per request, so the count is the server's.
        [System.Runtime.CompilerServices.AsyncMethodBuilder(typeof(System.Runtime.CompilerServices.PoolingAsyncValueTaskMethodBuilder<>))]
        public async ValueTask<int> SendAsync()
        {
            var sent = 0;
            while (sent < request.Length)
            {
                sent += await socket.SendAsync(request.AsMemory(sent), SocketFlags.None);
            }

            while (true)
            {
                if (TryParse(out var status, out var length))
                {
                    _start += length;
                    return status;
                }

                if (_start > 0)
                {
                    Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                    _end -= _start;
                    _start = 0;
                }

                var read = await socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None);
                if (read == 0)
                {
                    throw new IOException("the server closed the connection");
                }

                _end += read;
            }
        }

        private bool TryParse(out int status, out int length)
        {
            status = 0;
            length = 0;
            var span = _buffer.AsSpan(_start, _end - _start);
            var headerEnd = span.IndexOf("\r\n\r\n"u8);
            if (headerEnd < 0)
            {
                return false;
            }

            var headers = span[..headerEnd];
            if (!Utf8Parser.TryParse(headers[9..12], out status, out _))
            {
                throw new InvalidDataException("not an HTTP status line");
            }

            var at = headers.IndexOf("Content-Length: "u8);
            var contentLength = 0;
            if (at >= 0 && !Utf8Parser.TryParse(headers[(at + 16)..], out contentLength, out _))
            {
                throw new InvalidDataException("a bad Content-Length");
            }

            if (at < 0 && headers.IndexOf("chunked"u8) >= 0)
            {
                throw new InvalidDataException("a chunked response (the harness reads Content-Length bodies only)");
            }

            length = headerEnd + 4 + contentLength;
            return span.Length >= length;
        }

        public void Dispose() => socket.Dispose();
    }
}
