using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lifeline.Registry;
using Lifeline.Registry.Client;
using Lifeline.Registry.Hosting;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Microsoft.AspNetCore.Builder;

namespace Lifeline.Scoring.Tests.Training;

public class TrainingJobTests
{
    private const string Token = "registry-writer-token";

    private static async Task<(WebApplication Server, MlflowClient Client, HttpClient Http)> StartRegistryAsync(string directory)
    {
        var server = await RegistryServer.StartAsync(
            new RegistryOptions { DataDirectory = directory, Tokens = [new RegistryToken { Token = Token, Role = RegistryRole.Admin }] },
            "http://127.0.0.1:0");
        var http = new HttpClient { BaseAddress = server.Address() };
        return (server, new MlflowClient(http, Token), http);
    }

    [Fact]
    public async Task RunAsync_FirstThenWorseThenBetter_PromotesOnlyWhenBetterWithLineage()
    {
        using var dir = new TempDir();
        var (server, client, http) = await StartRegistryAsync(dir.Sub("registry"));
        await using var _ = server;
        using var __ = http;
        var job = new TrainingJob(client, TimeProvider.System);
        var data = new SyntheticTrainingData(4000, seed: 11);

        var first = await job.RunAsync(data, "lead-scoring", new TrainingOptions { Trees = 5, Leaves = 4 }, dir.Sub("w1"), CancellationToken.None);
        var worse = await job.RunAsync(data, "lead-scoring", new TrainingOptions { Trees = 1, Leaves = 2 }, dir.Sub("w2"), CancellationToken.None);
        var better = await job.RunAsync(data, "lead-scoring", new TrainingOptions { Trees = 100 }, dir.Sub("w3"), CancellationToken.None);

        Assert.True(first.Promoted);
        Assert.Equal("1", first.Version);
        Assert.False(worse.Promoted, worse.Decision);
        Assert.Equal("1", worse.ProductionVersion);
        Assert.True(worse.ProductionMetrics!.Auc > worse.Metrics.Auc);
        Assert.True(better.Promoted, better.Decision);
        var versions = await client.GetLatestVersionsAsync("lead-scoring", ["Production", "Archived", "None"]);
        Assert.Equal("Production", versions.Single(v => v.Version == "3").CurrentStage);
        Assert.Equal("Archived", versions.Single(v => v.Version == "1").CurrentStage);
        Assert.Equal("None", versions.Single(v => v.Version == "2").CurrentStage);

        var run = await client.GetRunAsync(better.RunId);
        Assert.Equal("FINISHED", run.Info.Status);
        var tags = run.Data.Tags.ToDictionary(t => t.Key, t => t.Value);
        Assert.Equal("synthetic", tags["lifeline.training_table"]);
        Assert.Equal("seed=11;count=4000", tags["lifeline.training_table_version"]);
        Assert.StartsWith("promoted: held-out AUC", tags["lifeline.decision"], StringComparison.Ordinal);
        var metrics = run.Data.Metrics.ToDictionary(m => m.Key, m => m.Value);
        foreach (var key in new[] { "auc", "f1", "precision", "recall", "log_loss", "promoted", "production_auc" })
        {
            Assert.True(metrics.ContainsKey(key), key);
        }

        Assert.Equal("100", run.Data.Params.Single(p => p.Key == "trees").Value);

        // The artifact and its signature are downloadable through the proxy, and the signature names the version.
        var source = new MlflowModelSource(client, "lead-scoring");
        var production = await source.GetProductionAsync(CancellationToken.None);
        Assert.Equal("3", production!.Version);
        await source.DownloadAsync(production, dir.Sub("download"), CancellationToken.None);
        var (_, signature) = await Lifeline.Scoring.Models.ModelArtifact.LoadAsync(dir.Sub("download"), CancellationToken.None);
        Assert.Equal("3", signature.ModelVersion);
        Assert.Equal("synthetic", signature.TrainingTable);
        Assert.Equal("1", (await source.GetPreviousProductionAsync("3", CancellationToken.None))!.Version);
    }

    [Fact]
    public async Task Serve_FromRegistry_PicksUpPromotionAndSurvivesRegistryOutage()
    {
        using var dir = new TempDir();
        var (server, client, http) = await StartRegistryAsync(dir.Sub("registry"));
        using var __ = http;
        var job = new TrainingJob(client, TimeProvider.System);
        var data = new SyntheticTrainingData(3000, seed: 5);
        await job.RunAsync(data, "lead-scoring", new TrainingOptions { Trees = 20 }, dir.Sub("w1"), CancellationToken.None);

        await using (var scoring = await ScoringServer.StartAsync(new MlflowModelSource(client, "lead-scoring"), dir.Path))
        {
            Assert.Equal("1", (await scoring.GetJsonAsync<JsonElement>("/model-info")).GetProperty("model_version").GetString());
            await job.RunAsync(data, "lead-scoring", new TrainingOptions { Trees = 100 }, dir.Sub("w2"), CancellationToken.None);
            scoring.Time.Advance(TimeSpan.FromSeconds(30));
            await Eventually.TrueAsync(async () => (await scoring.GetJsonAsync<JsonElement>("/model-info")).GetProperty("model_version").GetString() == "2",
                "promoted version 2 served");
        }

        await server.DisposeAsync(); // the registry is down from here on

        await using var restarted = await ScoringServer.StartAsync(new MlflowModelSource(client, "lead-scoring"), dir.Path);
        using var response = await restarted.PostJsonAsync("/score-lead", """{"lead_id":"after-outage","page_views":12}""");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("2", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString());
    }
}
