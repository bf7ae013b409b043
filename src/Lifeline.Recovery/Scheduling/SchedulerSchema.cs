using System.Text;

namespace Lifeline.Recovery.Scheduling;

/// <summary>The database a scheduler keeps its schedule and run history in.</summary>
public enum SchedulerStoreKind
{
    /// <summary>A SQLite file (the default: one file in the data directory).</summary>
    Sqlite,

    /// <summary>A PostgreSQL database (the connection string's search path picks the schema).</summary>
    Postgres,
}

/// <summary>
/// The scheduler's schema as numbered migrations, applied the way the registry applies its own
/// (<c>Lifeline.Registry/Store/Schema.cs</c>): each runs once, in order, inside one transaction that also records it in
/// <c>lifeline_scheduler_schema</c>; a database newer than the code is refused. Quartz.NET 4.7 needs its tables to exist
/// (it validates them at start-up and never migrates them), so version 1 creates them, written here from Quartz's
/// documented ADO job store schema (tables, columns, keys; docs/scheduling.md) as one table model rendered in each
/// dialect, beside Lifeline's own run history and pauses.
/// </summary>
internal static class SchedulerSchema
{
    /// <summary>The table prefix Quartz is configured with.</summary>
    public const string QuartzPrefix = "QRTZ_";

    private enum T
    {
        Name,
        Group,
        Text,
        LongText,
        BigInt,
        Int,
        Bool,
        Blob,
        Numeric,
    }

    private sealed record Column(string Name, T Type, int Length = 0, bool Null = true, string? Default = null);

    private sealed record Table(string Name, Column[] Columns, string[] Key, (string[] Columns, string Parent, bool Cascade)? Parent = null);

    private static Column C(string name, T type, int length = 0, bool nullable = true, string? defaultValue = null) => new(name, type, length, nullable, defaultValue);

    private static Column NotNull(string name, T type, int length = 0) => new(name, type, length, false);

    private static readonly string[] TriggerKey = ["SCHED_NAME", "TRIGGER_NAME", "TRIGGER_GROUP"];

    /// <summary>Quartz's core tables (not the optional execution-history ones: Lifeline keeps its own history).</summary>
    private static readonly Table[] QuartzTables =
    [
        new("JOB_DETAILS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("JOB_NAME", T.Group, 150), NotNull("JOB_GROUP", T.Group, 150), C("DESCRIPTION", T.Text, 250),
            NotNull("JOB_CLASS_NAME", T.Text, 250), NotNull("IS_DURABLE", T.Bool), NotNull("IS_NONCONCURRENT", T.Bool), NotNull("IS_UPDATE_DATA", T.Bool),
            NotNull("REQUESTS_RECOVERY", T.Bool), C("JOB_DATA", T.Blob),
        ], ["SCHED_NAME", "JOB_NAME", "JOB_GROUP"]),
        new("TRIGGERS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("TRIGGER_NAME", T.Group, 150), NotNull("TRIGGER_GROUP", T.Group, 150),
            NotNull("JOB_NAME", T.Group, 150), NotNull("JOB_GROUP", T.Group, 150), C("DESCRIPTION", T.Text, 250),
            C("NEXT_FIRE_TIME", T.BigInt), C("PREV_FIRE_TIME", T.BigInt), C("PRIORITY", T.Int), NotNull("TRIGGER_STATE", T.Text, 16),
            NotNull("TRIGGER_TYPE", T.Text, 8), NotNull("START_TIME", T.BigInt), C("END_TIME", T.BigInt), C("CALENDAR_NAME", T.Text, 200),
            C("MISFIRE_INSTR", T.Int), C("MISFIRE_ORIG_FIRE_TIME", T.BigInt), C("EXECUTION_GROUP", T.Text, 200), C("PREFERRED_NODE", T.Text, 200),
            C("PREFERRED_NODE_AUTO", T.Bool, nullable: false, defaultValue: "FALSE"), C("RETRY_POLICY", T.Text, 250), C("RETRY_ATTEMPT", T.Int),
            C("CONTINUES_TRIGGER_NAME", T.Group, 150), C("CONTINUES_TRIGGER_GROUP", T.Group, 150), C("CONTINUATION_CONDITION", T.Int),
            C("OVERLAP_POLICY", T.Int), C("PAUSE_REASON", T.Text, 250), C("PAUSED_BY", T.Text, 200), C("PAUSED_AT", T.BigInt),
            C("MISFIRE_THRESHOLD", T.BigInt), C("FIXED_DELAY", T.Bool), C("JOB_DATA", T.Blob),
        ], TriggerKey, (["SCHED_NAME", "JOB_NAME", "JOB_GROUP"], "JOB_DETAILS", false)),
        new("SIMPLE_TRIGGERS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("TRIGGER_NAME", T.Group, 150), NotNull("TRIGGER_GROUP", T.Group, 150),
            NotNull("REPEAT_COUNT", T.BigInt), NotNull("REPEAT_INTERVAL", T.BigInt), NotNull("TIMES_TRIGGERED", T.BigInt),
        ], TriggerKey, (TriggerKey, "TRIGGERS", true)),
        new("CRON_TRIGGERS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("TRIGGER_NAME", T.Group, 150), NotNull("TRIGGER_GROUP", T.Group, 150),
            NotNull("CRON_EXPRESSION", T.Text, 250), C("TIME_ZONE_ID", T.Text, 80),
        ], TriggerKey, (TriggerKey, "TRIGGERS", true)),
        new("SIMPROP_TRIGGERS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("TRIGGER_NAME", T.Group, 150), NotNull("TRIGGER_GROUP", T.Group, 150),
            C("STR_PROP_1", T.Text, 512), C("STR_PROP_2", T.Text, 512), C("STR_PROP_3", T.Text, 512), C("INT_PROP_1", T.Int), C("INT_PROP_2", T.Int),
            C("LONG_PROP_1", T.BigInt), C("LONG_PROP_2", T.BigInt), C("DEC_PROP_1", T.Numeric), C("DEC_PROP_2", T.Numeric),
            C("BOOL_PROP_1", T.Bool), C("BOOL_PROP_2", T.Bool), C("TIME_ZONE_ID", T.Text, 80),
        ], TriggerKey, (TriggerKey, "TRIGGERS", true)),
        new("BLOB_TRIGGERS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("TRIGGER_NAME", T.Group, 150), NotNull("TRIGGER_GROUP", T.Group, 150), C("BLOB_DATA", T.Blob),
        ], TriggerKey, (TriggerKey, "TRIGGERS", true)),
        new("CALENDARS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("CALENDAR_NAME", T.Text, 200), NotNull("CALENDAR", T.Blob),
        ], ["SCHED_NAME", "CALENDAR_NAME"]),
        new("PAUSED_TRIGGER_GRPS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("TRIGGER_GROUP", T.Group, 150), C("PAUSE_REASON", T.Text, 250), C("PAUSED_BY", T.Text, 200), C("PAUSED_AT", T.BigInt),
        ], ["SCHED_NAME", "TRIGGER_GROUP"]),
        new("PAUSED_JOB_GRPS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("JOB_GROUP", T.Group, 150), C("PAUSE_REASON", T.Text, 250), C("PAUSED_BY", T.Text, 200), C("PAUSED_AT", T.BigInt),
        ], ["SCHED_NAME", "JOB_GROUP"]),
        new("FIRED_TRIGGERS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("ENTRY_ID", T.Text, 140), NotNull("TRIGGER_NAME", T.Group, 150), NotNull("TRIGGER_GROUP", T.Group, 150),
            NotNull("INSTANCE_NAME", T.Text, 200), NotNull("FIRED_TIME", T.BigInt), NotNull("SCHED_TIME", T.BigInt), NotNull("PRIORITY", T.Int),
            NotNull("STATE", T.Text, 16), C("JOB_NAME", T.Group, 150), C("JOB_GROUP", T.Group, 150), C("IS_NONCONCURRENT", T.Bool), C("REQUESTS_RECOVERY", T.Bool),
            C("EXECUTION_GROUP", T.Text, 200), C("PROGRESS", T.Int), C("PROGRESS_MESSAGE", T.Text, 250), C("INTERRUPT_REQUESTED_TIME", T.BigInt),
        ], ["SCHED_NAME", "ENTRY_ID"]),
        new("SCHEDULER_STATE",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("INSTANCE_NAME", T.Text, 200), NotNull("LAST_CHECKIN_TIME", T.BigInt), NotNull("CHECKIN_INTERVAL", T.BigInt),
            C("QUARTZ_VERSION", T.Text, 20),
        ], ["SCHED_NAME", "INSTANCE_NAME"]),
        new("LOCKS",
        [
            NotNull("SCHED_NAME", T.Name, 120), NotNull("LOCK_NAME", T.Text, 40),
        ], ["SCHED_NAME", "LOCK_NAME"]),
    ];

    /// <summary>The indexes Quartz's queries lean on: (name, table, columns).</summary>
    private static readonly (string Name, string Table, string Columns)[] QuartzIndexes =
    [
        ("J_G_N", "JOB_DETAILS", "SCHED_NAME,JOB_GROUP,JOB_NAME"),
        ("T_J", "TRIGGERS", "SCHED_NAME,JOB_NAME,JOB_GROUP"),
        ("T_G_N", "TRIGGERS", "SCHED_NAME,TRIGGER_GROUP,TRIGGER_NAME"),
        ("T_C", "TRIGGERS", "SCHED_NAME,CALENDAR_NAME"),
        ("T_NFT_ST", "TRIGGERS", "SCHED_NAME,TRIGGER_STATE,NEXT_FIRE_TIME"),
        ("FT_INST_JOB_REQ_RCVRY", "FIRED_TRIGGERS", "SCHED_NAME,INSTANCE_NAME,REQUESTS_RECOVERY"),
        ("FT_J_G", "FIRED_TRIGGERS", "SCHED_NAME,JOB_NAME,JOB_GROUP"),
        ("FT_T_G", "FIRED_TRIGGERS", "SCHED_NAME,TRIGGER_NAME,TRIGGER_GROUP"),
    ];

    /// <summary>The migrations for <paramref name="kind"/>, oldest first.</summary>
    public static IReadOnlyList<(int Version, string Description, IReadOnlyList<string> Statements)> Migrations(SchedulerStoreKind kind) =>
    [
        (1, "Quartz.NET 4.7 job store tables; Lifeline's job runs and pauses", [.. QuartzStatements(kind), .. LifelineStatements()]),
    ];

    /// <summary>The newest version the code knows.</summary>
    public static int LatestVersion => 1;

    private static IEnumerable<string> QuartzStatements(SchedulerStoreKind kind)
    {
        foreach (var table in QuartzTables)
        {
            yield return CreateTable(kind, table);
        }

        if (kind == SchedulerStoreKind.Sqlite)
        {
            // SQLite enforces foreign keys only with PRAGMA foreign_keys, which Quartz does not set: the cascade from a
            // trigger to its type-specific row is a trigger of its own
            foreach (var child in QuartzTables.Where(t => t.Parent is { Cascade: true }))
            {
                yield return $"CREATE TRIGGER {QuartzPrefix}CASCADE_{child.Name} AFTER DELETE ON {QuartzPrefix}TRIGGERS BEGIN " +
                    $"DELETE FROM {QuartzPrefix}{child.Name} WHERE SCHED_NAME = OLD.SCHED_NAME AND TRIGGER_NAME = OLD.TRIGGER_NAME AND TRIGGER_GROUP = OLD.TRIGGER_GROUP; END";
            }
        }

        foreach (var (name, table, columns) in QuartzIndexes)
        {
            yield return $"CREATE INDEX IDX_{QuartzPrefix}{name} ON {QuartzPrefix}{table} ({columns})";
        }
    }

    private static IEnumerable<string> LifelineStatements()
    {
        // one row per attempt of a run; outcome: running, ok, failed, timed-out, interrupted, not-implemented
        yield return "CREATE TABLE lifeline_job_runs (run_id TEXT PRIMARY KEY, job TEXT NOT NULL, kind TEXT NOT NULL, cause TEXT NOT NULL, attempt BIGINT NOT NULL, " +
            "scheduled_at BIGINT, started_at BIGINT NOT NULL, finished_at BIGINT, outcome TEXT NOT NULL, message TEXT, host TEXT NOT NULL, pid BIGINT NOT NULL)";
        yield return "CREATE INDEX ix_lifeline_job_runs_job ON lifeline_job_runs (job, started_at)";
        yield return "CREATE INDEX ix_lifeline_job_runs_outcome ON lifeline_job_runs (outcome)";
        yield return "CREATE TABLE lifeline_job_pauses (job TEXT PRIMARY KEY, reason TEXT NOT NULL, paused_by TEXT, paused_at BIGINT NOT NULL, until_at BIGINT)";
    }

    private static string CreateTable(SchedulerStoreKind kind, Table table)
    {
        var sql = new StringBuilder($"CREATE TABLE {QuartzPrefix}{table.Name} (");
        sql.AppendJoin(", ", table.Columns.Select(c => $"{c.Name} {TypeOf(kind, c)}{(c.Default is { } d ? $" DEFAULT {Default(kind, d)}" : "")}{(c.Null ? "" : " NOT NULL")}"));
        sql.Append($", PRIMARY KEY ({string.Join(",", table.Key)})");
        if (table.Parent is { } parent)
        {
            var parentKey = parent.Parent == "JOB_DETAILS" ? "SCHED_NAME,JOB_NAME,JOB_GROUP" : "SCHED_NAME,TRIGGER_NAME,TRIGGER_GROUP";
            sql.Append($", FOREIGN KEY ({string.Join(",", parent.Columns)}) REFERENCES {QuartzPrefix}{parent.Parent} ({parentKey}){(parent.Cascade ? " ON DELETE CASCADE" : "")}");
        }

        return sql.Append(')').ToString();
    }

    private static string Default(SchedulerStoreKind kind, string value) => kind == SchedulerStoreKind.Sqlite && value == "FALSE" ? "0" : value;

    private static string TypeOf(SchedulerStoreKind kind, Column c) => (kind, c.Type) switch
    {
        (_, T.Name or T.Group or T.Text) => $"VARCHAR({c.Length})",
        (_, T.LongText) => "TEXT",
        (_, T.BigInt) => "BIGINT",
        (_, T.Int) => "INTEGER",
        (_, T.Numeric) => "NUMERIC",
        (SchedulerStoreKind.Sqlite, T.Bool) => "BIT",
        (_, T.Bool) => "BOOL",
        (SchedulerStoreKind.Sqlite, T.Blob) => "BLOB",
        (_, T.Blob) => "BYTEA",
        _ => throw new ArgumentOutOfRangeException(nameof(c)),
    };
}
