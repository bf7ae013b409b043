using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.FileSystem;

/// <summary>File-system specifics the shared suite cannot see: temporary files, layout on disk, crash leftovers.</summary>
public sealed class FileSystemObjectStoreTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    private FileSystemObjectStore CreateSut() => new(Path.Combine(_temp.Path, "store"));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task ListAsync_CrashLeftoverTemporaryFile_IsNotListed()
    {
        var store = CreateSut();
        await store.PutAsync("data/ab/pack1", "x"u8.ToArray());
        // What a process killed between writing and renaming leaves behind.
        await File.WriteAllTextAsync(Path.Combine(store.Root, "data", "ab", ".tmp-0123456789abcdef"), "partial");
        await File.WriteAllTextAsync(Path.Combine(store.Root, ".tmp-fedcba"), "partial");

        var keys = new List<string>();
        await foreach (var info in store.ListAsync(string.Empty))
        {
            keys.Add(info.Key);
        }

        Assert.Equal(["data/ab/pack1"], keys);
    }

    [Fact]
    public async Task PutAsync_Success_LeavesNoTemporaryFiles()
    {
        var store = CreateSut();
        await store.PutAsync("a/b", new byte[1000]);
        Assert.True(await store.PutIfAbsentAsync("a/c", new byte[10]));
        Assert.False(await store.PutIfAbsentAsync("a/c", new byte[10]));
        var files = Directory.GetFiles(store.Root, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(store.Root, f)).Order(StringComparer.Ordinal);
        Assert.Equal(["a/b", "a/c"], files);
    }

    [Fact]
    public async Task AllOperations_ReservedTemporaryName_ThrowArgumentException()
    {
        var store = CreateSut();
        await Assert.ThrowsAsync<ArgumentException>(() => store.PutAsync("a/.tmp-x", new byte[1]));
        await Assert.ThrowsAsync<ArgumentException>(() => store.GetAsync(".tmp-x"));
    }

    [Fact]
    public async Task PutAsync_KeyWithSlashes_StoresFileAtThatRelativePath()
    {
        var store = CreateSut();
        await store.PutAsync("snapshots/2026/abc", "hi"u8.ToArray());
        Assert.Equal("hi", await File.ReadAllTextAsync(Path.Combine(store.Root, "snapshots", "2026", "abc")));
        Assert.StartsWith("file:///", store.Location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ListAsync_PrefixWithDotDotSegment_ThrowsArgumentException()
    {
        var store = CreateSut();
        await Assert.ThrowsAsync<ArgumentException>(async () =>
        {
            await foreach (var unused in store.ListAsync("../"))
            {
            }
        });
    }

    [Fact]
    public async Task PutIfAbsentAsync_ManyRoundsOfRaces_ExactlyOneWinnerEachRound()
    {
        // The link(2)-based no-replace move, hammered harder than the shared suite does.
        var store = CreateSut();
        for (var round = 0; round < 50; round++)
        {
            var key = $"locks/{round}";
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var racers = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
            {
                await start.Task;
                return await store.PutIfAbsentAsync(key, new[] { (byte)i });
            })).ToArray();
            start.SetResult();
            var wins = await Task.WhenAll(racers);
            Assert.Equal(1, wins.Count(w => w));
            var winner = Array.IndexOf(wins, true);
            Assert.Equal(new[] { (byte)winner }, await store.GetAsync(key));
        }
    }

    [Fact]
    public async Task PutAsync_KeyBelowExistingObject_ThrowsInvalidOperationAndStoresNothing()
    {
        var store = CreateSut();
        await store.PutAsync("a/b", "x"u8.ToArray());
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => store.PutAsync("a/b/c", "y"u8.ToArray()));
        Assert.Contains("a/b", e.Message, StringComparison.Ordinal);
        Assert.Equal("x"u8.ToArray(), await store.GetAsync("a/b"));
        Assert.Null(await store.StatAsync("a/b/c"));
    }

    [Fact]
    public async Task PutAsync_KeyThatIsAFolderOfOtherKeys_ThrowsInvalidOperationAndReadsAsMissing()
    {
        var store = CreateSut();
        await store.PutAsync("a/b/c", "x"u8.ToArray());
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.PutAsync("a/b", "y"u8.ToArray()));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.PutIfAbsentAsync("a/b", "y"u8.ToArray()));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("a/b"));
        Assert.Null(await store.StatAsync("a/b"));
        await store.DeleteAsync("a/b");
        Assert.Equal("x"u8.ToArray(), await store.GetAsync("a/b/c"));
        Assert.Empty(Directory.GetFiles(Path.Combine(store.Root, "a"), ".tmp-*", SearchOption.AllDirectories));
    }

    [Fact]
    public async Task OpenReadAsync_SparseObjectPast2GiB_ReadsRangesBeyondTheArrayLimit()
    {
        using var temp = new TempDirectory();
        var store = new FileSystemObjectStore(temp.Path);
        const long size = (3L * 1024 * 1024 * 1024) + 17; // sparse: costs no disk
        var marker = "end of a very large pack"u8.ToArray();
        using (var file = File.OpenHandle(Path.Combine(temp.Path, "huge"), FileMode.CreateNew, FileAccess.Write))
        {
            RandomAccess.SetLength(file, size);
            RandomAccess.Write(file, marker, size - marker.Length);
        }

        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetAsync("huge"));
        Assert.Contains("OpenReadAsync", e.Message, StringComparison.Ordinal);
        await using (var whole = await store.OpenReadAsync("huge"))
        {
            Assert.Equal(size, whole.Length);
        }

        await using var tail = await store.OpenReadAsync("huge", size - marker.Length - 3);
        Assert.Equal(marker.Length + 3, tail.Length);
        var back = new byte[tail.Length];
        await tail.ReadExactlyAsync(back);
        Assert.Equal([0, 0, 0, .. marker], back);
        Assert.Equal(0, await tail.ReadAsync(new byte[1]));
    }

    [Fact]
    public async Task PutStream_ConcurrentClashingKeys_SucceedOrFolderConflictNeverIOException()
    {
        // "a/b", "a/b/c" and "a/b/c/d" written at once: whichever lands first, the others get the documented
        // folder conflict (InvalidOperationException), never the IOException of a race between the check and the rename
        var store = new FileSystemObjectStore(Path.Combine(_temp.Path, "clash"));
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 200).SelectMany(i => new[] { $"r{i}/b", $"r{i}/b/c", $"r{i}/b/c/d" }).Select(async key =>
        {
            await Task.Yield();
            try
            {
                await store.PutStreamAsync(key, new MemoryStream("bytes"u8.ToArray()));
                return "ok";
            }
            catch (InvalidOperationException)
            {
                return "conflict";
            }
            catch (Exception e)
            {
                return $"{key}: {e.GetType().Name}: {e.Message}";
            }
        }));

        Assert.All(outcomes, o => Assert.True(o is "ok" or "conflict", o));
        Assert.Contains("ok", outcomes);
    }
}
