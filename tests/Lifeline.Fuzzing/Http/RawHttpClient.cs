using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Lifeline.Fuzzing.Core;

namespace Lifeline.Fuzzing.Http;

/// <summary>What a server answered (or that it did not answer in time, or closed the connection).</summary>
public sealed class HttpOutcome : FuzzOutcome
{
    public int Status { get; init; }

    public IReadOnlyList<KeyValuePair<string, string>> Headers { get; init; } = [];

    public byte[] Body { get; init; } = [];

    public string? TransportError { get; init; }

    public TimeSpan Elapsed { get; init; }

    public override string Label => TransportError is null ? Status.ToString(CultureInfo.InvariantCulture) : "no-answer";

    public override long ApproximateBytes => 1024 + Body.Length;

    public string? Header(string name) => Headers.LastOrDefault(h => string.Equals(h.Key, name, StringComparison.OrdinalIgnoreCase)).Value;

    public string BodyText => Encoding.UTF8.GetString(Body);

    public override string Describe()
    {
        if (TransportError is not null)
        {
            return $"no answer ({TransportError}) after {Elapsed.TotalMilliseconds:0} ms";
        }

        var text = BodyText;
        return $"{Status} {Header("Content-Type") ?? "(no content type)"} body {(Body.Length == 0 ? "(empty)" : text.Length > 300 ? text[..300] + "…" : text)}";
    }
}

/// <summary>
/// Sends requests byte for byte over a new TCP connection each (HttpClient would normalise paths, methods and
/// headers, which is exactly what the fuzzer varies).
/// </summary>
public static class RawHttpClient
{
    public static async Task<HttpOutcome> SendAsync(Uri server, HttpRequestSpec request, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            await socket.ConnectAsync(server.Host, server.Port, cts.Token);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            var head = new StringBuilder();
            head.Append(CultureInfo.InvariantCulture, $"{request.Method} {request.Target} HTTP/1.1\r\n");
            head.Append(CultureInfo.InvariantCulture, $"Host: {server.Host}:{server.Port}\r\n");
            foreach (var (name, value) in request.Headers)
            {
                head.Append(name).Append(": ").Append(value).Append("\r\n");
            }

            if (request.Body is not null)
            {
                head.Append(CultureInfo.InvariantCulture, $"Content-Length: {request.Body.Length}\r\n");
            }

            head.Append("Connection: close\r\n\r\n");
            await stream.WriteAsync(Encoding.Latin1.GetBytes(head.ToString()), cts.Token);
            if (request.Body is { Length: > 0 })
            {
                try
                {
                    await stream.WriteAsync(request.Body, cts.Token);
                }
                catch (IOException)
                {
                    // the server may answer (413) and close before it has read the whole body
                }
            }

            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int n;
            while ((n = await stream.ReadAsync(chunk, cts.Token)) > 0)
            {
                buffer.Write(chunk, 0, n);
            }

            return Parse(buffer.ToArray(), Stopwatch.GetElapsedTime(started));
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or IOException && !cancellationToken.IsCancellationRequested)
        {
            return new HttpOutcome { TransportError = e is OperationCanceledException ? $"timeout {timeout.TotalSeconds:0} s" : e.GetType().Name + ": " + e.Message, Elapsed = Stopwatch.GetElapsedTime(started) };
        }
    }

    private static HttpOutcome Parse(byte[] raw, TimeSpan elapsed)
    {
        var end = raw.AsSpan().IndexOf("\r\n\r\n"u8);
        if (end < 0)
        {
            return new HttpOutcome { TransportError = raw.Length == 0 ? "connection closed without an answer" : "incomplete response head", Elapsed = elapsed };
        }

        var lines = Encoding.Latin1.GetString(raw, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], CultureInfo.InvariantCulture);
        var headers = lines.Skip(1).Select(l => l.Split(':', 2)).Where(p => p.Length == 2).Select(p => new KeyValuePair<string, string>(p[0].Trim(), p[1].Trim())).ToList();
        var body = raw[(end + 4)..];
        if (headers.Any(h => h.Key.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && h.Value.Contains("chunked", StringComparison.OrdinalIgnoreCase)))
        {
            body = Dechunk(body);
        }

        return new HttpOutcome { Status = status, Headers = headers, Body = body, Elapsed = elapsed };
    }

    private static byte[] Dechunk(byte[] body)
    {
        using var output = new MemoryStream();
        var at = 0;
        while (at < body.Length)
        {
            var lineEnd = body.AsSpan(at).IndexOf("\r\n"u8);
            if (lineEnd < 0)
            {
                break;
            }

            var sizeText = Encoding.ASCII.GetString(body, at, lineEnd).Split(';')[0];
            if (!int.TryParse(sizeText, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out var size) || size == 0)
            {
                break;
            }

            at += lineEnd + 2;
            output.Write(body, at, Math.Min(size, body.Length - at));
            at += size + 2;
        }

        return output.ToArray();
    }
}
