using Lifeline.Vault.Maintenance;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>
    /// Removes snapshots the policy does not keep, per host+source+paths group (exclusive lock; a dry run takes a
    /// shared one and changes nothing). Data is freed by <see cref="PruneAsync"/>.
    /// </summary>
    public async Task<ForgetResult> ForgetAsync(RetentionPolicy policy, SnapshotFilter? filter = null, bool dryRun = false, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (policy.IsEmpty)
        {
            throw new VaultException("refusing to forget: the policy keeps nothing; give at least one --keep-* option");
        }

        await using var held = await LockAsync(exclusive: !dryRun, ct);
        var snapshots = await LoadSnapshotsAsync(filter, ct);
        var keep = new List<KeptSnapshot>();
        var remove = new List<SnapshotInfo>();
        foreach (var group in snapshots.GroupBy(Retention.GroupKey, StringComparer.Ordinal))
        {
            var (k, r) = Retention.Apply(group, policy);
            keep.AddRange(k);
            remove.AddRange(r);
        }

        if (!dryRun)
        {
            foreach (var s in remove)
            {
                held.ThrowIfExpired();
                await Store.DeleteAsync("snapshots/" + s.Id, ct);
                _snapshotCache.TryRemove(s.Id, out _);
                Log.SnapshotForgotten(Logger, s.ShortId);
            }
        }

        return new ForgetResult
        {
            Keep = keep.OrderBy(k => k.Snapshot.Time).ToList(),
            Remove = remove.OrderBy(s => s.Time).ToList(),
            DryRun = dryRun,
        };
    }
}
