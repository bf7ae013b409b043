using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;

namespace Lifeline.Registry.Store;

/// <summary>
/// The default store: one SQLite file in WAL mode (readers never block the writer), write transactions taken with
/// BEGIN IMMEDIATE so two writers queue instead of dead-locking, and synchronous=NORMAL (durable at checkpoints; a
/// power cut loses at most the last transactions, never consistency).
/// </summary>
internal sealed class SqliteRegistryStore : SqlRegistryStore
{
    private readonly string _connectionString;

    public SqliteRegistryStore(string path, TimeProvider time)
        : base(time)
    {
        Path = System.IO.Path.GetFullPath(path);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = Path, Pooling = true, DefaultTimeout = 30 }.ToString();
    }

    /// <summary>The database file.</summary>
    public string Path { get; }

    public override string Description => Path;

    public SqliteConnection OpenRaw()
    {
        var connection = new SqliteConnection(_connectionString);
        connection.Open();
        return connection;
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        var connection = new SqliteConnection(_connectionString);
        await connection.OpenAsync(cancellationToken);
        try
        {
            await using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 30000; SELECT COUNT(*) FROM sqlite_master;";
            await pragma.ExecuteNonQueryAsync(cancellationToken);
            return connection;
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26)
        {
            await connection.DisposeAsync();
            throw Corrupt(e.Message, e);
        }
    }

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.Serializable, cancellationToken);

    protected override async Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        var tx = ((SqliteConnection)connection).BeginTransaction(deferred: true);
        await using var command = connection.CreateCommand();
        command.Transaction = (SqliteTransaction)tx;
        command.CommandText = "SELECT COUNT(*) FROM schema_migrations"; // the first read fixes the snapshot
        await command.ExecuteScalarAsync(cancellationToken);
        return tx;
    }

    protected override async Task CheckIntegrityAsync(DbConnection connection, CancellationToken cancellationToken)
    {
        try
        {
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = WAL";
            await command.ExecuteScalarAsync(cancellationToken);
            command.CommandText = "PRAGMA quick_check";
            var result = await command.ExecuteScalarAsync(cancellationToken) as string;
            if (result != "ok")
            {
                throw Corrupt(result ?? "no answer from quick_check", null);
            }
        }
        catch (SqliteException e) when (e.SqliteErrorCode is 11 or 26)
        {
            // SQLITE_CORRUPT (11) or SQLITE_NOTADB (26)
            throw Corrupt(e.Message, e);
        }
    }

    private RegistryCorruptException Corrupt(string detail, Exception? inner) => new(
        $"the registry database {Path} is corrupt ({detail}). Stop the registry and restore it from the vault: " +
        $"lifeline registry restore --data-dir {System.IO.Path.GetDirectoryName(Path)} --repo <vault> (add --at <time> for an older backup)", inner);

    public override ValueTask DisposeAsync()
    {
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        return ValueTask.CompletedTask;
    }
}
