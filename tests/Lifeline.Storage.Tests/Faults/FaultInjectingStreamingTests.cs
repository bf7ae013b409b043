using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Faults;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.Faults;

/// <summary>Each fault kind on the streaming calls.</summary>
public sealed class FaultInjectingStreamingTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (FaultInjectingObjectStore Sut, FileSystemObjectStore Inner) CreateSut()
    {
        var inner = new FileSystemObjectStore(Path.Combine(_temp.Path, "store"));
        return (new FaultInjectingObjectStore(inner, seed: 5), inner);
    }

    [Fact]
    public async Task PutStreamAsync_Fail_ThrowsWithoutReadingTheStream()
    {
        var (sut, inner) = CreateSut();
        sut.Add(new FaultRule { Operation = ObjectStoreOperation.Put });
        var content = new GeneratedStream(100, 1);
        await Assert.ThrowsAsync<IOException>(() => sut.PutStreamAsync("k", content));
        Assert.Equal(0, content.Reads);
        Assert.Null(await inner.StatAsync("k"));
    }

    [Fact]
    public async Task PutStreamAsync_DropWrite_ReadsTheStreamAndStoresNothing()
    {
        var (sut, inner) = CreateSut();
        sut.Add(new FaultRule { Kind = FaultKind.DropWrite });
        var content = new MemoryStream(new byte[5000]);
        await sut.PutStreamAsync("k", content);
        Assert.Equal(5000, content.Position);
        Assert.True(await sut.PutStreamIfAbsentAsync("l", new MemoryStream(new byte[10])));
        Assert.Empty(await ConformanceListAsync(inner));
    }

    [Fact]
    public async Task PutStreamAsync_TearWrite_StoresThePrefix()
    {
        var (sut, inner) = CreateSut();
        sut.Add(new FaultRule { Kind = FaultKind.TearWrite, TearFraction = 0.25 });
        await sut.PutStreamAsync("k", new GeneratedStream(1000, 2));
        Assert.Equal(GeneratedStream.Bytes(1000, 2)[..250], await inner.GetAsync("k"));
    }

    [Fact]
    public async Task OpenReadAsync_CorruptRead_FlipsExactlyTheAskedNumberOfBytes()
    {
        var (sut, inner) = CreateSut();
        var data = GeneratedStream.Bytes(200_000, 3);
        await inner.PutAsync("k", data);
        sut.Add(new FaultRule { Kind = FaultKind.CorruptRead, CorruptBytes = 3 });
        await using var read = await sut.OpenReadAsync("k");
        Assert.Equal(data.Length, read.Length);
        var back = new MemoryStream();
        await read.CopyToAsync(back, 4096);
        var differing = data.Zip(back.ToArray()).Count(p => p.First != p.Second);
        Assert.Equal(3, differing);
    }

    private static async Task<List<string>> ConformanceListAsync(IObjectStore store)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(string.Empty))
        {
            keys.Add(info.Key);
        }

        return keys;
    }
}
