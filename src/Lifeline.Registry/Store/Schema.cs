namespace Lifeline.Registry.Store;

/// <summary>
/// The schema as numbered migrations. Each migration runs once, in order, inside a transaction that also records it in
/// <c>schema_migrations</c>; a database whose version is newer than the code knows is refused. The DDL is the common
/// subset of SQLite and PostgreSQL (BIGINT, DOUBLE PRECISION, TEXT), so both stores share it.
/// </summary>
internal static class Schema
{
    public static readonly IReadOnlyList<(int Version, string Description, string[] Statements)> Migrations =
    [
        (1, "experiments, runs, metrics, registered models, versions, tags, aliases",
        [
            "CREATE TABLE experiments (experiment_id BIGINT PRIMARY KEY, name TEXT NOT NULL UNIQUE, artifact_location TEXT, lifecycle_stage TEXT NOT NULL, creation_time BIGINT NOT NULL, last_update_time BIGINT NOT NULL)",
            "CREATE TABLE experiment_tags (experiment_id BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (experiment_id, key))",
            "CREATE TABLE runs (run_id TEXT PRIMARY KEY, experiment_id BIGINT NOT NULL, run_name TEXT, user_id TEXT, status TEXT NOT NULL, start_time BIGINT, end_time BIGINT, artifact_uri TEXT, lifecycle_stage TEXT NOT NULL)",
            "CREATE INDEX ix_runs_experiment ON runs (experiment_id, start_time)",
            "CREATE TABLE params (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
            "CREATE TABLE run_tags (run_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (run_id, key))",
            "CREATE TABLE metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, is_nan BIGINT NOT NULL, timestamp BIGINT NOT NULL, step BIGINT NOT NULL, PRIMARY KEY (run_id, key, timestamp, step, value, is_nan))",
            "CREATE TABLE latest_metrics (run_id TEXT NOT NULL, key TEXT NOT NULL, value DOUBLE PRECISION NOT NULL, is_nan BIGINT NOT NULL, timestamp BIGINT NOT NULL, step BIGINT NOT NULL, PRIMARY KEY (run_id, key))",
            "CREATE TABLE registered_models (name TEXT PRIMARY KEY, description TEXT, user_id TEXT, creation_timestamp BIGINT NOT NULL, last_updated_timestamp BIGINT NOT NULL, next_version BIGINT NOT NULL)",
            "CREATE TABLE registered_model_tags (name TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, key))",
            "CREATE TABLE registered_model_aliases (name TEXT NOT NULL, alias TEXT NOT NULL, version BIGINT NOT NULL, PRIMARY KEY (name, alias))",
            "CREATE TABLE model_versions (name TEXT NOT NULL, version BIGINT NOT NULL, creation_timestamp BIGINT NOT NULL, last_updated_timestamp BIGINT NOT NULL, user_id TEXT, current_stage TEXT NOT NULL, description TEXT, source TEXT, run_id TEXT, run_link TEXT, status TEXT NOT NULL, status_message TEXT, PRIMARY KEY (name, version))",
            "CREATE INDEX ix_model_versions_run ON model_versions (run_id)",
            "CREATE TABLE model_version_tags (name TEXT NOT NULL, version BIGINT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (name, version, key))",
        ]),
        (2, "index run tags by key and value (search by tag, import idempotency)",
        [
            "CREATE INDEX ix_run_tags_key_value ON run_tags (key, value)",
        ]),
    ];

    /// <summary>Every table, parents before children: the order a logical export writes and an import reads.</summary>
    public static readonly IReadOnlyList<string> Tables =
    [
        "experiments", "experiment_tags", "runs", "params", "run_tags", "metrics", "latest_metrics",
        "registered_models", "registered_model_tags", "registered_model_aliases", "model_versions", "model_version_tags",
    ];

    public static int LatestVersion => Migrations[^1].Version;
}
