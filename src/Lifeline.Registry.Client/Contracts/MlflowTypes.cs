using System.Text.Json.Serialization;

namespace Lifeline.Registry.Contracts;

// Wire types of MLflow's REST API (mlflow/protos/service.proto, model_registry.proto, mlflow_artifacts.proto).
// Field names are the protos' snake_case names; int64 fields are JSON numbers; a model version is a string.
// Empty lists are not written (as protobuf's JSON printer omits empty repeated fields) and read back as empty.

/// <summary>A key/value pair: experiment, run, registered-model and model-version tags, and run params.</summary>
public sealed record MlflowTag(string Key, string Value);

/// <summary>An experiment (service.proto <c>Experiment</c>).</summary>
public sealed record MlflowExperiment
{
    /// <summary>Unique id, a decimal string.</summary>
    public string ExperimentId { get; init; } = "";
    /// <summary>Unique name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Where the runs' artifacts live, e.g. <c>mlflow-artifacts:/1</c>.</summary>
    public string? ArtifactLocation { get; init; }
    /// <summary><c>active</c> or <c>deleted</c>.</summary>
    public string? LifecycleStage { get; init; }
    /// <summary>Milliseconds since the epoch.</summary>
    public long? LastUpdateTime { get; init; }
    /// <summary>Milliseconds since the epoch.</summary>
    public long? CreationTime { get; init; }
    /// <summary>Experiment tags.</summary>
    public IReadOnlyList<MlflowTag> Tags { get; init; } = [];
}

/// <summary>One logged value of a metric (service.proto <c>Metric</c>).</summary>
public sealed record MlflowMetric
{
    /// <summary>Metric name.</summary>
    public string Key { get; init; } = "";
    /// <summary>Value.</summary>
    public double Value { get; init; }
    /// <summary>Milliseconds since the epoch.</summary>
    public long Timestamp { get; init; }
    /// <summary>Training step (0 by default).</summary>
    public long Step { get; init; }
}

/// <summary>Run metadata (service.proto <c>RunInfo</c>).</summary>
public sealed record MlflowRunInfo
{
    /// <summary>Run id (32 hex characters).</summary>
    public string RunId { get; init; } = "";
    /// <summary>Deprecated duplicate of <see cref="RunId"/>, still written by MLflow.</summary>
    public string? RunUuid { get; init; }
    /// <summary>Run name.</summary>
    public string? RunName { get; init; }
    /// <summary>Experiment id.</summary>
    public string ExperimentId { get; init; } = "";
    /// <summary>User that created the run.</summary>
    public string? UserId { get; init; }
    /// <summary>RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.</summary>
    public string? Status { get; init; }
    /// <summary>Milliseconds since the epoch.</summary>
    public long? StartTime { get; init; }
    /// <summary>Milliseconds since the epoch.</summary>
    public long? EndTime { get; init; }
    /// <summary>Root of the run's artifacts, e.g. <c>mlflow-artifacts:/1/&lt;run&gt;/artifacts</c>.</summary>
    public string? ArtifactUri { get; init; }
    /// <summary><c>active</c> or <c>deleted</c>.</summary>
    public string? LifecycleStage { get; init; }
}

/// <summary>Run data: the latest value of each metric, params and tags (service.proto <c>RunData</c>).</summary>
public sealed record MlflowRunData
{
    /// <summary>Latest value of each metric.</summary>
    public IReadOnlyList<MlflowMetric> Metrics { get; init; } = [];
    /// <summary>Parameters.</summary>
    public IReadOnlyList<MlflowTag> Params { get; init; } = [];
    /// <summary>Tags.</summary>
    public IReadOnlyList<MlflowTag> Tags { get; init; } = [];
}

/// <summary>Run inputs (datasets); kept empty here.</summary>
public sealed record MlflowRunInputs;

/// <summary>A run (service.proto <c>Run</c>).</summary>
public sealed record MlflowRun
{
    /// <summary>Metadata.</summary>
    public MlflowRunInfo Info { get; init; } = new();
    /// <summary>Metrics, params, tags.</summary>
    public MlflowRunData Data { get; init; } = new();
    /// <summary>Inputs (always empty here).</summary>
    public MlflowRunInputs? Inputs { get; init; }
}

/// <summary>An alias of a registered model (model_registry.proto <c>RegisteredModelAlias</c>).</summary>
public sealed record MlflowAlias(string Alias, string Version);

/// <summary>A registered model (model_registry.proto <c>RegisteredModel</c>).</summary>
public sealed record MlflowRegisteredModel
{
    /// <summary>Unique name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Milliseconds since the epoch.</summary>
    public long? CreationTimestamp { get; init; }
    /// <summary>Milliseconds since the epoch.</summary>
    public long? LastUpdatedTimestamp { get; init; }
    /// <summary>Creator (not returned by MLflow).</summary>
    public string? UserId { get; init; }
    /// <summary>Description.</summary>
    public string? Description { get; init; }
    /// <summary>The latest version in each stage.</summary>
    public IReadOnlyList<MlflowModelVersion> LatestVersions { get; init; } = [];
    /// <summary>Tags.</summary>
    public IReadOnlyList<MlflowTag> Tags { get; init; } = [];
    /// <summary>Aliases.</summary>
    public IReadOnlyList<MlflowAlias> Aliases { get; init; } = [];
}

/// <summary>A model version (model_registry.proto <c>ModelVersion</c>).</summary>
public sealed record MlflowModelVersion
{
    /// <summary>Registered model name.</summary>
    public string Name { get; init; } = "";
    /// <summary>Version number, as a decimal string.</summary>
    public string Version { get; init; } = "";
    /// <summary>Milliseconds since the epoch.</summary>
    public long? CreationTimestamp { get; init; }
    /// <summary>Milliseconds since the epoch.</summary>
    public long? LastUpdatedTimestamp { get; init; }
    /// <summary>Creator.</summary>
    public string? UserId { get; init; }
    /// <summary>None, Staging, Production or Archived.</summary>
    public string? CurrentStage { get; init; }
    /// <summary>Description.</summary>
    public string? Description { get; init; }
    /// <summary>URI of the model's artifacts.</summary>
    public string? Source { get; init; }
    /// <summary>Run that produced the model.</summary>
    public string? RunId { get; init; }
    /// <summary>PENDING_REGISTRATION, FAILED_REGISTRATION or READY.</summary>
    public string? Status { get; init; }
    /// <summary>Details of the status.</summary>
    public string? StatusMessage { get; init; }
    /// <summary>Tags.</summary>
    public IReadOnlyList<MlflowTag> Tags { get; init; } = [];
    /// <summary>Link to the run on another tracking server.</summary>
    public string? RunLink { get; init; }
    /// <summary>Aliases pointing at this version.</summary>
    public IReadOnlyList<string> Aliases { get; init; } = [];
}

/// <summary>One entry of an artifact listing (mlflow_artifacts.proto / service.proto <c>FileInfo</c>).</summary>
public sealed record MlflowFileInfo
{
    /// <summary>Path (a name for the proxy listing, a run-relative path for runs/artifacts/list).</summary>
    public string Path { get; init; } = "";
    /// <summary>True for a directory.</summary>
    public bool IsDir { get; init; }
    /// <summary>Size in bytes (files only).</summary>
    public long? FileSize { get; init; }
}

/// <summary>The canonical stage names of the model registry.</summary>
public static class ModelStages
{
    /// <summary>No stage.</summary>
    public const string None = "None";
    /// <summary>Staging.</summary>
    public const string Staging = "Staging";
    /// <summary>Production.</summary>
    public const string Production = "Production";
    /// <summary>Archived.</summary>
    public const string Archived = "Archived";

    /// <summary>All stages in MLflow's order.</summary>
    public static readonly IReadOnlyList<string> All = [None, Staging, Production, Archived];

    /// <summary>Maps a stage case-insensitively to its canonical name, or returns null for an unknown stage.</summary>
    public static string? Canonical(string? stage) =>
        stage is null ? null : All.FirstOrDefault(s => string.Equals(s, stage, StringComparison.OrdinalIgnoreCase));
}

// ---- request and response bodies ----

#pragma warning disable CS1591 // the request and response records mirror the protos field for field
public sealed record CreateExperimentRequest { public string Name { get; init; } = ""; public string? ArtifactLocation { get; init; } public IReadOnlyList<MlflowTag> Tags { get; init; } = []; }
public sealed record CreateExperimentResponse { public string ExperimentId { get; init; } = ""; }
public sealed record ExperimentResponse { public MlflowExperiment? Experiment { get; init; } }
public sealed record ExperimentIdRequest { public string ExperimentId { get; init; } = ""; }
public sealed record UpdateExperimentRequest { public string ExperimentId { get; init; } = ""; public string? NewName { get; init; } }
public sealed record SearchExperimentsRequest { public long? MaxResults { get; init; } public string? PageToken { get; init; } public string? Filter { get; init; } public IReadOnlyList<string> OrderBy { get; init; } = []; public string? ViewType { get; init; } }
public sealed record SearchExperimentsResponse { public IReadOnlyList<MlflowExperiment> Experiments { get; init; } = []; public string? NextPageToken { get; init; } }

public sealed record CreateRunRequest { public string ExperimentId { get; init; } = ""; public string? UserId { get; init; } public string? RunName { get; init; } public long? StartTime { get; init; } public IReadOnlyList<MlflowTag> Tags { get; init; } = []; }
public sealed record RunResponse { public MlflowRun? Run { get; init; } }
public sealed record UpdateRunRequest { public string? RunId { get; init; } public string? RunUuid { get; init; } public string? Status { get; init; } public long? EndTime { get; init; } public string? RunName { get; init; } }
public sealed record UpdateRunResponse { public MlflowRunInfo? RunInfo { get; init; } }
public sealed record RunIdRequest { public string? RunId { get; init; } public string? RunUuid { get; init; } }
public sealed record LogMetricRequest { public string? RunId { get; init; } public string? RunUuid { get; init; } public string Key { get; init; } = ""; public double Value { get; init; } public long? Timestamp { get; init; } public long? Step { get; init; } }
public sealed record LogParamRequest { public string? RunId { get; init; } public string? RunUuid { get; init; } public string Key { get; init; } = ""; public string? Value { get; init; } }
public sealed record SetTagRequest { public string? RunId { get; init; } public string? RunUuid { get; init; } public string Key { get; init; } = ""; public string? Value { get; init; } }
public sealed record DeleteTagRequest { public string? RunId { get; init; } public string Key { get; init; } = ""; }
public sealed record LogBatchRequest { public string? RunId { get; init; } public IReadOnlyList<MlflowMetric> Metrics { get; init; } = []; public IReadOnlyList<MlflowTag> Params { get; init; } = []; public IReadOnlyList<MlflowTag> Tags { get; init; } = []; }
public sealed record SearchRunsRequest { public IReadOnlyList<string> ExperimentIds { get; init; } = []; public string? Filter { get; init; } public string? RunViewType { get; init; } public long? MaxResults { get; init; } public IReadOnlyList<string> OrderBy { get; init; } = []; public string? PageToken { get; init; } }
public sealed record SearchRunsResponse { public IReadOnlyList<MlflowRun> Runs { get; init; } = []; public string? NextPageToken { get; init; } }
public sealed record GetMetricHistoryResponse { public IReadOnlyList<MlflowMetric> Metrics { get; init; } = []; public string? NextPageToken { get; init; } }
public sealed record ListArtifactsResponse { public string? RootUri { get; init; } public IReadOnlyList<MlflowFileInfo> Files { get; init; } = []; public string? NextPageToken { get; init; } }

public sealed record CreateRegisteredModelRequest { public string Name { get; init; } = ""; public IReadOnlyList<MlflowTag> Tags { get; init; } = []; public string? Description { get; init; } }
public sealed record RegisteredModelResponse { public MlflowRegisteredModel? RegisteredModel { get; init; } }
public sealed record NameRequest { public string Name { get; init; } = ""; }
public sealed record RenameRegisteredModelRequest { public string Name { get; init; } = ""; public string? NewName { get; init; } }
public sealed record UpdateRegisteredModelRequest { public string Name { get; init; } = ""; public string? Description { get; init; } }
public sealed record SearchRequest { public string? Filter { get; init; } public long? MaxResults { get; init; } public IReadOnlyList<string> OrderBy { get; init; } = []; public string? PageToken { get; init; } }
public sealed record SearchRegisteredModelsResponse { public IReadOnlyList<MlflowRegisteredModel> RegisteredModels { get; init; } = []; public string? NextPageToken { get; init; } }
public sealed record GetLatestVersionsRequest { public string Name { get; init; } = ""; public IReadOnlyList<string> Stages { get; init; } = []; }
public sealed record ModelVersionsResponse { public IReadOnlyList<MlflowModelVersion> ModelVersions { get; init; } = []; public string? NextPageToken { get; init; } }
public sealed record ModelTagRequest { public string Name { get; init; } = ""; public string Key { get; init; } = ""; public string? Value { get; init; } }
public sealed record AliasRequest { public string Name { get; init; } = ""; public string Alias { get; init; } = ""; public string? Version { get; init; } }
public sealed record CreateModelVersionRequest { public string Name { get; init; } = ""; public string? Source { get; init; } public string? RunId { get; init; } public IReadOnlyList<MlflowTag> Tags { get; init; } = []; public string? RunLink { get; init; } public string? Description { get; init; } }
public sealed record ModelVersionResponse { public MlflowModelVersion? ModelVersion { get; init; } }
public sealed record ModelVersionRequest { public string Name { get; init; } = ""; public string Version { get; init; } = ""; }
public sealed record UpdateModelVersionRequest { public string Name { get; init; } = ""; public string Version { get; init; } = ""; public string? Description { get; init; } }
public sealed record TransitionStageRequest { public string Name { get; init; } = ""; public string Version { get; init; } = ""; public string Stage { get; init; } = ""; public bool? ArchiveExistingVersions { get; init; } }
public sealed record ModelVersionTagRequest { public string Name { get; init; } = ""; public string Version { get; init; } = ""; public string Key { get; init; } = ""; public string? Value { get; init; } }
public sealed record DownloadUriResponse { public string? ArtifactUri { get; init; } }
public sealed record EmptyResponse;
#pragma warning restore CS1591
