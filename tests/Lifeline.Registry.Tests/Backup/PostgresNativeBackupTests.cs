using Lifeline.Registry.Backup;
using Lifeline.Registry.Tests.Store;
using Npgsql;

namespace Lifeline.Registry.Tests.Backup;

/// <summary>Native backup of a PostgreSQL registry (one REPEATABLE READ snapshot into the SQLite backup format) and restore into PostgreSQL or SQLite.</summary>
public sealed class PostgresNativeBackupTests : IAsyncLifetime
{
    private readonly List<string> _schemas = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await using var connection = new NpgsqlConnection(PostgresRegistryStoreTests.BaseConnectionString);
        await connection.OpenAsync();
        foreach (var schema in _schemas)
        {
            await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {schema} CASCADE", connection);
            await command.ExecuteNonQueryAsync();
        }
    }

    [Fact]
    public async Task NativeBackup_PostgresRegistry_RestoresIdenticallyIntoPostgresAndSqlite()
    {
        using var dir = new TempDirectory();
        var source = await NewSchemaAsync();
        string before;
        await using (var server = await RegistryTestServer.StartAsync(dir.Combine("source"), postgres: source))
        {
            await RegistrySeed.SeedAsync(server.Client(), models: 1, versionsPerModel: 2);
            before = await RegistryBackupTests.DescribeAsync(server.Client());
            var manifest = await NativeBackup.CreateAsync(new RegistryOptions { DataDirectory = server.DataDirectory, PostgresConnectionString = source }, dir.Combine("staging"), TimeProvider.System, CancellationToken.None);
            Assert.Contains("postgresql://", manifest.Source, StringComparison.Ordinal);
            Assert.DoesNotContain("lifeline;", manifest.Source, StringComparison.Ordinal);
        }

        var target = await NewSchemaAsync();
        await NativeBackup.RestoreAsync(dir.Combine("staging"), new RegistryOptions { DataDirectory = dir.Combine("pg-restored"), PostgresConnectionString = target }, TimeProvider.System, CancellationToken.None);
        await using (var restored = await RegistryTestServer.StartAsync(dir.Combine("pg-restored"), postgres: target))
        {
            Assert.Equal(before, await RegistryBackupTests.DescribeAsync(restored.Client()));
        }

        await NativeBackup.RestoreAsync(dir.Combine("staging"), dir.Combine("sqlite-restored"), TimeProvider.System, CancellationToken.None);
        await using (var restored = await RegistryTestServer.StartAsync(dir.Combine("sqlite-restored")))
        {
            Assert.Equal(before, await RegistryBackupTests.DescribeAsync(restored.Client()));
        }

        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => NativeBackup.RestoreAsync(dir.Combine("staging"), new RegistryOptions { DataDirectory = dir.Combine("other"), PostgresConnectionString = target }, TimeProvider.System, CancellationToken.None));
        Assert.Contains("already holds a registry", again.Message, StringComparison.Ordinal);
    }

    private async Task<string> NewSchemaAsync()
    {
        var schema = "b_" + Guid.NewGuid().ToString("N")[..16];
        try
        {
            await using var connection = new NpgsqlConnection(PostgresRegistryStoreTests.BaseConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            Assert.Fail($"PostgreSQL is not reachable ({e.Message}). Start it with 'bash scripts/setup/postgres.sh' or point LIFELINE_TEST_PG at a server.");
        }

        _schemas.Add(schema);
        return new NpgsqlConnectionStringBuilder(PostgresRegistryStoreTests.BaseConnectionString) { SearchPath = schema }.ConnectionString;
    }
}
