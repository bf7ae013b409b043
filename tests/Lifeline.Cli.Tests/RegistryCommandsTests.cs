using System.Diagnostics;
using System.Text.Json;
using Lifeline.Registry;
using Lifeline.Registry.Client;
using Lifeline.Registry.Hosting;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Cli.Tests;

/// <summary><c>lifeline registry ...</c> run as a real child process against real files.</summary>
public sealed class RegistryCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lifeline-cli-registry-tests", Guid.NewGuid().ToString("N"));

    public RegistryCommandsTests() => Directory.CreateDirectory(_dir);

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
            // left for the temp cleaner
        }
    }

    private string P(string name) => Path.Combine(_dir, name);

    [Fact]
    public async Task BackupRestoreLs_NativeThroughVault_RestoresModelAndStage()
    {
        await SeedAsync(P("data"));
        await File.WriteAllTextAsync(P("pw"), "secret\n");
        await using (await VaultRepository.InitAsync(new FileSystemObjectStore(P("vault")), "secret", VaultInitOptions.ForTests))
        {
        }

        var backup = await RunAsync("registry", "backup", "--data-dir", P("data"), "--repo", P("vault"), "--password-file", P("pw"), "--work-dir", P("work"), "--json");
        Assert.True(backup.Code == 0, backup.Stderr);
        using (var doc = JsonDocument.Parse(backup.Stdout))
        {
            Assert.Equal("native", doc.RootElement.GetProperty("mode").GetString());
            Assert.Equal(64, doc.RootElement.GetProperty("snapshot").GetString()!.Length);
        }

        var restore = await RunAsync("registry", "restore", "--data-dir", P("restored"), "--repo", P("vault"), "--password-file", P("pw"), "--work-dir", P("work"), "--at", DateTimeOffset.UtcNow.AddMinutes(1).ToString("O"));
        Assert.True(restore.Code == 0, restore.Stderr);
        var ls = await RunAsync("registry", "ls", "--data-dir", P("restored"), "--json");
        Assert.True(ls.Code == 0, ls.Stderr);
        using (var doc = JsonDocument.Parse(ls.Stdout))
        {
            // one JSON convention for every command: camelCase, also for the registry's MLflow objects
            var model = doc.RootElement.GetProperty("registeredModels")[0];
            Assert.Equal("lead-scorer", model.GetProperty("name").GetString());
            Assert.Equal("Production", model.GetProperty("latestVersions")[0].GetProperty("currentStage").GetString());
        }

        var again = await RunAsync("registry", "restore", "--data-dir", P("restored"), "--repo", P("vault"), "--password-file", P("pw"), "--work-dir", P("work"));
        Assert.Equal(1, again.Code);
        Assert.Contains("given by --data-dir is not empty", again.Stderr, StringComparison.Ordinal);
        var tooEarly = await RunAsync("registry", "restore", "--data-dir", P("none"), "--repo", P("vault"), "--password-file", P("pw"), "--at", "2000-01-01T00:00:00Z");
        Assert.Equal(13, tooEarly.Code); // snapshot not found, as for `vault restore --at`
        Assert.DoesNotContain("   at ", tooEarly.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreIncremental_IntoEarlierRestoreAndRefusals_DocumentedExitCodes()
    {
        await SeedAsync(P("data"));
        await File.WriteAllTextAsync(P("pw"), "secret\n");
        await using (await VaultRepository.InitAsync(new FileSystemObjectStore(P("vault")), "secret", VaultInitOptions.ForTests))
        {
        }

        string[] vault = ["--repo", P("vault"), "--password-file", P("pw"), "--work-dir", P("work")];
        Assert.Equal(0, (await RunAsync(["registry", "backup", "--data-dir", P("data"), .. vault])).Code);
        Assert.Equal(0, (await RunAsync(["registry", "restore", "--data-dir", P("restored"), .. vault])).Code);

        var again = await RunAsync(["registry", "restore", "--incremental", "--data-dir", P("restored"), "--json", .. vault]);
        Assert.True(again.Code == 0, again.Stderr);
        using (var doc = JsonDocument.Parse(again.Stdout))
        {
            var stats = doc.RootElement.GetProperty("incremental");
            Assert.Equal((0, 1), (stats.GetProperty("fetchedFiles").GetInt32(), stats.GetProperty("reusedFiles").GetInt32()));
        }

        var notRestored = await RunAsync(["registry", "restore", "--incremental", "--data-dir", P("data"), .. vault]);
        Assert.Equal(31, notRestored.Code);
        Assert.Single(notRestored.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("not the target of an earlier restore", notRestored.Stderr, StringComparison.Ordinal);

        File.SetLastWriteTimeUtc(Path.Combine(P("restored"), "registry.db"), DateTime.UtcNow.AddMinutes(-5)); // as if it had served since
        var changed = await RunAsync(["registry", "restore", "--incremental", "--data-dir", P("restored"), .. vault]);
        Assert.Equal(32, changed.Code);
        Assert.Contains("--replace-changed", changed.Stderr, StringComparison.Ordinal);
        Assert.Equal(0, (await RunAsync(["registry", "restore", "--incremental", "--replace-changed", "--data-dir", P("restored"), .. vault])).Code);

        var withoutIncremental = await RunAsync(["registry", "restore", "--replace-changed", "--data-dir", P("other"), .. vault]);
        Assert.Equal(2, withoutIncremental.Code);
        Assert.Contains("--replace-changed goes with --incremental", withoutIncremental.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_CorruptDatabase_ExitsNamingTheRestoreCommand()
    {
        Directory.CreateDirectory(P("bad"));
        await File.WriteAllBytesAsync(P("bad/registry.db"), Enumerable.Repeat((byte)0x42, 16384).ToArray());
        var serve = await RunAsync("registry", "serve", "--data-dir", P("bad"), "--urls", "http://127.0.0.1:0");
        Assert.Equal(30, serve.Code);
        Assert.Contains("lifeline registry restore", serve.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Restore_BadTime_UsageError()
    {
        var result = await RunAsync("registry", "restore", "--data-dir", P("x"), "--repo", P("vault"), "--at", "yesterday-ish");
        Assert.Equal(2, result.Code);
        Assert.Contains("--at", result.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Backup_MissingRepoPasswordOrVault_SameErrorsAndExitCodesAsTheVaultCommands()
    {
        await File.WriteAllTextAsync(P("pw"), "secret\n");
        var noRepo = await RunAsync("registry", "backup", "--data-dir", P("data"), "--password-file", P("pw"));
        Assert.Equal(2, noRepo.Code);
        Assert.StartsWith("lifeline: no repository given: pass --repo LOCATION or set LIFELINE_REPO", noRepo.Stderr, StringComparison.Ordinal);

        var noPassword = await RunAsync("registry", "backup", "--data-dir", P("data"), "--repo", P("vault"));
        Assert.Equal(2, noPassword.Code);
        Assert.StartsWith("lifeline: no password given: set LIFELINE_PASSWORD or pass --password-file FILE", noPassword.Stderr, StringComparison.Ordinal);

        var noVault = await RunAsync("registry", "restore", "--data-dir", P("data"), "--repo", P("vault"), "--password-file", P("pw"));
        Assert.Equal(10, noVault.Code);
        Assert.Single(noVault.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(Directory.Exists(P("vault")), "a missing repository is not created");
    }

    private static async Task SeedAsync(string dataDir)
    {
        var options = new RegistryOptions { DataDirectory = dataDir, Tokens = [new RegistryToken { Token = "t", Role = RegistryRole.Admin }] };
        await using var app = await RegistryServer.StartAsync(options, "http://127.0.0.1:0");
        var client = new MlflowClient(new HttpClient { BaseAddress = app.Address() }, "t");
        var run = await client.CreateRunAsync("0", "train");
        await client.UploadArtifactAsync(MlflowClient.ProxyPathOf(run.Info.ArtifactUri) + "/model/model.zip", new byte[] { 1, 2, 3 });
        await client.CreateRegisteredModelAsync("lead-scorer");
        await client.CreateModelVersionAsync("lead-scorer", run.Info.ArtifactUri + "/model", run.Info.RunId);
        await client.TransitionModelVersionStageAsync("lead-scorer", "1", "Production", true);
        await app.StopAsync();
    }

    private sealed record Result(int Code, string Stdout, string Stderr);

    private static async Task<Result> RunAsync(params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "lifeline.dll"));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }

        psi.Environment.Remove("LIFELINE_PASSWORD");
        psi.Environment.Remove("LIFELINE_REPO");
        using var process = Process.Start(psi)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }
}
