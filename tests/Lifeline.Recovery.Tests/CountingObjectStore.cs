using System.Collections.Concurrent;
using Lifeline.Storage;

namespace Lifeline.Recovery.Tests;

/// <summary>Passes every call to a real store and counts the reads (whole and streamed) by key, for tests that assert
/// what a reader fetched.</summary>
internal sealed class CountingObjectStore(IObjectStore inner) : IObjectStore
{
    private readonly ConcurrentQueue<string> _reads = new();

    public string Location => inner.Location;

    /// <summary>How many objects whose keys start with <paramref name="prefix"/> were read.</summary>
    public int ReadsUnder(string prefix) => _reads.Count(k => k.StartsWith(prefix, StringComparison.Ordinal));

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutAsync(key, data, cancellationToken);

    public Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutIfAbsentAsync(key, data, cancellationToken);

    public Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        _reads.Enqueue(key);
        return inner.GetAsync(key, offset, length, cancellationToken);
    }

    public Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamAsync(key, content, cancellationToken);

    public Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamIfAbsentAsync(key, content, cancellationToken);

    public Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        _reads.Enqueue(key);
        return inner.OpenReadAsync(key, offset, length, cancellationToken);
    }

    public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
}
