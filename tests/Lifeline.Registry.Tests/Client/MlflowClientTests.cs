using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Tests.Client;

public sealed class MlflowClientTests : IAsyncLifetime
{
    private RegistryTestServer _server = null!;

    public async Task InitializeAsync() => _server = await RegistryTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task TrainingFlow_RunVersionPromotion_RoundTrips()
    {
        var client = _server.Client();
        var experimentId = await client.GetOrCreateExperimentAsync("lead-scoring");
        Assert.Equal(experimentId, await client.GetOrCreateExperimentAsync("lead-scoring"));
        var run = await client.CreateRunAsync(experimentId, "train", 1000, [new MlflowTag("lineage.table", "leads@v3")]);
        await client.LogParamAsync(run.Info.RunId, "trees", "100");
        await client.LogMetricAsync(run.Info.RunId, "auc", 0.9, 2000, 1);
        await client.SetTagAsync(run.Info.RunId, "decision", "promote");
        var metrics = Enumerable.Range(0, 2500).Select(i => new MlflowMetric { Key = "loss", Value = 1.0 / (i + 1), Timestamp = 3000 + i, Step = i }).ToList();
        var parameters = Enumerable.Range(0, 150).Select(i => new MlflowTag($"p{i}", "v")).ToList();
        await client.LogBatchAsync(run.Info.RunId, metrics, parameters, [new MlflowTag("t", "1")]);
        var finished = await client.UpdateRunAsync(run.Info.RunId, "FINISHED", 9000);
        Assert.Equal(("FINISHED", 9000L), (finished.Status, finished.EndTime));

        var got = await client.GetRunAsync(run.Info.RunId);
        Assert.Equal(151, got.Data.Params.Count);
        Assert.Equal(2500, (await client.GetMetricHistoryAsync(run.Info.RunId, "loss")).Count);
        Assert.Equal("leads@v3", got.Data.Tags.Single(t => t.Key == "lineage.table").Value);

        var path = MlflowClient.ProxyPathOf(run.Info.ArtifactUri)! + "/model/model.zip";
        var bytes = Enumerable.Range(0, 100_000).Select(i => (byte)i).ToArray();
        await client.UploadArtifactAsync(path, bytes);
        Assert.Equal(bytes, await client.DownloadArtifactAsync(path));
        var files = await client.ListArtifactsRecursiveAsync(MlflowClient.ProxyPathOf(run.Info.ArtifactUri)!).ToListAsync();
        Assert.Equal(path, Assert.Single(files).Path);

        await client.CreateRegisteredModelAsync("lead-scorer", "scores leads");
        var v1 = await client.CreateModelVersionAsync("lead-scorer", run.Info.ArtifactUri + "/model", run.Info.RunId);
        var v2 = await client.CreateModelVersionAsync("lead-scorer", run.Info.ArtifactUri + "/model", run.Info.RunId);
        await client.TransitionModelVersionStageAsync("lead-scorer", v1.Version, "Production", archiveExistingVersions: true);
        await client.TransitionModelVersionStageAsync("lead-scorer", v2.Version, "Production", archiveExistingVersions: true);
        await client.SetRegisteredModelAliasAsync("lead-scorer", "champion", v2.Version);
        await client.SetModelVersionTagAsync("lead-scorer", v2.Version, "auc", "0.9");
        var production = Assert.Single(await client.GetLatestVersionsAsync("lead-scorer", ["Production"]));
        Assert.Equal("2", production.Version);
        Assert.Equal("Archived", (await client.GetModelVersionAsync("lead-scorer", "1")).CurrentStage);
        Assert.Equal("2", (await client.GetModelVersionByAliasAsync("lead-scorer", "champion")).Version);
        Assert.Equal(2, await client.ListModelVersionsAsync("name='lead-scorer'").CountAsync());
        Assert.Single(await client.ListRegisteredModelsAsync().ToListAsync());
        Assert.Equal(run.Info.ArtifactUri + "/model", await client.GetModelVersionDownloadUriAsync("lead-scorer", "2"));
        Assert.Single(await client.ListRunsAsync([experimentId], "tags.`lineage.table` = 'leads@v3'").ToListAsync());
        Assert.Empty(await client.ListRunsAsync([experimentId], "params.trees = '7'").ToListAsync());
    }

    [Fact]
    public async Task Errors_SurfaceAsMlflowExceptionWithCode()
    {
        var client = _server.Client();
        Assert.Null(await client.GetExperimentByNameAsync("missing"));
        Assert.Null(await client.GetRegisteredModelAsync("missing"));
        var e = await Assert.ThrowsAsync<MlflowException>(() => client.GetModelVersionAsync("missing", "1"));
        Assert.Equal((ErrorCodes.ResourceDoesNotExist, 404), (e.ErrorCode, e.HttpStatus));
        var reader = _server.Client(RegistryTestServer.ReaderToken);
        Assert.Equal(ErrorCodes.PermissionDenied, (await Assert.ThrowsAsync<MlflowException>(() => reader.CreateExperimentAsync("x"))).ErrorCode);
        var missing = await Assert.ThrowsAsync<MlflowException>(() => client.DownloadArtifactAsync("0/none/artifacts/x"));
        Assert.Equal(ErrorCodes.ResourceDoesNotExist, missing.ErrorCode);
    }

    [Fact]
    public async Task SearchRegisteredModels_OrderByAndFilter_AsMlflow()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var server = await RegistryTestServer.StartAsync(time: time);
        var client = server.Client();
        foreach (var name in new[] { "b-model", "a-model", "c-other" })
        {
            await client.CreateRegisteredModelAsync(name);
            time.Advance(TimeSpan.FromSeconds(1));
        }

        await client.UpdateRegisteredModelAsync("b-model", "touched last");
        var byName = await client.SearchRegisteredModelsAsync(new SearchRequest { Filter = "name LIKE '%model'" });
        Assert.Equal(["a-model", "b-model"], byName.RegisteredModels.Select(m => m.Name));
        var newestFirst = await client.SearchRegisteredModelsAsync(new SearchRequest { OrderBy = ["last_updated_timestamp DESC", "name"], MaxResults = 2 });
        Assert.Equal(["b-model", "c-other"], newestFirst.RegisteredModels.Select(m => m.Name));
        Assert.NotNull(newestFirst.NextPageToken);
        var bad = await Assert.ThrowsAsync<MlflowException>(() => client.SearchRegisteredModelsAsync(new SearchRequest { Filter = "owner = 'x'" }));
        Assert.Equal(ErrorCodes.InvalidParameterValue, bad.ErrorCode);
    }
}
