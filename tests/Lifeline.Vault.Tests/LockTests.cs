using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Vault.Tests;

public sealed class LockTests
{
    [Fact]
    public async Task ExclusiveLock_WhileAnotherLockIsLive_IsRefusedNamingTheHolder()
    {
        using var tmp = new TempDir();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Vaults.Store(tmp);
        await using var a = await Vaults.CreateAsync(store, time: time, host: "host-a");
        await using var b = await VaultRepository.OpenAsync(store, Vaults.Password, new VaultOpenOptions { Host = "host-b" }, time);

        await using (var shared = await a.LockAsync(exclusive: false, CancellationToken.None))
        {
            var e = await Assert.ThrowsAsync<RepositoryLockedException>(() => b.PruneAsync());
            Assert.Contains("host-a", e.Message, StringComparison.Ordinal);
            Assert.Contains("lifeline vault unlock", e.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<RepositoryLockedException>(() => b.ForgetAsync(new RetentionPolicy { KeepLast = 1 }));
            // shared with shared is fine
            Assert.True((await b.CheckAsync(new CheckOptions())).Ok);
        }

        await using (await a.LockAsync(exclusive: true, CancellationToken.None))
        {
            await Assert.ThrowsAsync<RepositoryLockedException>(() => b.CheckAsync(new CheckOptions()));
        }

        await b.PruneAsync(); // released
    }

    [Fact]
    public async Task Prune_WithLockWait_WaitsForTheLiveHolderAndRunsOnceItIsReleased()
    {
        using var tmp = new TempDir();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Vaults.Store(tmp);
        await using var a = await Vaults.CreateAsync(store, time: time, host: "host-a", lockTtl: TimeSpan.FromHours(1));
        await using var b = await VaultRepository.OpenAsync(store, Vaults.Password, new VaultOpenOptions { Host = "host-b", LockWait = TimeSpan.FromMinutes(10) }, time);

        var held = await a.LockAsync(exclusive: false, CancellationToken.None);
        var prune = b.PruneAsync();
        await AdvanceWhileAsync(time, () => time.GetUtcNow() < new DateTimeOffset(2026, 1, 1, 0, 5, 0, TimeSpan.Zero) && !prune.IsCompleted);
        Assert.False(prune.IsCompleted, "prune ran while a live shared lock was held");
        await held.DisposeAsync();
        await AdvanceWhileAsync(time, () => !prune.IsCompleted);

        Assert.False((await prune).DryRun);
        Assert.Empty(await store.ListAsync("locks/").ToListAsync());
    }

    [Fact]
    public async Task Prune_WithLockWait_GivesUpAtTheEndOfTheWaitNamingTheHolder()
    {
        using var tmp = new TempDir();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Vaults.Store(tmp);
        await using var a = await Vaults.CreateAsync(store, time: time, host: "host-a", lockTtl: TimeSpan.FromHours(1));
        await using var b = await VaultRepository.OpenAsync(store, Vaults.Password, new VaultOpenOptions { Host = "host-b", LockWait = TimeSpan.FromSeconds(30) }, time);
        await using var held = await a.LockAsync(exclusive: false, CancellationToken.None);

        var prune = b.PruneAsync();
        await AdvanceWhileAsync(time, () => !prune.IsCompleted);

        var e = await Assert.ThrowsAsync<RepositoryLockedException>(() => prune);
        Assert.Contains("host-a", e.Message, StringComparison.Ordinal);
        Assert.InRange(time.GetUtcNow(), new DateTimeOffset(2026, 1, 1, 0, 0, 30, TimeSpan.Zero), new DateTimeOffset(2026, 1, 1, 0, 0, 40, TimeSpan.Zero));
        Assert.Single(await store.ListAsync("locks/").ToListAsync()); // only the holder's: the waiter left none behind
    }

    /// <summary>Advances the fake clock a second at a time while <paramref name="condition"/> holds, letting the
    /// waiter's continuations run between steps (deadline 20 s of real time).</summary>
    private static async Task AdvanceWhileAsync(FakeTimeProvider time, Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not change within 20 s");
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task Lock_OfACrashedHolder_ExpiresAfterTtlAndUnlockRemovesIt()
    {
        using var tmp = new TempDir();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Vaults.Store(tmp);
        await using var a = await Vaults.CreateAsync(store, time: time, lockTtl: TimeSpan.FromSeconds(60));
        await using var b = await VaultRepository.OpenAsync(store, Vaults.Password, new VaultOpenOptions { LockTtl = TimeSpan.FromSeconds(60) }, time);

        // A holder that never renews: a crashed process.
        _ = await a.LockAsync(exclusive: false, CancellationToken.None, renew: false);
        await Assert.ThrowsAsync<RepositoryLockedException>(() => b.PruneAsync());
        Assert.Equal(0, await b.UnlockAsync());

        time.Advance(TimeSpan.FromSeconds(61));

        await b.PruneAsync();
        Assert.Equal(1, await b.UnlockAsync());
        Assert.Empty(await store.ListAsync("locks/").ToListAsync());
    }

    [Fact]
    public async Task Lock_RenewedWhileWorkRuns_StaysLivePastTheTtl()
    {
        using var tmp = new TempDir();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = Vaults.Store(tmp);
        await using var a = await Vaults.CreateAsync(store, time: time, lockTtl: TimeSpan.FromSeconds(60));
        await using var b = await VaultRepository.OpenAsync(store, Vaults.Password, new VaultOpenOptions { LockTtl = TimeSpan.FromSeconds(60) }, time);

        // Only the lease's own timer renews (every TTL/3 = 20 s): nothing here calls RenewAsync.
        await using var held = await a.LockAsync(exclusive: false, CancellationToken.None);
        for (var i = 0; i < 10; i++)
        {
            time.Advance(TimeSpan.FromSeconds(20)); // fires the renewal timer
            var expected = time.GetUtcNow() + TimeSpan.FromSeconds(60);
            await WaitForStoredExpiryAsync(b, held.Key, expected, $"renewal {i + 1} (at +{(i + 1) * 20} s)");
        }

        // 200 s in, more than three TTLs after the lock was taken: still live for others.
        await Assert.ThrowsAsync<RepositoryLockedException>(() => b.PruneAsync());
        Assert.Equal(0, await b.UnlockAsync());
    }

    /// <summary>Waits (deadline 20 s of real time) until the lock file in storage says it expires at <paramref name="expected"/>.</summary>
    private static async Task WaitForStoredExpiryAsync(VaultRepository reader, string key, DateTimeOffset expected, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        DateTimeOffset? seen = null;
        while (DateTime.UtcNow < deadline)
        {
            var (_, content) = (await Locking.VaultLock.ListAsync(reader, CancellationToken.None)).Single(l => l.Key == key);
            seen = content?.Expires;
            if (seen == expected)
            {
                return;
            }

            await Task.Delay(10);
        }

        Assert.Fail($"{what}: the lock file's expiry stayed {seen:O}, expected {expected:O} (the renewal timer did not renew it)");
    }

    [Fact]
    public async Task Backup_WhoseLeaseLapsedMidway_CommitsNoSnapshot()
    {
        using var tmp = new TempDir();
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var store = new FaultStore(Vaults.Store(tmp));
        await using var repo = await Vaults.CreateAsync(store, time: time, lockTtl: TimeSpan.FromSeconds(60));
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        repo.SourceFaultForTests = _ =>
        {
            // The store becomes unreachable for renewals and two TTLs pass (a paused or partitioned process).
            store.FailLockRenewals = true;
            time.Advance(TimeSpan.FromSeconds(120));
            return null;
        };

        var e = await Assert.ThrowsAsync<VaultException>(() => repo.BackupAsync(new BackupRequest { Paths = [src] }));

        Assert.Contains("expired", e.Message, StringComparison.Ordinal);
        Assert.Empty(await repo.ListSnapshotsAsync().ToListAsync());
    }
}
