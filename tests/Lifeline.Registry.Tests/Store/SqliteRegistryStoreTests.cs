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
}
