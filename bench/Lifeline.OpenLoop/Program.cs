// An open-loop HTTP load generator (wrk2's model): every connection sends on a fixed schedule, whatever the answers
// do, and a request's latency is measured from the time it was *scheduled* to be sent, not from when it was sent, so
// a server that stalls shows the queueing its clients would see (no coordinated omission). Percentiles are exact
// (every latency is kept and sorted). See docs/benchmarks.md, "Open loop".
//
// Usage: dotnet Lifeline.OpenLoop.dll URL RATE DURATION_S [CONNECTIONS=16] [BODY_FILE] [--warmup S]
//   URL          http://127.0.0.1:PORT/path (HTTP/1.1, keep-alive; POST when BODY_FILE is given, else GET)
//   RATE         requests per second in all (spread evenly over the connections, each with its own phase)
//   BODY_FILE    the JSON body (Content-Type: application/json); a wrk Lua file's `wrk.body = '...'` line also works
// Prints one line of key=value pairs (ms) on stdout for scripts, and a readable block on stderr.
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

if (args.Length < 3)
{
    Console.Error.WriteLine("usage: Lifeline.OpenLoop URL RATE DURATION_S [CONNECTIONS=16] [BODY_FILE] [--warmup S]");
    return 2;
}

var positional = args.Where((a, i) => !a.StartsWith("--", StringComparison.Ordinal) && (i == 0 || args[i - 1] != "--warmup")).ToArray();
var uri = new Uri(positional[0]);
var rate = double.Parse(positional[1], CultureInfo.InvariantCulture);
var duration = TimeSpan.FromSeconds(double.Parse(positional[2], CultureInfo.InvariantCulture));
var connections = positional.Length > 3 ? int.Parse(positional[3], CultureInfo.InvariantCulture) : 16;
var bodyFile = positional.Length > 4 ? positional[4] : null;
var warmupIndex = Array.IndexOf(args, "--warmup");
var warmup = warmupIndex >= 0 ? TimeSpan.FromSeconds(double.Parse(args[warmupIndex + 1], CultureInfo.InvariantCulture)) : TimeSpan.Zero;
if (rate <= 0 || connections <= 0 || duration <= TimeSpan.Zero)
{
    Console.Error.WriteLine("RATE, DURATION_S and CONNECTIONS must be positive");
    return 2;
}

byte[]? body = null;
if (bodyFile is not null)
{
    var text = File.ReadAllText(bodyFile);
    var marker = text.IndexOf("wrk.body", StringComparison.Ordinal);
    if (marker >= 0)
    {
        var open = text.IndexOf('\'', marker);
        var close = text.IndexOf('\'', open + 1);
        text = text[(open + 1)..close];
    }

    body = Encoding.UTF8.GetBytes(text.Trim());
}

var head = new StringBuilder()
    .Append(CultureInfo.InvariantCulture, $"{(body is null ? "GET" : "POST")} {uri.PathAndQuery} HTTP/1.1\r\n")
    .Append(CultureInfo.InvariantCulture, $"Host: {uri.Authority}\r\n");
if (body is not null)
{
    head.Append(CultureInfo.InvariantCulture, $"Content-Type: application/json\r\nContent-Length: {body.Length}\r\n");
}

var request = Encoding.ASCII.GetBytes(head.Append("\r\n").ToString()).Concat(body ?? []).ToArray();
var perConnection = rate / connections;
var interval = TimeSpan.FromSeconds(1 / perConnection);
var total = warmup + duration;
var origin = Stopwatch.GetTimestamp();
var results = new ConnectionResult[connections];
var tasks = new Task[connections];
for (var c = 0; c < connections; c++)
{
    var index = c;
    results[c] = new ConnectionResult();
    // each connection starts at its own phase so the sends of all connections are spread evenly
    var phase = TimeSpan.FromTicks(interval.Ticks * index / connections);
    tasks[c] = Task.Run(() => RunConnectionAsync(uri, request, phase, interval, warmup, total, results[index]));
}

await Task.WhenAll(tasks);
var elapsed = Stopwatch.GetElapsedTime(origin) - warmup;

var latencies = results.SelectMany(r => r.Latencies).ToArray();
var lags = results.SelectMany(r => r.SendLags).ToArray();
Array.Sort(latencies);
Array.Sort(lags);
var ok = results.Sum(r => r.Ok);
var non2xx = results.Sum(r => r.Non2xx);
var errors = results.Sum(r => r.Errors);
var scheduled = results.Sum(r => r.Scheduled);
var unsent = scheduled - latencies.Length - errors;

static double Percentile(double[] sorted, double p) =>
    sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p / 100 * sorted.Length) - 1, 0, sorted.Length - 1)];

var inv = CultureInfo.InvariantCulture;
Console.Error.WriteLine(string.Create(inv,
    $"open loop: {rate:F0} requests/s scheduled over {connections} connections for {duration.TotalSeconds:F0} s (after {warmup.TotalSeconds:F0} s warm-up, not counted)"));
Console.Error.WriteLine(string.Create(inv,
    $"  scheduled {scheduled}, answered 2xx {ok}, non-2xx {non2xx}, socket errors {errors}, not sent by the end {unsent}; achieved {latencies.Length / elapsed.TotalSeconds:F0} answers/s"));
Console.Error.WriteLine("  latency from the scheduled send time (ms):");
foreach (var p in new[] { 50.0, 90, 99, 99.9, 99.99, 100 })
{
    Console.Error.WriteLine(string.Create(inv, $"    {p,7:0.###}%  {Percentile(latencies, p),10:F3}"));
}

Console.Error.WriteLine(string.Create(inv,
    $"  the generator's own send lag (sent - scheduled, ms): p50 {Percentile(lags, 50):F3}, p99 {Percentile(lags, 99):F3}, max {Percentile(lags, 100):F3}"));
Console.WriteLine(string.Create(inv,
    $"rate={rate:F0} scheduled={scheduled} ok={ok} non2xx={non2xx} errors={errors} unsent={unsent} p50={Percentile(latencies, 50):F3} p90={Percentile(latencies, 90):F3} p99={Percentile(latencies, 99):F3} p999={Percentile(latencies, 99.9):F3} max={Percentile(latencies, 100):F3} lag_p99={Percentile(lags, 99):F3}"));
return 0;

static async Task RunConnectionAsync(Uri uri, byte[] request, TimeSpan phase, TimeSpan interval, TimeSpan warmup, TimeSpan total, ConnectionResult result)
{
    var origin = Stopwatch.GetTimestamp();
    var buffer = new byte[64 * 1024];
    Socket? socket = null;
    for (long k = 0; ; k++)
    {
        var due = phase + TimeSpan.FromTicks(interval.Ticks * k);
        if (due >= total)
        {
            break;
        }

        var counted = due >= warmup;
        if (counted)
        {
            result.Scheduled++;
        }

        var wait = due - Stopwatch.GetElapsedTime(origin);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }

        var sent = Stopwatch.GetElapsedTime(origin);
        if (sent >= total + TimeSpan.FromSeconds(5))
        {
            break; // far behind: the rest would never be answered in time; counted as not sent
        }

        try
        {
            if (socket is null)
            {
                socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
                await socket.ConnectAsync(uri.Host, uri.Port);
            }

            await socket.SendAsync(request, SocketFlags.None);
            var (status, keepAlive) = await ReadResponseAsync(socket, buffer);
            var answered = Stopwatch.GetElapsedTime(origin);
            if (counted)
            {
                result.Latencies.Add((answered - due).TotalMilliseconds);
                result.SendLags.Add((sent - due).TotalMilliseconds);
                if (status is >= 200 and < 300)
                {
                    result.Ok++;
                }
                else
                {
                    result.Non2xx++;
                }
            }

            if (!keepAlive)
            {
                socket.Dispose();
                socket = null;
            }
        }
        catch (Exception ex) when (ex is SocketException or IOException or InvalidDataException)
        {
            if (counted)
            {
                result.Errors++;
            }

            socket?.Dispose();
            socket = null;
        }
    }

    socket?.Dispose();
}

// Reads one HTTP/1.1 response with a Content-Length body; returns its status and whether the connection stays open.
static async Task<(int Status, bool KeepAlive)> ReadResponseAsync(Socket socket, byte[] buffer)
{
    var filled = 0;
    int headerEnd;
    while ((headerEnd = IndexOfHeaderEnd(buffer.AsSpan(0, filled))) < 0)
    {
        if (filled == buffer.Length)
        {
            throw new InvalidDataException("response headers over 64 KiB");
        }

        var read = await socket.ReceiveAsync(buffer.AsMemory(filled), SocketFlags.None);
        if (read == 0)
        {
            throw new IOException("connection closed before the response");
        }

        filled += read;
    }

    var headers = Encoding.ASCII.GetString(buffer, 0, headerEnd);
    var status = int.Parse(headers.AsSpan(9, 3), CultureInfo.InvariantCulture);
    long contentLength = -1;
    var keepAlive = true;
    foreach (var line in headers.Split("\r\n"))
    {
        if (line.StartsWith("content-length:", StringComparison.OrdinalIgnoreCase))
        {
            contentLength = long.Parse(line.AsSpan(15).Trim(), CultureInfo.InvariantCulture);
        }
        else if (line.StartsWith("connection:", StringComparison.OrdinalIgnoreCase) && line.Contains("close", StringComparison.OrdinalIgnoreCase))
        {
            keepAlive = false;
        }
        else if (line.StartsWith("transfer-encoding:", StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException("chunked responses are not supported: the server must send Content-Length");
        }
    }

    if (contentLength < 0)
    {
        throw new InvalidDataException("response without Content-Length");
    }

    var remaining = contentLength - (filled - (headerEnd + 4));
    while (remaining > 0)
    {
        var read = await socket.ReceiveAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, remaining)), SocketFlags.None);
        if (read == 0)
        {
            throw new IOException("connection closed inside the response body");
        }

        remaining -= read;
    }

    return (status, keepAlive);
}

static int IndexOfHeaderEnd(ReadOnlySpan<byte> data) => data.IndexOf("\r\n\r\n"u8);

internal sealed class ConnectionResult
{
    public List<double> Latencies { get; } = new(1 << 12);

    public List<double> SendLags { get; } = new(1 << 12);

    public long Ok { get; set; }

    public long Non2xx { get; set; }

    public long Errors { get; set; }

    public long Scheduled { get; set; }
}
