using Lifeline.Vault.Maintenance;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>
    /// Deletes data no snapshot uses (exclusive lock; a dry run takes a shared one): fully unused packs are deleted,
    /// packs with at least 20 % unused bytes rewritten; new packs and index are written before anything is deleted.
    /// In a file-system repository it also deletes the temporary files killed writers left (untouched for an hour,
    /// held by no live writer).
    /// </summary>
    public async Task<PruneResult> PruneAsync(bool dryRun = false, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
    {
        await using var held = await LockAsync(exclusive: !dryRun, ct);
        await RefreshIndexAsync(ct);
        var result = await new PruneEngine(this, held, dryRun, progress, ct).RunAsync();
        if (!dryRun && Store is Storage.FileSystem.FileSystemObjectStore files)
        {
            files.RemoveStaleTemporaryFiles(Storage.FileSystem.FileSystemObjectStore.StaleTemporaryAge, Time.GetUtcNow());
        }

        return result;
    }
}
