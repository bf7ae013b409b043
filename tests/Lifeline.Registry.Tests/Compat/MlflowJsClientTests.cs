using System.Diagnostics;
using System.Text.Json;

namespace Lifeline.Registry.Tests.Compat;

/// <summary>
/// Compatibility with a client we did not write: the npm package <c>mlflow</c> (a Node.js MLflow REST client,
/// installed into .tools/mlflow-js by scripts/setup/mlflow-js.sh) runs a training pipeline's calls against our
/// registry on 127.0.0.1 (Compat/mlflow-js-client.js), and what it got back is asserted here, then read back with our
/// own client. The fixtures under Fixtures/ are hand-written from MLflow's protos; this test is the outside check.
/// </summary>
public sealed class MlflowJsClientTests
{
    [Fact]
    public async Task MlflowNpmClient_TrackingAndRegistryCalls_AnsweredAsMlflowDoes()
    {
        var module = LocateModule();
        using var dir = new TempDirectory();
        await using var server = await RegistryTestServer.StartAsync(dir.Combine("registry"));
        var resultFile = dir.Combine("result.json");

        var (exit, stderr) = await RunNodeAsync(Path.Combine(AppContext.BaseDirectory, "Compat", "mlflow-js-client.js"),
            module, server.Address.ToString().TrimEnd('/'), RegistryTestServer.WriterToken, resultFile);

        Assert.True(exit == 0, $"the mlflow npm client failed (exit {exit}):\n{stderr}");
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(resultFile));
        var r = doc.RootElement;

        // tracking, through the package's own methods
        var experimentId = r.GetProperty("experiment").GetProperty("experiment_id").GetString()!;
        Assert.Equal("js-client-experiment", r.GetProperty("experimentGet").GetProperty("experiment").GetProperty("name").GetString());
        var run = r.GetProperty("runGet").GetProperty("run");
        var runId = r.GetProperty("run").GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        Assert.Equal(runId, run.GetProperty("info").GetProperty("run_id").GetString());
        Assert.Equal(experimentId, run.GetProperty("info").GetProperty("experiment_id").GetString());
        Assert.Equal("FINISHED", run.GetProperty("info").GetProperty("status").GetString());
        Assert.Equal("FINISHED", r.GetProperty("update").GetProperty("run_info").GetProperty("status").GetString());
        Assert.Equal(1_700_000_000_100, run.GetProperty("info").GetProperty("end_time").GetInt64());
        var metrics = run.GetProperty("data").GetProperty("metrics").EnumerateArray().ToDictionary(m => m.GetProperty("key").GetString()!, m => m);
        Assert.Equal(0.91, metrics["auc"].GetProperty("value").GetDouble());
        Assert.Equal(0.2, metrics["loss"].GetProperty("value").GetDouble(), 9); // the latest step's value
        Assert.Equal(4, metrics["loss"].GetProperty("step").GetInt64());
        var parameters = run.GetProperty("data").GetProperty("params").EnumerateArray().ToDictionary(p => p.GetProperty("key").GetString()!, p => p.GetProperty("value").GetString());
        Assert.Equal("100", parameters["trees"]);
        Assert.Equal("0.1", parameters["learning_rate"]);
        Assert.Contains(run.GetProperty("data").GetProperty("tags").EnumerateArray(), t => t.GetProperty("key").GetString() == "lineage.table" && t.GetProperty("value").GetString() == "leads@6");
        var history = r.GetProperty("history").GetProperty("metrics").EnumerateArray().ToList();
        Assert.Equal([0L, 1, 2, 3, 4], history.Select(m => m.GetProperty("step").GetInt64()).Order());
        Assert.Equal(runId, Assert.Single(r.GetProperty("search").GetProperty("runs").EnumerateArray()).GetProperty("info").GetProperty("run_id").GetString());
        Assert.False(r.GetProperty("searchNone").TryGetProperty("runs", out var none) && none.GetArrayLength() > 0);

        // the model registry, through the package's request layer with MLflow's documented paths
        Assert.Equal("js-lead-model", r.GetProperty("model").GetProperty("registered_model").GetProperty("name").GetString());
        Assert.Equal("1", r.GetProperty("version").GetProperty("model_version").GetProperty("version").GetString());
        Assert.Equal("2", r.GetProperty("version2").GetProperty("model_version").GetProperty("version").GetString());
        Assert.Equal(runId, r.GetProperty("version").GetProperty("model_version").GetProperty("run_id").GetString());
        Assert.Equal("Production", r.GetProperty("transition").GetProperty("model_version").GetProperty("current_stage").GetString());
        Assert.Equal("Production", r.GetProperty("transition2").GetProperty("model_version").GetProperty("current_stage").GetString());
        Assert.Equal("1", r.GetProperty("aliasGet").GetProperty("model_version").GetProperty("version").GetString());
        Assert.Contains("champion", r.GetProperty("aliasGet").GetProperty("model_version").GetProperty("aliases").EnumerateArray().Select(a => a.GetString()));
        var latest = r.GetProperty("latest").GetProperty("model_versions").EnumerateArray()
            .ToDictionary(v => v.GetProperty("current_stage").GetString()!, v => v.GetProperty("version").GetString());
        Assert.Equal("2", latest["Production"]);
        Assert.Equal("1", latest["Archived"]); // archive_existing_versions moved version 1 out of Production
        Assert.Equal(["1", "2"], r.GetProperty("versionSearch").GetProperty("model_versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()).Order());
        Assert.Equal("js-lead-model", Assert.Single(r.GetProperty("modelSearch").GetProperty("registered_models").EnumerateArray()).GetProperty("name").GetString());
        Assert.Contains(r.GetProperty("modelGet").GetProperty("registered_model").GetProperty("aliases").EnumerateArray(),
            a => a.GetProperty("alias").GetString() == "champion" && a.GetProperty("version").GetString() == "1");
        var missing = r.GetProperty("missing").GetString()!;
        Assert.Contains("404", missing, StringComparison.Ordinal);
        Assert.Contains("RESOURCE_DOES_NOT_EXIST", missing, StringComparison.Ordinal);

        // what the other client wrote is what our own client reads
        var ours = server.Client(RegistryTestServer.ReaderToken);
        Assert.Equal(5, (await ours.GetMetricHistoryAsync(runId, "loss")).Count);
        Assert.Equal("2", Assert.Single(await ours.GetLatestVersionsAsync("js-lead-model", ["Production"])).Version);
    }

    /// <summary>The installed package (LIFELINE_MLFLOW_JS, or .tools/mlflow-js above the test assembly).</summary>
    private static string LocateModule()
    {
        var fromEnvironment = Environment.GetEnvironmentVariable("LIFELINE_MLFLOW_JS");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return fromEnvironment;
        }

        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, ".tools", "mlflow-js", "node_modules", "mlflow");
            if (File.Exists(Path.Combine(candidate, "package.json")))
            {
                return candidate;
            }
        }

        Assert.Fail("the mlflow npm client is not installed: run scripts/setup/mlflow-js.sh (or set LIFELINE_MLFLOW_JS to its node_modules/mlflow)");
        return "";
    }

    private static async Task<(int Exit, string Stderr)> RunNodeAsync(params string[] args)
    {
        var info = new ProcessStartInfo("node") { RedirectStandardError = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start node");
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"node did not finish within 60 s\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }
}
