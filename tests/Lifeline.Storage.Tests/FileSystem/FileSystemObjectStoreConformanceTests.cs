using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Tests.Conformance;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.FileSystem;

public sealed class FileSystemObjectStoreConformanceTests : ObjectStoreConcurrencyConformanceTests, IDisposable
{
    private readonly List<TempDirectory> _directories = [];

    protected override Task<IObjectStore> CreateSutAsync()
    {
        var directory = new TempDirectory();
        lock (_directories)
        {
            _directories.Add(directory);
        }

        return Task.FromResult<IObjectStore>(new FileSystemObjectStore(Path.Combine(directory.Path, "store")));
    }

    public void Dispose()
    {
        foreach (var directory in _directories)
        {
            directory.Dispose();
        }
    }
}
