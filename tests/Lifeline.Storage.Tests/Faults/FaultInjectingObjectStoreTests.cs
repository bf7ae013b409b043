using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Faults;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.Faults;

public sealed class FaultInjectingObjectStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (FaultInjectingObjectStore Sut, FileSystemObjectStore Inner, RecordingLogger Log) CreateSut(int seed = 1)
    {
        var inner = new FileSystemObjectStore(Path.Combine(_temp.Path, "store"));
        var log = new RecordingLogger();
        return (new FaultInjectingObjectStore(inner, seed, log), inner, log);
    }

    [Fact]
    public async Task PutAsync_NthCallRule_FailsExactlyTheThirdPutAndWritesNothingForIt()
    {
        var (sut, inner, log) = CreateSut();
        sut.Add(new FaultRule { Operation = ObjectStoreOperation.Put, NthCall = 3 });
        await sut.PutAsync("a", new byte[] { 1 });
        await sut.PutAsync("b", new byte[] { 2 });
        await Assert.ThrowsAsync<IOException>(() => sut.PutAsync("c", new byte[] { 3 }));
        await sut.PutAsync("d", new byte[] { 4 });
        Assert.Null(await inner.StatAsync("c"));
        Assert.NotNull(await inner.StatAsync("d"));
        Assert.Equal([new InjectedFault(ObjectStoreOperation.Put, "c", FaultKind.Fail, 3)], sut.Injected);
        Assert.Single(log.Entries, e => e.EventId == 1010);
    }

    [Fact]
    public async Task AnyOperation_NthCallWithoutOperation_CountsEveryOperation()
    {
        var (sut, _, _) = CreateSut();
        sut.Add(new FaultRule { NthCall = 2 });
        await sut.PutAsync("a", new byte[] { 1 });
        await Assert.ThrowsAsync<IOException>(() => sut.StatAsync("a"));
        Assert.NotNull(await sut.StatAsync("a"));
    }

    [Fact]
    public async Task GetAsync_KeyPrefixRule_HitsOnlyMatchingKeys()
    {
        var (sut, _, _) = CreateSut();
        await sut.PutAsync("data/x", new byte[] { 1 });
        await sut.PutAsync("index/x", new byte[] { 2 });
        sut.Add(new FaultRule { Operation = ObjectStoreOperation.Get, KeyPrefix = "data/" });
        Assert.Equal([2], await sut.GetAsync("index/x"));
        await Assert.ThrowsAsync<IOException>(() => sut.GetAsync("data/x"));
    }

    [Fact]
    public async Task GetAsync_CorruptRead_FlipsTheConfiguredNumberOfBytesAndLeavesTheStoreIntact()
    {
        var (sut, inner, _) = CreateSut();
        var data = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        await sut.PutAsync("k", data);
        sut.Add(new FaultRule { Kind = FaultKind.CorruptRead, CorruptBytes = 3, MaxHits = 1 });
        var corrupted = await sut.GetAsync("k");
        Assert.Equal(3, corrupted.Zip(data).Count(p => p.First != p.Second));
        Assert.Equal(data, await sut.GetAsync("k"));
        Assert.Equal(data, await inner.GetAsync("k"));
    }

    [Fact]
    public async Task PutAsync_DropWrite_ReportsSuccessButStoresNothing()
    {
        var (sut, inner, _) = CreateSut();
        sut.Add(new FaultRule { Kind = FaultKind.DropWrite, KeyPrefix = "packs/" });
        await sut.PutAsync("packs/1", new byte[] { 1, 2, 3 });
        Assert.True(await sut.PutIfAbsentAsync("packs/2", new byte[] { 1 }));
        await sut.PutAsync("config", new byte[] { 9 });
        Assert.Null(await inner.StatAsync("packs/1"));
        Assert.Null(await inner.StatAsync("packs/2"));
        Assert.NotNull(await inner.StatAsync("config"));
    }

    [Fact]
    public async Task PutAsync_TearWrite_StoresOnlyThePrefix()
    {
        var (sut, inner, _) = CreateSut();
        sut.Add(new FaultRule { Kind = FaultKind.TearWrite, TearFraction = 0.25, NthCall = 1 });
        var data = new byte[1000];
        Random.Shared.NextBytes(data);
        await sut.PutAsync("k", data);
        Assert.Equal(data.AsSpan(0, 250).ToArray(), await inner.GetAsync("k"));
    }

    [Fact]
    public async Task PutIfAbsentAsync_FailAfterWrite_WritesThenThrows()
    {
        var (sut, inner, _) = CreateSut();
        sut.Add(new FaultRule { Kind = FaultKind.FailAfterWrite, NthCall = 1 });
        await Assert.ThrowsAsync<IOException>(() => sut.PutIfAbsentAsync("lock", new byte[] { 7 }));
        Assert.Equal([7], await inner.GetAsync("lock"));
    }

    [Fact]
    public async Task ListAsync_FailRule_ThrowsWhenTheListingStarts()
    {
        var (sut, _, _) = CreateSut();
        await sut.PutAsync("a", new byte[] { 1 });
        sut.Add(new FaultRule { Operation = ObjectStoreOperation.List, NthCall = 1, Exception = _ => new TimeoutException("list timed out") });
        await Assert.ThrowsAsync<TimeoutException>(async () =>
        {
            await foreach (var unused in sut.ListAsync(string.Empty))
            {
            }
        });
        Assert.Single(await ToListAsync(sut.ListAsync(string.Empty)));
    }

    [Fact]
    public async Task DeleteAsync_FailRule_KeepsTheObject()
    {
        var (sut, inner, _) = CreateSut();
        await sut.PutAsync("a", new byte[] { 1 });
        sut.Add(new FaultRule { Operation = ObjectStoreOperation.Delete });
        await Assert.ThrowsAsync<IOException>(() => sut.DeleteAsync("a"));
        Assert.NotNull(await inner.StatAsync("a"));
        sut.Clear();
        await sut.DeleteAsync("a");
        Assert.Null(await inner.StatAsync("a"));
    }

    [Fact]
    public async Task StatAsync_ProbabilityWithSeed_IsReproducibleAndNearTheRate()
    {
        async Task<bool[]> RunAsync(int seed)
        {
            var (sut, _, _) = CreateSut(seed);
            sut.Add(new FaultRule { Operation = ObjectStoreOperation.Stat, Probability = 0.3 });
            var outcomes = new bool[400];
            for (var i = 0; i < outcomes.Length; i++)
            {
                try
                {
                    await sut.StatAsync("k");
                }
                catch (IOException)
                {
                    outcomes[i] = true;
                }
            }

            return outcomes;
        }

        var first = await RunAsync(42);
        Assert.Equal(first, await RunAsync(42));
        Assert.NotEqual(first, await RunAsync(43));
        Assert.InRange(first.Count(f => f), 80, 160); // 0.3 * 400 = 120
    }

    [Fact]
    public async Task PutAsync_ConcurrentCallersWithNthCallRule_ExactlyOneFails()
    {
        var (sut, _, _) = CreateSut();
        sut.Add(new FaultRule { Operation = ObjectStoreOperation.Put, NthCall = 17 });
        var results = await Task.WhenAll(Enumerable.Range(0, 64).Select(i => Task.Run(async () =>
        {
            try
            {
                await sut.PutAsync($"k/{i}", new byte[] { 1 });
                return true;
            }
            catch (IOException)
            {
                return false;
            }
        })));
        Assert.Equal(1, results.Count(r => !r));
        Assert.Single(sut.Injected);
    }

    [Fact]
    public void Add_KindThatCannotApplyToOperation_ThrowsArgumentException()
    {
        var (sut, _, _) = CreateSut();
        Assert.Throws<ArgumentException>(() => sut.Add(new FaultRule { Kind = FaultKind.CorruptRead, Operation = ObjectStoreOperation.Put }));
        Assert.Throws<ArgumentException>(() => sut.Add(new FaultRule { Probability = 1.5 }));
        Assert.Throws<ArgumentException>(() => sut.Add(new FaultRule { NthCall = 0 }));
    }

    private static async Task<List<ObjectInfo>> ToListAsync(IAsyncEnumerable<ObjectInfo> items)
    {
        var list = new List<ObjectInfo>();
        await foreach (var item in items)
        {
            list.Add(item);
        }

        return list;
    }
}
