using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Faults;
using Lifeline.Storage.Resilience;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.Resilience;

/// <summary>Retries of streaming calls: only content that can be replayed is put again.</summary>
public sealed class RetryingObjectStoreStreamingTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (RetryingObjectStore Sut, FaultInjectingObjectStore Faults) CreateSut()
    {
        var faults = new FaultInjectingObjectStore(new FileSystemObjectStore(Path.Combine(_temp.Path, "store")), seed: 3);
        return (new RetryingObjectStore(faults, new RetryOptions { BaseDelay = TimeSpan.Zero, MaxRetryAttempts = 3 }), faults);
    }

    [Fact]
    public async Task PutStreamAsync_SeekableStreamFailsAfterBeingRead_RetriedFromItsStartingPosition()
    {
        var (sut, faults) = CreateSut();
        faults.Add(new FaultRule { Kind = FaultKind.FailAfterWrite, Operation = ObjectStoreOperation.Put, NthCall = 1 });
        var content = new MemoryStream("..payload"u8.ToArray()) { Position = 2 };
        await sut.PutStreamAsync("k", content);
        Assert.Single(faults.Injected); // one fault, then the successful retry
        Assert.Equal("payload"u8.ToArray(), await sut.GetAsync("k"));
    }

    [Fact]
    public async Task PutStreamAsync_UnseekableStreamFailsAfterBeingRead_NotRetried()
    {
        var (sut, faults) = CreateSut();
        faults.Add(new FaultRule { Kind = FaultKind.FailAfterWrite, Operation = ObjectStoreOperation.Put });
        await Assert.ThrowsAsync<IOException>(() => sut.PutStreamAsync("k", new GeneratedStream(1000, 1)));
        Assert.Single(faults.Injected);
    }

    [Fact]
    public async Task PutStreamAsync_UnseekableStreamFailsBeforeBeingRead_RetriedAndStored()
    {
        var (sut, faults) = CreateSut();
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.Put, MaxHits = 2 });
        await sut.PutStreamAsync("k", new GeneratedStream(1000, 2));
        Assert.Equal(2, faults.Injected.Count);
        Assert.Equal(GeneratedStream.Bytes(1000, 2), await sut.GetAsync("k"));
    }

    [Fact]
    public async Task PutStreamIfAbsentAsync_ResponseLostAfterWrite_ReturnsTrueBecauseTheObjectHoldsOurBytes()
    {
        var (sut, faults) = CreateSut();
        faults.Add(new FaultRule { Kind = FaultKind.FailAfterWrite, Operation = ObjectStoreOperation.PutIfAbsent, NthCall = 1 });
        Assert.True(await sut.PutStreamIfAbsentAsync("lock", new MemoryStream("owner-1"u8.ToArray())));
        Assert.False(await sut.PutStreamIfAbsentAsync("lock", new MemoryStream("owner-2"u8.ToArray())));
        Assert.Equal("owner-1"u8.ToArray(), await sut.GetAsync("lock"));
    }

    [Fact]
    public async Task OpenReadAsync_TransientFailuresOnOpen_Retried()
    {
        var (sut, faults) = CreateSut();
        await sut.PutAsync("k", "v"u8.ToArray());
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.Get, MaxHits = 2 });
        await using var read = await sut.OpenReadAsync("k");
        Assert.Equal(1, read.Length);
        Assert.Equal(2, faults.Injected.Count);
    }
}
