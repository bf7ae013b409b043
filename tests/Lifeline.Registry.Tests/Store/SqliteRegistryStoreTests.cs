using Lifeline.Registry.Contracts;
using Lifeline.Registry.Store;

namespace Lifeline.Registry.Tests.Store;

public sealed class SqliteRegistryStoreTests : RegistryStoreSuite
{
    private readonly TempDirectory _dir = new();

    internal override Task<IRegistryStore> CreateStoreAsync() =>
        Task.FromResult<IRegistryStore>(new SqliteRegistryStore(_dir.Combine("registry.db"), Time));

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task Initialize_CorruptFile_NamesTheRestoreCommand()
    {
        await Store.DisposeAsync();
        using var dir = new TempDirectory();
        var path = dir.Combine("registry.db");
        await File.WriteAllBytesAsync(path, Enumerable.Repeat((byte)0x5A, 8192).ToArray());
        await using var store = new SqliteRegistryStore(path, Time);
        var e = await Assert.ThrowsAsync<RegistryCorruptException>(() => store.InitializeAsync(CancellationToken.None));
        Assert.Contains("lifeline registry restore", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Initialize_FileReopened_KeepsData()
    {
        await Store.CreateRegisteredModelAsync("kept", null, [], CancellationToken.None);
        await Store.DisposeAsync();
        await using var reopened = new SqliteRegistryStore(_dir.Combine("registry.db"), Time);
        await reopened.InitializeAsync(CancellationToken.None);
        Assert.Equal("kept", (await reopened.GetRegisteredModelAsync("kept", CancellationToken.None)).Name);
        Assert.Equal(ErrorCodes.ResourceDoesNotExist, (await Assert.ThrowsAsync<MlflowException>(() => reopened.GetRunAsync("nope", CancellationToken.None))).ErrorCode);
    }

    [Fact]
    public async Task Initialize_DatabaseAtVersion1_MigratesToLatestKeepingData()
    {
        await Store.CreateRegisteredModelAsync("old", null, [], CancellationToken.None);
        await Store.DisposeAsync();
        var path = _dir.Combine("registry.db");
        using (var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP INDEX ix_run_tags_key_value; DELETE FROM schema_migrations WHERE version > 1;";
            command.ExecuteNonQuery();
        }

        await using var reopened = new SqliteRegistryStore(path, Time);
        await reopened.InitializeAsync(CancellationToken.None);
        Assert.Equal(Schema.LatestVersion, await reopened.GetSchemaVersionAsync(CancellationToken.None));
        Assert.True(Schema.LatestVersion >= 2);
        Assert.Equal("old", (await reopened.GetRegisteredModelAsync("old", CancellationToken.None)).Name);
        using var check = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Pooling=false");
        check.Open();
        using var query = check.CreateCommand();
        query.CommandText = "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = 'ix_run_tags_key_value'";
        Assert.Equal(1L, (long)query.ExecuteScalar()!);
    }

    [Fact]
    public async Task CrashImage_TornWalTail_ReopensWithEarlierCommitsIntact()
    {
        await Store.CreateRegisteredModelAsync("committed-early", null, [], CancellationToken.None);
        var run = await Store.CreateRunAsync("0", null, "r", 1, [], CancellationToken.None);
        for (var i = 0; i < 50; i++)
        {
            await Store.LogBatchAsync(run.Info.RunId, [new Lifeline.Registry.Contracts.MlflowMetric { Key = "loss", Value = i, Timestamp = i, Step = i }], [], [], CancellationToken.None);
        }

        // The files as a power cut would leave them: copied while the store is open (no checkpoint, no clean close),
        // then the last 100 bytes of the write-ahead log torn off.
        using var crash = new TempDirectory();
        var source = _dir.Combine("registry.db");
        File.Copy(source, crash.Combine("registry.db"));
        Assert.True(File.Exists(source + "-wal"), "the store runs in WAL mode");
        File.Copy(source + "-wal", crash.Combine("registry.db-wal"));
        await using (var wal = new FileStream(crash.Combine("registry.db-wal"), FileMode.Open))
        {
            wal.SetLength(Math.Max(0, wal.Length - 100));
        }

        await using var reopened = new SqliteRegistryStore(crash.Combine("registry.db"), Time);
        await reopened.InitializeAsync(CancellationToken.None);
        Assert.Equal("committed-early", (await reopened.GetRegisteredModelAsync("committed-early", CancellationToken.None)).Name);
        var history = await reopened.GetMetricHistoryAsync(run.Info.RunId, "loss", CancellationToken.None);
        Assert.InRange(history.Count, 40, 50); // at most the torn last transactions are gone
        Assert.Equal(Enumerable.Range(0, history.Count).Select(i => (double)i), history.Select(m => m.Value));
        await reopened.CreateRegisteredModelAsync("written-after-recovery", null, [], CancellationToken.None);
    }
}
