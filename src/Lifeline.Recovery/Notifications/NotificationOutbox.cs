using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeline.Recovery.Plan;
using Microsoft.Data.Sqlite;

namespace Lifeline.Recovery.Notifications;

/// <summary>The states of one delivery (one notice to one channel).</summary>
public static class DeliveryStates
{
    /// <summary>Not delivered yet; the deliverer tries it at <see cref="Delivery.NextAttemptAt"/>.</summary>
    public const string Pending = "pending";

    /// <summary>The channel accepted it.</summary>
    public const string Sent = "sent";

    /// <summary>Given up: refused for good (a 4xx other than 429) or failing past the give-up time; the reason says which.</summary>
    public const string Dead = "dead";

    /// <summary>A <c>manual</c> channel: someone must act; recorded, never sent.</summary>
    public const string Manual = "manual";
}

/// <summary>One delivery as stored: which notice to which channel, and how it went. Holds no secret (the channel's name, never its URL or key).</summary>
public sealed record Delivery
{
    /// <summary>Its sequence number (enqueue order).</summary>
    public required long Seq { get; init; }

    /// <summary>The notice.</summary>
    public required string NoticeId { get; init; }

    /// <summary>The notice's incident.</summary>
    public required string IncidentId { get; init; }

    /// <summary>The channel's name in the plan.</summary>
    public required string Channel { get; init; }

    /// <summary>One of <see cref="DeliveryStates"/>.</summary>
    public required string State { get; init; }

    /// <summary>Attempts so far.</summary>
    public int Attempts { get; init; }

    /// <summary>When it was enqueued.</summary>
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>When it is tried next (pending only).</summary>
    public DateTimeOffset NextAttemptAt { get; init; }

    /// <summary>When it was sent or given up.</summary>
    public DateTimeOffset? FinishedAt { get; init; }

    /// <summary>The last failure, redacted (never a secret).</summary>
    public string? Reason { get; init; }

    /// <summary>The notice's one line.</summary>
    public string Summary { get; init; } = "";
}

/// <summary>The outbox per channel: how many deliveries are in each state.</summary>
/// <param name="Channel">The channel.</param>
/// <param name="Pending">Not delivered yet.</param>
/// <param name="Sent">Accepted.</param>
/// <param name="Dead">Given up.</param>
/// <param name="Manual">Recorded for someone to act on.</param>
/// <param name="LastReason">The newest failure reason, if any.</param>
public sealed record ChannelCounts(string Channel, int Pending, int Sent, int Dead, int Manual, string? LastReason);

/// <summary>
/// The durable outbox of notifications (docs/notifications.md): a SQLite file (WAL) at
/// <c>DATA/notifications/outbox.db</c> holding each notice and one delivery row per channel it is routed to, committed
/// in one transaction before <see cref="EnqueueAsync(Notice, CancellationToken)"/> returns, so a notice survives a
/// SIGKILL. A notice id and channel pair is stored once (enqueueing again does nothing). Schema: numbered migrations
/// recorded in <c>outbox_schema</c>, as the scheduler's (<c>Scheduling/SchedulerSchema.cs</c>).
/// </summary>
public sealed class NotificationOutbox : INoticeSink
{
    /// <summary>The outbox file under the data directory.</summary>
    public static readonly string OutboxFile = System.IO.Path.Combine("notifications", "outbox.db");

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) } };

    private static readonly (int Version, string Description, string[] Statements)[] Migrations =
    [
        (1, "notices, deliveries, channel failures",
        [
            "CREATE TABLE notices (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, incident_id TEXT NOT NULL, summary TEXT NOT NULL, json TEXT NOT NULL, enqueued_at INTEGER NOT NULL)",
            "CREATE TABLE deliveries (seq INTEGER PRIMARY KEY AUTOINCREMENT, notice_id TEXT NOT NULL, incident_id TEXT NOT NULL, channel TEXT NOT NULL, state TEXT NOT NULL, " +
            "attempts INTEGER NOT NULL DEFAULT 0, created_at INTEGER NOT NULL, next_attempt_at INTEGER NOT NULL, finished_at INTEGER, reason TEXT, UNIQUE (notice_id, channel))",
            "CREATE INDEX ix_deliveries_pending ON deliveries (state, incident_id, channel, seq)",
            // a channel failing since when, and whether its own alert went out (docs/notifications.md "a channel that keeps failing")
            "CREATE TABLE channel_failures (channel TEXT PRIMARY KEY, failing_since INTEGER NOT NULL, alerted_at INTEGER, reason TEXT)",
        ]),
    ];

    private readonly LifelinePlan _plan;
    private readonly string _connectionString;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _migrated = new(1, 1);
    private bool _ready;

    /// <summary>The outbox in <paramref name="path"/> (created on first use) for the channels of <paramref name="plan"/>.</summary>
    public NotificationOutbox(LifelinePlan plan, string path, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        _plan = plan;
        Path = System.IO.Path.GetFullPath(path);
        _time = time ?? TimeProvider.System;
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false, DefaultTimeout = 30 }.ToString();
    }

    /// <summary>The outbox of <paramref name="plan"/> in <paramref name="dataDirectory"/>.</summary>
    public static NotificationOutbox InDataDirectory(LifelinePlan plan, string dataDirectory, TimeProvider? time = null) =>
        new(plan, System.IO.Path.Combine(dataDirectory, OutboxFile), time);

    /// <summary>The file.</summary>
    public string Path { get; }

    /// <summary>Raised after a notice is committed (the deliverer wakes up).</summary>
    public event Action? Enqueued;

    /// <summary>The channels <paramref name="notice"/> goes to, in plan order: those whose <c>for</c> has one of its
    /// uses, and those of its role's <c>notify</c>.</summary>
    public static IReadOnlyList<string> Route(LifelinePlan plan, Notice notice)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(notice);
        var role = notice.Role is { } r ? plan.Roles.FirstOrDefault(x => x.Name == r) : null;
        return plan.Notifications.Channels
            .Where(c => c.For.Intersect(notice.Uses).Any() || (role?.Notify.Contains(c.Name) ?? false))
            .Select(c => c.Name)
            .ToList();
    }

    /// <inheritdoc/>
    public Task EnqueueAsync(Notice notice, CancellationToken cancellationToken = default) =>
        EnqueueAsync(notice, Route(_plan, notice), cancellationToken);

    /// <summary>Stores <paramref name="notice"/> for exactly <paramref name="channels"/> (which must be the plan's);
    /// returns the number of new delivery rows (0 when all were there already).</summary>
    public async Task<int> EnqueueAsync(Notice notice, IReadOnlyList<string> channels, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(notice);
        ArgumentNullException.ThrowIfNull(channels);
        await using var connection = await OpenAsync(cancellationToken);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        var now = Ms(_time.GetUtcNow());
        await ExecuteAsync(connection, tx, "INSERT OR IGNORE INTO notices (id, incident_id, summary, json, enqueued_at) VALUES ($id, $incident, $summary, $json, $now)", cancellationToken,
            ("$id", notice.Id), ("$incident", notice.IncidentId), ("$summary", notice.Summary), ("$json", JsonSerializer.Serialize(notice, Json)), ("$now", now));
        var added = 0;
        foreach (var name in channels.Distinct(StringComparer.Ordinal))
        {
            var channel = _plan.Notifications.Channels.FirstOrDefault(c => c.Name == name)
                ?? throw new UnknownChannelException(name, _plan.Notifications.Channels.Select(c => c.Name));
            var manual = channel.Kind == "manual";
            added += await ExecuteAsync(connection, tx,
                "INSERT OR IGNORE INTO deliveries (notice_id, incident_id, channel, state, created_at, next_attempt_at, finished_at, reason) VALUES ($n, $i, $c, $s, $now, $now, $f, $r)",
                cancellationToken, ("$n", notice.Id), ("$i", notice.IncidentId), ("$c", name), ("$s", manual ? DeliveryStates.Manual : DeliveryStates.Pending), ("$now", now),
                ("$f", manual ? now : null), ("$r", manual ? "manual channel: someone must act on it" : null));
        }

        await tx.CommitAsync(cancellationToken);
        Enqueued?.Invoke();
        return added;
    }

    /// <summary>The notice of id <paramref name="id"/>, or null.</summary>
    public async Task<Notice?> GetNoticeAsync(string id, CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT json FROM notices WHERE id = $id", ("$id", id));
        return await command.ExecuteScalarAsync(cancellationToken) is string json ? JsonSerializer.Deserialize<Notice>(json, Json) : null;
    }

    /// <summary>The deliveries that may be tried now, in order: per incident and channel only the oldest pending one
    /// (a resolve never overtakes its trigger), and only once due unless <paramref name="ignoreSchedule"/>.</summary>
    public Task<IReadOnlyList<Delivery>> DueAsync(DateTimeOffset now, bool ignoreSchedule, CancellationToken cancellationToken = default) =>
        QueryAsync(
            "SELECT d.*, n.summary FROM deliveries d JOIN notices n ON n.id = d.notice_id WHERE d.state = 'pending' " +
            "AND d.seq = (SELECT MIN(e.seq) FROM deliveries e WHERE e.state = 'pending' AND e.incident_id = d.incident_id AND e.channel = d.channel) " +
            "AND ($all = 1 OR d.next_attempt_at <= $now) ORDER BY d.seq", cancellationToken, ("$all", ignoreSchedule ? 1 : 0), ("$now", Ms(now)));

    /// <summary>Every delivery, newest first (at most <paramref name="limit"/>), optionally only in <paramref name="state"/>.</summary>
    public Task<IReadOnlyList<Delivery>> ListAsync(string? state = null, int limit = 100, CancellationToken cancellationToken = default) =>
        QueryAsync("SELECT d.*, n.summary FROM deliveries d JOIN notices n ON n.id = d.notice_id WHERE ($state IS NULL OR d.state = $state) ORDER BY d.seq DESC LIMIT $limit",
            cancellationToken, ("$state", state), ("$limit", limit));

    /// <summary>The deliveries of one notice.</summary>
    public Task<IReadOnlyList<Delivery>> OfNoticeAsync(string noticeId, CancellationToken cancellationToken = default) =>
        QueryAsync("SELECT d.*, n.summary FROM deliveries d JOIN notices n ON n.id = d.notice_id WHERE d.notice_id = $id ORDER BY d.seq", cancellationToken, ("$id", noticeId));

    /// <summary>The counts per channel of the plan (every channel, also those with no delivery yet).</summary>
    public async Task<IReadOnlyList<ChannelCounts>> CountsAsync(CancellationToken cancellationToken = default)
    {
        var rows = new Dictionary<string, (int P, int S, int D, int M)>(StringComparer.Ordinal);
        var reasons = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var connection = await OpenAsync(cancellationToken);
        await using (var command = Command(connection, null, "SELECT channel, state, COUNT(*) FROM deliveries GROUP BY channel, state"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                var (channel, state, count) = (reader.GetString(0), reader.GetString(1), reader.GetInt32(2));
                var c = rows.GetValueOrDefault(channel);
                rows[channel] = state switch
                {
                    DeliveryStates.Pending => c with { P = count },
                    DeliveryStates.Sent => c with { S = count },
                    DeliveryStates.Dead => c with { D = count },
                    _ => c with { M = count },
                };
            }
        }

        await using (var command = Command(connection, null, "SELECT channel, reason FROM deliveries WHERE reason IS NOT NULL AND state IN ('pending', 'dead') ORDER BY seq"))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
        {
            while (await reader.ReadAsync(cancellationToken))
            {
                reasons[reader.GetString(0)] = reader.GetString(1);
            }
        }

        var names = _plan.Notifications.Channels.Select(c => c.Name).Concat(rows.Keys).Distinct(StringComparer.Ordinal);
        return names.Select(n => rows.GetValueOrDefault(n) is var c ? new ChannelCounts(n, c.P, c.S, c.D, c.M, reasons.GetValueOrDefault(n)) : null!).ToList();
    }

    /// <summary>Records a delivery as sent.</summary>
    internal Task MarkSentAsync(Delivery delivery, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE deliveries SET state = 'sent', attempts = attempts + 1, finished_at = $now, reason = NULL WHERE seq = $seq AND state = 'pending'",
            cancellationToken, ("$now", Ms(_time.GetUtcNow())), ("$seq", delivery.Seq));

    /// <summary>Records a failed attempt; tried again at <paramref name="next"/>.</summary>
    internal Task MarkRetryAsync(Delivery delivery, DateTimeOffset next, string reason, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = $next, reason = $reason WHERE seq = $seq AND state = 'pending'",
            cancellationToken, ("$next", Ms(next)), ("$reason", reason), ("$seq", delivery.Seq));

    /// <summary>Gives a delivery up with <paramref name="reason"/>.</summary>
    internal Task MarkDeadAsync(Delivery delivery, string reason, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE deliveries SET state = 'dead', attempts = attempts + 1, finished_at = $now, reason = $reason WHERE seq = $seq AND state = 'pending'",
            cancellationToken, ("$now", Ms(_time.GetUtcNow())), ("$reason", reason), ("$seq", delivery.Seq));

    /// <summary>Notes that <paramref name="channel"/> failed (keeps the first time); returns since when it fails and whether its alert went out.</summary>
    internal async Task<(DateTimeOffset Since, bool Alerted)> ChannelFailedAsync(string channel, string reason, CancellationToken cancellationToken)
    {
        await UpdateAsync("INSERT INTO channel_failures (channel, failing_since, reason) VALUES ($c, $now, $r) ON CONFLICT (channel) DO UPDATE SET reason = $r",
            cancellationToken, ("$c", channel), ("$now", Ms(_time.GetUtcNow())), ("$r", reason));
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "SELECT failing_since, alerted_at FROM channel_failures WHERE channel = $c", ("$c", channel));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        await reader.ReadAsync(cancellationToken);
        return (FromMs(reader.GetInt64(0)), !reader.IsDBNull(1));
    }

    /// <summary>Notes that the alert about <paramref name="channel"/> went out.</summary>
    internal Task ChannelAlertedAsync(string channel, CancellationToken cancellationToken) =>
        UpdateAsync("UPDATE channel_failures SET alerted_at = $now WHERE channel = $c", cancellationToken, ("$now", Ms(_time.GetUtcNow())), ("$c", channel));

    /// <summary>Notes that <paramref name="channel"/> works again; returns true when it had been alerted about.</summary>
    internal async Task<bool> ChannelRecoveredAsync(string channel, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, "DELETE FROM channel_failures WHERE channel = $c RETURNING alerted_at", ("$c", channel));
        return await command.ExecuteScalarAsync(cancellationToken) is long;
    }

    private async Task UpdateAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, sql, cancellationToken, parameters);
    }

    private async Task<IReadOnlyList<Delivery>> QueryAsync(string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, null, sql, parameters);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        var list = new List<Delivery>();
        while (await reader.ReadAsync(cancellationToken))
        {
            list.Add(new Delivery
            {
                Seq = reader.GetInt64(reader.GetOrdinal("seq")),
                NoticeId = reader.GetString(reader.GetOrdinal("notice_id")),
                IncidentId = reader.GetString(reader.GetOrdinal("incident_id")),
                Channel = reader.GetString(reader.GetOrdinal("channel")),
                State = reader.GetString(reader.GetOrdinal("state")),
                Attempts = reader.GetInt32(reader.GetOrdinal("attempts")),
                CreatedAt = FromMs(reader.GetInt64(reader.GetOrdinal("created_at"))),
                NextAttemptAt = FromMs(reader.GetInt64(reader.GetOrdinal("next_attempt_at"))),
                FinishedAt = reader.IsDBNull(reader.GetOrdinal("finished_at")) ? null : FromMs(reader.GetInt64(reader.GetOrdinal("finished_at"))),
                Reason = reader.IsDBNull(reader.GetOrdinal("reason")) ? null : reader.GetString(reader.GetOrdinal("reason")),
                Summary = reader.GetString(reader.GetOrdinal("summary")),
            });
        }

        return list;
    }

    private async Task<SqliteConnection> OpenAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        await ExecuteAsync(connection, null, "PRAGMA busy_timeout = 30000", cancellationToken);
        if (!_ready)
        {
            await _migrated.WaitAsync(cancellationToken);
            try
            {
                if (!_ready)
                {
                    await MigrateAsync(connection, cancellationToken);
                    _ready = true;
                }
            }
            finally
            {
                _migrated.Release();
            }
        }

        return connection;
    }

    private async Task MigrateAsync(SqliteConnection connection, CancellationToken cancellationToken)
    {
        await ExecuteAsync(connection, null, "PRAGMA journal_mode = WAL", cancellationToken);
        await ExecuteAsync(connection, null, "CREATE TABLE IF NOT EXISTS outbox_schema (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)", cancellationToken);
        await using var tx = (SqliteTransaction)await connection.BeginTransactionAsync(cancellationToken);
        await using var current = Command(connection, tx, "SELECT COALESCE(MAX(version), 0) FROM outbox_schema");
        var version = Convert.ToInt32(await current.ExecuteScalarAsync(cancellationToken), CultureInfo.InvariantCulture);
        if (version > Migrations[^1].Version)
        {
            throw new RecoveryException($"the notification outbox {Path} has schema version {version}, newer than this Lifeline's {Migrations[^1].Version}: upgrade Lifeline");
        }

        foreach (var (v, description, statements) in Migrations.Where(m => m.Version > version))
        {
            foreach (var sql in statements)
            {
                await ExecuteAsync(connection, tx, sql, cancellationToken);
            }

            await ExecuteAsync(connection, tx, "INSERT INTO outbox_schema (version, description, applied_at) VALUES ($v, $d, $t)", cancellationToken,
                ("$v", v), ("$d", description), ("$t", Ms(_time.GetUtcNow())));
        }

        await tx.CommitAsync(cancellationToken);
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction? tx, string sql, params (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
#pragma warning disable CA2100 // the SQL is constant text of this class; values go in parameters
        command.CommandText = sql;
#pragma warning restore CA2100
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        return command;
    }

    private static async Task<int> ExecuteAsync(SqliteConnection connection, SqliteTransaction? tx, string sql, CancellationToken cancellationToken, params (string, object?)[] parameters)
    {
        await using var command = Command(connection, tx, sql, parameters);
        return await command.ExecuteNonQueryAsync(cancellationToken);
    }

    private static long Ms(DateTimeOffset time) => time.ToUnixTimeMilliseconds();

    private static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}

/// <summary>A channel name the plan does not define (<c>notify test</c>, a notice routed by name).</summary>
public sealed class UnknownChannelException(string channel, IEnumerable<string> known)
    : RecoveryException($"the plan has no notification channel '{channel}'{Suggestions.DidYouMean(channel, known)}; its channels: {(known.Any() ? string.Join(", ", known) : "none")}")
{
    /// <summary>The name asked for.</summary>
    public string Channel { get; } = channel;
}
