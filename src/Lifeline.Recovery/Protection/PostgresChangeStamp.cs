using Npgsql;

namespace Lifeline.Recovery.Protection;

/// <summary>
/// The change detector of a registry whose metadata lives in PostgreSQL: one cheap query (polled every
/// <see cref="ChangeProtectorOptions.PostgresPollInterval"/>, 1 s) whose answer changes when the registry is written.
/// It reads, in the registry's schema (the connection's search path), the newest update time and the row count of
/// the registry's entities (experiments, runs, registered models, model versions: small tables, so the scans stay
/// cheap) and the cumulative insert/update/delete counters PostgreSQL keeps per table (<c>pg_stat_user_tables</c>),
/// which also see the writes that change no timestamp (a metric, a param, a tag), once the server has flushed its
/// statistics (within about a second of the transaction, later under load). Not streaming replication: see
/// docs/protection.md, "PostgreSQL registries".
/// </summary>
internal sealed class PostgresChangeStamp(string connectionString)
{
    private const string Query = """
        SELECT concat_ws('|',
          (SELECT count(*) || ':' || coalesce(max(last_update_time), 0) FROM experiments),
          (SELECT count(*) || ':' || coalesce(max(greatest(coalesce(start_time, 0), coalesce(end_time, 0))), 0) FROM runs),
          (SELECT count(*) || ':' || coalesce(max(last_updated_timestamp), 0) FROM registered_models),
          (SELECT count(*) || ':' || coalesce(max(last_updated_timestamp), 0) FROM model_versions),
          (SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_user_tables WHERE schemaname = current_schema()))
        """;

    /// <summary>The stamp now; an <see cref="IOException"/> when the server cannot be asked (the poll tries again).</summary>
    public string Stamp()
    {
        try
        {
            using var connection = new NpgsqlConnection(connectionString);
            connection.Open();
            using var command = new NpgsqlCommand(Query, connection);
            return command.ExecuteScalar() as string ?? "";
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            throw new IOException($"the registry's PostgreSQL cannot be asked for changes: {e.Message}", e);
        }
    }
}
