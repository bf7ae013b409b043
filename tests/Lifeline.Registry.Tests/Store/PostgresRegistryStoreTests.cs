using Lifeline.Registry.Store;
using Npgsql;

namespace Lifeline.Registry.Tests.Store;

/// <summary>
/// The store suite on PostgreSQL: the server from scripts/setup/postgres.sh (or LIFELINE_TEST_PG). Each test gets a
/// schema of its own. An unreachable server fails the tests with the command to run; it never skips them.
/// </summary>
public sealed class PostgresRegistryStoreTests : RegistryStoreSuite
{
    public const string DefaultConnectionString = "Host=127.0.0.1;Port=5433;Username=lifeline;Password=lifeline;Database=lifeline_test;Timeout=30";

    private readonly string _schema = "t_" + Guid.NewGuid().ToString("N")[..16];

    internal static string BaseConnectionString => Environment.GetEnvironmentVariable("LIFELINE_TEST_PG") is { Length: > 0 } s ? s : DefaultConnectionString;

    internal override async Task<IRegistryStore> CreateStoreAsync()
    {
        try
        {
            await using var connection = new NpgsqlConnection(BaseConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {_schema}", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            Assert.Fail($"PostgreSQL is not reachable ({e.Message}). Start it with 'bash scripts/setup/postgres.sh' or point LIFELINE_TEST_PG at a server.");
        }

        var builder = new NpgsqlConnectionStringBuilder(BaseConnectionString) { SearchPath = _schema };
        return new PostgresRegistryStore(builder.ConnectionString, Time);
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        try
        {
            await using var connection = new NpgsqlConnection(BaseConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {_schema} CASCADE", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // the failure was already reported by CreateStoreAsync
        }
    }
}
