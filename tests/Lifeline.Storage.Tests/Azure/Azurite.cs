using System.Net.Sockets;
using Azure.Storage.Blobs;

namespace Lifeline.Storage.Tests.Azure;

/// <summary>Where the tests find Azurite: env <c>LIFELINE_TEST_AZURITE</c> (a connection string) or the well-known dev account.</summary>
internal static class Azurite
{
    // The public, documented development account of the Azure Storage emulator; not a secret.
    private const string DevelopmentConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    private static readonly Lazy<Task<string?>> Unreachable = new(ProbeAsync);

    public static string ConnectionString => Environment.GetEnvironmentVariable("LIFELINE_TEST_AZURITE") is { Length: > 0 } s ? s : DevelopmentConnectionString;

    public static BlobServiceClient CreateServiceClient()
    {
        var options = new BlobClientOptions();
        options.Retry.MaxRetries = 2;
        options.Retry.Delay = TimeSpan.FromMilliseconds(50);
        options.Retry.NetworkTimeout = TimeSpan.FromSeconds(30);
        return new BlobServiceClient(ConnectionString, options);
    }

    /// <summary>Fails the calling test with a clear instruction when Azurite does not answer.</summary>
    public static async Task RequireAsync()
    {
        if (await Unreachable.Value is { } reason)
        {
            Assert.Fail($"Azurite is not reachable ({reason}): run scripts/setup/azurite.sh (or set LIFELINE_TEST_AZURITE to a connection string)");
        }
    }

    public static async Task<bool> IsReachableAsync() => await Unreachable.Value is null;

    private static async Task<string?> ProbeAsync()
    {
        var endpoint = new BlobServiceClient(ConnectionString).Uri;
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
