using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Status;

namespace Lifeline.Recovery.Protection;

/// <summary>An on-change table's position in its secondary, read from the location alone (no running process).</summary>
/// <param name="Location">The secondary.</param>
/// <param name="Version">The newest version of the table's replica there.</param>
/// <param name="Heartbeat">The newest heartbeat there: every commit made before it is in the replica.</param>
public sealed record ContinuousPosition(string Location, long Version, DateTimeOffset? Heartbeat);

/// <summary>
/// Adds the continuous position to <c>lifeline status</c>: for an on-change lake table, the recovery point is the
/// newest position verified in the secondary, i.e. the newest heartbeat in the secondary's heartbeat replica (the
/// protector advances it only after every table replicated to that location), when it is newer than the newest
/// vault point. Other components keep their vault points.
/// </summary>
public static class ContinuousStatus
{
    /// <summary>Reads the position of <paramref name="component"/>, or null when it is not an on-change table with a replica.</summary>
    public static async Task<ContinuousPosition?> ReadAsync(LifelinePlan plan, LocationSet locations, PlanComponent component, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(locations);
        ArgumentNullException.ThrowIfNull(component);
        var policy = plan.FindPolicy(component.Policy);
        if (policy is not { Schedule.OnChange: true } || PlanChecker.KindOf(component) != ComponentKind.LakeTable)
        {
            return null;
        }

        var named = locations.For(policy);
        if (named.Count == 0)
        {
            return null;
        }

        var secondary = named.FirstOrDefault(n => n.Role == "secondary").Location ?? named[0].Location;
        var store = locations.Store(secondary.Name);
        var version = await ProtectionLayout.LatestCommitAsync(store, ProtectionLayout.ReplicaRoot(component.Name), cancellationToken);
        if (version < 0)
        {
            return null;
        }

        var beat = await Heartbeat.NewestAsync(store, ProtectionLayout.ReplicaRoot(ProtectionLayout.HeartbeatTable), cancellationToken);
        return new ContinuousPosition(secondary.Name, version, beat);
    }

    /// <summary>The report with each on-change table's continuous position, and its age and color from that position
    /// where it is newer than the vault point. A location that cannot be read leaves the component as it was.</summary>
    public static async Task<StatusReport> ApplyAsync(LifelinePlan plan, LocationSet locations, StatusReport report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(report);
        var list = new List<ComponentStatus>();
        foreach (var s in report.Components)
        {
            ContinuousPosition? position = null;
            if (plan.FindComponent(s.Component) is { } c)
            {
                try
                {
                    position = await ReadAsync(plan, locations, c, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    position = null;
                }
            }

            if (position is not { Heartbeat: { } beat } || (s.RecoveryPoint is { } p && p.Time >= beat))
            {
                list.Add(position is null ? s : s with { Continuous = position });
                continue;
            }

            // a heartbeat written a moment after this status took its time is no younger than now
            var age = report.Time > beat ? report.Time - beat : TimeSpan.Zero;
            var where = $"replicated to '{position.Location}' up to version {position.Version}, newest heartbeat there {Seconds(age)} old";
            var color = s.RpoMax is { } m && age > m ? StatusColor.Red : s.RpoTarget is { } t && age > t ? StatusColor.Amber : StatusColor.Green;
            var reason = color switch
            {
                StatusColor.Red => $"{where}: over the RPO maximum {PlanDuration.Format(s.RpoMax!.Value)}",
                StatusColor.Amber => $"{where}: over the RPO target {PlanDuration.Format(s.RpoTarget!.Value)}",
                _ => $"{where}: within the RPO target {(s.RpoTarget is null ? "(none)" : PlanDuration.Format(s.RpoTarget.Value))}",
            };
            list.Add(s with { Continuous = position, Age = age, Color = color, Reason = reason });
        }

        return report with { Components = list };
    }

    private static string Seconds(TimeSpan age) => $"{Math.Max(0, age.TotalSeconds):0.0} s";
}
