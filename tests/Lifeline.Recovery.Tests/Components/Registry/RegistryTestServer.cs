// A copy of tests/Lifeline.Registry.Tests/RegistryTestServer.cs for the registry adapter tests.
using Lifeline.Registry.Client;
using Lifeline.Registry;
using Lifeline.Registry.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Lifeline.Recovery.Tests.Components.Registry;

/// <summary>A real registry on Kestrel at 127.0.0.1 on a free port, in its own directory.</summary>
internal sealed class RegistryTestServer : IAsyncDisposable
{
    public const string ReaderToken = "reader-token-0123456789";
    public const string WriterToken = "writer-token-0123456789";
    public const string AdminToken = "admin-token-0123456789";

    private readonly TempDirectory? _ownedDir;

    private RegistryTestServer(WebApplication app, string dataDir, TempDirectory? ownedDir)
    {
        App = app;
        DataDirectory = dataDir;
        _ownedDir = ownedDir;
        Http = new HttpClient { BaseAddress = app.Address() };
    }

    public WebApplication App { get; }

    public string DataDirectory { get; }

    public HttpClient Http { get; }

    public Uri Address => Http.BaseAddress!;

    public MlflowClient Client(string? token = WriterToken) => new(new HttpClient { BaseAddress = Address }, token);

    public static async Task<RegistryTestServer> StartAsync(string? dataDir = null, bool requireTokenForReads = false, TimeProvider? time = null, string? postgres = null)
    {
        var owned = dataDir is null ? new TempDirectory() : null;
        dataDir ??= owned!.Path;
        var options = new RegistryOptions
        {
            DataDirectory = dataDir,
            PostgresConnectionString = postgres,
            RequireTokenForReads = requireTokenForReads,
            Tokens =
            [
                new RegistryToken { Token = ReaderToken, Role = RegistryRole.Read },
                new RegistryToken { Token = WriterToken, Role = RegistryRole.Write },
                new RegistryToken { Sha256 = Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(AdminToken))), Role = RegistryRole.Admin },
            ],
        };
        var app = await RegistryServer.StartAsync(options, "http://127.0.0.1:0", time: time);
        return new RegistryTestServer(app, dataDir, owned);
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _ownedDir?.Dispose();
    }
}
