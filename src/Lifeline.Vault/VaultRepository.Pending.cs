namespace Lifeline.Vault;

// Members of the public API not implemented yet; each moves to its feature file when done.
public sealed partial class VaultRepository
{
    /// <summary>Checks the repository's consistency (shared lock); with ReadData, every blob's content.</summary>
    public Task<CheckResult> CheckAsync(CheckOptions options, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Removes snapshots the policy does not keep (exclusive lock).</summary>
    public Task<ForgetResult> ForgetAsync(RetentionPolicy policy, SnapshotFilter? filter = null, bool dryRun = false, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Deletes data no snapshot uses (exclusive lock).</summary>
    public Task<PruneResult> PruneAsync(bool dryRun = false, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Copies snapshots missing in <paramref name="destination"/> with only the blobs it lacks.</summary>
    public Task<CopyResult> CopyToAsync(VaultRepository destination, SnapshotFilter? filter = null, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();
}
