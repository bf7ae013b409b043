using Lifeline.Vault.Backup;

namespace Lifeline.Vault;

public sealed partial class VaultRepository
{
    /// <summary>
    /// Backs up the request's paths into a new snapshot (shared lock). Unreadable files are listed in
    /// <see cref="BackupResult.Errors"/> and left out; the rest is backed up.
    /// </summary>
    public async Task<BackupResult> BackupAsync(BackupRequest request, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var started = Time.GetTimestamp();
        await using var held = await LockAsync(exclusive: false, ct);
        await RefreshIndexAsync(ct);
        var parent = await FindParentAsync(request, ct);
        var prepare = Time.GetElapsedTime(started);
        using var engine = new BackupEngine(this, request, progress, held, ct);
        var result = await engine.RunAsync(parent);
        return result with { Stages = result.Stages with { Prepare = prepare } };
    }

    private async Task<SnapshotInfo?> FindParentAsync(BackupRequest request, CancellationToken ct)
    {
        if (request.ParentId is not null)
        {
            return await FindSnapshotAsync(request.ParentId, ct: ct);
        }

        var host = request.Host ?? Host;
        var paths = request.Paths.Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var candidates = await LoadSnapshotsAsync(new SnapshotFilter { Source = request.Source, Host = host }, ct);
        return candidates.LastOrDefault(s => s.Paths.Order(StringComparer.Ordinal).SequenceEqual(paths, StringComparer.Ordinal));
    }
}
