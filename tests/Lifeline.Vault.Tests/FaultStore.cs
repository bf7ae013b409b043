using Lifeline.Storage;

namespace Lifeline.Vault.Tests;

/// <summary>Wraps a store and fails chosen calls (test-only; the storage area has the product version).</summary>
internal sealed class FaultStore(IObjectStore inner) : IObjectStore
{
    private int _deletes;
    private int _packPuts;

    /// <summary>Fail the Nth put of a pack (1-based) and every later one.</summary>
    public int? FailPackPutFrom { get; set; }

    /// <summary>Fail the Nth delete (1-based) and every later one, as a crash at that point would.</summary>
    public int? FailDeleteFrom { get; set; }

    /// <summary>Deletes attempted so far (locks included).</summary>
    public int DeleteCount => Volatile.Read(ref _deletes);

    /// <summary>Keys deleted so far.</summary>
    public List<string> Deleted { get; } = [];

    public string Location => inner.Location;

    /// <summary>Fail every overwrite of a lock (its renewal), as a partition from the store would.</summary>
    public bool FailLockRenewals { get; set; }

    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
        => FailLockRenewals && key.StartsWith("locks/", StringComparison.Ordinal)
            ? throw new IOException($"injected fault: renewal of {key}")
            : inner.PutAsync(key, data, cancellationToken);

    /// <summary>Pack puts wait for this before they go on (or fail); default none.</summary>
    public Task? HoldPackPuts { get; set; }

    private int _packPutsWaiting;

    /// <summary>Pack puts waiting on <see cref="HoldPackPuts"/> now.</summary>
    public int PackPutsWaiting => Volatile.Read(ref _packPutsWaiting);

    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var pack = key.StartsWith("data/", StringComparison.Ordinal);
        if (pack && HoldPackPuts is { } hold)
        {
            Interlocked.Increment(ref _packPutsWaiting);
            try
            {
                await hold;
            }
            finally
            {
                Interlocked.Decrement(ref _packPutsWaiting);
            }
        }

        if (pack && Interlocked.Increment(ref _packPuts) >= FailPackPutFrom)
        {
            throw new IOException($"injected fault: put of pack {key}");
        }

        return await inner.PutIfAbsentAsync(key, data, cancellationToken);
    }

    /// <summary>Fail the Nth read of a pack (GetAsync or OpenReadAsync, 1-based) and every later one.</summary>
    public int? FailPackGetFrom { get; set; }

    private int _packGets;

    public Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
        => key.StartsWith("data/", StringComparison.Ordinal) && Interlocked.Increment(ref _packGets) >= FailPackGetFrom
            ? throw new IOException($"injected fault: read of pack {key}")
            : inner.GetAsync(key, offset, length, cancellationToken);

    public Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
        => FailLockRenewals && key.StartsWith("locks/", StringComparison.Ordinal)
            ? throw new IOException($"injected fault: renewal of {key}")
            : inner.PutStreamAsync(key, content, cancellationToken);

    public Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        if (key.StartsWith("data/", StringComparison.Ordinal) && Interlocked.Increment(ref _packPuts) >= FailPackPutFrom)
        {
            throw new IOException($"injected fault: put of pack {key}");
        }

        return inner.PutStreamIfAbsentAsync(key, content, cancellationToken);
    }

    private int _packStreams;

    /// <summary>Packs opened for streaming (OpenReadAsync: what a copy reads whole packs or ranges with) so far.</summary>
    public int PackStreamsOpened => Volatile.Read(ref _packStreams);

    public Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
        => key.StartsWith("data/", StringComparison.Ordinal) && Interlocked.Increment(ref _packStreams) > 0 && Interlocked.Increment(ref _packGets) >= FailPackGetFrom
            ? throw new IOException($"injected fault: read of pack {key}")
            : inner.OpenReadAsync(key, offset, length, cancellationToken);

    public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

    public IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, CancellationToken cancellationToken = default) => inner.ListAsync(prefix, cancellationToken);

    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var n = Interlocked.Increment(ref _deletes);
        if (FailDeleteFrom is { } from && n >= from && !key.StartsWith("locks/", StringComparison.Ordinal))
        {
            throw new IOException($"injected fault: delete #{n} of {key}");
        }

        Deleted.Add(key);
        return inner.DeleteAsync(key, cancellationToken);
    }
}
