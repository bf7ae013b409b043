using System.Data;
using System.Data.Common;
using Npgsql;

namespace Lifeline.Registry.Store;

/// <summary>
/// The store on PostgreSQL (for scale): the same SQL as SQLite, read-committed transactions; a version number comes
/// from an UPDATE ... RETURNING on the model row, which serialises concurrent registrations of one model.
/// </summary>
internal sealed class PostgresRegistryStore : SqlRegistryStore
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _description;

    public PostgresRegistryStore(string connectionString, TimeProvider time)
        : base(time)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        _description = $"postgresql://{builder.Host}:{builder.Port}/{builder.Database}" + (builder.SearchPath is { Length: > 0 } s ? $" (schema {s})" : "");
        _dataSource = NpgsqlDataSource.Create(connectionString);
    }

    public override string Description => _description;

    protected override async Task<DbConnection> OpenAsync(CancellationToken cancellationToken) =>
        await _dataSource.OpenConnectionAsync(cancellationToken);

    protected override async Task<DbTransaction> BeginWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.ReadCommitted, cancellationToken);

    protected override async Task<DbTransaction> BeginSnapshotAsync(DbConnection connection, CancellationToken cancellationToken) =>
        await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken);

    protected override async Task LockTableAsync(DbConnection connection, DbTransaction tx, string table, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = $"LOCK TABLE {table} IN SHARE ROW EXCLUSIVE MODE";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    protected override Task CheckIntegrityAsync(DbConnection connection, CancellationToken cancellationToken) => Task.CompletedTask;

    public override ValueTask DisposeAsync() => _dataSource.DisposeAsync();
}
