using System.Globalization;
using System.Text.Json;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Backup;

/// <summary>What an import did.</summary>
public sealed record ImportResult
{
    /// <summary>Objects created (experiments, runs, models, versions).</summary>
    public int Created { get; init; }
    /// <summary>Objects found already imported and left alone.</summary>
    public int Skipped { get; init; }
    /// <summary>Original run id to new run id.</summary>
    public IReadOnlyDictionary<string, string> RunIds { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// Imports an API export into any MLflow-compatible server through its REST API. Runs are recreated before the
/// versions that point at them; version sources and run ids are rewritten to the new runs; stages and aliases are
/// re-applied; original ids and timestamps are kept as <c>lifeline.original_*</c> tags (runs keep their start and end
/// times and every metric timestamp, as the API accepts those). Idempotent: each imported object is found again by its
/// <c>lifeline.original_*</c> tag, so a second import creates nothing; a run whose import was cut short (no
/// <c>lifeline.import_complete</c> tag) is deleted and imported again.
/// </summary>
public static class ApiImport
{
    public const string OriginalRunId = "lifeline.original_run_id";
    public const string OriginalExperimentId = "lifeline.original_experiment_id";
    public const string OriginalVersion = "lifeline.original_version";
    public const string OriginalCreation = "lifeline.original_creation_timestamp";
    public const string OriginalUpdate = "lifeline.original_last_updated_timestamp";
    public const string ImportComplete = "lifeline.import_complete";

    public static async Task<ImportResult> ImportAsync(MlflowClient client, string directory, CancellationToken ct)
    {
        var manifest = await NativeBackup.ReadManifestAsync(directory, "api", ct);
        var json = MlflowJson.Options;
        var created = 0;
        var skipped = 0;

        // Experiments, by name.
        var experiments = JsonSerializer.Deserialize<List<MlflowExperiment>>(await File.ReadAllTextAsync(Path.Combine(directory, "experiments.json"), ct), json)!;
        var experimentIds = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var experiment in experiments)
        {
            if (await client.GetExperimentByNameAsync(experiment.Name, ct) is { } existing)
            {
                experimentIds[experiment.ExperimentId] = existing.ExperimentId;
                skipped++;
                continue;
            }

            var tags = experiment.Tags.Append(new MlflowTag(OriginalExperimentId, experiment.ExperimentId))
                .Append(new MlflowTag(OriginalCreation, (experiment.CreationTime ?? 0).ToString(CultureInfo.InvariantCulture))).ToList();
            var id = await client.CreateExperimentAsync(experiment.Name, tags: tags, cancellationToken: ct);
            experimentIds[experiment.ExperimentId] = id;
            if (experiment.LifecycleStage == "deleted")
            {
                await client.DeleteExperimentAsync(id, ct);
            }

            created++;
        }

        var artifactsByPath = manifest.Artifacts.ToDictionary(a => a.Path, StringComparer.Ordinal);

        // Runs before versions.
        var runIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var artifactRoots = new Dictionary<string, (string Old, string New)>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(Path.Combine(directory, "runs"), "*.json").Order(StringComparer.Ordinal))
        {
            var exported = JsonSerializer.Deserialize<ExportedRun>(await File.ReadAllTextAsync(file, ct), json)!;
            var info = exported.Run.Info;
            var experimentId = experimentIds[info.ExperimentId];
            MlflowRun? existing = null;
            await foreach (var candidate in client.ListRunsAsync([experimentId], $"tags.`{OriginalRunId}` = '{info.RunId}'", "ALL", ct))
            {
                if (candidate.Data.Tags.Any(t => t.Key == ImportComplete) && existing is null)
                {
                    existing = candidate;
                }
                else if (candidate.Info.LifecycleStage == "active" && !candidate.Data.Tags.Any(t => t.Key == ImportComplete))
                {
                    await client.DeleteRunAsync(candidate.Info.RunId, ct); // an import cut short: redo it
                }
            }

            if (existing is not null)
            {
                runIds[info.RunId] = existing.Info.RunId;
                artifactRoots[info.RunId] = (info.ArtifactUri ?? "", existing.Info.ArtifactUri ?? "");
                skipped++;
                continue;
            }

            var tags = exported.Run.Data.Tags.Where(t => t.Key != ImportComplete)
                .Append(new MlflowTag(OriginalRunId, info.RunId))
                .Append(new MlflowTag("lifeline.original_artifact_uri", info.ArtifactUri ?? ""))
                .DistinctBy(t => t.Key).ToList();
            var run = await client.CreateRunAsync(experimentId, info.RunName, info.StartTime, [], info.UserId, ct);
            var newId = run.Info.RunId;
            var metrics = exported.MetricHistory.Values.SelectMany(h => h).ToList();
            await client.LogBatchAsync(newId, metrics, exported.Run.Data.Params, tags, ct);

            var oldRoot = MlflowClient.ProxyPathOf(info.ArtifactUri);
            var newRoot = MlflowClient.ProxyPathOf(run.Info.ArtifactUri);
            if (oldRoot is not null && newRoot is not null)
            {
                foreach (var path in exported.Artifacts)
                {
                    var bytes = await ReadArtifactAsync(directory, artifactsByPath, path, ct);
                    await client.UploadArtifactAsync(newRoot + path[oldRoot.Length..], bytes, ct);
                }
            }

            if (info.Status is { } status && status != "RUNNING")
            {
                await client.UpdateRunAsync(newId, status, info.EndTime, cancellationToken: ct);
            }

            await client.SetTagAsync(newId, ImportComplete, "true", ct);
            if (info.LifecycleStage == "deleted")
            {
                await client.DeleteRunAsync(newId, ct);
            }

            runIds[info.RunId] = newId;
            artifactRoots[info.RunId] = (info.ArtifactUri ?? "", run.Info.ArtifactUri ?? "");
            created++;
        }

        // Models, versions, stages, aliases.
        var models = JsonSerializer.Deserialize<List<ExportedModel>>(await File.ReadAllTextAsync(Path.Combine(directory, "models.json"), ct), json)!;
        foreach (var exported in models)
        {
            var model = exported.Model;
            if (await client.GetRegisteredModelAsync(model.Name, ct) is null)
            {
                var tags = model.Tags.Append(new MlflowTag(OriginalCreation, (model.CreationTimestamp ?? 0).ToString(CultureInfo.InvariantCulture)))
                    .Append(new MlflowTag(OriginalUpdate, (model.LastUpdatedTimestamp ?? 0).ToString(CultureInfo.InvariantCulture))).DistinctBy(t => t.Key).ToList();
                await client.CreateRegisteredModelAsync(model.Name, model.Description, tags, ct);
                created++;
            }
            else
            {
                skipped++;
            }

            var present = await client.ListModelVersionsAsync($"name='{model.Name.Replace("'", "\\'", StringComparison.Ordinal)}'", ct).ToListAsync(ct);
            var versionMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var v in present)
            {
                if (v.Tags.FirstOrDefault(t => t.Key == OriginalVersion) is { } original)
                {
                    versionMap[original.Value] = v.Version;
                }
            }

            foreach (var version in exported.Versions)
            {
                if (versionMap.ContainsKey(version.Version))
                {
                    skipped++;
                    continue;
                }

                var (source, runId) = await RewriteSourceAsync(client, directory, artifactsByPath, version, runIds, artifactRoots, ct);
                var tags = version.Tags.Append(new MlflowTag(OriginalVersion, version.Version))
                    .Append(new MlflowTag(OriginalCreation, (version.CreationTimestamp ?? 0).ToString(CultureInfo.InvariantCulture)))
                    .Append(new MlflowTag(OriginalUpdate, (version.LastUpdatedTimestamp ?? 0).ToString(CultureInfo.InvariantCulture)));
                if (!string.IsNullOrEmpty(version.RunId))
                {
                    tags = tags.Append(new MlflowTag(OriginalRunId, version.RunId));
                }

                var createdVersion = await client.CreateModelVersionAsync(model.Name, source, runId, tags.DistinctBy(t => t.Key).ToList(), version.RunLink, version.Description, ct);
                versionMap[version.Version] = createdVersion.Version;
                if (version.CurrentStage is { } stage && stage != ModelStages.None)
                {
                    await client.TransitionModelVersionStageAsync(model.Name, createdVersion.Version, stage, archiveExistingVersions: false, ct);
                }

                created++;
            }

            foreach (var alias in model.Aliases)
            {
                if (versionMap.TryGetValue(alias.Version, out var target))
                {
                    await client.SetRegisteredModelAliasAsync(model.Name, alias.Alias, target, ct);
                }
            }
        }

        return new ImportResult { Created = created, Skipped = skipped, RunIds = runIds };
    }

    private static async Task<(string Source, string? RunId)> RewriteSourceAsync(
        MlflowClient client, string directory, Dictionary<string, ArtifactEntry> artifacts, MlflowModelVersion version,
        Dictionary<string, string> runIds, Dictionary<string, (string Old, string New)> roots, CancellationToken ct)
    {
        var source = version.Source ?? "";
        string? runId = null;
        if (!string.IsNullOrEmpty(version.RunId) && runIds.TryGetValue(version.RunId, out var newRunId))
        {
            runId = newRunId;
            var (oldRoot, newRoot) = roots[version.RunId];
            if (oldRoot.Length > 0 && source.StartsWith(oldRoot, StringComparison.Ordinal))
            {
                return (newRoot + source[oldRoot.Length..], runId);
            }

            if (source.StartsWith($"runs:/{version.RunId}", StringComparison.Ordinal))
            {
                return ($"runs:/{newRunId}" + source[($"runs:/{version.RunId}").Length..], runId);
            }
        }

        // The run is gone (or the source lies elsewhere): bring the source's files back under the same proxy path.
        if (MlflowClient.ProxyPathOf(source) is { Length: > 0 } path)
        {
            foreach (var entry in artifacts.Values.Where(a => a.Path == path || a.Path.StartsWith(path + "/", StringComparison.Ordinal)))
            {
                await client.UploadArtifactAsync(entry.Path, await ReadArtifactAsync(directory, artifacts, entry.Path, ct), ct);
            }
        }

        return (source, runId);
    }

    private static async Task<byte[]> ReadArtifactAsync(string directory, Dictionary<string, ArtifactEntry> artifacts, string path, CancellationToken ct)
    {
        var entry = artifacts[path];
        var bytes = await File.ReadAllBytesAsync(Path.Combine(directory, "artifacts", path.Replace('/', Path.DirectorySeparatorChar)), ct);
        NativeBackup.VerifySha(entry, bytes);
        return bytes;
    }
}
