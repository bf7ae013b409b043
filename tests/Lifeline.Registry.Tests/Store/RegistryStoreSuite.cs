using Lifeline.Registry.Contracts;
using Lifeline.Registry.Store;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Registry.Tests.Store;

/// <summary>The contract every <see cref="IRegistryStore"/> passes (SQLite, PostgreSQL).</summary>
public abstract class RegistryStoreSuite : IAsyncLifetime
{
    protected FakeTimeProvider Time { get; } = new(DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));

    private IRegistryStore? _store;

    internal IRegistryStore Store => _store!;

    internal abstract Task<IRegistryStore> CreateStoreAsync();

    public async Task InitializeAsync()
    {
        _store = await CreateStoreAsync();
        await _store.InitializeAsync(CancellationToken.None);
    }

    public virtual async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Initialize_FreshStore_HasDefaultExperimentAndLatestSchema()
    {
        var experiment = await Store.GetExperimentAsync("0", Ct);
        Assert.Equal("Default", experiment.Name);
        Assert.Equal(Schema.LatestVersion, await Store.GetSchemaVersionAsync(Ct));
        await Store.InitializeAsync(Ct); // idempotent
        Assert.Single(await Store.ListExperimentsAsync(ViewType.All, Ct));
    }

    [Fact]
    public async Task CreateExperiment_DuplicateName_ResourceAlreadyExists()
    {
        var id = await Store.CreateExperimentAsync("churn", null, [new MlflowTag("team", "ml")], Ct);
        var e = await Assert.ThrowsAsync<MlflowException>(() => Store.CreateExperimentAsync("churn", null, [], Ct));
        Assert.Equal(ErrorCodes.ResourceAlreadyExists, e.ErrorCode);
        var experiment = await Store.GetExperimentAsync(id, Ct);
        Assert.Equal($"mlflow-artifacts:/{id}", experiment.ArtifactLocation);
        Assert.Equal("ml", Assert.Single(experiment.Tags).Value);
        Assert.Equal(Time.GetUtcNow().ToUnixTimeMilliseconds(), experiment.CreationTime);
    }

    [Fact]
    public async Task GetExperiment_Unknown_ResourceDoesNotExist()
    {
        var e = await Assert.ThrowsAsync<MlflowException>(() => Store.GetExperimentAsync("42", Ct));
        Assert.Equal(ErrorCodes.ResourceDoesNotExist, e.ErrorCode);
        Assert.Null(await Store.FindExperimentByNameAsync("nope", Ct));
    }

    [Fact]
    public async Task DeleteExperiment_ThenList_OnlyInDeletedView()
    {
        var id = await Store.CreateExperimentAsync("gone", null, [], Ct);
        await Store.DeleteExperimentAsync(id, Ct);
        Assert.DoesNotContain(await Store.ListExperimentsAsync(ViewType.ActiveOnly, Ct), e => e.ExperimentId == id);
        Assert.Contains(await Store.ListExperimentsAsync(ViewType.DeletedOnly, Ct), e => e.ExperimentId == id);
        await Store.RenameExperimentAsync("0", "Default2", Ct);
        Assert.Equal("Default2", (await Store.GetExperimentAsync("0", Ct)).Name);
    }

    [Fact]
    public async Task LogBatch_MetricHistory_KeepsEveryValueAndLatestIsHighestStep()
    {
        var run = await Store.CreateRunAsync("0", "alice", "train", 1000, [new MlflowTag("k", "v")], Ct);
        Assert.Equal("RUNNING", run.Info.Status);
        Assert.Equal(run.Info.RunId, run.Info.RunUuid);
        Assert.Equal($"mlflow-artifacts:/0/{run.Info.RunId}/artifacts", run.Info.ArtifactUri);
        await Store.LogBatchAsync(run.Info.RunId,
            [new MlflowMetric { Key = "auc", Value = 0.7, Timestamp = 10, Step = 0 }, new MlflowMetric { Key = "auc", Value = 0.8, Timestamp = 11, Step = 1 }, new MlflowMetric { Key = "auc", Value = 0.75, Timestamp = 12, Step = 0 }],
            [new MlflowTag("lr", "0.1")], [new MlflowTag("stage", "x")], Ct);
        await Store.LogBatchAsync(run.Info.RunId, [new MlflowMetric { Key = "auc", Value = 0.8, Timestamp = 11, Step = 1 }, new MlflowMetric { Key = "loss", Value = double.NaN, Timestamp = 5 }], [new MlflowTag("lr", "0.1")], [], Ct);

        var history = await Store.GetMetricHistoryAsync(run.Info.RunId, "auc", Ct);
        Assert.Equal([0.7, 0.75, 0.8], history.Select(m => m.Value));
        var got = await Store.GetRunAsync(run.Info.RunId, Ct);
        Assert.Equal(0.8, got.Data.Metrics.Single(m => m.Key == "auc").Value);
        Assert.True(double.IsNaN(got.Data.Metrics.Single(m => m.Key == "loss").Value));
        Assert.Equal("0.1", got.Data.Params.Single().Value);
        Assert.Contains(got.Data.Tags, t => t.Key == "mlflow.runName" && t.Value == "train");
        Assert.Contains(got.Data.Tags, t => t.Key == "stage");
    }

    [Fact]
    public async Task LogBatch_ChangedParam_InvalidParameterValue()
    {
        var run = await Store.CreateRunAsync("0", null, null, null, [], Ct);
        await Store.LogBatchAsync(run.Info.RunId, [], [new MlflowTag("lr", "0.1")], [], Ct);
        var e = await Assert.ThrowsAsync<MlflowException>(() => Store.LogBatchAsync(run.Info.RunId, [], [new MlflowTag("lr", "0.2")], [], Ct));
        Assert.Equal(ErrorCodes.InvalidParameterValue, e.ErrorCode);
    }

    [Fact]
    public async Task LogBatch_OverLimit_RefusedNamingTheLimit()
    {
        var run = await Store.CreateRunAsync("0", null, null, null, [], Ct);
        var tooMany = Enumerable.Range(0, 101).Select(i => new MlflowTag($"p{i}", "v")).ToList();
        var e = await Assert.ThrowsAsync<MlflowException>(() => Store.LogBatchAsync(run.Info.RunId, [], tooMany, [], Ct));
        Assert.Equal(ErrorCodes.InvalidParameterValue, e.ErrorCode);
        Assert.Contains("at most 100 params", e.Message, StringComparison.Ordinal);
        Assert.Empty((await Store.GetRunAsync(run.Info.RunId, Ct)).Data.Params);
    }

    [Fact]
    public async Task UpdateRun_Finished_SetsStatusAndEndTime()
    {
        var run = await Store.CreateRunAsync("0", null, "r", 5, [], Ct);
        var info = await Store.UpdateRunAsync(run.Info.RunId, "FINISHED", 99, null, Ct);
        Assert.Equal("FINISHED", info.Status);
        Assert.Equal(99, info.EndTime);
        var e = await Assert.ThrowsAsync<MlflowException>(() => Store.UpdateRunAsync(run.Info.RunId, "DONE", null, null, Ct));
        Assert.Equal(ErrorCodes.InvalidParameterValue, e.ErrorCode);
        await Store.DeleteRunAsync(run.Info.RunId, Ct);
        Assert.Empty(await Store.ListRunsAsync(["0"], ViewType.ActiveOnly, Ct));
        Assert.Single(await Store.ListRunsAsync(["0"], ViewType.DeletedOnly, Ct));
    }

    [Fact]
    public async Task CreateModelVersion_NumbersPerModelFromOne()
    {
        await Store.CreateRegisteredModelAsync("a", "model a", [new MlflowTag("t", "1")], Ct);
        await Store.CreateRegisteredModelAsync("b", null, [], Ct);
        var a1 = await Store.CreateModelVersionAsync("a", "runs:/x/model", null, [], null, null, Ct);
        var a2 = await Store.CreateModelVersionAsync("a", "runs:/x/model", null, [new MlflowTag("k", "v")], null, "second", Ct);
        var b1 = await Store.CreateModelVersionAsync("b", "s3://b", null, [], null, null, Ct);
        Assert.Equal(("1", "2", "1"), (a1.Version, a2.Version, b1.Version));
        Assert.Equal(("None", "READY"), (a2.CurrentStage, a2.Status));
        Assert.Equal("second", a2.Description);
        await Store.DeleteModelVersionAsync("a", "2", Ct);
        Assert.Equal("3", (await Store.CreateModelVersionAsync("a", "x", null, [], null, null, Ct)).Version);
    }

    [Fact]
    public async Task CreateRegisteredModel_Duplicate_ResourceAlreadyExists()
    {
        await Store.CreateRegisteredModelAsync("m", null, [], Ct);
        var e = await Assert.ThrowsAsync<MlflowException>(() => Store.CreateRegisteredModelAsync("m", null, [], Ct));
        Assert.Equal(ErrorCodes.ResourceAlreadyExists, e.ErrorCode);
    }

    [Fact]
    public async Task GetModelVersion_Unknown_ResourceDoesNotExist()
    {
        await Store.CreateRegisteredModelAsync("m", null, [], Ct);
        Assert.Equal(ErrorCodes.ResourceDoesNotExist, (await Assert.ThrowsAsync<MlflowException>(() => Store.GetModelVersionAsync("m", "7", Ct))).ErrorCode);
        Assert.Equal(ErrorCodes.ResourceDoesNotExist, (await Assert.ThrowsAsync<MlflowException>(() => Store.GetRegisteredModelAsync("zz", Ct))).ErrorCode);
        Assert.Equal(ErrorCodes.ResourceDoesNotExist, (await Assert.ThrowsAsync<MlflowException>(() => Store.CreateModelVersionAsync("zz", "src", null, [], null, null, Ct))).ErrorCode);
    }

    [Fact]
    public async Task TransitionStage_ArchiveExisting_LeavesOneProduction()
    {
        await Store.CreateRegisteredModelAsync("m", null, [], Ct);
        for (var i = 0; i < 3; i++)
        {
            await Store.CreateModelVersionAsync("m", $"src{i}", null, [], null, null, Ct);
        }

        await Store.TransitionStageAsync("m", "1", "production", false, Ct);
        await Store.TransitionStageAsync("m", "2", "Production", false, Ct);
        Time.Advance(TimeSpan.FromSeconds(1));
        var v3 = await Store.TransitionStageAsync("m", "3", "Production", true, Ct);
        Assert.Equal("Production", v3.CurrentStage);
        Assert.Equal(Time.GetUtcNow().ToUnixTimeMilliseconds(), v3.LastUpdatedTimestamp);
        Assert.Equal("Archived", (await Store.GetModelVersionAsync("m", "1", Ct)).CurrentStage);
        Assert.Equal("Archived", (await Store.GetModelVersionAsync("m", "2", Ct)).CurrentStage);
        var latest = await Store.GetLatestVersionsAsync("m", ["Production"], Ct);
        Assert.Equal("3", Assert.Single(latest).Version);
        Assert.Equal(["2", "3"], (await Store.GetLatestVersionsAsync("m", [], Ct)).Select(v => v.Version));
    }

    [Fact]
    public async Task TransitionStage_BadStage_InvalidParameterValue()
    {
        await Store.CreateRegisteredModelAsync("m", null, [], Ct);
        await Store.CreateModelVersionAsync("m", "src", null, [], null, null, Ct);
        var e = await Assert.ThrowsAsync<MlflowException>(() => Store.TransitionStageAsync("m", "1", "Prod", false, Ct));
        Assert.Equal(ErrorCodes.InvalidParameterValue, e.ErrorCode);
        Assert.Contains("None, Staging, Production, Archived", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aliases_SetMoveDelete_FollowTheVersion()
    {
        await Store.CreateRegisteredModelAsync("m", null, [], Ct);
        await Store.CreateModelVersionAsync("m", "s1", null, [], null, null, Ct);
        await Store.CreateModelVersionAsync("m", "s2", null, [], null, null, Ct);
        await Store.SetAliasAsync("m", "champion", "1", Ct);
        await Store.SetAliasAsync("m", "champion", "2", Ct);
        Assert.Equal("2", (await Store.GetModelVersionByAliasAsync("m", "champion", Ct)).Version);
        Assert.Equal(["champion"], (await Store.GetModelVersionAsync("m", "2", Ct)).Aliases);
        Assert.Equal(new MlflowAlias("champion", "2"), Assert.Single((await Store.GetRegisteredModelAsync("m", Ct)).Aliases));
        await Store.DeleteAliasAsync("m", "champion", Ct);
        Assert.Equal(ErrorCodes.ResourceDoesNotExist, (await Assert.ThrowsAsync<MlflowException>(() => Store.GetModelVersionByAliasAsync("m", "champion", Ct))).ErrorCode);
        Assert.Equal(ErrorCodes.InvalidParameterValue, (await Assert.ThrowsAsync<MlflowException>(() => Store.SetAliasAsync("m", "latest", "1", Ct))).ErrorCode);
    }

    [Fact]
    public async Task RenameRegisteredModel_MovesVersionsTagsAndAliases()
    {
        await Store.CreateRegisteredModelAsync("old", null, [new MlflowTag("a", "b")], Ct);
        await Store.CreateModelVersionAsync("old", "s", null, [new MlflowTag("x", "y")], null, null, Ct);
        await Store.SetAliasAsync("old", "prod", "1", Ct);
        var renamed = await Store.RenameRegisteredModelAsync("old", "new", Ct);
        Assert.Equal("new", renamed.Name);
        Assert.Single(renamed.Tags);
        var v = await Store.GetModelVersionAsync("new", "1", Ct);
        Assert.Equal(("y", "prod"), (v.Tags.Single().Value, v.Aliases.Single()));
        await Store.DeleteRegisteredModelAsync("new", Ct);
        Assert.Empty(await Store.ListRegisteredModelNamesAsync(Ct));
        Assert.Empty(await Store.ListModelVersionsAsync(null, Ct));
    }

    [Fact]
    public async Task Tags_SetOverwriteDelete()
    {
        await Store.CreateRegisteredModelAsync("m", null, [], Ct);
        await Store.CreateModelVersionAsync("m", "s", null, [], null, null, Ct);
        await Store.SetRegisteredModelTagAsync("m", "k", "1", Ct);
        await Store.SetRegisteredModelTagAsync("m", "k", "2", Ct);
        await Store.SetModelVersionTagAsync("m", "1", "k", "3", Ct);
        Assert.Equal("2", (await Store.GetRegisteredModelAsync("m", Ct)).Tags.Single().Value);
        Assert.Equal("3", (await Store.GetModelVersionAsync("m", "1", Ct)).Tags.Single().Value);
        await Store.DeleteRegisteredModelTagAsync("m", "k", Ct);
        await Store.DeleteModelVersionTagAsync("m", "1", "k", Ct);
        Assert.Empty((await Store.GetRegisteredModelAsync("m", Ct)).Tags);
        Assert.Empty((await Store.GetModelVersionAsync("m", "1", Ct)).Tags);
    }

    [Fact]
    public async Task CreateModelVersion_Concurrent_DistinctNumbers()
    {
        await Store.CreateRegisteredModelAsync("m", null, [], Ct);
        var versions = await Task.WhenAll(Enumerable.Range(0, 16).Select(i => Task.Run(() => Store.CreateModelVersionAsync("m", $"s{i}", null, [], null, null, Ct))));
        Assert.Equal(Enumerable.Range(1, 16).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), versions.Select(v => v.Version).OrderBy(int.Parse));
    }

    [Fact]
    public async Task CreateRegisteredModel_ConcurrentSameName_OneWinsOthersAlreadyExist()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(async () =>
        {
            try
            {
                await Store.CreateRegisteredModelAsync("race", null, [], Ct);
                return "created";
            }
            catch (MlflowException e)
            {
                return e.ErrorCode;
            }
        })));
        Assert.Single(results, r => r == "created");
        Assert.All(results.Where(r => r != "created"), r => Assert.Equal(ErrorCodes.ResourceAlreadyExists, r));
        var ids = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(() => Store.CreateExperimentAsync($"e{i}", null, [], Ct))));
        Assert.Equal(8, ids.Distinct().Count());
    }
}
