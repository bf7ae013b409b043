using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Faults;
using Lifeline.Storage.Resilience;
using Lifeline.Storage.Tests.Conformance;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.Resilience;

/// <summary>The decorators keep every guarantee: the shared suite over retry over fault injection (no rules) over the file system.</summary>
public sealed class DecoratedFileSystemConformanceTests : ObjectStoreConcurrencyConformanceTests, IDisposable
{
    private readonly List<TempDirectory> _directories = [];

    protected override Task<IObjectStore> CreateSutAsync()
    {
        var directory = new TempDirectory();
        lock (_directories)
        {
            _directories.Add(directory);
        }

        var faults = new FaultInjectingObjectStore(new FileSystemObjectStore(Path.Combine(directory.Path, "store")));
        return Task.FromResult<IObjectStore>(new RetryingObjectStore(faults, new RetryOptions { BaseDelay = TimeSpan.Zero }));
    }

    public void Dispose()
    {
        foreach (var directory in _directories)
        {
            directory.Dispose();
        }
    }
}
