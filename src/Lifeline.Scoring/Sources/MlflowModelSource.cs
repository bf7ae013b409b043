using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;
using Lifeline.Scoring.Models;

namespace Lifeline.Scoring.Sources;

/// <summary>
/// The Production version from an MLflow-compatible registry (<c>lifeline registry serve</c> or MLflow itself):
/// by stage (get-latest-versions) or, when an alias is configured, by alias (get-model-version-by-alias). The
/// artifact comes through the mlflow-artifacts proxy from the version's download URI. The previous Production
/// version is the one named by the current version's <c>lifeline.previous_production</c> tag (written by
/// <c>lifeline train</c> on promotion), else the newest Archived version below the current one.
/// </summary>
internal sealed class MlflowModelSource(MlflowClient client, string modelName, string stage = "Production", string? alias = null) : IModelSource
{
    /// <summary>The version tag naming the Production version a promotion replaced.</summary>
    public const string PreviousProductionTag = "lifeline.previous_production";

    public string Description => alias is null
        ? $"registry {client.BaseAddress} model {modelName} stage {stage}"
        : $"registry {client.BaseAddress} model {modelName} alias @{alias}";

    public async Task<ModelVersionInfo?> GetProductionAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (alias is not null)
            {
                return Info(await client.GetModelVersionByAliasAsync(modelName, alias, cancellationToken));
            }

            var latest = await client.GetLatestVersionsAsync(modelName, [stage], cancellationToken);
            var newest = latest.Where(v => v.CurrentStage == stage).MaxBy(v => VersionNumber(v.Version));
            return newest is null ? null : Info(newest);
        }
        catch (MlflowException ex) when (ex.ErrorCode == ErrorCodes.ResourceDoesNotExist)
        {
            return null;
        }
    }

    public async Task<ModelVersionInfo?> GetPreviousProductionAsync(string currentVersion, CancellationToken cancellationToken)
    {
        MlflowModelVersion current;
        try
        {
            current = await client.GetModelVersionAsync(modelName, currentVersion, cancellationToken);
        }
        catch (MlflowException ex) when (ex.ErrorCode == ErrorCodes.ResourceDoesNotExist)
        {
            return null;
        }

        var tagged = current.Tags.FirstOrDefault(t => t.Key == PreviousProductionTag)?.Value;
        if (!string.IsNullOrEmpty(tagged))
        {
            try
            {
                return Info(await client.GetModelVersionAsync(modelName, tagged, cancellationToken));
            }
            catch (MlflowException ex) when (ex.ErrorCode == ErrorCodes.ResourceDoesNotExist)
            {
                // deleted since; fall back to the stages
            }
        }

        var below = VersionNumber(currentVersion);
        MlflowModelVersion? best = null;
        await foreach (var version in client.ListModelVersionsAsync($"name='{modelName.Replace("'", "''", StringComparison.Ordinal)}'", cancellationToken))
        {
            if (version.CurrentStage is "Archived" or "Production" && VersionNumber(version.Version) < below
                && (best is null || VersionNumber(version.Version) > VersionNumber(best.Version)))
            {
                best = version;
            }
        }

        return best is null ? null : Info(best);
    }

    public async Task DownloadAsync(ModelVersionInfo version, string directory, CancellationToken cancellationToken)
    {
        var uri = await client.GetModelVersionDownloadUriAsync(version.Name, version.Version, cancellationToken) ?? version.Source;
        var path = MlflowClient.ProxyPathOf(uri)
            ?? throw new InvalidDataException($"model {version.Name} version {version.Version}: artifact URI '{uri}' is not served by the mlflow-artifacts proxy");
        Directory.CreateDirectory(directory);
        foreach (var file in new[] { ModelArtifact.ModelFile, ModelArtifact.SignatureFile })
        {
            var bytes = await client.DownloadArtifactAsync(path + "/" + file, cancellationToken);
            await File.WriteAllBytesAsync(Path.Combine(directory, file), bytes, cancellationToken);
        }
    }

    private static ModelVersionInfo Info(MlflowModelVersion version) => new()
    {
        Name = version.Name,
        Version = version.Version,
        Stage = version.CurrentStage,
        Source = version.Source,
        RunId = version.RunId,
    };

    private static long VersionNumber(string version) =>
        long.TryParse(version, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) ? n : -1;
}
