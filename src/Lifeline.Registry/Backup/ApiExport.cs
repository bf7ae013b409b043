using System.Security.Cryptography;
using System.Text.Json;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Backup;

/// <summary>One run as exported: the run, every value of every metric, and its artifact files.</summary>
public sealed record ExportedRun
{
    /// <summary>The run as the source served it (latest metrics, params, tags).</summary>
    public MlflowRun Run { get; init; } = new();
    /// <summary>Full history of each metric.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<MlflowMetric>> MetricHistory { get; init; } = new Dictionary<string, IReadOnlyList<MlflowMetric>>();
    /// <summary>Artifact files, as proxy paths (relative to the mlflow-artifacts root).</summary>
    public IReadOnlyList<string> Artifacts { get; init; } = [];
}

/// <summary>A registered model with every version, as exported.</summary>
public sealed record ExportedModel
{
    /// <summary>The model (tags, aliases, description, timestamps).</summary>
    public MlflowRegisteredModel Model { get; init; } = new();
    /// <summary>Every version, oldest first.</summary>
    public IReadOnlyList<MlflowModelVersion> Versions { get; init; } = [];
}

/// <summary>
/// Exports any MLflow-compatible server through its REST API, page by page, into a directory:
/// <c>experiments.json</c>, <c>runs/&lt;run_id&gt;.json</c> (with full metric history), <c>models.json</c>
/// (versions, stages, aliases, tags, descriptions, original timestamps) and <c>artifacts/&lt;proxy path&gt;</c>,
/// then <c>manifest.json</c> last. Lineage is kept as it is on the source: run tags and params, version run ids.
/// </summary>
public static class ApiExport
{
    public static async Task<RegistryBackupManifest> ExportAsync(MlflowClient client, string directory, TimeProvider time, CancellationToken ct)
    {
        NativeBackup.RequireEmpty(directory);
        var json = MlflowJson.Options;
        var artifacts = new List<ArtifactEntry>();
        var seenArtifacts = new HashSet<string>(StringComparer.Ordinal);

        var experiments = await client.ListExperimentsAsync("ALL", ct).ToListAsync(ct);
        await File.WriteAllTextAsync(Path.Combine(directory, "experiments.json"), JsonSerializer.Serialize(experiments, json), ct);

        Directory.CreateDirectory(Path.Combine(directory, "runs"));
        var runCount = 0L;
        var metricCount = 0L;
        foreach (var experiment in experiments)
        {
            await foreach (var run in client.ListRunsAsync([experiment.ExperimentId], runViewType: "ALL", cancellationToken: ct))
            {
                var history = new Dictionary<string, IReadOnlyList<MlflowMetric>>(StringComparer.Ordinal);
                foreach (var key in run.Data.Metrics.Select(m => m.Key).Distinct())
                {
                    history[key] = await client.GetMetricHistoryAsync(run.Info.RunId, key, ct);
                    metricCount += history[key].Count;
                }

                var files = new List<string>();
                if (MlflowClient.ProxyPathOf(run.Info.ArtifactUri) is { Length: > 0 } root)
                {
                    await foreach (var file in client.ListArtifactsRecursiveAsync(root, ct))
                    {
                        files.Add(file.Path);
                        if (seenArtifacts.Add(file.Path))
                        {
                            artifacts.Add(await DownloadAsync(client, directory, file.Path, ct));
                        }
                    }
                }

                var exported = new ExportedRun { Run = run, MetricHistory = history, Artifacts = files };
                await File.WriteAllTextAsync(Path.Combine(directory, "runs", run.Info.RunId + ".json"), JsonSerializer.Serialize(exported, json), ct);
                runCount++;
            }
        }

        var models = new List<ExportedModel>();
        await foreach (var model in client.ListRegisteredModelsAsync(cancellationToken: ct))
        {
            var versions = await client.ListModelVersionsAsync($"name='{model.Name.Replace("'", "\\'", StringComparison.Ordinal)}'", ct).ToListAsync(ct);
            versions = [.. versions.OrderBy(v => long.Parse(v.Version, System.Globalization.CultureInfo.InvariantCulture))];
            foreach (var version in versions)
            {
                // A version whose source is served by the proxy but lies outside any exported run (or whose run is gone).
                if (MlflowClient.ProxyPathOf(version.Source) is { Length: > 0 } sourcePath)
                {
                    await foreach (var file in client.ListArtifactsRecursiveAsync(sourcePath, ct))
                    {
                        if (seenArtifacts.Add(file.Path))
                        {
                            artifacts.Add(await DownloadAsync(client, directory, file.Path, ct));
                        }
                    }
                }
            }

            models.Add(new ExportedModel { Model = model with { LatestVersions = [] }, Versions = versions });
        }

        await File.WriteAllTextAsync(Path.Combine(directory, "models.json"), JsonSerializer.Serialize(models, json), ct);
        var manifest = new RegistryBackupManifest
        {
            Mode = "api",
            Source = client.BaseAddress.GetLeftPart(UriPartial.Authority),
            CreatedAt = time.GetUtcNow(),
            Counts = new Dictionary<string, long>
            {
                ["experiments"] = experiments.Count,
                ["runs"] = runCount,
                ["metrics"] = metricCount,
                ["registered_models"] = models.Count,
                ["model_versions"] = models.Sum(m => m.Versions.Count),
                ["artifacts"] = artifacts.Count,
            },
            Artifacts = artifacts,
        };
        await NativeBackup.WriteManifestAsync(directory, manifest, ct);
        return manifest;
    }

    private static async Task<ArtifactEntry> DownloadAsync(MlflowClient client, string directory, string path, CancellationToken ct)
    {
        Lifeline.Storage.ObjectKeys.Validate(path); // a hostile server cannot write outside the directory
        var bytes = await client.DownloadArtifactAsync(path, ct);
        var local = Path.Combine(directory, "artifacts", path.Replace('/', Path.DirectorySeparatorChar));
        Directory.CreateDirectory(Path.GetDirectoryName(local)!);
        await File.WriteAllBytesAsync(local, bytes, ct);
        return new ArtifactEntry(path, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }
}
