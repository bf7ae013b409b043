using System.Net.Sockets;
using Lifeline.Cli.Demo;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Vault;

/// <summary>
/// The command line on Azure Blob storage (Azurite on 127.0.0.1, started by scripts/setup/azurite.sh): a repository at
/// azure://container/prefix, and copy between a local and an Azure repository.
/// </summary>
public sealed class AzuriteTests
{
    // The public, documented development account of the Azure Storage emulator; not a secret.
    private const string DevelopmentConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    private static string ConnectionString =>
        Environment.GetEnvironmentVariable("LIFELINE_TEST_AZURITE") is { Length: > 0 } s ? s : DevelopmentConnectionString;

    [Fact]
    public async Task VaultCommands_OnAzurite_BackupRestoreCheckAndCopy()
    {
        await RequireAzuriteAsync();
        using var ctx = new VaultTestContext("azurite");
        var container = $"cli-{Guid.NewGuid():N}"[..30];
        var azure = $"azure://{container}/vaults/primary";
        ctx.Runner.Environment["AZURE_STORAGE_CONNECTION_STRING"] = ConnectionString;
        ctx.Runner.Environment["LIFELINE_REPO"] = azure;
        var source = ctx.Dir.Combine("source");
        TestData.WriteSmallTree(source);

        (await ctx.RunAsync("vault", "snapshots")).ShouldFailWith(ExitCodes.RepositoryNotFound);
        await ctx.InitAsync();
        var backup = (await ctx.JsonAsync("backup", source, "--source", "leads")).Json;
        Assert.Equal(4, backup.GetProperty("totalFiles").GetInt64());
        Assert.Equal(1, (await ctx.JsonAsync("snapshots")).Json.GetArrayLength());
        (await ctx.JsonAsync("check", "--read-data")).ShouldSucceed();
        var target = ctx.Dir.Combine("restored");
        (await ctx.JsonAsync("restore", "latest", "--target", target)).ShouldSucceed();
        var expected = await TreeComparer.FingerprintAsync(source, default);
        Assert.Empty(TreeComparer.Compare(expected, await TreeComparer.FingerprintAsync(Path.Combine(target, "source"), default)));

        // copy from Azure to a local secondary, and restore from there
        var local = ctx.Dir.Combine("secondary");
        await ctx.InitAsync(repo: local);
        var copy = (await ctx.Runner.RunAsync(["vault", "--json", "copy", "--to", local], new Dictionary<string, string?> { ["LIFELINE_TO_PASSWORD"] = VaultTestContext.Password }))
            .ShouldSucceed().Json;
        Assert.Equal(1, copy.GetProperty("snapshotsCopied").GetInt32());
        var fromLocal = ctx.Dir.Combine("restored-local");
        (await ctx.JsonAsync("restore", "latest", "--repo", local, "--target", fromLocal)).ShouldSucceed();
        Assert.Empty(TreeComparer.Compare(expected, await TreeComparer.FingerprintAsync(Path.Combine(fromLocal, "source"), default)));
    }

    [Fact]
    public async Task LakeCommands_TablesOnAzurite_SeedBackupRestoreAsOfVersionAndShow()
    {
        await RequireAzuriteAsync();
        using var ctx = new VaultTestContext("azurite-lake");
        var container = $"lake-{Guid.NewGuid():N}"[..30];
        ctx.Runner.Environment["AZURE_STORAGE_CONNECTION_STRING"] = ConnectionString;
        await ctx.InitAsync();
        var leads = $"azure://{container}/lake/leads";
        var restored = $"azure://{container}/restored/leads";

        (await ctx.RunAsync("lake", "seed", $"azure://{container}/lake", "--leads", "60", "--batches", "3")).ShouldSucceed();
        var backup = (await ctx.RunAsync("lake", "--json", "backup", leads, "--staging", ctx.Dir.Combine("staging"))).ShouldSucceed().Json;
        Assert.StartsWith(leads, backup.GetProperty("table").GetString(), StringComparison.Ordinal);
        var restore = (await ctx.RunAsync("lake", "--json", "restore", restored, "--from", leads, "--version", "1")).ShouldSucceed().Json;
        Assert.Equal(1, restore.GetProperty("version").GetInt64());
        var show = (await ctx.RunAsync("lake", "--json", "show", restored)).ShouldSucceed().Json;
        Assert.Equal(1, show.GetProperty("version").GetInt64());
        Assert.True((await ctx.RunAsync("lake", "verify", restored, "--full")).ShouldSucceed().ExitCode == 0);

        var again = (await ctx.RunAsync("lake", "restore", restored, "--from", leads)).ShouldFailWith(ExitCodes.Failure);
        Assert.Contains("not empty", again, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_AzureWithoutCredentials_UsageErrorNamingTheVariables()
    {
        using var ctx = new VaultTestContext("azure-no-credentials");
        var line = (await ctx.Runner.RunAsync(["vault", "snapshots", "--repo", "azure://lifeline/x"], new Dictionary<string, string?>
        {
            ["AZURE_STORAGE_CONNECTION_STRING"] = null,
            ["AZURE_STORAGE_ACCOUNT"] = null,
            ["AZURE_STORAGE_KEY"] = null,
        })).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("AZURE_STORAGE_CONNECTION_STRING", line);
    }

    private static async Task RequireAzuriteAsync()
    {
        var endpoint = ConnectionString.Split(';').Select(p => p.Split('=', 2)).FirstOrDefault(p => p[0] == "BlobEndpoint")?[1] ?? "http://127.0.0.1:10000";
        var uri = new Uri(endpoint);
        using var client = new TcpClient();
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await client.ConnectAsync(uri.Host, uri.Port, cts.Token);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException)
        {
            Assert.Fail($"Azurite is not reachable at {uri.Host}:{uri.Port} ({e.Message}): run scripts/setup/azurite.sh (or set LIFELINE_TEST_AZURITE to a connection string)");
        }
    }
}
