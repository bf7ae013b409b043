using System.Data.Common;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Lifeline.Recovery.Scheduling;

/// <summary>Where the scheduler keeps Quartz's job store and Lifeline's run history and pauses.</summary>
public sealed record SchedulerStoreOptions
{
    /// <summary>SQLite or PostgreSQL.</summary>
    public required SchedulerStoreKind Kind { get; init; }

    /// <summary>The ADO.NET connection string (Microsoft.Data.Sqlite or Npgsql).</summary>
    public required string ConnectionString { get; init; }

    /// <summary>A SQLite store in the file at <paramref name="path"/> (created with its directory when missing).</summary>
    public static SchedulerStoreOptions Sqlite(string path) => new()
    {
        Kind = SchedulerStoreKind.Sqlite,
        ConnectionString = new SqliteConnectionStringBuilder { DataSource = Path.GetFullPath(path), Pooling = true, DefaultTimeout = 30 }.ToString(),
    };

    /// <summary>A PostgreSQL store; the connection string's <c>Search Path</c> picks the schema.</summary>
    public static SchedulerStoreOptions Postgres(string connectionString) => new() { Kind = SchedulerStoreKind.Postgres, ConnectionString = connectionString };

    /// <summary>Reads a <c>--scheduler-store</c> value: a PostgreSQL connection string (<c>Host=...</c>) or a SQLite file path.</summary>
    public static SchedulerStoreOptions Parse(string value)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(value);
        return value.Contains("Host=", StringComparison.OrdinalIgnoreCase) || value.StartsWith("postgres", StringComparison.OrdinalIgnoreCase)
            ? Postgres(value)
            : Sqlite(value);
    }

    /// <summary>Where the store is, for messages: the SQLite file, or host and database (never the password).</summary>
    public string Describe() => Kind == SchedulerStoreKind.Sqlite
        ? new SqliteConnectionStringBuilder(ConnectionString).DataSource
        : new NpgsqlConnectionStringBuilder(ConnectionString) is var b ? $"postgresql://{b.Host}:{b.Port}/{b.Database}{(b.SearchPath is { Length: > 0 } s ? $" (schema {s})" : "")}" : "";
}

/// <summary>What happened to one attempt of a job run.</summary>
public static class JobOutcomes
{
    /// <summary>Still running (or the process died: the next start-up records it as interrupted).</summary>
    public const string Running = "running";
    /// <summary>Finished without error.</summary>
    public const string Ok = "ok";
    /// <summary>Finished with an error (retried when the job has retries left).</summary>
    public const string Failed = "failed";
    /// <summary>Killed at its timeout.</summary>
    public const string TimedOut = "timed-out";
    /// <summary>Found still running at start-up: the process that ran it stopped (crash, SIGKILL) before it finished.</summary>
    public const string Interrupted = "interrupted";
    /// <summary>The job kind has no body yet (verification checks: issue 11; drills: the drills issue).</summary>
    public const string NotImplemented = "not-implemented";
}

/// <summary>One attempt of one job run, as the history keeps it.</summary>
/// <param name="RunId">Unique id of the attempt.</param>
/// <param name="Job">The job's name.</param>
/// <param name="Kind">backup, check, drill or batch.</param>
/// <param name="Cause">schedule, coalesced (several missed slots run once), manual or recovery.</param>
/// <param name="Attempt">1 for the first attempt, 2 for the first retry...</param>
/// <param name="ScheduledAt">The slot the run was for, when it came from the schedule.</param>
/// <param name="StartedAt">When the attempt started.</param>
/// <param name="FinishedAt">When it finished; null while running.</param>
/// <param name="Outcome">See <see cref="JobOutcomes"/>.</param>
/// <param name="Message">Why it failed, or a summary, one line.</param>
public sealed record JobRunRecord(string RunId, string Job, string Kind, string Cause, int Attempt, DateTimeOffset? ScheduledAt, DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt, string Outcome, string? Message)
{
    /// <summary>How long it ran (so far).</summary>
    public TimeSpan? Duration => FinishedAt - StartedAt;
}

/// <summary>A job's pause.</summary>
/// <param name="Job">The job.</param>
/// <param name="Reason">Why (required: a pause without a reason is how backups silently stop).</param>
/// <param name="PausedBy">Who.</param>
/// <param name="PausedAt">When.</param>
/// <param name="Until">When it ends by itself; null = until <c>resume</c>.</param>
public sealed record JobPause(string Job, string Reason, string? PausedBy, DateTimeOffset PausedAt, DateTimeOffset? Until)
{
    /// <summary>True while the pause holds at <paramref name="now"/>.</summary>
    public bool ActiveAt(DateTimeOffset now) => Until is not { } u || now < u;
}

/// <summary>
/// The scheduler's database: the migrations, Lifeline's run history (one row per attempt, durable across restarts)
/// and the pauses. Quartz reads and writes its own tables in the same database through its ADO job store.
/// </summary>
internal sealed class SchedulerStore(SchedulerStoreOptions options, TimeProvider time)
{
    private static readonly string Host = Environment.MachineName;

    public SchedulerStoreOptions Options => options;

    public DbProviderFactory Factory => options.Kind == SchedulerStoreKind.Sqlite ? SqliteFactory.Instance : NpgsqlFactory.Instance;

    public async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        if (options.Kind == SchedulerStoreKind.Sqlite && Path.GetDirectoryName(new SqliteConnectionStringBuilder(options.ConnectionString).DataSource) is { Length: > 0 } dir)
        {
            Directory.CreateDirectory(dir);
        }

        var connection = Factory.CreateConnection()!;
        connection.ConnectionString = options.ConnectionString;
        await connection.OpenAsync(ct);
        return connection;
    }

    /// <summary>Creates or migrates the schema (idempotent; one transaction; a newer database is refused).</summary>
    public async Task MigrateAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        if (options.Kind == SchedulerStoreKind.Sqlite)
        {
            // WAL: Quartz's firing rounds and the CLI's reads do not block each other
            await ExecAsync(connection, null, "PRAGMA journal_mode=WAL", ct);
        }

        await using var tx = await connection.BeginTransactionAsync(ct);
        if (options.Kind == SchedulerStoreKind.Postgres)
        {
            // two schedulers migrating one database at once: the second waits, then finds the work done
            await ExecAsync(connection, tx, "SELECT pg_advisory_xact_lock(7271001)", ct);
        }

        await ExecAsync(connection, tx, "CREATE TABLE IF NOT EXISTS lifeline_scheduler_schema (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)", ct);
        var current = Convert.ToInt32(await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(version), 0) FROM lifeline_scheduler_schema", ct), CultureInfo.InvariantCulture);
        if (current > SchedulerSchema.LatestVersion)
        {
            throw new InvalidOperationException(
                $"the scheduler database {options.Describe()} has schema version {current}, newer than this lifeline knows ({SchedulerSchema.LatestVersion}); upgrade lifeline");
        }

        foreach (var (version, description, statements) in SchedulerSchema.Migrations(options.Kind).Where(m => m.Version > current))
        {
            foreach (var sql in statements)
            {
                await ExecAsync(connection, tx, sql, ct);
            }

            await ExecAsync(connection, tx, "INSERT INTO lifeline_scheduler_schema (version, description, applied_at) VALUES (@v, @d, @t)", ct,
                ("v", (long)version), ("d", description), ("t", Now));
        }

        await tx.CommitAsync(ct);
    }

    public async Task<int> SchemaVersionAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        return Convert.ToInt32(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(version), 0) FROM lifeline_scheduler_schema", ct), CultureInfo.InvariantCulture);
    }

    // ---- run history ----

    public async Task<JobRunRecord> StartRunAsync(string job, string kind, string cause, int attempt, DateTimeOffset? scheduledAt, CancellationToken ct)
    {
        var record = new JobRunRecord(Guid.NewGuid().ToString("N"), job, kind, cause, attempt, scheduledAt, time.GetUtcNow(), null, JobOutcomes.Running, null);
        await using var connection = await OpenAsync(ct);
        await ExecAsync(connection, null,
            "INSERT INTO lifeline_job_runs (run_id, job, kind, cause, attempt, scheduled_at, started_at, finished_at, outcome, message, host, pid) " +
            "VALUES (@id, @job, @kind, @cause, @attempt, @scheduled, @started, NULL, @outcome, NULL, @host, @pid)", ct,
            ("id", record.RunId), ("job", job), ("kind", kind), ("cause", cause), ("attempt", (long)attempt), ("scheduled", scheduledAt?.ToUnixTimeMilliseconds()),
            ("started", record.StartedAt.ToUnixTimeMilliseconds()), ("outcome", record.Outcome), ("host", Host), ("pid", (long)Environment.ProcessId));
        return record;
    }

    public async Task<JobRunRecord> FinishRunAsync(JobRunRecord run, string outcome, string? message, CancellationToken ct)
    {
        var finished = run with { FinishedAt = time.GetUtcNow(), Outcome = outcome, Message = message };
        await using var connection = await OpenAsync(ct);
        await ExecAsync(connection, null, "UPDATE lifeline_job_runs SET finished_at = @f, outcome = @o, message = @m WHERE run_id = @id", ct,
            ("f", finished.FinishedAt!.Value.ToUnixTimeMilliseconds()), ("o", outcome), ("m", message), ("id", run.RunId));
        return finished;
    }

    /// <summary>Records every run of this host still marked running whose process is gone as interrupted; returns them.</summary>
    public async Task<IReadOnlyList<JobRunRecord>> MarkInterruptedAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var stale = new List<(JobRunRecord Run, long Pid)>();
        await using (var command = Command(connection, null, $"SELECT {RunColumns}, pid FROM lifeline_job_runs WHERE outcome = @o AND host = @h", ("o", JobOutcomes.Running), ("h", Host)))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                stale.Add((ReadRun(reader), reader.GetInt64(10)));
            }
        }

        var marked = new List<JobRunRecord>();
        foreach (var (run, pid) in stale.Where(s => !IsAlive(s.Pid)))
        {
            var message = "the process running it stopped before it finished (crash, kill or power loss); recorded at the next start-up";
            await ExecAsync(connection, null, "UPDATE lifeline_job_runs SET finished_at = @f, outcome = @o, message = @m WHERE run_id = @id AND outcome = @running", ct,
                ("f", Now), ("o", JobOutcomes.Interrupted), ("m", message), ("id", run.RunId), ("running", JobOutcomes.Running));
            marked.Add(run with { Outcome = JobOutcomes.Interrupted, FinishedAt = time.GetUtcNow(), Message = message });
        }

        return marked;
    }

    private static bool IsAlive(long pid)
    {
        if (pid == Environment.ProcessId)
        {
            return false; // this process is starting the scheduler: nothing of its own is running yet
        }

        try
        {
            using var process = Process.GetProcessById((int)pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>The newest attempts first, of one job or of all.</summary>
    public async Task<IReadOnlyList<JobRunRecord>> HistoryAsync(string? job, int limit, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        var where = job is null ? "" : "WHERE job = @job ";
        await using var command = Command(connection, null, $"SELECT {RunColumns} FROM lifeline_job_runs {where}ORDER BY started_at DESC, attempt DESC LIMIT @limit",
            ("job", job), ("limit", (long)limit));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var list = new List<JobRunRecord>();
        while (await reader.ReadAsync(ct))
        {
            list.Add(ReadRun(reader));
        }

        return list;
    }

    /// <summary>The newest attempt of each job.</summary>
    public async Task<IReadOnlyDictionary<string, JobRunRecord>> LastRunsAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null,
            $"SELECT {RunColumns} FROM lifeline_job_runs r WHERE started_at = (SELECT MAX(started_at) FROM lifeline_job_runs x WHERE x.job = r.job) ORDER BY attempt");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var map = new Dictionary<string, JobRunRecord>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            var run = ReadRun(reader);
            map[run.Job] = run;
        }

        return map;
    }

    /// <summary>The jobs whose trigger Quartz's tables hold in Lifeline's group (what a running scheduler reconciled
    /// from the plan it loaded), or null when the tables cannot be read.</summary>
    public async Task<IReadOnlySet<string>?> ScheduledJobsAsync(CancellationToken ct)
    {
        try
        {
            await using var connection = await OpenAsync(ct);
            await using var command = Command(connection, null, $"SELECT TRIGGER_NAME FROM {SchedulerSchema.QuartzPrefix}TRIGGERS WHERE TRIGGER_GROUP = @g", ("g", PlanScheduler.Group));
            await using var reader = await command.ExecuteReaderAsync(ct);
            var set = new HashSet<string>(StringComparer.Ordinal);
            while (await reader.ReadAsync(ct))
            {
                set.Add(reader.GetString(0));
            }

            return set;
        }
        catch (DbException)
        {
            return null;
        }
    }

    /// <summary>The newest slot <paramref name="job"/> ran for, if any.</summary>
    public async Task<DateTimeOffset?> LastScheduledAsync(string job, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, "SELECT MAX(scheduled_at) FROM lifeline_job_runs WHERE job = @j", ("j", job));
        return await command.ExecuteScalarAsync(ct) is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    /// <summary>When each job last finished ok.</summary>
    public async Task<IReadOnlyDictionary<string, DateTimeOffset>> LastSuccessAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, "SELECT job, MAX(started_at) FROM lifeline_job_runs WHERE outcome = @o GROUP BY job", ("o", JobOutcomes.Ok));
        await using var reader = await command.ExecuteReaderAsync(ct);
        var map = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            map[reader.GetString(0)] = DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(1));
        }

        return map;
    }

    // ---- pauses ----

    public async Task PauseAsync(JobPause pause, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var tx = await connection.BeginTransactionAsync(ct);
        await ExecAsync(connection, tx, "DELETE FROM lifeline_job_pauses WHERE job = @j", ct, ("j", pause.Job));
        await ExecAsync(connection, tx, "INSERT INTO lifeline_job_pauses (job, reason, paused_by, paused_at, until_at) VALUES (@j, @r, @b, @a, @u)", ct,
            ("j", pause.Job), ("r", pause.Reason), ("b", pause.PausedBy), ("a", pause.PausedAt.ToUnixTimeMilliseconds()), ("u", pause.Until?.ToUnixTimeMilliseconds()));
        await tx.CommitAsync(ct);
    }

    /// <summary>Removes a pause; false when the job was not paused.</summary>
    public async Task<bool> ResumeAsync(string job, CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, "DELETE FROM lifeline_job_pauses WHERE job = @j", ("j", job));
        return await command.ExecuteNonQueryAsync(ct) > 0;
    }

    /// <summary>Every pause still holding now (expired ones are ignored, not deleted: they are history).</summary>
    public async Task<IReadOnlyDictionary<string, JobPause>> PausesAsync(CancellationToken ct)
    {
        await using var connection = await OpenAsync(ct);
        await using var command = Command(connection, null, "SELECT job, reason, paused_by, paused_at, until_at FROM lifeline_job_pauses");
        await using var reader = await command.ExecuteReaderAsync(ct);
        var now = time.GetUtcNow();
        var map = new Dictionary<string, JobPause>(StringComparer.Ordinal);
        while (await reader.ReadAsync(ct))
        {
            var pause = new JobPause(reader.GetString(0), reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2),
                DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(3)), reader.IsDBNull(4) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)));
            if (pause.ActiveAt(now))
            {
                map[pause.Job] = pause;
            }
        }

        return map;
    }

    // ---- ADO helpers ----

    private const string RunColumns = "run_id, job, kind, cause, attempt, scheduled_at, started_at, finished_at, outcome, message";

    private static JobRunRecord ReadRun(DbDataReader r) => new(
        r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), (int)r.GetInt64(4),
        r.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(5)),
        DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(6)),
        r.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(7)),
        r.GetString(8), r.IsDBNull(9) ? null : r.GetString(9));

    private long Now => time.GetUtcNow().ToUnixTimeMilliseconds();

    private static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = tx;
        foreach (var (name, value) in parameters)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            p.Value = value ?? DBNull.Value;
            command.Parameters.Add(p);
        }

        return command;
    }

    private static async Task ExecAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, tx, sql, parameters);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(DbConnection connection, DbTransaction? tx, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, tx, sql);
        return await command.ExecuteScalarAsync(ct);
    }
}
