using Lifeline.Vault.Locking;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>Takes a lease; <paramref name="renew"/> false only for tests that simulate a crashed holder.</summary>
    internal Task<VaultLock> LockAsync(bool exclusive, CancellationToken ct, bool renew = true)
        => VaultLock.AcquireAsync(this, exclusive, renew, ct);

    /// <summary>Removes stale locks (expired, or held by a process of this host that no longer runs), or all locks;
    /// returns how many were removed.</summary>
    public async Task<int> UnlockAsync(bool removeAll = false, CancellationToken ct = default)
    {
        var now = Time.GetUtcNow();
        var removed = 0;
        foreach (var (key, content) in await VaultLock.ListAsync(this, ct))
        {
            if (removeAll || content is null || VaultLock.IsStale(this, content, now))
            {
                await Store.DeleteAsync(key, ct);
                removed++;
            }
        }

        return removed;
    }
}
