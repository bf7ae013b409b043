using Lifeline.Vault.Restore;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>Restores a snapshot (or the included part) into a directory (shared lock).</summary>
    /// <exception cref="RestoreTargetNotEmptyException">The target has entries and Overwrite is false.</exception>
    /// <exception cref="UnsafePathException">A tree entry would escape the target (nothing is written).</exception>
    public async Task<RestoreResult> RestoreAsync(RestoreRequest request, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        await using var held = await LockAsync(exclusive: false, ct);
        await RefreshIndexAsync(ct);
        return await new RestoreEngine(this, request, progress, ct).RunAsync();
    }
}
