using System.Collections.Concurrent;
using System.Security.Cryptography;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.Conformance;

/// <summary>The streaming guarantees of <see cref="IObjectStore"/> (sequential, plus concurrent readers).</summary>
public abstract partial class ObjectStoreConformanceTests
{
    /// <summary>The part or block size the store under test was configured with (cloud stores: small, so that a few MiB span several parts).</summary>
    protected virtual int StreamPartSize => 1024 * 1024;

    private long MultiPartLength => (StreamPartSize * 5L / 2) + 123;

    protected static async Task<byte[]> HashOfStreamAsync(Stream stream)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await stream.ReadAsync(buffer)) > 0)
        {
            hash.AppendData(buffer, 0, n);
        }

        return hash.GetHashAndReset();
    }

    protected static Task<byte[]> HashOfGeneratedAsync(long length, int seed) => HashOfStreamAsync(new GeneratedStream(length, seed));

    [Fact]
    public async Task PutStreamAsync_SeveralPartsFromUnseekableStream_OpenReadReturnsSameBytes()
    {
        var store = await CreateSutAsync();
        await store.PutStreamAsync("packs/streamed", new GeneratedStream(MultiPartLength, seed: 7));
        Assert.Equal(MultiPartLength, (await store.StatAsync("packs/streamed"))!.Size);
        await using var read = await store.OpenReadAsync("packs/streamed");
        Assert.Equal(MultiPartLength, read.Length);
        Assert.Equal(await HashOfGeneratedAsync(MultiPartLength, 7), await HashOfStreamAsync(read));
        Assert.Equal(MultiPartLength, read.Position);
    }

    [Fact]
    public async Task PutStreamAsync_SmallAndEmptyStreams_RoundTripAndReplace()
    {
        var store = await CreateSutAsync();
        await store.PutStreamAsync("k", new MemoryStream(Utf8("first version")));
        await store.PutStreamAsync("k", new MemoryStream(Utf8("second")));
        Assert.Equal(Utf8("second"), await store.GetAsync("k"));
        await store.PutStreamAsync("empty", Stream.Null);
        await using var empty = await store.OpenReadAsync("empty");
        Assert.Equal(0, empty.Length);
        Assert.Equal(0, await empty.ReadAsync(new byte[10]));
    }

    [Fact]
    public async Task PutStreamIfAbsentAsync_NewThenExistingKey_TrueThenFalseAndKeepsFirst()
    {
        var store = await CreateSutAsync();
        Assert.True(await store.PutStreamIfAbsentAsync("commits/1", new GeneratedStream(MultiPartLength, seed: 1)));
        Assert.False(await store.PutStreamIfAbsentAsync("commits/1", new GeneratedStream(MultiPartLength, seed: 2)));
        Assert.False(await store.PutStreamIfAbsentAsync("commits/1", new MemoryStream(Utf8("small"))));
        await using var read = await store.OpenReadAsync("commits/1");
        Assert.Equal(await HashOfGeneratedAsync(MultiPartLength, 1), await HashOfStreamAsync(read));
        Assert.Equal(["commits/1"], (await ListAllAsync(store, "")).Select(i => i.Key));
    }

    [Fact]
    public async Task PutStreamAsync_StreamFailsAfterSeveralParts_ThrowsAndNothingVisible()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("kept", Utf8("old"));
        var failAt = (StreamPartSize * 3L / 2) + 7;
        var failing = new GeneratedStream(MultiPartLength, 3, failAt, () => throw new InvalidDataException("the upload broke"));
        await Assert.ThrowsAsync<InvalidDataException>(() => store.PutStreamAsync("kept", failing));
        var failingNew = new GeneratedStream(MultiPartLength, 3, failAt, () => throw new InvalidDataException("the upload broke"));
        await Assert.ThrowsAsync<InvalidDataException>(() => store.PutStreamIfAbsentAsync("new", failingNew));

        Assert.Equal(Utf8("old"), await store.GetAsync("kept"));
        Assert.Null(await store.StatAsync("new"));
        Assert.Equal(["kept"], (await ListAllAsync(store, "")).Select(i => i.Key));
    }

    [Fact]
    public async Task PutStreamAsync_CanceledPartWay_ThrowsAndNothingVisible()
    {
        var store = await CreateSutAsync();
        using var cts = new CancellationTokenSource();
        var stream = new GeneratedStream(MultiPartLength, 4, StreamPartSize + 1, cts.Cancel);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutStreamAsync("c", stream, cts.Token));
        Assert.Null(await store.StatAsync("c"));
        Assert.Empty(await ListAllAsync(store, ""));
    }

    [Fact]
    public async Task PutStreamAsync_CanceledToken_ThrowsWithoutReading()
    {
        var store = await CreateSutAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        var stream = new GeneratedStream(10, 5);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutStreamAsync("c", stream, cts.Token));
        Assert.Null(await store.StatAsync("c"));
    }

    [Fact]
    public async Task OpenReadAsync_Ranges_YieldThoseBytesWithTheirLength()
    {
        var store = await CreateSutAsync();
        var data = RandomBytes(100_000, seed: 9);
        await store.PutAsync("r", data);
        foreach (var (offset, length, expected) in new (long, long?, byte[])[]
        {
            (10, 1000, data[10..1010]),
            (99_000, null, data[99_000..]),
            (99_990, 50, data[99_990..]),
            (100_000, 10, []),
            (200_000, null, []),
            (5, 0, []),
        })
        {
            await using var read = await store.OpenReadAsync("r", offset, length);
            Assert.Equal(expected.Length, read.Length);
            var back = new MemoryStream();
            await read.CopyToAsync(back);
            Assert.Equal(expected, back.ToArray());
        }
    }

    [Fact]
    public async Task OpenReadAsync_MissingKeyOrBadRange_Throws()
    {
        var store = await CreateSutAsync();
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync("missing"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync("missing", 10, 5));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync("missing", 0, 0));
        await store.PutAsync("k", Utf8("abc"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.OpenReadAsync("k", -1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.OpenReadAsync("k", 0, -1));
    }

    [Fact]
    public async Task OpenReadAsync_ConcurrentReaders_EachReadsWholeObject()
    {
        var store = await CreateSutAsync();
        await store.PutStreamAsync("shared", new GeneratedStream(MultiPartLength, seed: 11));
        var expected = await HashOfGeneratedAsync(MultiPartLength, 11);
        var streams = new List<ObjectReadStream>();
        for (var i = 0; i < 4; i++)
        {
            streams.Add(await store.OpenReadAsync("shared"));
        }

        // All open at once, read interleaved in small steps.
        var hashes = new ConcurrentBag<byte[]>();
        await Task.WhenAll(streams.Select(s => Task.Run(async () =>
        {
            await using (s)
            {
                hashes.Add(await HashOfStreamAsync(s));
            }
        })));
        Assert.Equal(4, hashes.Count);
        Assert.All(hashes, h => Assert.Equal(expected, h));
    }
}

/// <summary>The streaming guarantees that need a backend with atomic replacement.</summary>
public abstract partial class ObjectStoreConcurrencyConformanceTests
{
    [Fact]
    public async Task OpenReadAsync_ObjectReplacedWhileReading_StreamYieldsTheVersionItOpened()
    {
        var store = await CreateSutAsync();
        var first = Enumerable.Repeat((byte)'A', 300_000).ToArray();
        await store.PutAsync("v", first);
        await using var read = await store.OpenReadAsync("v");
        var head = new byte[1000];
        await read.ReadExactlyAsync(head);
        await store.PutStreamAsync("v", new MemoryStream(Enumerable.Repeat((byte)'B', 200_000).ToArray()));
        var rest = new MemoryStream();
        try
        {
            await read.CopyToAsync(rest);
        }
        catch (IOException)
        {
            return; // allowed: the backend could no longer serve the version it opened
        }

        Assert.Equal(300_000, 1000 + rest.Length);
        Assert.True(rest.ToArray().All(b => b == 'A'), "the stream mixed versions");
    }

    [Fact]
    public async Task PutStreamIfAbsentAsync_RacingStreamedWriters_ExactlyOneWins()
    {
        var store = await CreateSutAsync();
        var length = StreamPartSize + 4096L; // two parts each: the decision falls at the commit
        var results = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => Task.Run(() => store.PutStreamIfAbsentAsync("race", new GeneratedStream(length, 100 + i)))));
        Assert.Single(results, r => r);
        var winner = Array.IndexOf(results, true);
        await using var read = await store.OpenReadAsync("race");
        Assert.Equal(await HashOfGeneratedAsync(length, 100 + winner), await HashOfStreamAsync(read));
    }
}
