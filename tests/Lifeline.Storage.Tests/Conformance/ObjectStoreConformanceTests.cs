using System.Security.Cryptography;
using System.Text;

namespace Lifeline.Storage.Tests.Conformance;

/// <summary>
/// The guarantees of <see cref="IObjectStore"/>, checked against a real backend. Every store derives a class from
/// this one; each test gets a fresh, empty store from <see cref="CreateSutAsync"/>.
/// </summary>
public abstract partial class ObjectStoreConformanceTests
{
    /// <summary>Returns a fresh, empty store (a new directory, container or key prefix) for one test.</summary>
    protected abstract Task<IObjectStore> CreateSutAsync();

    protected static byte[] RandomBytes(int count, int seed)
    {
        var bytes = new byte[count];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    protected static byte[] Utf8(string text) => Encoding.UTF8.GetBytes(text);

    protected static async Task<List<ObjectInfo>> ListAllAsync(IObjectStore store, string prefix)
    {
        var list = new List<ObjectInfo>();
        await foreach (var info in store.ListAsync(prefix))
        {
            list.Add(info);
        }

        return list;
    }

    // ---------------------------------------------------------------- put and get

    [Fact]
    public async Task PutAsync_SmallObject_GetReturnsSameBytes()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("a/b/c.txt", Utf8("hello"));
        Assert.Equal(Utf8("hello"), await store.GetAsync("a/b/c.txt"));
    }

    [Fact]
    public async Task PutAsync_EmptyObject_GetReturnsEmptyAndStatSizeZero()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("empty", ReadOnlyMemory<byte>.Empty);
        Assert.Empty(await store.GetAsync("empty"));
        var info = await store.StatAsync("empty");
        Assert.NotNull(info);
        Assert.Equal(0, info.Size);
    }

    [Fact]
    public async Task PutAsync_MultiMebibyteObject_GetReturnsSameBytes()
    {
        var store = await CreateSutAsync();
        var data = RandomBytes((5 * 1024 * 1024) + 123, seed: 1);
        await store.PutAsync("packs/big", data);
        var back = await store.GetAsync("packs/big");
        Assert.Equal(data.Length, back.Length);
        Assert.True(SHA256.HashData(data).AsSpan().SequenceEqual(SHA256.HashData(back)), "content differs");
    }

    [Fact]
    public async Task PutAsync_ExistingKey_ReplacesWholeObject()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("k", RandomBytes(10_000, 2));
        var second = RandomBytes(77, 3);
        await store.PutAsync("k", second);
        Assert.Equal(second, await store.GetAsync("k"));
        Assert.Equal(77, (await store.StatAsync("k"))!.Size);
    }

    [Fact]
    public async Task PutAsync_KeysWithSpacesPunctuationAndUnicode_RoundTripAndList()
    {
        var store = await CreateSutAsync();
        string[] keys = ["odd/a b", "odd/c#d", "odd/e%20f", "odd/g+h", "odd/i=j&k", "odd/l;m,n", "odd/ünï/cödé", "odd/x~y_z.parquet", "odd/part-00000-id.c000.snappy.parquet"];
        foreach (var key in keys)
        {
            await store.PutAsync(key, Utf8(key));
        }

        foreach (var key in keys)
        {
            Assert.Equal(Utf8(key), await store.GetAsync(key));
            Assert.Equal(Encoding.UTF8.GetByteCount(key), (await store.StatAsync(key))!.Size);
        }

        Assert.Equal(keys.Order(KeyOrder.Instance).ToArray(), (await ListAllAsync(store, "odd/")).Select(i => i.Key).ToArray());
    }

    [Fact]
    public async Task PutAsync_CanceledToken_ThrowsAndStoresNothing()
    {
        var store = await CreateSutAsync();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("c", Utf8("x"), cts.Token));
        Assert.Null(await store.StatAsync("c"));
    }

    // ---------------------------------------------------------------- put-if-absent

    [Fact]
    public async Task PutIfAbsentAsync_NewKey_ReturnsTrueAndStores()
    {
        var store = await CreateSutAsync();
        Assert.True(await store.PutIfAbsentAsync("locks/l1", Utf8("me")));
        Assert.Equal(Utf8("me"), await store.GetAsync("locks/l1"));
    }

    [Fact]
    public async Task PutIfAbsentAsync_ExistingKey_ReturnsFalseAndKeepsContent()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("locks/l1", Utf8("first"));
        Assert.False(await store.PutIfAbsentAsync("locks/l1", Utf8("second")));
        Assert.Equal(Utf8("first"), await store.GetAsync("locks/l1"));
    }

    [Fact]
    public async Task PutIfAbsentAsync_EmptyObject_ReturnsTrueThenFalse()
    {
        var store = await CreateSutAsync();
        Assert.True(await store.PutIfAbsentAsync("e", ReadOnlyMemory<byte>.Empty));
        Assert.False(await store.PutIfAbsentAsync("e", Utf8("x")));
        Assert.Empty(await store.GetAsync("e"));
    }

    [Fact]
    public async Task PutIfAbsentAsync_AfterDelete_ReturnsTrue()
    {
        var store = await CreateSutAsync();
        Assert.True(await store.PutIfAbsentAsync("k", Utf8("1")));
        await store.DeleteAsync("k");
        Assert.True(await store.PutIfAbsentAsync("k", Utf8("2")));
        Assert.Equal(Utf8("2"), await store.GetAsync("k"));
    }

    // ---------------------------------------------------------------- ranged get

    [Fact]
    public async Task GetAsync_MissingKey_ThrowsObjectNotFound()
    {
        var store = await CreateSutAsync();
        var e = await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("no/such"));
        Assert.Equal("no/such", e.Key);
    }

    [Fact]
    public async Task GetAsync_MissingKeyWithRange_ThrowsObjectNotFound()
    {
        var store = await CreateSutAsync();
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("no/such", 5, 10));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("no/such", 0, 0));
    }

    [Fact]
    public async Task TryGetAsync_MissingKeyOrAFolderOfKeys_ReturnsNull()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("a/b/c", Utf8("c"));
        Assert.Null(await store.TryGetAsync("no/such"));
        Assert.Null(await store.TryGetAsync("a/b"));
        Assert.Null(await store.TryGetAsync("a"));
    }

    [Fact]
    public async Task TryGetAsync_ExistingKey_ReturnsWhatGetReturns()
    {
        var store = await CreateSutAsync();
        var data = RandomBytes(70_000, seed: 11);
        await store.PutAsync("d/k", data);
        await store.PutAsync("d/empty", ReadOnlyMemory<byte>.Empty);
        Assert.Equal(data, await store.TryGetAsync("d/k"));
        Assert.Equal(await store.GetAsync("d/k"), await store.TryGetAsync("d/k"));
        Assert.Equal(Array.Empty<byte>(), await store.TryGetAsync("d/empty"));
        await store.DeleteAsync("d/k");
        Assert.Null(await store.TryGetAsync("d/k"));
    }

    [Fact]
    public async Task GetAsync_OffsetAndLength_ReturnsThatSlice()
    {
        var store = await CreateSutAsync();
        var data = RandomBytes(100_000, 4);
        await store.PutAsync("r", data);
        Assert.Equal(data.AsSpan(1000, 5000).ToArray(), await store.GetAsync("r", 1000, 5000));
        Assert.Equal(data.AsSpan(0, 1).ToArray(), await store.GetAsync("r", 0, 1));
        Assert.Equal(data.AsSpan(99_999, 1).ToArray(), await store.GetAsync("r", 99_999, 1));
    }

    [Fact]
    public async Task GetAsync_OffsetWithoutLength_ReturnsTail()
    {
        var store = await CreateSutAsync();
        var data = RandomBytes(10_000, 5);
        await store.PutAsync("r", data);
        Assert.Equal(data.AsSpan(7_000).ToArray(), await store.GetAsync("r", 7_000));
    }

    [Fact]
    public async Task GetAsync_LengthBeyondEnd_IsClipped()
    {
        var store = await CreateSutAsync();
        var data = RandomBytes(1_000, 6);
        await store.PutAsync("r", data);
        Assert.Equal(data.AsSpan(900).ToArray(), await store.GetAsync("r", 900, 500));
        Assert.Equal(data, await store.GetAsync("r", 0, long.MaxValue / 2));
    }

    [Fact]
    public async Task GetAsync_OffsetAtOrBeyondEnd_ReturnsEmpty()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("r", RandomBytes(1_000, 7));
        Assert.Empty(await store.GetAsync("r", 1_000));
        Assert.Empty(await store.GetAsync("r", 5_000, 10));
        Assert.Empty(await store.GetAsync("r", 10, 0));
    }

    [Fact]
    public async Task GetAsync_RangeOfEmptyObject_ReturnsEmpty()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("e", ReadOnlyMemory<byte>.Empty);
        Assert.Empty(await store.GetAsync("e", 0, 10));
        Assert.Empty(await store.GetAsync("e", 3));
    }

    [Fact]
    public async Task GetAsync_NegativeOffsetOrLength_ThrowsArgumentOutOfRange()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("r", Utf8("abc"));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetAsync("r", -1));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetAsync("r", 0, -1));
    }

    // ---------------------------------------------------------------- stat

    [Fact]
    public async Task StatAsync_ExistingObject_ReturnsKeySizeAndRecentTime()
    {
        var store = await CreateSutAsync();
        var before = DateTimeOffset.UtcNow.AddMinutes(-5);
        await store.PutAsync("s/t", RandomBytes(4321, 8));
        var info = await store.StatAsync("s/t");
        Assert.NotNull(info);
        Assert.Equal("s/t", info.Key);
        Assert.Equal(4321, info.Size);
        Assert.InRange(info.LastModified, before, DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task StatAsync_MissingKey_ReturnsNull()
    {
        var store = await CreateSutAsync();
        Assert.Null(await store.StatAsync("nothing/here"));
        await store.PutAsync("nothing/else", Utf8("x"));
        Assert.Null(await store.StatAsync("nothing"));
    }

    // ---------------------------------------------------------------- list

    [Fact]
    public async Task ListAsync_Prefix_YieldsOnlyMatchingKeysInOrdinalOrder()
    {
        var store = await CreateSutAsync();
        // Chosen so that ordinal order differs from culture-aware order and from "folders first" or "files first"
        // order: '-' < '/' < '0' < 'A' < 'a' < 'é'. No key is a folder of another key (see IObjectStore).
        string[] keys = ["a/b", "a/B", "a-x", "a/c/e", "a/c-x", "a/c0", "a0", "a/a", "b", "A", "a/é", "a/z", "ab/c", "a/c/d/e0", "a/c/d-"];
        foreach (var key in keys)
        {
            await store.PutAsync(key, Utf8(key));
        }

        var listed = await ListAllAsync(store, "a");
        var expected = keys.Where(k => k.StartsWith('a')).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        Assert.Equal(expected, listed.Select(i => i.Key).ToArray());
        Assert.All(listed, i => Assert.Equal(Encoding.UTF8.GetByteCount(i.Key), i.Size));
    }

    [Fact]
    public async Task ListAsync_EmptyPrefix_YieldsAllKeysInOrdinalOrder()
    {
        var store = await CreateSutAsync();
        string[] keys = ["z", "data/00/ab", "data/00/aa", "data/01/00", "index/1", "config", "Data"];
        foreach (var key in keys)
        {
            await store.PutAsync(key, Utf8(key));
        }

        var listed = await ListAllAsync(store, string.Empty);
        Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal).ToArray(), listed.Select(i => i.Key).ToArray());
    }

    [Fact]
    public async Task ListAsync_PrefixEndingMidSegment_MatchesPlainStringPrefix()
    {
        var store = await CreateSutAsync();
        string[] keys = ["snap/ab", "snap/abc", "snap/abd/x", "snap/ab-", "snap/a", "snap/b"];
        foreach (var key in keys)
        {
            await store.PutAsync(key, Utf8(key));
        }

        var listed = await ListAllAsync(store, "snap/ab");
        Assert.Equal(["snap/ab", "snap/ab-", "snap/abc", "snap/abd/x"], listed.Select(i => i.Key).ToArray());
        Assert.Equal(["snap/abd/x"], (await ListAllAsync(store, "snap/abd/")).Select(i => i.Key).ToArray());
        Assert.Equal(["snap/abd/x"], (await ListAllAsync(store, "snap/abd/x")).Select(i => i.Key).ToArray());
    }

    [Fact]
    public async Task ListAsync_NoMatch_YieldsNothing()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("a/b", Utf8("x"));
        Assert.Empty(await ListAllAsync(store, "b"));
        Assert.Empty(await ListAllAsync(store, "a/b/"));
        Assert.Empty(await ListAllAsync(store, "a/b/c/"));
        Assert.Empty(await ListAllAsync(store, "zzz/"));
    }

    [Fact]
    public async Task ListAsync_ManyKeys_YieldsEachOnceInOrder()
    {
        var store = await CreateSutAsync();
        var keys = Enumerable.Range(0, 120).Select(i => $"data/{i % 7:x2}/{i * 7919 % 1000:D4}-{i}").ToArray();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, ct) => await store.PutAsync(key, Utf8(key), ct));
        var listed = (await ListAllAsync(store, "data/")).Select(i => i.Key).ToArray();
        Assert.Equal(keys.OrderBy(k => k, StringComparer.Ordinal).ToArray(), listed);
    }

    [Fact]
    public async Task ListAsync_DuringConcurrentPuts_NeverYieldsTemporaryOrForeignKeys()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("stable/0", Utf8("s"));
        var keys = Enumerable.Range(0, 40).Select(i => $"stable/w{i:D2}").ToHashSet();
        var writer = Task.Run(async () =>
        {
            foreach (var key in keys)
            {
                await store.PutAsync(key, RandomBytes(20_000, key.GetHashCode(StringComparison.Ordinal)));
            }
        });

        var listings = 0;
        while (!writer.IsCompleted || listings < 3)
        {
            var listed = await ListAllAsync(store, string.Empty);
            listings++;
            Assert.Contains(listed, i => i.Key == "stable/0");
            Assert.All(listed, i => Assert.True(i.Key == "stable/0" || keys.Contains(i.Key), $"unexpected key '{i.Key}' listed"));
            Assert.Equal(listed.Select(i => i.Key).Distinct().Count(), listed.Count);
        }

        await writer;
        Assert.Equal(41, (await ListAllAsync(store, "stable/")).Count);
    }

    // ---------------------------------------------------------------- delete

    [Fact]
    public async Task DeleteAsync_ExistingKey_RemovesIt()
    {
        var store = await CreateSutAsync();
        await store.PutAsync("d/x", Utf8("x"));
        await store.PutAsync("d/y", Utf8("y"));
        await store.DeleteAsync("d/x");
        Assert.Null(await store.StatAsync("d/x"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("d/x"));
        Assert.Equal(["d/y"], (await ListAllAsync(store, string.Empty)).Select(i => i.Key).ToArray());
    }

    [Fact]
    public async Task DeleteAsync_MissingKey_Succeeds()
    {
        var store = await CreateSutAsync();
        await store.DeleteAsync("never/was");
        await store.DeleteAsync("never");
        await store.PutAsync("x", Utf8("x"));
        await store.DeleteAsync("x");
        await store.DeleteAsync("x");
        Assert.Empty(await ListAllAsync(store, string.Empty));
    }

    // ---------------------------------------------------------------- keys

    public static TheoryData<string> InvalidKeys => new() { "", "../x", "/a", "a//b", "a/", "./a", "a/./b", "a/../b", "..", "a\\b" };

    [Theory]
    [MemberData(nameof(InvalidKeys))]
    public async Task AllOperations_InvalidKey_ThrowArgumentException(string key)
    {
        var store = await CreateSutAsync();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.PutAsync(key, Utf8("x")));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.PutIfAbsentAsync(key, Utf8("x")));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.GetAsync(key));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.TryGetAsync(key));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.StatAsync(key));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.DeleteAsync(key));
        Assert.Empty(await ListAllAsync(store, string.Empty));
    }

    [Fact]
    public async Task Location_Always_IsNonEmptyAndHasNoSecrets()
    {
        var store = await CreateSutAsync();
        Assert.False(string.IsNullOrWhiteSpace(store.Location));
        Assert.DoesNotContain("AccountKey", store.Location, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("secret", store.Location, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("sig=", store.Location, StringComparison.OrdinalIgnoreCase);
    }
}
