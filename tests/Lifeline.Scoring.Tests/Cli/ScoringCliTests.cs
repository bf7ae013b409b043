using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Net.Sockets;
using System.Text.Json;
using Lifeline.Registry;
using Lifeline.Registry.Hosting;

namespace Lifeline.Scoring.Tests.Cli;

/// <summary>The real <c>lifeline</c> process: train against a real registry, serve, roll back, stop on SIGTERM.</summary>
public class ScoringCliTests
{
    private const string RegistryToken = "cli-test-registry-token";
    private const string AdminToken = "cli-test-admin-token";

    private static string Lifeline => Path.Combine(AppContext.BaseDirectory, "lifeline.dll");

    private static ProcessStartInfo Start(string workDirectory, IDictionary<string, string>? env, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(Lifeline);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in env ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return info;
    }

    private static async Task<(int Exit, string Out, string Err)> RunAsync(string workDirectory, IDictionary<string, string>? env, params string[] args)
    {
        using var process = Process.Start(Start(workDirectory, env, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task TrainServeRollbackStop_RealProcessesAgainstARealRegistry()
    {
        using var dir = new TempDir();
        await using var registry = await RegistryServer.StartAsync(
            new RegistryOptions { DataDirectory = dir.Sub("registry"), Tokens = [new RegistryToken { Token = RegistryToken, Role = RegistryRole.Admin }] },
            "http://127.0.0.1:0");
        var registryUrl = registry.Address().ToString();
        var env = new Dictionary<string, string>
        {
            ["LIFELINE_REGISTRY_TOKEN"] = RegistryToken,
            ["LIFELINE_SCORING_ADMIN_TOKEN"] = AdminToken,
        };

        var first = await RunAsync(dir.Path, env, "train", "--registry-url", registryUrl, "--trees", "3", "--leaves", "2", "--synthetic-rows", "3000");
        Assert.True(first.Exit == 0, first.Err);
        Assert.Contains("registered lead-scoring version 1; promoted", first.Out, StringComparison.Ordinal);

        var port = FreePort();
        var url = $"http://127.0.0.1:{port}";
        using var serve = Process.Start(Start(dir.Path, env, "scoring", "serve", "--registry-url", registryUrl, "--urls", url, "--poll-seconds", "1",
            "--cache-dir", dir.Sub("cache"), "--sink-dir", dir.Sub("sinks")))!;
        var serveErr = serve.StandardError.ReadToEndAsync();
        var serveOut = serve.StandardOutput.ReadToEndAsync();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(10) };
            await Eventually.TrueAsync(async () =>
            {
                try
                {
                    return (await http.GetAsync("/health/ready")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false;
                }
            }, "lifeline scoring serve ready", 60);

            async Task<string?> ScoreAsync()
            {
                using var response = await http.PostAsJsonAsync("/score-lead", new { lead_id = "cli-lead", page_views = 12 });
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString();
            }

            Assert.Equal("1", await ScoreAsync());
            var nothing = await RunAsync(dir.Path, env, "model", "rollback", "--url", url);
            Assert.Equal(42, nothing.Exit);

            var second = await RunAsync(dir.Path, env, "train", "--registry-url", registryUrl, "--synthetic-rows", "3000", "--trees", "50");
            Assert.True(second.Exit == 0, second.Err);
            Assert.Contains("registered lead-scoring version 2; promoted", second.Out, StringComparison.Ordinal);
            await Eventually.TrueAsync(async () => await ScoreAsync() == "2", "version 2 served after a poll", 60);

            var wrongEnv = new Dictionary<string, string>(env) { ["LIFELINE_SCORING_ADMIN_TOKEN"] = "wrong" };
            Assert.Equal(41, (await RunAsync(dir.Path, wrongEnv, "model", "rollback", "--url", url)).Exit);
            var rollback = await RunAsync(dir.Path, env, "model", "rollback", "--url", url, "--reason", "test");
            Assert.True(rollback.Exit == 0, rollback.Err);
            Assert.Contains("rolled back from version 2 to 1", rollback.Out, StringComparison.Ordinal);
            Assert.Equal("1", await ScoreAsync());
        }
        finally
        {
            if (!serve.HasExited)
            {
                Process.Start("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
            }

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await serve.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                serve.Kill(entireProcessTree: true);
            }
        }

        Assert.True(serve.ExitCode == 0, await serveErr + await serveOut);
        var predictions = await File.ReadAllLinesAsync(Path.Combine(dir.Sub("sinks"), "predictions.jsonl"));
        Assert.True(predictions.Length >= 3);
        var audit = await File.ReadAllTextAsync(Path.Combine(dir.Sub("sinks"), "audit_logs.jsonl"));
        Assert.Contains("model.rollback", audit, StringComparison.Ordinal);
        Assert.Contains("admin.refused", audit, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BadUsage_OneClearLineAndUsageExitCode()
    {
        using var dir = new TempDir();
        var neither = await RunAsync(dir.Path, null, "scoring", "serve");
        Assert.Equal(2, neither.Exit);
        Assert.Contains("exactly one of --registry-url", neither.Err, StringComparison.Ordinal);
        var notLoopback = await RunAsync(dir.Path, null, "scoring", "serve", "--model-dir", "m", "--urls", "http://0.0.0.0:5299");
        Assert.Equal(2, notLoopback.Exit);
        Assert.Contains("loopback", notLoopback.Err, StringComparison.Ordinal);
        var noToken = await RunAsync(dir.Path, new Dictionary<string, string> { ["LIFELINE_SCORING_ADMIN_TOKEN"] = "" }, "model", "rollback");
        Assert.Equal(2, noToken.Exit);
        var unreachable = await RunAsync(dir.Path, new Dictionary<string, string> { ["LIFELINE_SCORING_ADMIN_TOKEN"] = "x" }, "model", "rollback", "--url", $"http://127.0.0.1:{FreePort()}");
        Assert.Equal(40, unreachable.Exit);
        Assert.DoesNotContain("   at ", neither.Err + notLoopback.Err + noToken.Err + unreachable.Err, StringComparison.Ordinal);
    }
}
