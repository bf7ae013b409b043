using Azure.Storage.Blobs;
using Lifeline.Storage.Azure;
using Lifeline.Storage.Tests.Conformance;

namespace Lifeline.Storage.Tests.Azure;

/// <summary>The shared suite against Azurite: a fresh container per test, keys below a prefix to exercise the mapping.</summary>
public sealed class AzureBlobObjectStoreConformanceTests : ObjectStoreConcurrencyConformanceTests, IAsyncLifetime
{
    private readonly List<BlobContainerClient> _containers = [];

    protected override async Task<IObjectStore> CreateSutAsync()
    {
        await Azurite.RequireAsync();
        var container = Azurite.CreateServiceClient().GetBlobContainerClient("t" + Guid.NewGuid().ToString("N"));
        await container.CreateAsync();
        lock (_containers)
        {
            _containers.Add(container);
        }

        return new AzureBlobObjectStore(container, "repo/one", options: new AzureBlobObjectStoreOptions { BlockSize = StreamPartSize });
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var container in _containers)
        {
            await container.DeleteIfExistsAsync();
        }
    }
}
