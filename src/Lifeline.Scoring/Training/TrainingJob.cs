using System.Globalization;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sources;

namespace Lifeline.Scoring.Training;

/// <summary>What <c>lifeline train</c> did.</summary>
public sealed record TrainingOutcome(
    string RunId,
    string ModelName,
    string Version,
    bool Promoted,
    string Decision,
    ModelMetrics Metrics,
    ModelMetrics? ProductionMetrics,
    string? ProductionVersion,
    string TrainingTable,
    string TrainingTableVersion);

/// <summary>
/// The training job: load leads (lake or synthetic), train, log a run to the registry (params, metrics, lineage
/// tags, the artifact with its signature), register a version, and promote it to Production only when it beats the
/// current Production version on the same held-out set (AUC, then log loss on a tie), archiving the old one.
/// The decision and both sets of numbers are logged in the run.
/// </summary>
internal sealed class TrainingJob(MlflowClient registry, TimeProvider timeProvider)
{
    public const string ExperimentName = "lead-scoring-training";

    public async Task<TrainingOutcome> RunAsync(
        ITrainingDataSource data, string modelName, TrainingOptions options, string workDirectory, CancellationToken cancellationToken)
    {
        var training = await data.LoadAsync(cancellationToken);
        var artifactDirectory = Path.Combine(workDirectory, "model");
        var trained = await new LeadModelTrainer(timeProvider).TrainAsync(
            training.Leads, training.Table, training.TableVersion, options, artifactDirectory, cancellationToken);

        var experimentId = await registry.GetOrCreateExperimentAsync(ExperimentName, cancellationToken);
        var now = timeProvider.GetUtcNow().ToUnixTimeMilliseconds();
        var run = await registry.CreateRunAsync(experimentId, $"train-{modelName}-{now}", now,
        [
            new MlflowTag("mlflow.source.name", "lifeline train"),
            new MlflowTag("lifeline.training_table", training.Table),
            new MlflowTag("lifeline.training_table_version", training.TableVersion),
            new MlflowTag("lifeline.model_id", trained.Signature.ModelId),
            new MlflowTag("lifeline.feature_mapping", trained.Signature.FeatureMapping),
        ], cancellationToken: cancellationToken);
        var runId = run.Info.RunId;
        try
        {
            await registry.LogBatchAsync(runId,
                metrics: [.. trained.Metrics.ToDictionary().Select(m => new MlflowMetric { Key = m.Key, Value = m.Value, Timestamp = now })],
                parameters:
                [
                    .. options.ToParameters().Select(p => new MlflowTag(p.Key, p.Value)),
                    new MlflowTag("training_rows", training.Leads.Count.ToString(CultureInfo.InvariantCulture)),
                ],
                cancellationToken: cancellationToken);

            var artifactRoot = MlflowClient.ProxyPathOf(run.Info.ArtifactUri)
                ?? throw new InvalidDataException($"run {runId} has artifact URI '{run.Info.ArtifactUri}', which the mlflow-artifacts proxy does not serve");
            await UploadAsync(artifactRoot + "/model", artifactDirectory, cancellationToken);

            if (await registry.GetRegisteredModelAsync(modelName, cancellationToken) is null)
            {
                try
                {
                    await registry.CreateRegisteredModelAsync(modelName, "Lead conversion classifier (lifeline train)", cancellationToken: cancellationToken);
                }
                catch (MlflowException ex) when (ex.ErrorCode == ErrorCodes.ResourceAlreadyExists)
                {
                }
            }

            var version = await registry.CreateModelVersionAsync(modelName, run.Info.ArtifactUri + "/model", runId,
                [new MlflowTag("lifeline.model_id", trained.Signature.ModelId)], cancellationToken: cancellationToken);

            // The signature names its registered version from now on (model.zip and its content id are unchanged).
            await ModelArtifact.WriteSignatureAsync(artifactDirectory, trained.Signature with { ModelVersion = version.Version }, cancellationToken);
            await UploadAsync(artifactRoot + "/model", artifactDirectory, cancellationToken, ModelArtifact.SignatureFile);

            var (production, productionMetrics) = await EvaluateProductionAsync(modelName, trained, workDirectory, cancellationToken);
            var promote = productionMetrics is null
                || trained.Metrics.Auc > productionMetrics.Auc
                || (trained.Metrics.Auc == productionMetrics.Auc && trained.Metrics.LogLoss < productionMetrics.LogLoss);
            var decision = productionMetrics is null
                ? "promoted: no Production version yet"
                : string.Create(CultureInfo.InvariantCulture,
                    $"{(promote ? "promoted" : "not promoted")}: held-out AUC {trained.Metrics.Auc:0.0000} vs Production v{production!.Version} {productionMetrics.Auc:0.0000}, log loss {trained.Metrics.LogLoss:0.0000} vs {productionMetrics.LogLoss:0.0000}");
            if (promote)
            {
                if (production is not null)
                {
                    await registry.SetModelVersionTagAsync(modelName, version.Version, MlflowModelSource.PreviousProductionTag, production.Version, cancellationToken);
                }

                await registry.TransitionModelVersionStageAsync(modelName, version.Version, "Production", archiveExistingVersions: true, cancellationToken);
            }

            var decisionMetrics = new List<MlflowMetric> { new() { Key = "promoted", Value = promote ? 1 : 0, Timestamp = now } };
            if (productionMetrics is not null)
            {
                decisionMetrics.Add(new MlflowMetric { Key = "production_auc", Value = productionMetrics.Auc, Timestamp = now });
                decisionMetrics.Add(new MlflowMetric { Key = "production_log_loss", Value = productionMetrics.LogLoss, Timestamp = now });
            }

            await registry.LogBatchAsync(runId, metrics: decisionMetrics, tags:
            [
                new MlflowTag("lifeline.decision", decision),
                new MlflowTag("lifeline.registered_version", version.Version),
                new MlflowTag("lifeline.compared_with_version", production?.Version ?? ""),
            ], cancellationToken: cancellationToken);
            await registry.UpdateRunAsync(runId, "FINISHED", timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken: cancellationToken);
            return new TrainingOutcome(runId, modelName, version.Version, promote, decision, trained.Metrics, productionMetrics, production?.Version,
                training.Table, training.TableVersion);
        }
        catch
        {
            await registry.UpdateRunAsync(runId, "FAILED", timeProvider.GetUtcNow().ToUnixTimeMilliseconds(), cancellationToken: CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// The same job against a directory model source (no registry): train, add a version, promote it when it beats
    /// the current Production version on the held-out set. There is no run to log to; the decision is returned.
    /// </summary>
    public static async Task<TrainingOutcome> RunLocalAsync(
        ITrainingDataSource data, DirectoryModelSource target, string modelName, TrainingOptions options, string workDirectory,
        TimeProvider timeProvider, CancellationToken cancellationToken)
    {
        var training = await data.LoadAsync(cancellationToken);
        var artifactDirectory = Path.Combine(workDirectory, "model");
        var trained = await new LeadModelTrainer(timeProvider).TrainAsync(
            training.Leads, training.Table, training.TableVersion, options, artifactDirectory, cancellationToken);
        var production = await target.GetProductionAsync(cancellationToken);
        ModelMetrics? productionMetrics = null;
        if (production is not null)
        {
            var directory = Path.Combine(workDirectory, "production-v" + production.Version);
            await target.DownloadAsync(production, directory, cancellationToken);
            productionMetrics = ModelMetrics.Evaluate((await ModelArtifact.LoadAsync(directory, cancellationToken)).Model, trained.Holdout);
        }

        var promote = productionMetrics is null || trained.Metrics.Auc > productionMetrics.Auc
            || (trained.Metrics.Auc == productionMetrics.Auc && trained.Metrics.LogLoss < productionMetrics.LogLoss);
        var version = await target.AddVersionAsync(artifactDirectory, cancellationToken);
        var versionDirectory = Path.Combine(target.Root, "versions", version);
        await ModelArtifact.WriteSignatureAsync(versionDirectory, trained.Signature with { ModelVersion = version }, cancellationToken);
        if (promote)
        {
            await target.PromoteAsync(version, cancellationToken);
        }

        var decision = productionMetrics is null
            ? "promoted: no Production version yet"
            : string.Create(CultureInfo.InvariantCulture,
                $"{(promote ? "promoted" : "not promoted")}: held-out AUC {trained.Metrics.Auc:0.0000} vs Production v{production!.Version} {productionMetrics.Auc:0.0000}");
        return new TrainingOutcome("", modelName, version, promote, decision, trained.Metrics, productionMetrics, production?.Version,
            training.Table, training.TableVersion);
    }

    private async Task<(ModelVersionInfo? Version, ModelMetrics? Metrics)> EvaluateProductionAsync(
        string modelName, TrainedModel trained, string workDirectory, CancellationToken cancellationToken)
    {
        var source = new MlflowModelSource(registry, modelName);
        var production = await source.GetProductionAsync(cancellationToken);
        if (production is null)
        {
            return (null, null);
        }

        var directory = Path.Combine(workDirectory, "production-v" + production.Version);
        await source.DownloadAsync(production, directory, cancellationToken);
        var (model, _) = await ModelArtifact.LoadAsync(directory, cancellationToken);
        return (production, ModelMetrics.Evaluate(model, trained.Holdout));
    }

    private async Task UploadAsync(string remoteDirectory, string localDirectory, CancellationToken cancellationToken, string? only = null)
    {
        foreach (var file in new[] { ModelArtifact.ModelFile, ModelArtifact.SignatureFile })
        {
            if (only is null || only == file)
            {
                await registry.UploadArtifactAsync(remoteDirectory + "/" + file, await File.ReadAllBytesAsync(Path.Combine(localDirectory, file), cancellationToken), cancellationToken);
            }
        }
    }
}
