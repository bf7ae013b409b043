using System.Diagnostics;

namespace Lifeline.Storage.Probing;

/// <summary>One check of a probe: its name, whether it passed, what was seen, and how long it took.</summary>
public sealed record ProbeCheck(string Name, bool Passed, string Detail, double Milliseconds);

/// <summary>The result of <see cref="ObjectStoreProbe.RunAsync"/>.</summary>
public sealed record ProbeReport(string Location, IReadOnlyList<ProbeCheck> Checks)
{
    /// <summary>Whether every check passed.</summary>
    public bool Passed => Checks.All(c => c.Passed);
}

/// <summary>
/// Checks a live store against the guarantees Lifeline relies on, below a fresh <c>lifeline-probe/ID/</c> prefix that
/// it removes afterwards: round trip, ranged get, stat, put-if-absent (sequential and with 8 racers: a server that
/// ignores conditional writes fails here), ordered listing, delete. A small version of the conformance suite for a
/// real bucket or container, before trusting it with a repository.
/// </summary>
public static class ObjectStoreProbe
{
    private const int Racers = 8;

    /// <summary>Runs every check; never throws for a failed check (it is reported), only for cancellation.</summary>
    public static async Task<ProbeReport> RunAsync(IObjectStore store, TimeProvider? timeProvider = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var time = timeProvider ?? TimeProvider.System;
        var root = $"lifeline-probe/{Guid.NewGuid():N}/";
        var checks = new List<ProbeCheck>();
        var payload = new byte[256 * 1024];
        new Random(1).NextBytes(payload);

        async Task CheckAsync(string name, Func<Task<string>> body)
        {
            var start = time.GetTimestamp();
            try
            {
                var detail = await body();
                checks.Add(new ProbeCheck(name, true, detail, time.GetElapsedTime(start).TotalMilliseconds));
            }
            catch (ProbeFailedException e)
            {
                checks.Add(new ProbeCheck(name, false, e.Message, time.GetElapsedTime(start).TotalMilliseconds));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                checks.Add(new ProbeCheck(name, false, $"{e.GetType().Name}: {e.Message.Split('\n')[0]}", time.GetElapsedTime(start).TotalMilliseconds));
            }
        }

        try
        {
            await CheckAsync("put and get", async () =>
            {
                await store.PutAsync(root + "object", payload, cancellationToken);
                var back = await store.GetAsync(root + "object", cancellationToken: cancellationToken);
                Require(back.AsSpan().SequenceEqual(payload), $"read {back.Length} bytes that differ from the {payload.Length} written");
                return $"{payload.Length} bytes round-tripped";
            });

            await CheckAsync("ranged get", async () =>
            {
                var slice = await store.GetAsync(root + "object", 1000, 500, cancellationToken);
                Require(slice.AsSpan().SequenceEqual(payload.AsSpan(1000, 500)), $"range 1000+500 returned {slice.Length} wrong bytes");
                var past = await store.GetAsync(root + "object", payload.Length + 10, 10, cancellationToken);
                Require(past.Length == 0, $"a range past the end returned {past.Length} bytes instead of none");
                return "exact slice; past the end is empty";
            });

            await CheckAsync("stat", async () =>
            {
                var info = await store.StatAsync(root + "object", cancellationToken);
                Require(info is not null && info.Size == payload.Length, $"stat said {info?.Size.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "missing"} instead of {payload.Length} bytes");
                Require(await store.StatAsync(root + "missing", cancellationToken) is null, "stat of a missing key was not null");
                var missing = false;
                try
                {
                    await store.GetAsync(root + "missing", cancellationToken: cancellationToken);
                }
                catch (ObjectNotFoundException)
                {
                    missing = true;
                }

                Require(missing, "get of a missing key did not report it missing");
                return "size exact; missing keys reported missing";
            });

            await CheckAsync("put-if-absent", async () =>
            {
                Require(await store.PutIfAbsentAsync(root + "lock", "first"u8.ToArray(), cancellationToken), "the first put-if-absent of a new key returned false");
                var second = await store.PutIfAbsentAsync(root + "lock", "second"u8.ToArray(), cancellationToken);
                var content = await store.GetAsync(root + "lock", cancellationToken: cancellationToken);
                Require(!second && content.AsSpan().SequenceEqual("first"u8),
                    "a second put-if-absent of an existing key " + (second ? "returned true" : "returned false") + (content.AsSpan().SequenceEqual("first"u8) ? string.Empty : " and replaced the object") +
                    ": the server ignores conditional writes, so locks are not safe on it");
                return "second writer refused, first object kept";
            });

            await CheckAsync($"put-if-absent, {Racers} racers", async () =>
            {
                var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                var racers = Enumerable.Range(0, Racers).Select(i => Task.Run(async () =>
                {
                    await start.Task;
                    return await store.PutIfAbsentAsync(root + "race", new[] { (byte)i }, cancellationToken);
                })).ToArray();
                start.SetResult();
                var wins = await Task.WhenAll(racers);
                var winners = wins.Count(w => w);
                Require(winners == 1, $"{winners} of {Racers} concurrent callers won: put-if-absent is not exact on this store");
                var content = await store.GetAsync(root + "race", cancellationToken: cancellationToken);
                Require(content.Length == 1 && wins[content[0]], "the object does not hold the winner's bytes");
                return "exactly one winner, holding its bytes";
            });

            await CheckAsync("ordered list", async () =>
            {
                var keys = WrittenKeys.Where(k => k.StartsWith("list/", StringComparison.Ordinal)).ToArray();
                foreach (var key in keys)
                {
                    await store.PutAsync(root + key, new byte[] { 1 }, cancellationToken);
                }

                var listed = new List<string>();
                await foreach (var info in store.ListAsync(root + "list/", cancellationToken))
                {
                    listed.Add(info.Key[root.Length..]);
                }

                var expected = keys.Order(KeyOrder.Instance).ToArray();
                Require(listed.SequenceEqual(expected), $"listed [{string.Join(", ", listed)}] instead of [{string.Join(", ", expected)}]");
                return $"{listed.Count} keys in byte order";
            });

            await CheckAsync("delete", async () =>
            {
                await store.DeleteAsync(root + "object", cancellationToken);
                Require(await store.StatAsync(root + "object", cancellationToken) is null, "the object is still there after delete");
                await store.DeleteAsync(root + "object", cancellationToken);
                return "deleted; deleting again is fine";
            });
        }
        finally
        {
            await CleanUpAsync(store, root);
        }

        return new ProbeReport(store.Location, checks);
    }

    private static readonly string[] WrittenKeys = ["object", "lock", "race", "list/b", "list/a-", "list/a0", "list/A", "list/a/x"];

    private static async Task CleanUpAsync(IObjectStore store, string root)
    {
        // The known keys first: a store whose listing is broken must still be cleaned.
        foreach (var key in WrittenKeys)
        {
            try
            {
                await store.DeleteAsync(root + key);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Debug.WriteLine($"probe clean-up of {root}{key} in {store.Location} failed: {e.Message}");
            }
        }

        try
        {
            var keys = new List<string>();
            await foreach (var info in store.ListAsync(root))
            {
                keys.Add(info.Key);
            }

            foreach (var key in keys)
            {
                await store.DeleteAsync(key);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Debug.WriteLine($"probe clean-up of {root} in {store.Location} failed: {e.Message}");
        }
    }

    private static void Require(bool condition, string failure)
    {
        if (!condition)
        {
            throw new ProbeFailedException(failure);
        }
    }

    private sealed class ProbeFailedException(string message) : Exception(message);
}
