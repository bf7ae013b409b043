using System.Security.Cryptography;
using Lifeline.Storage;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Locking;

/// <summary>A held lease in locks/&lt;id&gt;, renewed every TTL/3 until disposed (docs/vault-format.md, "Locks").</summary>
internal sealed class VaultLock : IAsyncDisposable
{
    private readonly VaultRepository _repo;
    private readonly ITimer? _timer;
    private readonly SemaphoreSlim _renewGate = new(1, 1);
    private LockJson _content;
    private bool _disposed;

    private VaultLock(VaultRepository repo, string id, LockJson content, bool renew)
    {
        _repo = repo;
        Id = id;
        _content = content;
        if (renew)
        {
            var period = repo.Options.LockTtl / 3;
            _timer = repo.Time.CreateTimer(_ => _ = RenewAsync(), null, period, period);
        }
    }

    public string Id { get; }

    public string Key => "locks/" + Id;

    public bool Exclusive => _content.Exclusive;

    /// <summary>True when someone removed our lock file (e.g. unlock --remove-all): we no longer hold the repository.</summary>
    public bool Lost { get; private set; }

    public void ThrowIfLost()
    {
        if (Lost)
        {
            throw new VaultException($"the lock {Id[..8]} on {_repo.Store.Location} was removed by someone else while working; stopping before deleting anything (run the command again)");
        }
    }

    /// <summary>
    /// Throws when the lease may have lapsed (removed, or not renewed before its expiry, e.g. the process was paused):
    /// then a prune may have run meanwhile, so nothing that references existing data may be committed.
    /// </summary>
    public void ThrowIfExpired()
    {
        ThrowIfLost();
        if (_repo.Time.GetUtcNow() > _content.Expires)
        {
            throw new VaultException($"the lock {Id[..8]} on {_repo.Store.Location} expired before the work finished (was the process paused longer than the lock TTL?); nothing was committed: run the command again");
        }
    }

    public static async Task<VaultLock> AcquireAsync(VaultRepository repo, bool exclusive, bool renew, CancellationToken ct)
    {
        var deadline = repo.Time.GetUtcNow() + repo.Options.LockWait;
        var delay = TimeSpan.FromMilliseconds(250);
        while (true)
        {
            try
            {
                return await TryAcquireAsync(repo, exclusive, renew, ct);
            }
            catch (RepositoryLockedException) when (repo.Time.GetUtcNow() < deadline)
            {
                // restic's --retry-lock: poll until the holder is gone or the wait is over; the jitter keeps two
                // waiters that both wrote their lock file and saw each other from retrying in step
                var left = deadline - repo.Time.GetUtcNow();
                var wait = TimeSpan.FromTicks(Math.Min(left.Ticks, (long)(delay.Ticks * (0.75 + (Random.Shared.NextDouble() / 2)))));
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, repo.Time, ct);
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(5).Ticks));
            }
        }
    }

    private static async Task<VaultLock> TryAcquireAsync(VaultRepository repo, bool exclusive, bool renew, CancellationToken ct)
    {
        await ThrowIfConflictAsync(repo, exclusive, null, ct);
        var now = repo.Time.GetUtcNow();
        var content = new LockJson { Host = repo.Host, Pid = Environment.ProcessId, Exclusive = exclusive, Created = now, Expires = now + repo.Options.LockTtl };
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        await repo.Store.PutIfAbsentAsync("locks/" + id, Seal(repo, content), ct);
        try
        {
            await ThrowIfConflictAsync(repo, exclusive, id, ct);
        }
        catch
        {
            await repo.Store.DeleteAsync("locks/" + id, CancellationToken.None);
            throw;
        }

        return new VaultLock(repo, id, content, renew);
    }

    private static byte[] Seal(VaultRepository repo, LockJson content)
        => repo.Key.Meta.Seal(WireJson.Serialize(content, WireJson.Default.LockJson), Roles.Lock);

    /// <summary>Every lock in the repository, with its decoded content (null when it does not decode).</summary>
    public static async Task<List<(string Key, LockJson? Content)>> ListAsync(VaultRepository repo, CancellationToken ct)
    {
        var result = new List<(string, LockJson?)>();
        await foreach (var o in repo.Store.ListAsync("locks/", ct))
        {
            LockJson? content = null;
            try
            {
                var plain = await repo.LoadFileAsync(o.Key, Roles.Lock, contentAddressed: false, ct);
                content = WireJson.Deserialize(plain, WireJson.Default.LockJson, o.Key);
            }
            catch (ObjectNotFoundException)
            {
                continue;
            }
            catch (VaultCorruptException)
            {
                Log.BadLock(repo.Logger, o.Key);
            }

            result.Add((o.Key, content));
        }

        return result;
    }

    private static async Task ThrowIfConflictAsync(VaultRepository repo, bool exclusive, string? ownId, CancellationToken ct)
    {
        var now = repo.Time.GetUtcNow();
        foreach (var (key, content) in await ListAsync(repo, ct))
        {
            if (content is null || key == "locks/" + ownId || IsStale(repo, content, now))
            {
                continue;
            }

            if (exclusive || content.Exclusive)
            {
                throw new RepositoryLockedException(key["locks/".Length..], $"{content.Host} (pid {content.Pid})", content.Expires, content.Exclusive);
            }
        }
    }

    /// <summary>
    /// A lock nobody holds any more: its lease expired, or it was taken on this host by a process that no longer runs
    /// (a SIGKILLed backup or forget, as restic judges its locks), so a crash on this host blocks nobody for a TTL.
    /// </summary>
    public static bool IsStale(VaultRepository repo, LockJson content, DateTimeOffset now) =>
        content.Expires <= now || (content.Host == repo.Host && content.Pid != Environment.ProcessId && !ProcessRuns(content.Pid));

    private static bool ProcessRuns(int pid)
    {
        if (pid <= 0)
        {
            return true; // not a process id we can judge: trust the lease
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no such process
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>Extends the lease; public for tests, normally driven by the timer.</summary>
    public async Task RenewAsync()
    {
        await _renewGate.WaitAsync();
        try
        {
            if (_disposed || Lost)
            {
                return;
            }

            if (await _repo.Store.StatAsync(Key) is null)
            {
                Lost = true;
                Log.LockLost(_repo.Logger, Id[..8]);
                return;
            }

            var renewed = _content with { Expires = _repo.Time.GetUtcNow() + _repo.Options.LockTtl };
            await _repo.Store.PutAsync(Key, Seal(_repo, renewed));
            _content = renewed; // only a stored renewal extends what we may rely on
        }
        catch (Exception e)
        {
            Log.LockRenewFailed(_repo.Logger, Id[..8], e.Message);
        }
        finally
        {
            _renewGate.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_timer is not null)
        {
            await _timer.DisposeAsync();
        }

        await _renewGate.WaitAsync();
        try
        {
            _disposed = true;
            if (!Lost)
            {
                await _repo.Store.DeleteAsync(Key, CancellationToken.None);
            }
        }
        finally
        {
            _renewGate.Release();
        }
    }
}
