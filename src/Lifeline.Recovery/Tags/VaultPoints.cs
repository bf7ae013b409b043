using Lifeline.Vault;

namespace Lifeline.Recovery.Tags;

/// <summary>A recovery point and the snapshot of one vault that holds it.</summary>
/// <param name="Point">The point.</param>
/// <param name="Snapshot">The vault's snapshot of it.</param>
public sealed record VaultPoint(RecoveryPoint Point, SnapshotInfo Snapshot);

/// <summary>The recovery points of one vault, decoded by the one codec (old tags included), and the one restore-point
/// choice over them for the component commands (<c>registry restore</c>, <c>lake restore</c>): a corrupt snapshot
/// that may be newer than the chosen one is never skipped silently.</summary>
public static class VaultPoints
{
    /// <summary>The points of <paramref name="vault"/> matching <paramref name="filter"/> whose tags <paramref name="keep"/> accepts, oldest first, with the scan.</summary>
    public static async Task<(IReadOnlyList<VaultPoint> Points, SnapshotListing Listing)> ListAsync(VaultRepository vault, SnapshotFilter? filter, Func<RecoveryPointTags, bool> keep, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(keep);
        var listing = await vault.ScanSnapshotsAsync(filter, cancellationToken);
        var points = new List<VaultPoint>();
        foreach (var s in listing.Snapshots)
        {
            if (RecoveryPoint.From(s) is { } p && keep(p.Tags))
            {
                points.Add(new VaultPoint(p, s));
            }
        }

        return (points.OrderBy(p => p.Point.Time).ThenBy(p => p.Snapshot.Time).ToList(), listing);
    }

    /// <summary>Chooses the point <paramref name="spec"/> names among <paramref name="points"/> (an id matches this vault's
    /// snapshot id or the point's id); <paramref name="what"/> names the points in the not-found message.</summary>
    /// <exception cref="SnapshotNotFoundException">None fits, or an id prefix is ambiguous.</exception>
    /// <exception cref="SnapshotCorruptException">The id names a corrupt snapshot, or a corrupt one may be newer than the choice.</exception>
    public static VaultPoint Choose(IReadOnlyList<VaultPoint> points, SnapshotListing listing, RestorePointSpec spec, string what)
    {
        ArgumentNullException.ThrowIfNull(points);
        ArgumentNullException.ThrowIfNull(listing);
        ArgumentNullException.ThrowIfNull(spec);
        if (spec.Id is { } prefix)
        {
            var matches = points.Where(p => p.Snapshot.Id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) || p.Point.Id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList();
            var corrupt = listing.Corrupt.Where(c => c.Id.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)).ToList();
            return (matches.Count, corrupt.Count) switch
            {
                (1, 0) => matches[0],
                (0, 1) => throw new SnapshotCorruptException(corrupt[0], asLatest: false, null),
                (0, 0) => throw new SnapshotNotFoundException($"'{prefix}' ({what})"),
                _ => throw new SnapshotNotFoundException($"'{prefix}' unambiguously ({matches.Count + corrupt.Count} snapshots start with it; give more characters)"),
            };
        }

        var chosen = spec.Choose(points.Select(p => p.Point)) is { } point ? points.Last(p => p.Point.Id == point.Id) : null;
        if (listing.MaybeNewerThan(chosen?.Snapshot) is { Count: > 0 } newer)
        {
            throw new SnapshotCorruptException(newer[^1], asLatest: true, chosen?.Snapshot);
        }

        return chosen ?? throw new SnapshotNotFoundException(spec.At is { } at ? $"{what} at or before {at:u}" : what);
    }
}
