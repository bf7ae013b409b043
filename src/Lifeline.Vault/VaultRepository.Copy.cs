using Lifeline.Vault.Maintenance;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>
    /// Copies snapshots missing in <paramref name="destination"/> (matched by original id) with only the blobs it
    /// lacks, verified by hash; shared locks on both repositories.
    /// </summary>
    public async Task<CopyResult> CopyToAsync(VaultRepository destination, SnapshotFilter? filter = null, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Id == Id)
        {
            throw new VaultException("source and destination are the same vault: copy needs another repository");
        }

        await using var srcLock = await LockAsync(exclusive: false, ct);
        await using var destLock = await destination.LockAsync(exclusive: false, ct);
        await RefreshIndexAsync(ct);
        await destination.RefreshIndexAsync(ct);
        return await new CopyEngine(this, destination, filter, progress, destLock, ct).RunAsync();
    }
}
