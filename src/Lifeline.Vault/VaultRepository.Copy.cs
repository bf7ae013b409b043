using Lifeline.Vault.Maintenance;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>
    /// Copies snapshots missing in <paramref name="destination"/> (matched by original id) with only the blobs it
    /// lacks, every blob authenticated; shared locks on both repositories.
    /// </summary>
    public Task<CopyResult> CopyToAsync(VaultRepository destination, SnapshotFilter? filter = null, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => CopyAsync(destination, new CopyOptions { Filter = filter }, progress, ct);

    /// <summary>As <see cref="CopyToAsync(VaultRepository, SnapshotFilter?, IProgress{VaultProgress}?, CancellationToken)"/>, with how to verify.</summary>
    public async Task<CopyResult> CopyAsync(VaultRepository destination, CopyOptions options, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(destination);
        if (destination.Id == Id)
        {
            throw new VaultException("source and destination are the same vault: copy needs another repository");
        }

        await using var srcLock = await LockAsync(exclusive: false, ct);
        await using var destLock = await destination.LockAsync(exclusive: false, ct);
        await RefreshIndexAsync(ct);
        await destination.RefreshIndexAsync(ct);
        return await new CopyEngine(this, destination, options, progress, destLock, ct).RunAsync();
    }
}
