using Lifeline.Vault.Maintenance;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>Checks the repository's consistency (shared lock); with ReadData, every blob's content. Never writes data.</summary>
    public async Task<CheckResult> CheckAsync(CheckOptions options, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        await using var held = await LockAsync(exclusive: false, ct);
        await RefreshIndexAsync(ct);
        return await new CheckEngine(this, options, progress, ct).RunAsync();
    }
}
