namespace Lifeline.Scoring.Sources;

/// <summary>A registered model version as the scoring service needs to know it.</summary>
public sealed record ModelVersionInfo
{
    /// <summary>The registered model's name.</summary>
    public string Name { get; init; } = "";

    /// <summary>The version (a string, as in MLflow).</summary>
    public string Version { get; init; } = "";

    /// <summary>The stage (<c>Production</c>, <c>Archived</c>, …) when the source has stages.</summary>
    public string? Stage { get; init; }

    /// <summary>Where the artifact lives (an MLflow source URI or a directory).</summary>
    public string? Source { get; init; }

    /// <summary>The run that produced it.</summary>
    public string? RunId { get; init; }
}

/// <summary>Where the service finds its model: the registry's Production version, or a local directory.</summary>
public interface IModelSource
{
    /// <summary>A short description for logs and /model-info (never secrets).</summary>
    string Description { get; }

    /// <summary>The version to serve now (stage Production or the configured alias), or <c>null</c> when there is none.</summary>
    Task<ModelVersionInfo?> GetProductionAsync(CancellationToken cancellationToken);

    /// <summary>The version that was Production before <paramref name="currentVersion"/>, or <c>null</c> when none is known.</summary>
    Task<ModelVersionInfo?> GetPreviousProductionAsync(string currentVersion, CancellationToken cancellationToken);

    /// <summary>Writes the version's artifact (model.zip and signature.json) into <paramref name="directory"/>.</summary>
    Task DownloadAsync(ModelVersionInfo version, string directory, CancellationToken cancellationToken);
}
