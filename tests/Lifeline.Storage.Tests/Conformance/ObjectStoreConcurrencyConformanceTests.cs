using System.Collections.Concurrent;

namespace Lifeline.Storage.Tests.Conformance;

/// <summary>
/// The concurrency guarantees of <see cref="IObjectStore"/>: overwrites are atomic for concurrent readers and
/// put-if-absent is exact for concurrent writers. Every backend that gives them (file system, Azure Blob, S3 with
/// conditional writes) derives from this class; a backend documented as not giving them derives from
/// <see cref="ObjectStoreConformanceTests"/> only and states what it checks instead (see docs/storage.md).
/// </summary>
public abstract partial class ObjectStoreConcurrencyConformanceTests : ObjectStoreConformanceTests
{
    [Fact]
    public async Task PutAsync_WhileReadersRead_ReadersSeeOnlyWholeVersions()
    {
        var store = await CreateSutAsync();
        // Versions differ in length and in fill byte, so a torn or mixed read is always detectable.
        var versions = Enumerable.Range(0, 6).Select(i => Enumerable.Repeat((byte)('A' + i), 64 * 1024 + (i * 4099)).ToArray()).ToArray();
        await store.PutAsync("hot", versions[0]);
        var writing = true;
        var bad = new ConcurrentQueue<string>();
        var reads = 0;

        async Task ReadLoopAsync()
        {
            while (Volatile.Read(ref writing) || Volatile.Read(ref reads) < 20)
            {
                var data = await store.GetAsync("hot");
                Interlocked.Increment(ref reads);
                var index = data.Length == 0 ? -1 : data[0] - 'A';
                if (index < 0 || index >= versions.Length || data.Length != versions[index].Length || data.AsSpan().IndexOfAnyExcept(data[0]) >= 0)
                {
                    bad.Enqueue($"read {data.Length} bytes starting with {(data.Length == 0 ? "nothing" : data[0].ToString())}");
                }
            }
        }

        var readers = Enumerable.Range(0, 3).Select(_ => Task.Run(ReadLoopAsync)).ToArray();
        for (var round = 0; round < 5; round++)
        {
            foreach (var version in versions)
            {
                await store.PutAsync("hot", version);
            }
        }

        Volatile.Write(ref writing, false);
        await Task.WhenAll(readers);
        Assert.True(bad.IsEmpty, "partial objects seen: " + string.Join("; ", bad.Take(5)));

        Assert.Equal(versions[^1], await store.GetAsync("hot"));
    }

    [Fact]
    public async Task PutIfAbsentAsync_SixteenConcurrentCallers_ExactlyOneWinsAndContentIsTheWinners()
    {
        var store = await CreateSutAsync();
        for (var round = 0; round < 4; round++)
        {
            var key = $"locks/race-{round}";
            var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var callers = Enumerable.Range(0, 16).Select(i => Task.Run(async () =>
            {
                await start.Task;
                var body = Utf8($"caller-{i:D2}-" + new string((char)('a' + i), 1000 + i));
                return (Caller: i, Body: body, Won: await store.PutIfAbsentAsync(key, body));
            })).ToArray();
            start.SetResult();
            var results = await Task.WhenAll(callers);
            var winners = results.Where(r => r.Won).ToArray();
            Assert.True(winners.Length == 1, $"round {round}: {winners.Length} callers won: {string.Join(",", winners.Select(w => w.Caller))}");
            Assert.Equal(winners[0].Body, await store.GetAsync(key));
        }
    }
}
