using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Lifeline.Storage.Tests.TestSupport;

/// <summary>One request as the server saw it.</summary>
internal sealed record RecordedRequest(string Method, string PathAndQuery, IReadOnlyDictionary<string, string> Headers, byte[] Body);

/// <summary>A canned answer.</summary>
internal sealed record CannedResponse(int Status, byte[] Body, IReadOnlyDictionary<string, string>? Headers = null)
{
    public static CannedResponse Xml(int status, string xml, IReadOnlyDictionary<string, string>? headers = null) =>
        new(status, Encoding.UTF8.GetBytes(xml), new Dictionary<string, string>(headers ?? new Dictionary<string, string>()) { ["Content-Type"] = "application/xml" });

    public static CannedResponse S3Error(int status, string code) =>
        Xml(status, $"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{code}</Message><RequestId>1</RequestId></Error>");
}

/// <summary>
/// A real HTTP server on 127.0.0.1 (HttpListener) that records every request and answers from a handler: for
/// checking the exact requests a client SDK sends and how a store maps the answers.
/// </summary>
internal sealed class RecordingHttpServer : IDisposable
{
    private readonly HttpListener _listener = new();
    private readonly Func<RecordedRequest, CannedResponse> _handler;
    private readonly Task _loop;

    public RecordingHttpServer(Func<RecordedRequest, CannedResponse> handler)
    {
        _handler = handler;
        // A free port from the storage range 10060-10099, else any free port.
        Port = Enumerable.Range(10060, 40).Append(0).Select(TryReserve).First(p => p > 0);
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(LoopAsync);
    }

    public int Port { get; }

    public string Endpoint => $"http://127.0.0.1:{Port}";

    public ConcurrentQueue<RecordedRequest> Requests { get; } = new();

    public void Dispose()
    {
        _listener.Stop();
        _listener.Close();
        try
        {
            _loop.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
    }

    private static int TryReserve(int port)
    {
        try
        {
            var probe = new TcpListener(IPAddress.Loopback, port);
            probe.Start();
            var bound = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            return bound;
        }
        catch (SocketException)
        {
            return -1;
        }
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            using var body = new MemoryStream();
            await context.Request.InputStream.CopyToAsync(body);
            var headers = context.Request.Headers.AllKeys.Where(k => k is not null).ToDictionary(k => k!, k => context.Request.Headers[k]!, StringComparer.OrdinalIgnoreCase);
            var request = new RecordedRequest(context.Request.HttpMethod, context.Request.Url!.PathAndQuery, headers, body.ToArray());
            Requests.Enqueue(request);
            var response = _handler(request);
            context.Response.StatusCode = response.Status;
            foreach (var (name, value) in response.Headers ?? new Dictionary<string, string>())
            {
                if (name.Equals("Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    context.Response.ContentType = value;
                }
                else
                {
                    context.Response.Headers[name] = value;
                }
            }

            if (request.Method != "HEAD")
            {
                context.Response.ContentLength64 = response.Body.Length;
                await context.Response.OutputStream.WriteAsync(response.Body);
            }

            context.Response.Close();
        }
    }
}
