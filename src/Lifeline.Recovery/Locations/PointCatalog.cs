using Lifeline.Recovery.Components;
using Lifeline.Recovery.Tags;
using Lifeline.Vault;

namespace Lifeline.Recovery.Locations;

/// <summary>A recovery point as one location holds it.</summary>
/// <param name="Point">The point (same id in every location).</param>
/// <param name="Snapshot">The location's snapshot of it.</param>
public sealed record LocatedPoint(RecoveryPoint Point, SnapshotInfo Snapshot);

/// <summary>What one location holds of a component, or why it could not say.</summary>
/// <param name="Location">The location's name.</param>
/// <param name="Points">Its points, oldest first; empty when unavailable.</param>
/// <param name="Error">Why the location could not be read, one line; null when it was.</param>
public sealed record LocationListing(string Location, IReadOnlyList<LocatedPoint> Points, string? Error);

/// <summary>Lists the recovery points of components in locations (by the one tag codec).</summary>
public static class PointCatalog
{
    /// <summary>The points of <paramref name="component"/> in <paramref name="location"/>; an unavailable location is a listing with an error (a wrong password throws).</summary>
    public static async Task<LocationListing> ListAsync(LocationSet locations, string location, string component, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(locations);
        try
        {
            var vault = await locations.OpenAsync(location, cancellationToken: cancellationToken);
            var points = new List<LocatedPoint>();
            await foreach (var s in vault.ListSnapshotsAsync(RecoveryPointTags.FilterFor(component), cancellationToken))
            {
                if (RecoveryPoint.From(s) is { } p && p.Component == component)
                {
                    points.Add(new LocatedPoint(p, s));
                }
            }

            return new LocationListing(location, points, null);
        }
        catch (Exception e) when (e is LocationUnavailableException or IOException || (e is not OperationCanceledException && e is not Vault.WrongPasswordException && e is not RecoveryException))
        {
            return new LocationListing(location, [], LocationSet.FirstLine(Configuration.Secrets.RedactText(e.Message)));
        }
    }
}

/// <summary>The newest point present in every location named, straight from the locations (no history needed).</summary>
public sealed class LocationRecoveryPoints(LocationSet locations) : IRecoveryPointReporter
{
    /// <inheritdoc/>
    public async Task<RecoveryPoint?> GetNewestAsync(string component, IReadOnlyList<string> locationNames, CancellationToken cancellationToken)
    {
        HashSet<string>? common = null;
        var points = new Dictionary<string, RecoveryPoint>(StringComparer.Ordinal);
        foreach (var name in locationNames)
        {
            var listing = await PointCatalog.ListAsync(locations, name, component, cancellationToken);
            if (listing.Error is not null)
            {
                return null;
            }

            var ids = listing.Points.Select(p => p.Point.Id).ToHashSet(StringComparer.Ordinal);
            foreach (var p in listing.Points)
            {
                points.TryAdd(p.Point.Id, p.Point);
            }

            common = common is null ? ids : [.. common.Intersect(ids)];
        }

        return common?.Select(id => points[id]).OrderByDescending(p => p.Time).FirstOrDefault();
    }
}
