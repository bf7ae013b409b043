using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;
using Lifeline.Storage.S3;

namespace Lifeline.Storage.Tests.S3;

/// <summary>
/// Where the tests find the local S3 server (s3rver, started by scripts/setup/s3.sh): env
/// <c>LIFELINE_TEST_S3_ENDPOINT</c> (default http://127.0.0.1:10050), keys <c>LIFELINE_TEST_S3_ACCESS_KEY</c> and
/// <c>LIFELINE_TEST_S3_SECRET_KEY</c> (default s3rver's fixed S3RVER/S3RVER, not a secret).
/// </summary>
internal static class LocalS3
{
    private static readonly Lazy<Task<string?>> Unreachable = new(ProbeAsync);

    public static string Endpoint => Env("LIFELINE_TEST_S3_ENDPOINT", "http://127.0.0.1:10050");

    public static AmazonS3Client CreateClient(string? endpoint = null, int maxErrorRetry = 1)
    {
        var config = S3ObjectStore.CreateConfig(endpoint ?? Endpoint, "us-east-1");
        config.MaxErrorRetry = maxErrorRetry;
        config.Timeout = TimeSpan.FromSeconds(30);
        return new AmazonS3Client(new BasicAWSCredentials(Env("LIFELINE_TEST_S3_ACCESS_KEY", "S3RVER"), Env("LIFELINE_TEST_S3_SECRET_KEY", "S3RVER")), config);
    }

    /// <summary>Fails the calling test with a clear instruction when the server does not answer.</summary>
    public static async Task RequireAsync()
    {
        if (await Unreachable.Value is { } reason)
        {
            Assert.Fail($"the local S3 server is not reachable ({reason}): run scripts/setup/s3.sh (or set LIFELINE_TEST_S3_ENDPOINT)");
        }
    }

    public static async Task<bool> IsReachableAsync() => await Unreachable.Value is null;

    private static string Env(string name, string fallback) => Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;

    private static async Task<string?> ProbeAsync()
    {
        var endpoint = new Uri(Endpoint);
        try
        {
            using var tcp = new TcpClient();
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await tcp.ConnectAsync(endpoint.Host, endpoint.Port, cts.Token);
            return null;
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            return $"{endpoint.Host}:{endpoint.Port}: {e.Message}";
        }
    }
}
