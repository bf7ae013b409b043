namespace Lifeline.Vault;

// Members of the public API not implemented yet; each moves to its feature file when done.
public sealed partial class VaultRepository
{
    /// <summary>Backs up the request's paths into a new snapshot (shared lock).</summary>
    public Task<BackupResult> BackupAsync(BackupRequest request, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Restores a snapshot (or the included part) into a directory (shared lock).</summary>
    public Task<RestoreResult> RestoreAsync(RestoreRequest request, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

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

    /// <summary>Removes expired locks (or all locks); returns how many were removed.</summary>
    public Task<int> UnlockAsync(bool removeAll = false, CancellationToken ct = default)
        => throw new NotImplementedException();
}
