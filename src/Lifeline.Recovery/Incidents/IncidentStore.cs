using System.Data.Common;
using System.Globalization;
using System.Security.Cryptography;
using Microsoft.Data.Sqlite;

namespace Lifeline.Recovery.Incidents;

/// <summary>
/// The incident store's schema as numbered migrations, applied the way the scheduler applies its own
/// (<c>Scheduling/SchedulerSchema.cs</c>): each runs once, in order, inside one transaction that also records it in
/// <c>lifeline_incidents_schema</c>; a database newer than the code is refused.
/// </summary>
internal static class IncidentSchema
{
    /// <summary>The migrations, oldest first.</summary>
    public static IReadOnlyList<(int Version, string Description, IReadOnlyList<string> Statements)> Migrations { get; } =
    [
        (1, "incidents, their timeline events (with the notices sent), the causes' health",
        [
            "CREATE TABLE incidents (id TEXT PRIMARY KEY, cause TEXT NOT NULL, kind TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL, " +
                "state TEXT NOT NULL, owner_role TEXT, is_drill INTEGER NOT NULL, components TEXT NOT NULL, opened_at INTEGER NOT NULL, " +
                "acknowledged_at INTEGER, resolved_at INTEGER, report TEXT)",
            // one incident per cause while it is open: the database itself refuses a second
            "CREATE UNIQUE INDEX ux_incidents_open_cause ON incidents (cause) WHERE state <> 'resolved'",
            "CREATE INDEX ix_incidents_opened ON incidents (opened_at)",
            "CREATE TABLE incident_events (seq INTEGER PRIMARY KEY AUTOINCREMENT, incident_id TEXT NOT NULL REFERENCES incidents (id), " +
                "time INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL, who TEXT, notice_id TEXT)",
            "CREATE INDEX ix_incident_events_incident ON incident_events (incident_id, seq)",
            // a notice is recorded once: the timeline driver computes what is due from these rows
            "CREATE UNIQUE INDEX ux_incident_events_notice ON incident_events (notice_id) WHERE notice_id IS NOT NULL",
            "CREATE TABLE cause_health (cause TEXT NOT NULL, component TEXT NOT NULL, healthy INTEGER NOT NULL, since INTEGER NOT NULL, " +
                "summary TEXT NOT NULL, PRIMARY KEY (cause, component))",
        ]),
    ];

    /// <summary>The newest version the code knows.</summary>
    public static int LatestVersion => 1;
}

/// <summary>An incident with the ids of the notices already sent for it.</summary>
/// <param name="Record">The incident.</param>
/// <param name="Notices">The notice ids recorded on its timeline.</param>
internal sealed record StoredIncident(IncidentRecord Record, IReadOnlySet<string> Notices);

/// <summary>The health of one component under one cause (component "" for a cause without components).</summary>
/// <param name="Component">The component, or "".</param>
/// <param name="Healthy">Whether it was healthy at the last signal.</param>
/// <param name="Since">Since when it is in that state.</param>
/// <param name="Summary">The last signal's summary.</param>
internal sealed record CauseHealth(string Component, bool Healthy, DateTimeOffset Since, string Summary);

/// <summary>
/// The incidents of a deployment in one SQLite file (<c>DATA/incidents/incidents.db</c>, WAL): the incidents, their
/// timeline events (a notice sent is an event carrying the notice's id) and the causes' health. Every change is one
/// transaction, so a process killed at any point leaves every committed incident, event and health row in place
/// (docs/incidents.md). The CLI and a running <c>lifeline up</c> open the same file.
/// </summary>
internal sealed class IncidentStore : IIncidentReader
{
    /// <summary>The store's file under the data directory.</summary>
    public static readonly string FileUnderData = System.IO.Path.Combine("incidents", "incidents.db");

    private readonly string _connectionString;

    /// <summary>A store in the file at <paramref name="path"/> (created with its directory by <see cref="MigrateAsync"/>).</summary>
    public IncidentStore(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        Path = System.IO.Path.GetFullPath(path);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    /// <summary>The store of the data directory <paramref name="dataDirectory"/>.</summary>
    public static IncidentStore ForData(string dataDirectory) => new(System.IO.Path.Combine(dataDirectory, FileUnderData));

    /// <summary>Creates or migrates the schema (idempotent; one transaction; a newer database is refused).</summary>
    public async Task MigrateAsync(CancellationToken cancellationToken = default)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        await using var connection = await OpenAsync(cancellationToken);
        await ExecAsync(connection, null, "PRAGMA journal_mode=WAL", cancellationToken);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await ExecAsync(connection, tx, "CREATE TABLE IF NOT EXISTS lifeline_incidents_schema (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)", cancellationToken);
        var current = Convert.ToInt32(await ScalarAsync(connection, tx, "SELECT COALESCE(MAX(version), 0) FROM lifeline_incidents_schema", cancellationToken), CultureInfo.InvariantCulture);
        if (current > IncidentSchema.LatestVersion)
        {
            throw new InvalidOperationException(
                $"the incident store {Path} has schema version {current}, newer than this lifeline knows ({IncidentSchema.LatestVersion}); upgrade lifeline");
        }

        foreach (var (version, description, statements) in IncidentSchema.Migrations.Where(m => m.Version > current))
        {
            foreach (var sql in statements)
            {
                await ExecAsync(connection, tx, sql, cancellationToken);
            }

            await ExecAsync(connection, tx, "INSERT INTO lifeline_incidents_schema (version, description, applied_at) VALUES (@v, @d, @t)", cancellationToken,
                ("v", (long)version), ("d", description), ("t", DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()));
        }

        await tx.CommitAsync(cancellationToken);
    }

    /// <inheritdoc/>
    public async Task<IReadOnlyList<IncidentRecord>> ListAsync(bool openOnly = false, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path))
        {
            return [];
        }

        await using var connection = await OpenAsync(cancellationToken);
        var list = await ReadIncidentsAsync(connection, null, openOnly ? "WHERE state <> 'resolved'" : "", cancellationToken);
        return [.. list.Select(s => s.Record)];
    }

    /// <inheritdoc/>
    public async Task<IncidentRecord?> GetAsync(string id, CancellationToken cancellationToken = default) =>
        (await GetStoredAsync(id, cancellationToken))?.Record;

    /// <summary>One incident with its notices, by id (case-insensitive), or null.</summary>
    public async Task<StoredIncident?> GetStoredAsync(string id, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(Path))
        {
            return null;
        }

        await using var connection = await OpenAsync(cancellationToken);
        return (await ReadIncidentsAsync(connection, null, "WHERE id = @id", cancellationToken, ("id", id.Trim().ToLowerInvariant()))).SingleOrDefault();
    }

    /// <summary>The incidents the timeline may still owe a notice: open or acknowledged ones, and resolved ones whose
    /// resolve notice is not recorded yet.</summary>
    public async Task<IReadOnlyList<StoredIncident>> PendingAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadIncidentsAsync(connection, null,
            "WHERE state <> 'resolved' OR NOT EXISTS (SELECT 1 FROM incident_events e WHERE e.incident_id = incidents.id AND e.notice_id = incidents.id || ':resolve')",
            cancellationToken);
    }

    /// <summary>The health rows of <paramref name="cause"/>, read without taking the write lock.</summary>
    public async Task<IReadOnlyList<CauseHealth>> HealthAsync(string cause, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        return await ReadHealthAsync(connection, null, cause, cancellationToken);
    }

    /// <summary>Runs <paramref name="work"/> in one write transaction (SQLite's <c>BEGIN IMMEDIATE</c>: writers queue,
    /// readers go on) and commits it; nothing of it stays when it throws or the process dies first.</summary>
    public async Task<T> WriteAsync<T>(Func<IncidentTransaction, Task<T>> work, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = connection.BeginTransaction(deferred: false);
        var result = await work(new IncidentTransaction(this, connection, tx, cancellationToken));
        await tx.CommitAsync(cancellationToken);
        return result;
    }

    /// <summary>A new short incident id: <c>inc-</c> and 8 hex digits.</summary>
    public static string NewId() => "inc-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(4)).ToLowerInvariant();

    private async Task<SqliteConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    private const string IncidentColumns =
        "id, cause, kind, title, severity, state, owner_role, is_drill, components, opened_at, acknowledged_at, resolved_at, report";

    internal async Task<List<StoredIncident>> ReadIncidentsAsync(SqliteConnection connection, SqliteTransaction? tx, string where, CancellationToken ct,
        params (string Name, object? Value)[] parameters)
    {
        var incidents = new List<IncidentRecord>();
        await using (var command = Command(connection, tx, $"SELECT {IncidentColumns} FROM incidents {where} ORDER BY opened_at DESC, id", parameters))
        await using (var reader = await command.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                incidents.Add(new IncidentRecord
                {
                    Id = reader.GetString(0),
                    Cause = reader.GetString(1),
                    Kind = reader.GetString(2),
                    Title = reader.GetString(3),
                    Severity = reader.GetString(4),
                    State = reader.GetString(5),
                    OwnerRole = reader.IsDBNull(6) ? null : reader.GetString(6),
                    IsDrill = reader.GetInt64(7) != 0,
                    Components = reader.GetString(8).Split('\n', StringSplitOptions.RemoveEmptyEntries),
                    OpenedAt = Time(reader.GetInt64(9)),
                    AcknowledgedAt = reader.IsDBNull(10) ? null : Time(reader.GetInt64(10)),
                    ResolvedAt = reader.IsDBNull(11) ? null : Time(reader.GetInt64(11)),
                    Report = reader.IsDBNull(12) ? null : reader.GetString(12),
                });
            }
        }

        var result = new List<StoredIncident>(incidents.Count);
        foreach (var incident in incidents)
        {
            var events = new List<IncidentEvent>();
            var notices = new HashSet<string>(StringComparer.Ordinal);
            await using var command = Command(connection, tx, "SELECT time, kind, text, who, notice_id FROM incident_events WHERE incident_id = @id ORDER BY seq", ("id", incident.Id));
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                events.Add(new IncidentEvent(Time(reader.GetInt64(0)), reader.GetString(1), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
                if (!reader.IsDBNull(4))
                {
                    notices.Add(reader.GetString(4));
                }
            }

            result.Add(new StoredIncident(incident with { Timeline = events }, notices));
        }

        return result;
    }

    internal static async Task<IReadOnlyList<CauseHealth>> ReadHealthAsync(SqliteConnection connection, SqliteTransaction? tx, string cause, CancellationToken ct)
    {
        var list = new List<CauseHealth>();
        await using var command = Command(connection, tx, "SELECT component, healthy, since, summary FROM cause_health WHERE cause = @c ORDER BY component", ("c", cause));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            list.Add(new CauseHealth(reader.GetString(0), reader.GetInt64(1) != 0, Time(reader.GetInt64(2)), reader.GetString(3)));
        }

        return list;
    }

    internal static DateTimeOffset Time(long unixMs) => DateTimeOffset.FromUnixTimeMilliseconds(unixMs);

    internal static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue("@" + name, value ?? DBNull.Value);
        }

        return command;
    }

    internal static async Task ExecAsync(SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken ct, params (string Name, object? Value)[] parameters)
    {
        await using var command = Command(connection, tx, sql, parameters);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static async Task<object?> ScalarAsync(SqliteConnection connection, DbTransaction tx, string sql, CancellationToken ct)
    {
        await using var command = Command(connection, (SqliteTransaction)tx, sql);
        return await command.ExecuteScalarAsync(ct);
    }
}

/// <summary>The operations of one write transaction of the <see cref="IncidentStore"/>.</summary>
internal sealed class IncidentTransaction
{
    private readonly IncidentStore _store;
    private readonly SqliteConnection _connection;
    private readonly SqliteTransaction _tx;
    private readonly CancellationToken _ct;

    internal IncidentTransaction(IncidentStore store, SqliteConnection connection, SqliteTransaction tx, CancellationToken ct)
    {
        _store = store;
        _connection = connection;
        _tx = tx;
        _ct = ct;
    }

    /// <summary>The open (or acknowledged) incident of <paramref name="cause"/>, or null.</summary>
    public async Task<StoredIncident?> FindOpenAsync(string cause) =>
        (await _store.ReadIncidentsAsync(_connection, _tx, "WHERE cause = @c AND state <> 'resolved'", _ct, ("c", cause))).SingleOrDefault();

    /// <summary>The incident <paramref name="id"/>, or null.</summary>
    public async Task<StoredIncident?> GetAsync(string id) =>
        (await _store.ReadIncidentsAsync(_connection, _tx, "WHERE id = @id", _ct, ("id", id.Trim().ToLowerInvariant()))).SingleOrDefault();

    /// <summary>Inserts a new incident (its timeline is added with <see cref="AddEventAsync"/>).</summary>
    public Task InsertAsync(IncidentRecord incident) => IncidentStore.ExecAsync(_connection, _tx,
        $"INSERT INTO incidents (id, cause, kind, title, severity, state, owner_role, is_drill, components, opened_at, acknowledged_at, resolved_at, report) " +
        "VALUES (@id, @cause, @kind, @title, @severity, @state, @owner, @drill, @components, @opened, NULL, NULL, NULL)", _ct,
        ("id", incident.Id), ("cause", incident.Cause), ("kind", incident.Kind), ("title", incident.Title), ("severity", incident.Severity),
        ("state", incident.State), ("owner", incident.OwnerRole), ("drill", incident.IsDrill ? 1L : 0L), ("components", string.Join('\n', incident.Components)),
        ("opened", incident.OpenedAt.ToUnixTimeMilliseconds()));

    /// <summary>Writes the mutable fields of <paramref name="incident"/>: severity, state, components, times, report.</summary>
    public Task UpdateAsync(IncidentRecord incident) => IncidentStore.ExecAsync(_connection, _tx,
        "UPDATE incidents SET severity = @severity, state = @state, components = @components, acknowledged_at = @ack, resolved_at = @resolved, report = @report WHERE id = @id", _ct,
        ("severity", incident.Severity), ("state", incident.State), ("components", string.Join('\n', incident.Components)),
        ("ack", incident.AcknowledgedAt?.ToUnixTimeMilliseconds()), ("resolved", incident.ResolvedAt?.ToUnixTimeMilliseconds()), ("report", incident.Report), ("id", incident.Id));

    /// <summary>Appends <paramref name="e"/> to the timeline of <paramref name="incidentId"/>; with a notice id, records that notice as sent.</summary>
    public Task AddEventAsync(string incidentId, IncidentEvent e, string? noticeId = null) => IncidentStore.ExecAsync(_connection, _tx,
        "INSERT INTO incident_events (incident_id, time, kind, text, who, notice_id) VALUES (@id, @t, @k, @x, @w, @n)", _ct,
        ("id", incidentId), ("t", e.Time.ToUnixTimeMilliseconds()), ("k", e.Kind), ("x", e.Text), ("w", e.Who), ("n", noticeId));

    /// <summary>True when the notice <paramref name="noticeId"/> is already recorded.</summary>
    public async Task<bool> HasNoticeAsync(string noticeId)
    {
        await using var command = IncidentStore.Command(_connection, _tx, "SELECT COUNT(*) FROM incident_events WHERE notice_id = @n", ("n", noticeId));
        return Convert.ToInt64(await command.ExecuteScalarAsync(_ct), CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>The health rows of <paramref name="cause"/>.</summary>
    public Task<IReadOnlyList<CauseHealth>> HealthAsync(string cause) => IncidentStore.ReadHealthAsync(_connection, _tx, cause, _ct);

    /// <summary>Sets the health of <paramref name="component"/> under <paramref name="cause"/> (since <paramref name="time"/> when it changes).</summary>
    public Task SetHealthAsync(string cause, string component, bool healthy, DateTimeOffset time, string summary) => IncidentStore.ExecAsync(_connection, _tx,
        "INSERT INTO cause_health (cause, component, healthy, since, summary) VALUES (@c, @p, @h, @t, @s) " +
        "ON CONFLICT (cause, component) DO UPDATE SET since = CASE WHEN healthy = excluded.healthy THEN since ELSE excluded.since END, " +
        "healthy = excluded.healthy, summary = excluded.summary", _ct,
        ("c", cause), ("p", component), ("h", healthy ? 1L : 0L), ("t", time.ToUnixTimeMilliseconds()), ("s", summary));
}
