using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;

namespace Lifeline.Registry.Tests.Apis;

/// <summary>
/// Per-endpoint body limits (JSON endpoints 1 MiB, log-batch 4 MiB, artifact uploads <c>MaxArtifactBytes</c>): a body
/// over the limit is refused with 413 (401 first when the caller may not write) before it is read, and a body
/// without a declared length is cut off at the limit, so a 200 MB body costs the server no memory.
/// </summary>
[Collection(nameof(AllocationCounterCollection))]
public sealed class BodyLimitTests
{
    private const long Huge = 200L << 20;

    [Fact]
    public async Task SearchRuns_DeclaredHugeBodyWithoutToken_413BeforeTheBodyIsSent()
    {
        await using var server = await ProbeServer.StartAsync();

        var (status, code, sent) = await SendDeclaredAsync(server, HttpMethod.Post, "/api/2.0/mlflow/runs/search", Huge, token: null);

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "BAD_REQUEST"), (status, code));
        Assert.Equal(0, sent);
    }

    [Theory]
    [InlineData("/api/2.0/mlflow/experiments/create")]
    [InlineData("/API/2.0/MLFLOW/EXPERIMENTS/CREATE")]
    [InlineData("/api/2.0/mlflow-artifacts/artifacts/0/x/big.bin")]
    public async Task WriteEndpoint_DeclaredHugeBodyWithoutToken_401BeforeTheBodyIsSent(string path)
    {
        await using var server = await ProbeServer.StartAsync();

        var (status, code, sent) = await SendDeclaredAsync(server, path.Contains("artifacts/0", StringComparison.Ordinal) ? HttpMethod.Put : HttpMethod.Post, path, Huge, token: null);

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (status, code));
        Assert.Equal(0, sent);
    }

    [Fact]
    public async Task SearchRuns_UndeclaredHugeBody_413AtTheLimitAndMemoryFlat()
    {
        await using var server = await ProbeServer.StartAsync();
        await SendChunkedAsync(server, "POST", "/api/2.0/mlflow/runs/search", 1024, token: null); // warm up the path
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);

        var (status, body, sent) = await SendChunkedAsync(server, "POST", "/api/2.0/mlflow/runs/search", Huge, token: null);

        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        Assert.True(status == 413, $"status {status}: {body}");
        Assert.Contains("\"BAD_REQUEST\"", body, StringComparison.Ordinal);
        Assert.Contains("at most 1048576 bytes", body, StringComparison.Ordinal);
        // Buffering the body would allocate it at least twice (bytes, then UTF-16 text): 400 MB.
        Assert.True(allocated < 64L << 20, $"the process allocated {allocated >> 20} MiB while {sent >> 20} MiB were sent");
    }

    [Fact]
    public async Task JsonEndpoint_BodyOverOneMebibyte_413WhileLogBatchAcceptsIt()
    {
        await using var server = await ProbeServer.StartAsync();
        var run = await server.SendAsync(HttpMethod.Post, "/api/2.0/mlflow/runs/create", """{"experiment_id": "0"}""", RegistryTestServer.WriterToken);
        var runId = JsonDocument.Parse(run.Body).RootElement.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString();
        var longValue = new string('v', 20_000);
        var batch = $$"""{"run_id": "{{runId}}", "params": [{{string.Join(',', Enumerable.Range(0, 100).Select(i => $$"""{"key": "p{{i}}", "value": "{{longValue}}"}"""))}}]}""";
        Assert.InRange(batch.Length, (1 << 20) + 1, 4 << 20);

        var logged = await server.SendAsync(HttpMethod.Post, "/api/2.0/mlflow/runs/log-batch", batch, RegistryTestServer.WriterToken);
        // With Expect: 100-continue, so the client waits for the answer: a server that refuses a declared length
        // answers before reading, and a client already writing the body could see its pipe broken instead.
        var created = await SendDeclaredAsync(server, HttpMethod.Post, "/api/2.0/mlflow/experiments/create", 2 << 20, RegistryTestServer.WriterToken);

        Assert.True(logged.Status == HttpStatusCode.OK, logged.ToString());
        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "BAD_REQUEST", 0L), created);
    }

    [Fact]
    public async Task UploadArtifact_OverMaxArtifactBytes_413DeclaredOrNot_UnderItStored()
    {
        await using var server = await ProbeServer.StartAsync(o => o with { MaxArtifactBytes = 3 << 20 });
        const string path = "/api/2.0/mlflow-artifacts/artifacts/0/x/";

        var declared = await SendDeclaredAsync(server, HttpMethod.Put, path + "declared.bin", 4 << 20, RegistryTestServer.WriterToken);
        var undeclared = await SendChunkedAsync(server, "PUT", path + "chunked.bin", 16 << 20, RegistryTestServer.WriterToken);
        var stored = await SendChunkedAsync(server, "PUT", path + "fits.bin", 2 << 20, RegistryTestServer.WriterToken); // over the JSON limit, under the artifact one

        Assert.Equal((HttpStatusCode.RequestEntityTooLarge, "BAD_REQUEST", 0L), declared);
        Assert.True(undeclared.Status == 413, $"{undeclared.Status}: {undeclared.Body}");
        Assert.True(stored.Status == 200, $"{stored.Status}: {stored.Body}");
        Assert.Equal(HttpStatusCode.NotFound, (await server.SendAsync(HttpMethod.Get, path + "chunked.bin")).Status);
    }

    /// <summary>Sends a declared <c>Content-Length</c> with <c>Expect: 100-continue</c>; returns how many body bytes the client was asked for.</summary>
    private static async Task<(HttpStatusCode Status, string? Code, long Sent)> SendDeclaredAsync(ProbeServer server, HttpMethod method, string path, long length, string? token)
    {
        using var http = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromMinutes(2) }) { BaseAddress = server.Http.BaseAddress };
        var content = new CountingContent(length);
        using var request = new HttpRequestMessage(method, new Uri(http.BaseAddress!.GetLeftPart(UriPartial.Authority) + path, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true })) { Content = content };
        request.Headers.ExpectContinue = true;
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(body);
        return (response.StatusCode, doc.RootElement.GetProperty("error_code").GetString(), content.Sent);
    }

    /// <summary>
    /// Sends up to <paramref name="length"/> bytes chunked (no declared length) on a raw socket, stopping as soon as the
    /// server answers or closes; returns the status, the body and how many bytes went out.
    /// </summary>
    private static async Task<(int Status, string Body, long Sent)> SendChunkedAsync(ProbeServer server, string method, string path, long length, string? token)
    {
        var address = server.Http.BaseAddress!;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        var head = $"{method} {path} HTTP/1.1\r\nHost: {address.Authority}\r\nTransfer-Encoding: chunked\r\nContent-Type: application/octet-stream\r\n"
                   + (token is null ? "" : $"Authorization: Bearer {token}\r\n") + "\r\n";
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var response = ReadResponseAsync(stream, cts.Token);

        var chunk = new byte[64 << 10];
        Array.Fill(chunk, (byte)'a');
        var chunkHead = Encoding.ASCII.GetBytes($"{chunk.Length:X}\r\n");
        var crlf = "\r\n"u8.ToArray();
        long sent = 0;
        try
        {
            while (sent < length && !response.IsCompleted)
            {
                var n = (int)Math.Min(chunk.Length, length - sent);
                await stream.WriteAsync(n == chunk.Length ? chunkHead : Encoding.ASCII.GetBytes($"{n:X}\r\n"), cts.Token);
                await stream.WriteAsync(chunk.AsMemory(0, n), cts.Token);
                await stream.WriteAsync(crlf, cts.Token);
                sent += n;
            }

            if (!response.IsCompleted)
            {
                await stream.WriteAsync("0\r\n\r\n"u8.ToArray(), cts.Token);
            }
        }
        catch (IOException)
        {
            // the server stopped reading and closed: expected once the limit is reached
        }

        var (status, body) = await response;
        return (status, body, sent);
    }

    private static async Task<(int Status, string Body)> ReadResponseAsync(NetworkStream stream, CancellationToken ct)
    {
        var data = new List<byte>();
        var buffer = new byte[8192];
        while (true)
        {
            var text = Encoding.ASCII.GetString(data.ToArray());
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            if (end >= 0)
            {
                var headers = text[..end];
                var rest = text[(end + 4)..];
                var status = int.Parse(headers.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                var lengthLine = headers.Split("\r\n").FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase));
                if (lengthLine is not null && rest.Length >= int.Parse(lengthLine["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture))
                {
                    return (status, rest);
                }

                if (lengthLine is null && rest.EndsWith("0\r\n\r\n", StringComparison.Ordinal))
                {
                    return (status, Dechunk(rest));
                }
            }

            int n;
            try
            {
                n = await stream.ReadAsync(buffer, ct);
            }
            catch (IOException)
            {
                n = 0;
            }

            if (n == 0)
            {
                var all = Encoding.ASCII.GetString(data.ToArray());
                var split = all.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                return split < 0 ? (0, all) : (int.Parse(all.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture), all[(split + 4)..]);
            }

            data.AddRange(buffer.AsSpan(0, n).ToArray());
        }
    }

    private static string Dechunk(string chunked)
    {
        var result = new StringBuilder();
        var i = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", i, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[i..lineEnd], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            result.Append(chunked, lineEnd + 2, size);
            i = lineEnd + 2 + size + 2;
        }
    }

    /// <summary>A body of <c>length</c> bytes produced on demand, counting how many the client was asked to send.</summary>
    private sealed class CountingContent(long length) : HttpContent
    {
        public long Sent { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var chunk = new byte[64 << 10];
            while (Sent < length)
            {
                var n = (int)Math.Min(chunk.Length, length - Sent);
                await stream.WriteAsync(chunk.AsMemory(0, n));
                Sent += n;
            }
        }

        protected override bool TryComputeLength(out long size)
        {
            size = length;
            return true;
        }
    }
}
