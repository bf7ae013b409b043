using Lifeline.Vault.Maintenance;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>
    /// Deletes data no snapshot uses (exclusive lock; a dry run takes a shared one): fully unused packs are deleted,
    /// packs with at least 20 % unused bytes rewritten; new packs and index are written before anything is deleted.
    /// </summary>
    public async Task<PruneResult> PruneAsync(bool dryRun = false, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
    {
        await using var held = await LockAsync(exclusive: !dryRun, ct);
        await RefreshIndexAsync(ct);
        return await new PruneEngine(this, held, dryRun, progress, ct).RunAsync();
    }
}
