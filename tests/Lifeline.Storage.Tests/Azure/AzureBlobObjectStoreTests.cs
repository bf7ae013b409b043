using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using Lifeline.Storage.Azure;

namespace Lifeline.Storage.Tests.Azure;

/// <summary>Azure specifics: prefix isolation, container creation on first write, no secrets in the location.</summary>
public sealed class AzureBlobObjectStoreTests : IAsyncLifetime
{
    private readonly BlobContainerClient _container = Azurite.CreateServiceClient().GetBlobContainerClient("t" + Guid.NewGuid().ToString("N"));

    public Task InitializeAsync() => Azurite.RequireAsync();

    public async Task DisposeAsync()
    {
        if (await Azurite.IsReachableAsync())
        {
            await _container.DeleteIfExistsAsync();
        }
    }

    [Fact]
    public async Task PutAsync_MissingContainer_CreatesItAndStores()
    {
        var store = new AzureBlobObjectStore(_container);
        Assert.Null(await store.StatAsync("k"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("k"));
        await store.DeleteAsync("k");
        Assert.Empty(await ListAsync(store, string.Empty));

        Assert.True(await store.PutIfAbsentAsync("k", "v"u8.ToArray()));
        Assert.Equal("v"u8.ToArray(), await store.GetAsync("k"));
        Assert.True((await _container.ExistsAsync()).Value);
    }

    [Fact]
    public async Task PutStreamAsync_LargerThanOneBlock_CommitsStagedBlocksAndLeavesNoneUncommitted()
    {
        var store = new AzureBlobObjectStore(_container, "p", options: new AzureBlobObjectStoreOptions { BlockSize = 256 * 1024 });
        await store.PutStreamAsync("big", new TestSupport.GeneratedStream((600 * 1024) + 1, 1)); // creates the container too
        var blocks = (await _container.GetBlockBlobClient("p/big").GetBlockListAsync(global::Azure.Storage.Blobs.Models.BlockListTypes.All)).Value;
        Assert.Equal([256 * 1024, 256 * 1024, (88 * 1024) + 1], blocks.CommittedBlocks.Select(b => b.SizeLong));
        Assert.Empty(blocks.UncommittedBlocks);

        Assert.False(await store.PutStreamIfAbsentAsync("big", new TestSupport.GeneratedStream(600 * 1024, 2)));
        Assert.Equal(3, (await _container.GetBlockBlobClient("p/big").GetBlockListAsync()).Value.CommittedBlocks.Count());
    }

    [Fact]
    public async Task ListAsync_TwoPrefixesInOneContainer_SeeOnlyTheirOwnKeys()
    {
        var a = new AzureBlobObjectStore(_container, "tenant/a");
        var ab = new AzureBlobObjectStore(_container, "tenant/ab/");
        var root = new AzureBlobObjectStore(_container);
        await a.PutAsync("x", new byte[] { 1 });
        await ab.PutAsync("y", new byte[] { 2 });
        Assert.Equal(["x"], await ListAsync(a, string.Empty));
        Assert.Equal(["y"], await ListAsync(ab, string.Empty));
        Assert.Equal(["tenant/a/x", "tenant/ab/y"], await ListAsync(root, string.Empty));
        Assert.Equal([1], await root.GetAsync("tenant/a/x"));
    }

    [Fact]
    public void Location_ConnectionStringWithKey_NamesContainerAndPrefixButNoKey()
    {
        var store = new AzureBlobObjectStore(_container, "p/q");
        Assert.StartsWith($"azure://{_container.Name}/p/q (", store.Location, StringComparison.Ordinal);
        Assert.DoesNotContain("Eby8", store.Location, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("../x")]
    [InlineData("a//b")]
    public void Constructor_InvalidPrefix_ThrowsArgumentException(string prefix)
    {
        Assert.Throws<ArgumentException>(() => new AzureBlobObjectStore(_container, prefix));
    }

    private static async Task<List<string>> ListAsync(IObjectStore store, string prefix)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(prefix))
        {
            keys.Add(info.Key);
        }

        return keys;
    }
}
