using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Store;

/// <summary>Which lifecycle stages a listing includes (MLflow's <c>ViewType</c>).</summary>
internal enum ViewType
{
    ActiveOnly,
    DeletedOnly,
    All,
}

/// <summary>
/// The registry's metadata: experiments, runs (params, metric history, tags), registered models, versions, stages,
/// aliases and tags. Every backend (SQLite, PostgreSQL) passes the same suite. Errors are <see cref="MlflowException"/>
/// with MLflow's codes, so the HTTP API passes them through unchanged. Artifacts live in an object store, not here.
/// </summary>
internal interface IRegistryStore : IAsyncDisposable
{
    /// <summary>Where the metadata lives, for messages (no secrets).</summary>
    string Description { get; }

    /// <summary>Checks the database, applies pending schema migrations, and creates the Default experiment (id 0).</summary>
    Task InitializeAsync(CancellationToken cancellationToken);

    /// <summary>The schema version after <see cref="InitializeAsync"/>.</summary>
    Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken);

    Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken);
    Task<MlflowExperiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken);
    Task<MlflowExperiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken);
    Task<IReadOnlyList<MlflowExperiment>> ListExperimentsAsync(ViewType viewType, CancellationToken cancellationToken);
    Task RenameExperimentAsync(string experimentId, string newName, CancellationToken cancellationToken);
    Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken);
    Task RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken);
    Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken cancellationToken);

    Task<MlflowRun> CreateRunAsync(string experimentId, string? userId, string? runName, long? startTime, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken);
    Task<MlflowRun> GetRunAsync(string runId, CancellationToken cancellationToken);
    Task<MlflowRunInfo> UpdateRunAsync(string runId, string? status, long? endTime, string? runName, CancellationToken cancellationToken);
    Task DeleteRunAsync(string runId, CancellationToken cancellationToken);
    Task RestoreRunAsync(string runId, CancellationToken cancellationToken);

    /// <summary>Logs metrics (never overwritten: every value is kept in the history), params (immutable) and tags (upserted).</summary>
    Task LogBatchAsync(string runId, IReadOnlyList<MlflowMetric> metrics, IReadOnlyList<MlflowTag> parameters, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken);
    Task DeleteRunTagAsync(string runId, string key, CancellationToken cancellationToken);
    Task<IReadOnlyList<MlflowMetric>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken);

    /// <summary>
    /// The runs of the experiments (all experiments when empty), newest start time first; with <paramref name="requiredTag"/>
    /// only runs carrying that tag with that value (answered by an index, for lookups such as an import's original-id tag).
    /// </summary>
    Task<IReadOnlyList<MlflowRun>> ListRunsAsync(IReadOnlyList<string> experimentIds, ViewType viewType, CancellationToken cancellationToken, MlflowTag? requiredTag = null);

    Task<MlflowRegisteredModel> CreateRegisteredModelAsync(string name, string? description, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken);
    Task<MlflowRegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken);
    Task<IReadOnlyList<string>> ListRegisteredModelNamesAsync(CancellationToken cancellationToken);
    Task<MlflowRegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken cancellationToken);
    Task<MlflowRegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken cancellationToken);
    Task DeleteRegisteredModelAsync(string name, CancellationToken cancellationToken);
    Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken cancellationToken);
    Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken cancellationToken);
    Task SetAliasAsync(string name, string alias, string version, CancellationToken cancellationToken);
    Task DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken);
    Task<MlflowModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken);

    /// <summary>The newest READY version in each requested stage (each stage that has one when none is requested).</summary>
    Task<IReadOnlyList<MlflowModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string> stages, CancellationToken cancellationToken);

    Task<MlflowModelVersion> CreateModelVersionAsync(string name, string source, string? runId, IReadOnlyList<MlflowTag> tags, string? runLink, string? description, CancellationToken cancellationToken);
    Task<MlflowModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken);

    /// <summary>Every version of one model (or of all models when <paramref name="name"/> is null), by name then version.</summary>
    Task<IReadOnlyList<MlflowModelVersion>> ListModelVersionsAsync(string? name, CancellationToken cancellationToken);
    Task<MlflowModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken cancellationToken);
    Task DeleteModelVersionAsync(string name, string version, CancellationToken cancellationToken);

    /// <summary>Moves a version to a stage; with <paramref name="archiveExistingVersions"/> the others in that stage become Archived, atomically.</summary>
    Task<MlflowModelVersion> TransitionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken);
    Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken);
    Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken cancellationToken);
}
