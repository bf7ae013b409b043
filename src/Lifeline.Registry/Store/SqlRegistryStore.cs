using System.Data;
using System.Data.Common;
using System.Globalization;
using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Store;

/// <summary>
/// The store on any ADO.NET database that speaks the SQL common to SQLite and PostgreSQL (ON CONFLICT upserts,
/// UPDATE ... RETURNING, @name parameters). Subclasses supply connections, write transactions and the integrity check.
/// </summary>
internal abstract class SqlRegistryStore : IRegistryStore
{
    private const string Active = "active";
    private const string Deleted = "deleted";
    private static readonly string[] RunStatuses = ["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"];
    private readonly TimeProvider _time;

    protected SqlRegistryStore(TimeProvider time)
    {
        _time = time;
    }

    public abstract string Description { get; }

    protected abstract Task<DbConnection> OpenAsync(CancellationToken cancellationToken);

    /// <summary>Starts a transaction that holds the write lock from its start (SQLite BEGIN IMMEDIATE).</summary>
    protected abstract Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>Serialises inserts into <paramref name="table"/> for the rest of the transaction (no-op where writers are already serialised).</summary>
    protected virtual Task LockTableAsync(DbConnection connection, DbTransaction tx, string table, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Throws <see cref="RegistryCorruptException"/> if the database is damaged.</summary>
    protected abstract Task CheckIntegrityAsync(DbConnection connection, CancellationToken cancellationToken);

    public abstract ValueTask DisposeAsync();

    private long Now => _time.GetUtcNow().ToUnixTimeMilliseconds();

    // ---------------- schema ----------------

    public async Task InitializeAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await CheckIntegrityAsync(connection, cancellationToken);
        await using (var tx = await BeginWriteAsync(connection, cancellationToken))
        {
            await ExecAsync(connection, tx, "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)", cancellationToken);
            var current = Convert.ToInt32(await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken), CultureInfo.InvariantCulture);
            if (current > Schema.LatestVersion)
            {
                throw new InvalidOperationException($"the registry database {Description} has schema version {current}, newer than this lifeline knows ({Schema.LatestVersion}); upgrade lifeline");
            }

            foreach (var (version, description, statements) in Schema.Migrations.Where(m => m.Version > current))
            {
                foreach (var sql in statements)
                {
                    await ExecAsync(connection, tx, sql, cancellationToken);
                }

                await ExecAsync(connection, tx, "INSERT INTO schema_migrations (version, description, applied_at) VALUES (@v, @d, @t)", cancellationToken, ("v", (long)version), ("d", description), ("t", Now));
            }

            var hasDefault = await ScalarAsync(connection, tx, "SELECT COUNT(*) FROM experiments WHERE experiment_id = 0", cancellationToken);
            if (Convert.ToInt64(hasDefault, CultureInfo.InvariantCulture) == 0 && current == 0)
            {
                await ExecAsync(connection, tx, "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (0, 'Default', 'mlflow-artifacts:/0', 'active', @t, @t)", cancellationToken, ("t", Now));
            }

            await tx.CommitAsync(cancellationToken);
        }
    }

    public async Task<int> GetSchemaVersionAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", cancellationToken), CultureInfo.InvariantCulture);
    }

    // ---------------- copying a whole registry (native backup of any backend) ----------------

    /// <summary>Starts a read-only transaction that sees one consistent snapshot of the database.</summary>
    protected abstract Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken);

    /// <summary>True when the store holds nothing but the Default experiment.</summary>
    public async Task<bool> IsEmptyAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var count = await ScalarAsync(connection, null, "SELECT (SELECT COUNT(*) FROM runs) + (SELECT COUNT(*) FROM registered_models) + (SELECT COUNT(*) FROM experiments WHERE experiment_id <> 0)", cancellationToken);
        return Convert.ToInt64(count, CultureInfo.InvariantCulture) == 0;
    }

    /// <summary>
    /// Copies every row of every table into <paramref name="target"/> (initialised and empty), reading one consistent
    /// snapshot of this store and writing in one transaction: a native backup of PostgreSQL into SQLite and back.
    /// </summary>
    public async Task<long> CopyToAsync(SqlRegistryStore target, CancellationToken cancellationToken)
    {
        if (!await target.IsEmptyAsync(cancellationToken))
        {
            throw new InvalidOperationException($"{target.Description} already holds a registry; a copy goes into an empty one");
        }

        await using var source = await OpenAsync(cancellationToken);
        await using var snapshot = await BeginSnapshotAsync(source, cancellationToken);
        await using var destination = await target.OpenAsync(cancellationToken);
        await using var write = await target.BeginWriteAsync(destination, cancellationToken);
        var rows = 0L;
        foreach (var table in Schema.Tables)
        {
            await ExecAsync(destination, write, $"DELETE FROM {table}", cancellationToken);
            await using var reader = await QueryAsync(source, snapshot, $"SELECT * FROM {table}", cancellationToken);
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
            var insert = $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => "@c" + i.ToString(CultureInfo.InvariantCulture)))})";
            while (await reader.ReadAsync(cancellationToken))
            {
                var args = new (string, object?)[columns.Length];
                for (var i = 0; i < columns.Length; i++)
                {
                    args[i] = ("c" + i.ToString(CultureInfo.InvariantCulture), reader.IsDBNull(i) ? null : reader.GetValue(i));
                }

                await ExecAsync(destination, write, insert, cancellationToken, args);
                rows++;
            }
        }

        await write.CommitAsync(cancellationToken);
        return rows;
    }

    // ---------------- experiments ----------------

    public async Task<string> CreateExperimentAsync(string name, string? artifactLocation, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken)
    {
        RequireName(name, "experiment name");
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, cancellationToken);
        await LockTableAsync(connection, tx, "experiments", cancellationToken);
        if (await ScalarAsync(connection, tx, "SELECT experiment_id FROM experiments WHERE name = @n", cancellationToken, ("n", name)) is not null)
        {
            throw MlflowException.AlreadyExists($"Experiment(name={name}) already exists.");
        }

        var id = Convert.ToInt64(await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(experiment_id), 0) + 1 FROM experiments", cancellationToken), CultureInfo.InvariantCulture);
        var now = Now;
        await ExecAsync(connection, tx, "INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time) VALUES (@id, @n, @a, 'active', @t, @t)", cancellationToken,
            ("id", id), ("n", name), ("a", string.IsNullOrEmpty(artifactLocation) ? $"mlflow-artifacts:/{id}" : artifactLocation), ("t", now));
        foreach (var tag in tags)
        {
            await ExecAsync(connection, tx, "INSERT INTO experiment_tags (experiment_id, key, value) VALUES (@id, @k, @v) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value", cancellationToken, ("id", id), ("k", tag.Key), ("v", tag.Value));
        }

        await tx.CommitAsync(cancellationToken);
        return id.ToString(CultureInfo.InvariantCulture);
    }

    public async Task<MlflowExperiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken)
    {
        var id = ParseExperimentId(experimentId);
        await using var connection = await OpenAsync(cancellationToken);
        var list = await ReadExperimentsAsync(connection, "WHERE experiment_id = @id", cancellationToken, ("id", id));
        return list.Count == 1 ? list[0] : throw MlflowException.NotFound($"No Experiment with id={experimentId} exists");
    }

    public async Task<MlflowExperiment?> FindExperimentByNameAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var list = await ReadExperimentsAsync(connection, "WHERE name = @n", cancellationToken, ("n", name));
        return list.Count == 1 ? list[0] : null;
    }

    public async Task<IReadOnlyList<MlflowExperiment>> ListExperimentsAsync(ViewType viewType, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadExperimentsAsync(connection, viewType switch
        {
            ViewType.ActiveOnly => "WHERE lifecycle_stage = 'active'",
            ViewType.DeletedOnly => "WHERE lifecycle_stage = 'deleted'",
            _ => "",
        }, cancellationToken);
    }

    public async Task RenameExperimentAsync(string experimentId, string newName, CancellationToken cancellationToken)
    {
        RequireName(newName, "new_name");
        var existing = await GetExperimentAsync(experimentId, cancellationToken);
        if (existing.LifecycleStage != Active)
        {
            throw MlflowException.Invalid($"Cannot rename a non-active experiment. Experiment id={experimentId}");
        }

        if (await FindExperimentByNameAsync(newName, cancellationToken) is { } clash && clash.ExperimentId != experimentId)
        {
            throw MlflowException.AlreadyExists($"Experiment(name={newName}) already exists.");
        }

        await WriteAsync("UPDATE experiments SET name = @n, last_update_time = @t WHERE experiment_id = @id", cancellationToken, ("n", newName), ("t", Now), ("id", ParseExperimentId(experimentId)));
    }

    public async Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken)
    {
        await GetExperimentAsync(experimentId, cancellationToken);
        await WriteAsync("UPDATE experiments SET lifecycle_stage = 'deleted', last_update_time = @t WHERE experiment_id = @id", cancellationToken, ("t", Now), ("id", ParseExperimentId(experimentId)));
    }

    public async Task RestoreExperimentAsync(string experimentId, CancellationToken cancellationToken)
    {
        await GetExperimentAsync(experimentId, cancellationToken);
        await WriteAsync("UPDATE experiments SET lifecycle_stage = 'active', last_update_time = @t WHERE experiment_id = @id", cancellationToken, ("t", Now), ("id", ParseExperimentId(experimentId)));
    }

    public async Task SetExperimentTagAsync(string experimentId, string key, string value, CancellationToken cancellationToken)
    {
        RequireName(key, "tag key");
        await GetExperimentAsync(experimentId, cancellationToken);
        await WriteAsync("INSERT INTO experiment_tags (experiment_id, key, value) VALUES (@id, @k, @v) ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value", cancellationToken, ("id", ParseExperimentId(experimentId)), ("k", key), ("v", value));
    }

    private async Task<List<MlflowExperiment>> ReadExperimentsAsync(DbConnection connection, string where, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        var experiments = new List<MlflowExperiment>();
        await using (var reader = await QueryAsync(connection, null, $"SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time FROM experiments {where} ORDER BY experiment_id", cancellationToken, args))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                experiments.Add(new MlflowExperiment
                {
                    ExperimentId = GetLong(reader, 0).ToString(CultureInfo.InvariantCulture),
                    Name = reader.GetString(1),
                    ArtifactLocation = GetString(reader, 2),
                    LifecycleStage = reader.GetString(3),
                    CreationTime = GetLong(reader, 4),
                    LastUpdateTime = GetLong(reader, 5),
                });
            }
        }

        for (var i = 0; i < experiments.Count; i++)
        {
            var tags = await ReadPairsAsync(connection, "SELECT key, value FROM experiment_tags WHERE experiment_id = @id ORDER BY key", cancellationToken, ("id", long.Parse(experiments[i].ExperimentId, CultureInfo.InvariantCulture)));
            experiments[i] = experiments[i] with { Tags = tags };
        }

        return experiments;
    }

    // ---------------- runs ----------------

    public async Task<MlflowRun> CreateRunAsync(string experimentId, string? userId, string? runName, long? startTime, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken)
    {
        var experiment = await GetExperimentAsync(experimentId, cancellationToken);
        if (experiment.LifecycleStage != Active)
        {
            throw MlflowException.Invalid($"The experiment {experimentId} must be in the 'active' state. Current state is {experiment.LifecycleStage}.");
        }

        var runId = Guid.NewGuid().ToString("N");
        runName = string.IsNullOrEmpty(runName) ? tags.FirstOrDefault(t => t.Key == "mlflow.runName")?.Value ?? $"run-{runId[..8]}" : runName;
        var artifactUri = $"{experiment.ArtifactLocation?.TrimEnd('/')}/{runId}/artifacts";
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, cancellationToken);
        await ExecAsync(connection, tx, "INSERT INTO runs (run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage) VALUES (@r, @e, @n, @u, 'RUNNING', @s, NULL, @a, 'active')", cancellationToken,
            ("r", runId), ("e", long.Parse(experiment.ExperimentId, CultureInfo.InvariantCulture)), ("n", runName), ("u", userId ?? ""), ("s", startTime ?? Now), ("a", artifactUri));
        foreach (var tag in tags.Append(new MlflowTag("mlflow.runName", runName)).DistinctBy(t => t.Key))
        {
            await ExecAsync(connection, tx, "INSERT INTO run_tags (run_id, key, value) VALUES (@r, @k, @v)", cancellationToken, ("r", runId), ("k", tag.Key), ("v", tag.Value));
        }

        await tx.CommitAsync(cancellationToken);
        return await GetRunAsync(runId, cancellationToken);
    }

    public async Task<MlflowRun> GetRunAsync(string runId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var runs = await ReadRunsAsync(connection, "WHERE run_id = @r", cancellationToken, ("r", runId ?? ""));
        return runs.Count == 1 ? runs[0] : throw MlflowException.NotFound($"Run with id={runId} not found");
    }

    public async Task<MlflowRunInfo> UpdateRunAsync(string runId, string? status, long? endTime, string? runName, CancellationToken cancellationToken)
    {
        var run = await GetRunAsync(runId, cancellationToken);
        RequireActiveRun(run);
        if (status is not null && !RunStatuses.Contains(status))
        {
            throw MlflowException.Invalid($"Invalid run status '{status}'. Value must be one of {string.Join(", ", RunStatuses)}.");
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, cancellationToken);
        await ExecAsync(connection, tx, "UPDATE runs SET status = @s, end_time = @e, run_name = @n WHERE run_id = @r", cancellationToken,
            ("s", status ?? run.Info.Status), ("e", endTime ?? run.Info.EndTime), ("n", string.IsNullOrEmpty(runName) ? run.Info.RunName : runName), ("r", runId));
        if (!string.IsNullOrEmpty(runName))
        {
            await ExecAsync(connection, tx, "INSERT INTO run_tags (run_id, key, value) VALUES (@r, 'mlflow.runName', @v) ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value", cancellationToken, ("r", runId), ("v", runName));
        }

        await tx.CommitAsync(cancellationToken);
        return (await GetRunAsync(runId, cancellationToken)).Info;
    }

    public async Task DeleteRunAsync(string runId, CancellationToken cancellationToken)
    {
        await GetRunAsync(runId, cancellationToken);
        await WriteAsync("UPDATE runs SET lifecycle_stage = 'deleted' WHERE run_id = @r", cancellationToken, ("r", runId));
    }

    public async Task RestoreRunAsync(string runId, CancellationToken cancellationToken)
    {
        await GetRunAsync(runId, cancellationToken);
        await WriteAsync("UPDATE runs SET lifecycle_stage = 'active' WHERE run_id = @r", cancellationToken, ("r", runId));
    }

    public async Task LogBatchAsync(string runId, IReadOnlyList<MlflowMetric> metrics, IReadOnlyList<MlflowTag> parameters, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken)
    {
        BatchLimits.Check(metrics.Count, parameters.Count, tags.Count);
        foreach (var key in metrics.Select(m => m.Key).Concat(parameters.Select(p => p.Key)).Concat(tags.Select(t => t.Key)))
        {
            RequireName(key, "key");
        }

        if (parameters.GroupBy(p => p.Key).FirstOrDefault(g => g.Select(p => p.Value).Distinct().Count() > 1) is { } conflicting)
        {
            throw MlflowException.Invalid($"Duplicate parameter keys have been submitted with different values: {conflicting.Key}");
        }

        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, cancellationToken);
        var lifecycle = await ScalarAsync(connection, tx, "SELECT lifecycle_stage FROM runs WHERE run_id = @r", cancellationToken, ("r", runId ?? "")) as string
            ?? throw MlflowException.NotFound($"Run with id={runId} not found");
        if (lifecycle != Active)
        {
            throw MlflowException.Invalid($"The run {runId} must be in the 'active' state. Current state is {lifecycle}.");
        }

        foreach (var p in parameters.DistinctBy(p => p.Key))
        {
            var existing = await ScalarAsync(connection, tx, "SELECT value FROM params WHERE run_id = @r AND key = @k", cancellationToken, ("r", runId), ("k", p.Key)) as string;
            if (existing is null)
            {
                await ExecAsync(connection, tx, "INSERT INTO params (run_id, key, value) VALUES (@r, @k, @v)", cancellationToken, ("r", runId), ("k", p.Key), ("v", p.Value ?? ""));
            }
            else if (existing != (p.Value ?? ""))
            {
                throw MlflowException.Invalid($"Changing param values is not allowed. Param with key='{p.Key}' was already logged with value='{existing}' for run ID='{runId}'. Attempted logging new value '{p.Value}'.");
            }
        }

        if (metrics.Count > 0)
        {
            // One multi-row statement for the history and one for the latest values: two round trips per batch.
            var rows = metrics.Select(m => (m.Key, Value: double.IsNaN(m.Value) ? 0d : m.Value, IsNan: double.IsNaN(m.Value) ? 1L : 0L, m.Timestamp, m.Step)).ToList();
            await ExecAsync(connection, tx, "INSERT INTO metrics (run_id, key, value, is_nan, timestamp, step) VALUES " + Rows(rows.Count, 6) + " ON CONFLICT DO NOTHING", cancellationToken,
                [.. rows.SelectMany((m, i) => Args(i, 6, runId, m.Key, m.Value, m.IsNan, m.Timestamp, m.Step))]);
            var latest = rows.GroupBy(m => m.Key, StringComparer.Ordinal)
                .Select(g => g.OrderByDescending(m => m.Step).ThenByDescending(m => m.Timestamp).ThenByDescending(m => m.Value).First()).ToList();
            await ExecAsync(connection, tx,
                "INSERT INTO latest_metrics (run_id, key, value, is_nan, timestamp, step) VALUES " + Rows(latest.Count, 6) + " " +
                "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, is_nan = excluded.is_nan, timestamp = excluded.timestamp, step = excluded.step " +
                "WHERE excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND (excluded.timestamp > latest_metrics.timestamp " +
                "OR (excluded.timestamp = latest_metrics.timestamp AND excluded.value > latest_metrics.value)))", cancellationToken,
                [.. latest.SelectMany((m, i) => Args(i, 6, runId, m.Key, m.Value, m.IsNan, m.Timestamp, m.Step))]);
        }

        if (tags.Count > 0)
        {
            var lastPerKey = tags.GroupBy(t => t.Key, StringComparer.Ordinal).Select(g => g.Last()).ToList();
            await ExecAsync(connection, tx, "INSERT INTO run_tags (run_id, key, value) VALUES " + Rows(lastPerKey.Count, 3) + " ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value", cancellationToken,
                [.. lastPerKey.SelectMany((t, i) => Args(i, 3, runId, t.Key, t.Value ?? ""))]);
            if (lastPerKey.FirstOrDefault(t => t.Key == "mlflow.runName") is { } name)
            {
                await ExecAsync(connection, tx, "UPDATE runs SET run_name = @v WHERE run_id = @r", cancellationToken, ("r", runId), ("v", name.Value ?? ""));
            }
        }

        await tx.CommitAsync(cancellationToken);
    }

    public async Task DeleteRunTagAsync(string runId, string key, CancellationToken cancellationToken)
    {
        RequireActiveRun(await GetRunAsync(runId, cancellationToken));
        var removed = await WriteAsync("DELETE FROM run_tags WHERE run_id = @r AND key = @k", cancellationToken, ("r", runId), ("k", key));
        if (removed == 0)
        {
            throw MlflowException.NotFound($"No tag with name: {key} in run with id {runId}");
        }
    }

    public async Task<IReadOnlyList<MlflowMetric>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken)
    {
        await GetRunAsync(runId, cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        var list = new List<MlflowMetric>();
        await using var reader = await QueryAsync(connection, null, "SELECT key, value, is_nan, timestamp, step FROM metrics WHERE run_id = @r AND key = @k ORDER BY step, timestamp, value", cancellationToken, ("r", runId), ("k", key));
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(ReadMetric(reader));
        }

        return list;
    }

    public async Task<IReadOnlyList<MlflowRun>> ListRunsAsync(IReadOnlyList<string> experimentIds, ViewType viewType, CancellationToken cancellationToken, MlflowTag? requiredTag = null)
    {
        var ids = experimentIds.Select(ParseExperimentId).ToList();
        var clauses = new List<string>();
        if (ids.Count > 0)
        {
            clauses.Add($"experiment_id IN ({string.Join(", ", ids)})");
        }

        if (viewType != ViewType.All)
        {
            clauses.Add(viewType == ViewType.ActiveOnly ? "lifecycle_stage = 'active'" : "lifecycle_stage = 'deleted'");
        }

        var args = new List<(string, object?)>();
        if (requiredTag is not null)
        {
            clauses.Add("run_id IN (SELECT run_id FROM run_tags WHERE key = @tk AND value = @tv)");
            args.Add(("tk", requiredTag.Key));
            args.Add(("tv", requiredTag.Value));
        }

        await using var connection = await OpenAsync(cancellationToken);
        return await ReadRunsAsync(connection, clauses.Count == 0 ? "" : "WHERE " + string.Join(" AND ", clauses), cancellationToken, [.. args]);
    }

    private static void RequireActiveRun(MlflowRun run)
    {
        if (run.Info.LifecycleStage != Active)
        {
            throw MlflowException.Invalid($"The run {run.Info.RunId} must be in the 'active' state. Current state is {run.Info.LifecycleStage}.");
        }
    }

    /// <summary><c>(@p0_0, @p0_1, ...), (@p1_0, ...)</c> for a multi-row VALUES list.</summary>
    private static string Rows(int rows, int columns) =>
        string.Join(", ", Enumerable.Range(0, rows).Select(r => "(" + string.Join(", ", Enumerable.Range(0, columns).Select(c => $"@p{r}_{c}")) + ")"));

    private static IEnumerable<(string, object?)> Args(int row, int columns, params object?[] values) =>
        Enumerable.Range(0, columns).Select(c => ($"p{row}_{c}", values[c]));

    private static MlflowMetric ReadMetric(DbDataReader reader) => new()
    {
        Key = reader.GetString(0),
        Value = GetLong(reader, 2) == 1 ? double.NaN : reader.GetDouble(1),
        Timestamp = GetLong(reader, 3),
        Step = GetLong(reader, 4),
    };

    private async Task<List<MlflowRun>> ReadRunsAsync(DbConnection connection, string where, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        var infos = new List<MlflowRunInfo>();
        await using (var reader = await QueryAsync(connection, null, $"SELECT run_id, experiment_id, run_name, user_id, status, start_time, end_time, artifact_uri, lifecycle_stage FROM runs {where} ORDER BY start_time DESC, run_id", cancellationToken, args))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var id = reader.GetString(0);
                infos.Add(new MlflowRunInfo
                {
                    RunId = id,
                    RunUuid = id,
                    ExperimentId = GetLong(reader, 1).ToString(CultureInfo.InvariantCulture),
                    RunName = GetString(reader, 2),
                    UserId = GetString(reader, 3),
                    Status = reader.GetString(4),
                    StartTime = GetNullableLong(reader, 5),
                    EndTime = GetNullableLong(reader, 6),
                    ArtifactUri = GetString(reader, 7),
                    LifecycleStage = reader.GetString(8),
                });
            }
        }

        var runs = new List<MlflowRun>(infos.Count);
        foreach (var info in infos)
        {
            var metrics = new List<MlflowMetric>();
            await using (var reader = await QueryAsync(connection, null, "SELECT key, value, is_nan, timestamp, step FROM latest_metrics WHERE run_id = @r ORDER BY key", cancellationToken, ("r", info.RunId)))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    metrics.Add(ReadMetric(reader));
                }
            }

            runs.Add(new MlflowRun
            {
                Info = info,
                Data = new MlflowRunData
                {
                    Metrics = metrics,
                    Params = await ReadPairsAsync(connection, "SELECT key, value FROM params WHERE run_id = @r ORDER BY key", cancellationToken, ("r", info.RunId)),
                    Tags = await ReadPairsAsync(connection, "SELECT key, value FROM run_tags WHERE run_id = @r ORDER BY key", cancellationToken, ("r", info.RunId)),
                },
                Inputs = new MlflowRunInputs(),
            });
        }

        return runs;
    }

    // ---------------- registered models ----------------

    public async Task<MlflowRegisteredModel> CreateRegisteredModelAsync(string name, string? description, IReadOnlyList<MlflowTag> tags, CancellationToken cancellationToken)
    {
        RequireName(name, "name");
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var tx = await BeginWriteAsync(connection, cancellationToken))
        {
            await LockTableAsync(connection, tx, "registered_models", cancellationToken);
            if (await ScalarAsync(connection, tx, "SELECT name FROM registered_models WHERE name = @n", cancellationToken, ("n", name)) is not null)
            {
                throw MlflowException.AlreadyExists($"Registered Model (name={name}) already exists.");
            }

            var now = Now;
            await ExecAsync(connection, tx, "INSERT INTO registered_models (name, description, user_id, creation_timestamp, last_updated_timestamp, next_version) VALUES (@n, @d, NULL, @t, @t, 1)", cancellationToken, ("n", name), ("d", description), ("t", now));
            foreach (var tag in tags.DistinctBy(t => t.Key))
            {
                await ExecAsync(connection, tx, "INSERT INTO registered_model_tags (name, key, value) VALUES (@n, @k, @v)", cancellationToken, ("n", name), ("k", tag.Key), ("v", tag.Value ?? ""));
            }

            await tx.CommitAsync(cancellationToken);
        }

        return await GetRegisteredModelAsync(name, cancellationToken);
    }

    public async Task<MlflowRegisteredModel> GetRegisteredModelAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadRegisteredModelAsync(connection, name, cancellationToken);
    }

    public async Task<IReadOnlyList<string>> ListRegisteredModelNamesAsync(CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        var names = new List<string>();
        await using var reader = await QueryAsync(connection, null, "SELECT name FROM registered_models ORDER BY name", cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            names.Add(reader.GetString(0));
        }

        return names;
    }

    public async Task<MlflowRegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken cancellationToken)
    {
        RequireName(newName, "new_name");
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var tx = await BeginWriteAsync(connection, cancellationToken))
        {
            await RequireModelAsync(connection, tx, name, cancellationToken);
            if (name != newName && await ScalarAsync(connection, tx, "SELECT name FROM registered_models WHERE name = @n", cancellationToken, ("n", newName)) is not null)
            {
                throw MlflowException.AlreadyExists($"Registered Model (name={newName}) already exists.");
            }

            foreach (var table in new[] { "registered_model_tags", "registered_model_aliases", "model_versions", "model_version_tags" })
            {
                await ExecAsync(connection, tx, $"UPDATE {table} SET name = @nn WHERE name = @n", cancellationToken, ("nn", newName), ("n", name));
            }

            await ExecAsync(connection, tx, "UPDATE registered_models SET name = @nn, last_updated_timestamp = @t WHERE name = @n", cancellationToken, ("nn", newName), ("n", name), ("t", Now));
            await tx.CommitAsync(cancellationToken);
        }

        return await GetRegisteredModelAsync(newName, cancellationToken);
    }

    public async Task<MlflowRegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken cancellationToken)
    {
        await GetRegisteredModelAsync(name, cancellationToken);
        await WriteAsync("UPDATE registered_models SET description = @d, last_updated_timestamp = @t WHERE name = @n", cancellationToken, ("d", description), ("t", Now), ("n", name));
        return await GetRegisteredModelAsync(name, cancellationToken);
    }

    public async Task DeleteRegisteredModelAsync(string name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, cancellationToken);
        await RequireModelAsync(connection, tx, name, cancellationToken);
        foreach (var table in new[] { "model_version_tags", "model_versions", "registered_model_aliases", "registered_model_tags", "registered_models" })
        {
            await ExecAsync(connection, tx, $"DELETE FROM {table} WHERE name = @n", cancellationToken, ("n", name));
        }

        await tx.CommitAsync(cancellationToken);
    }

    public async Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken cancellationToken)
    {
        RequireName(key, "key");
        await GetRegisteredModelAsync(name, cancellationToken);
        await WriteAsync("INSERT INTO registered_model_tags (name, key, value) VALUES (@n, @k, @v) ON CONFLICT (name, key) DO UPDATE SET value = excluded.value", cancellationToken, ("n", name), ("k", key), ("v", value ?? ""));
    }

    public async Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken cancellationToken)
    {
        await GetRegisteredModelAsync(name, cancellationToken);
        await WriteAsync("DELETE FROM registered_model_tags WHERE name = @n AND key = @k", cancellationToken, ("n", name), ("k", key));
    }

    public async Task SetAliasAsync(string name, string alias, string version, CancellationToken cancellationToken)
    {
        RequireName(alias, "alias");
        if (alias.Equals("latest", StringComparison.OrdinalIgnoreCase) || (alias.Length > 1 && (alias[0] is 'v' or 'V') && alias[1..].All(char.IsAsciiDigit)))
        {
            throw MlflowException.Invalid($"'{alias}' alias name (case insensitive) is reserved.");
        }

        await GetModelVersionAsync(name, version, cancellationToken);
        await WriteAsync("INSERT INTO registered_model_aliases (name, alias, version) VALUES (@n, @a, @v) ON CONFLICT (name, alias) DO UPDATE SET version = excluded.version", cancellationToken, ("n", name), ("a", alias), ("v", ParseVersion(version)));
    }

    public async Task DeleteAliasAsync(string name, string alias, CancellationToken cancellationToken)
    {
        await GetRegisteredModelAsync(name, cancellationToken);
        await WriteAsync("DELETE FROM registered_model_aliases WHERE name = @n AND alias = @a", cancellationToken, ("n", name), ("a", alias));
    }

    public async Task<MlflowModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken)
    {
        await GetRegisteredModelAsync(name, cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        var version = await ScalarAsync(connection, null, "SELECT version FROM registered_model_aliases WHERE name = @n AND alias = @a", cancellationToken, ("n", name), ("a", alias))
            ?? throw MlflowException.NotFound($"Registered model alias {alias} not found.");
        return await GetModelVersionAsync(name, Convert.ToInt64(version, CultureInfo.InvariantCulture).ToString(CultureInfo.InvariantCulture), cancellationToken);
    }

    public async Task<IReadOnlyList<MlflowModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string> stages, CancellationToken cancellationToken)
    {
        var wanted = stages.Select(s => ModelStages.Canonical(s) ?? throw InvalidStage(s)).ToList();
        await using var connection = await OpenAsync(cancellationToken);
        var versions = await ReadVersionsAsync(connection, "WHERE name = @n AND status = 'READY'", cancellationToken, ("n", name ?? ""));
        if (versions.Count == 0)
        {
            await RequireModelAsync(connection, null, name!, cancellationToken); // a model without versions, or no model
        }

        return LatestPerStage(versions, wanted);
    }

    private static List<MlflowModelVersion> LatestPerStage(IEnumerable<MlflowModelVersion> versions, IReadOnlyList<string> wanted) =>
        versions.GroupBy(v => v.CurrentStage!)
            .Where(g => wanted.Count == 0 || wanted.Contains(g.Key))
            .Select(g => g.MaxBy(v => long.Parse(v.Version, CultureInfo.InvariantCulture))!)
            .OrderBy(v => long.Parse(v.Version, CultureInfo.InvariantCulture))
            .ToList();

    private async Task RequireModelAsync(DbConnection connection, DbTransaction? tx, string name, CancellationToken cancellationToken)
    {
        if (await ScalarAsync(connection, tx, "SELECT name FROM registered_models WHERE name = @n", cancellationToken, ("n", name ?? "")) is null)
        {
            throw MlflowException.NotFound($"Registered Model with name={name} not found");
        }
    }

    private async Task<MlflowRegisteredModel> ReadRegisteredModelAsync(DbConnection connection, string name, CancellationToken cancellationToken)
    {
        MlflowRegisteredModel model;
        await using (var reader = await QueryAsync(connection, null, "SELECT name, description, user_id, creation_timestamp, last_updated_timestamp FROM registered_models WHERE name = @n", cancellationToken, ("n", name ?? "")))
        {
            if (!await reader.ReadAsync(cancellationToken))
            {
                throw MlflowException.NotFound($"Registered Model with name={name} not found");
            }

            model = new MlflowRegisteredModel
            {
                Name = reader.GetString(0),
                Description = GetString(reader, 1),
                UserId = GetString(reader, 2),
                CreationTimestamp = GetLong(reader, 3),
                LastUpdatedTimestamp = GetLong(reader, 4),
            };
        }

        var versions = await ReadVersionsAsync(connection, "WHERE name = @n AND status = 'READY'", cancellationToken, ("n", name));
        var aliases = new List<MlflowAlias>();
        await using (var reader = await QueryAsync(connection, null, "SELECT alias, version FROM registered_model_aliases WHERE name = @n ORDER BY alias", cancellationToken, ("n", name)))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                aliases.Add(new MlflowAlias(reader.GetString(0), GetLong(reader, 1).ToString(CultureInfo.InvariantCulture)));
            }
        }

        return model with
        {
            LatestVersions = LatestPerStage(versions, []),
            Tags = await ReadPairsAsync(connection, "SELECT key, value FROM registered_model_tags WHERE name = @n ORDER BY key", cancellationToken, ("n", name)),
            Aliases = aliases,
        };
    }

    // ---------------- model versions ----------------

    public async Task<MlflowModelVersion> CreateModelVersionAsync(string name, string source, string? runId, IReadOnlyList<MlflowTag> tags, string? runLink, string? description, CancellationToken cancellationToken)
    {
        if (string.IsNullOrEmpty(source))
        {
            throw MlflowException.Invalid("Missing value for required parameter 'source'.");
        }

        long version;
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var tx = await BeginWriteAsync(connection, cancellationToken))
        {
            var next = await ScalarAsync(connection, tx, "UPDATE registered_models SET next_version = next_version + 1, last_updated_timestamp = @t WHERE name = @n RETURNING next_version - 1", cancellationToken, ("t", Now), ("n", name ?? ""))
                ?? throw MlflowException.NotFound($"Registered Model with name={name} not found");
            version = Convert.ToInt64(next, CultureInfo.InvariantCulture);
            var now = Now;
            await ExecAsync(connection, tx, "INSERT INTO model_versions (name, version, creation_timestamp, last_updated_timestamp, user_id, current_stage, description, source, run_id, run_link, status, status_message) VALUES (@n, @v, @t, @t, NULL, 'None', @d, @s, @r, @l, 'READY', NULL)", cancellationToken,
                ("n", name), ("v", version), ("t", now), ("d", description), ("s", source), ("r", string.IsNullOrEmpty(runId) ? null : runId), ("l", string.IsNullOrEmpty(runLink) ? null : runLink));
            foreach (var tag in tags.DistinctBy(t => t.Key))
            {
                await ExecAsync(connection, tx, "INSERT INTO model_version_tags (name, version, key, value) VALUES (@n, @v, @k, @x)", cancellationToken, ("n", name), ("v", version), ("k", tag.Key), ("x", tag.Value ?? ""));
            }

            await tx.CommitAsync(cancellationToken);
        }

        return await GetModelVersionAsync(name!, version.ToString(CultureInfo.InvariantCulture), cancellationToken);
    }

    public async Task<MlflowModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken)
    {
        var number = ParseVersion(version);
        await using var connection = await OpenAsync(cancellationToken);
        var list = await ReadVersionsAsync(connection, "WHERE name = @n AND version = @v", cancellationToken, ("n", name ?? ""), ("v", number));
        return list.Count == 1 ? list[0] : throw MlflowException.NotFound($"Model Version (name={name}, version={version}) not found");
    }

    public async Task<IReadOnlyList<MlflowModelVersion>> ListModelVersionsAsync(string? name, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return name is null
            ? await ReadVersionsAsync(connection, "", cancellationToken)
            : await ReadVersionsAsync(connection, "WHERE name = @n", cancellationToken, ("n", name));
    }

    public async Task<MlflowModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken cancellationToken)
    {
        await GetModelVersionAsync(name, version, cancellationToken);
        await WriteAsync("UPDATE model_versions SET description = @d, last_updated_timestamp = @t WHERE name = @n AND version = @v", cancellationToken, ("d", description), ("t", Now), ("n", name), ("v", ParseVersion(version)));
        return await GetModelVersionAsync(name, version, cancellationToken);
    }

    public async Task DeleteModelVersionAsync(string name, string version, CancellationToken cancellationToken)
    {
        await GetModelVersionAsync(name, version, cancellationToken);
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, cancellationToken);
        (string, object?)[] args = [("n", name), ("v", ParseVersion(version))];
        await ExecAsync(connection, tx, "DELETE FROM model_version_tags WHERE name = @n AND version = @v", cancellationToken, args);
        await ExecAsync(connection, tx, "DELETE FROM registered_model_aliases WHERE name = @n AND version = @v", cancellationToken, args);
        await ExecAsync(connection, tx, "DELETE FROM model_versions WHERE name = @n AND version = @v", cancellationToken, args);
        await ExecAsync(connection, tx, "UPDATE registered_models SET last_updated_timestamp = @t WHERE name = @n", cancellationToken, ("t", Now), ("n", name));
        await tx.CommitAsync(cancellationToken);
    }

    public async Task<MlflowModelVersion> TransitionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken)
    {
        var canonical = ModelStages.Canonical(stage) ?? throw InvalidStage(stage);
        await GetModelVersionAsync(name, version, cancellationToken);
        var number = ParseVersion(version);
        await using (var connection = await OpenAsync(cancellationToken))
        await using (var tx = await BeginWriteAsync(connection, cancellationToken))
        {
            var now = Now;
            if (archiveExistingVersions && canonical is ModelStages.Staging or ModelStages.Production)
            {
                await ExecAsync(connection, tx, "UPDATE model_versions SET current_stage = 'Archived', last_updated_timestamp = @t WHERE name = @n AND current_stage = @s AND version <> @v", cancellationToken, ("t", now), ("n", name), ("s", canonical), ("v", number));
            }
            else if (archiveExistingVersions)
            {
                throw MlflowException.Invalid($"Model version transition cannot archive existing model versions because '{canonical}' is not an Active stage. Valid stages are Staging, Production");
            }

            await ExecAsync(connection, tx, "UPDATE model_versions SET current_stage = @s, last_updated_timestamp = @t WHERE name = @n AND version = @v", cancellationToken, ("s", canonical), ("t", now), ("n", name), ("v", number));
            await ExecAsync(connection, tx, "UPDATE registered_models SET last_updated_timestamp = @t WHERE name = @n", cancellationToken, ("t", now), ("n", name));
            await tx.CommitAsync(cancellationToken);
        }

        return await GetModelVersionAsync(name, version, cancellationToken);
    }

    public async Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken)
    {
        RequireName(key, "key");
        await GetModelVersionAsync(name, version, cancellationToken);
        await WriteAsync("INSERT INTO model_version_tags (name, version, key, value) VALUES (@n, @v, @k, @x) ON CONFLICT (name, version, key) DO UPDATE SET value = excluded.value", cancellationToken, ("n", name), ("v", ParseVersion(version)), ("k", key), ("x", value ?? ""));
    }

    public async Task DeleteModelVersionTagAsync(string name, string version, string key, CancellationToken cancellationToken)
    {
        await GetModelVersionAsync(name, version, cancellationToken);
        await WriteAsync("DELETE FROM model_version_tags WHERE name = @n AND version = @v AND key = @k", cancellationToken, ("n", name), ("v", ParseVersion(version)), ("k", key));
    }

    private async Task<List<MlflowModelVersion>> ReadVersionsAsync(DbConnection connection, string where, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        var versions = new List<MlflowModelVersion>();
        await using (var reader = await QueryAsync(connection, null, $"SELECT name, version, creation_timestamp, last_updated_timestamp, user_id, current_stage, description, source, run_id, run_link, status, status_message FROM model_versions {where} ORDER BY name, version", cancellationToken, args))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                versions.Add(new MlflowModelVersion
                {
                    Name = reader.GetString(0),
                    Version = GetLong(reader, 1).ToString(CultureInfo.InvariantCulture),
                    CreationTimestamp = GetLong(reader, 2),
                    LastUpdatedTimestamp = GetLong(reader, 3),
                    UserId = GetString(reader, 4),
                    CurrentStage = reader.GetString(5),
                    Description = GetString(reader, 6),
                    Source = GetString(reader, 7),
                    RunId = GetString(reader, 8),
                    RunLink = GetString(reader, 9),
                    Status = reader.GetString(10),
                    StatusMessage = GetString(reader, 11),
                });
            }
        }

        if (versions.Count == 0)
        {
            return versions;
        }

        // Tags and aliases of the versions read: one query per model for both.
        var tags = new Dictionary<(string, long), List<MlflowTag>>();
        var aliases = new Dictionary<(string, long), List<string>>();
        foreach (var model in versions.Select(v => v.Name).Distinct())
        {
            await using var reader = await QueryAsync(connection, null,
                "SELECT 't' AS kind, version, key, value FROM model_version_tags WHERE name = @n " +
                "UNION ALL SELECT 'a' AS kind, version, alias, alias FROM registered_model_aliases WHERE name = @n ORDER BY 1, 2, 3", cancellationToken, ("n", model));
            while (await reader.ReadAsync(cancellationToken))
            {
                var key = (model, GetLong(reader, 1));
                if (reader.GetString(0) == "t")
                {
                    if (!tags.TryGetValue(key, out var list))
                    {
                        tags[key] = list = [];
                    }

                    list.Add(new MlflowTag(reader.GetString(2), reader.GetString(3)));
                }
                else
                {
                    if (!aliases.TryGetValue(key, out var list))
                    {
                        aliases[key] = list = [];
                    }

                    list.Add(reader.GetString(2));
                }
            }
        }

        for (var i = 0; i < versions.Count; i++)
        {
            var key = (versions[i].Name, long.Parse(versions[i].Version, CultureInfo.InvariantCulture));
            versions[i] = versions[i] with
            {
                Tags = tags.TryGetValue(key, out var t) ? t : [],
                Aliases = aliases.TryGetValue(key, out var a) ? a : [],
            };
        }

        return versions;
    }

    // ---------------- helpers ----------------

    private static MlflowException InvalidStage(string? stage) =>
        MlflowException.Invalid($"Invalid Model Version stage: {stage}. Value must be one of {string.Join(", ", ModelStages.All)}.");

    private static void RequireName(string? value, string what)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw MlflowException.Invalid($"Missing value for required parameter '{what}'.");
        }
    }

    private static long ParseExperimentId(string id) =>
        long.TryParse(id, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            ? value
            : throw MlflowException.Invalid($"Invalid experiment id '{id}': experiment ids are non-negative integers.");

    private static long ParseVersion(string version) =>
        long.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw MlflowException.Invalid($"Parameter 'version' must be an integer, got '{version}'.");

    protected static long GetLong(DbDataReader reader, int ordinal) => Convert.ToInt64(reader.GetValue(ordinal), CultureInfo.InvariantCulture);

    private static long? GetNullableLong(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : GetLong(reader, ordinal);

    private static string? GetString(DbDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private async Task<List<MlflowTag>> ReadPairsAsync(DbConnection connection, string sql, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        var list = new List<MlflowTag>();
        await using var reader = await QueryAsync(connection, null, sql, cancellationToken, args);
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new MlflowTag(reader.GetString(0), reader.GetString(1)));
        }

        return list;
    }

    private async Task<int> WriteAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = await BeginWriteAsync(connection, cancellationToken);
        var count = await ExecAsync(connection, tx, sql, cancellationToken, args);
        await tx.CommitAsync(cancellationToken);
        return count;
    }

    protected static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, (string Name, object? Value)[] args)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in args)
        {
            var p = command.CreateParameter();
            p.ParameterName = "@" + name;
            p.Value = value ?? DBNull.Value;
            if (value is null)
            {
                p.DbType = DbType.String;
            }

            command.Parameters.Add(p);
        }

        return command;
    }

    protected static async Task<int> ExecAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        await using var command = Command(connection, tx, sql, args);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        await using var command = Command(connection, tx, sql, args);
        var value = await command.ExecuteScalarAsync(cancellationToken);
        return value is DBNull ? null : value;
    }

    protected static async Task<DbDataReader> QueryAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken cancellationToken, params (string, object?)[] args)
    {
        var command = Command(connection, tx, sql, args);
        return await command.ExecuteReaderAsync(CommandBehavior.Default, cancellationToken);
    }
}

/// <summary>MLflow's limits on one log-batch request (mlflow/utils/validation.py).</summary>
internal static class BatchLimits
{
    public const int MaxMetrics = 1000;
    public const int MaxParams = 100;
    public const int MaxTags = 100;
    public const int MaxEntities = 1000;

    public static void Check(int metrics, int parameters, int tags)
    {
        Limit(metrics, MaxMetrics, "metrics");
        Limit(parameters, MaxParams, "params");
        Limit(tags, MaxTags, "tags");
        Limit(metrics + parameters + tags, MaxEntities, "total metrics, params, and tags");
    }

    private static void Limit(int count, int max, string what)
    {
        if (count > max)
        {
            throw MlflowException.Invalid($"A batch logging request can contain at most {max} {what}. Got {count} {what}. Please split up {what} across multiple requests and try again.");
        }
    }
}

/// <summary>The registry database is damaged; the message names the restore command to run.</summary>
public sealed class RegistryCorruptException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RegistryCorruptException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
