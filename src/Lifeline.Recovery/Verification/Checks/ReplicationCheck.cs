using System.Diagnostics;
using System.Globalization;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Tags;
using Lifeline.Vault;

namespace Lifeline.Recovery.Verification.Checks;

/// <summary>
/// <c>replication</c>: each component's newest recovery point is in every location its policy names, and verified
/// there (its whole tree reads back). Locations are compared by position, never by wall-clock time: the point's id
/// (shared by every copy) and the tags' version (a Delta table's version, a change sequence), so a location that
/// lags is reported as "N versions behind". A location that cannot be read gets its own record (its cause is the
/// location); the component's record judges the locations that could be read.
/// </summary>
internal sealed class ReplicationCheck : IVerificationCheck
{
    public string Name => "replication";

    public async Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken)
    {
        var now = context.Time.GetUtcNow();
        var records = new List<EvidenceRecord>();
        foreach (var component in VerificationRunner.ComponentsOf(context))
        {
            var clock = Stopwatch.StartNew();
            if (context.Plan.FindPolicy(component.Policy) is not { } policy)
            {
                records.Add(Record(context, component.Name, now, clock, true, "no policy: nothing is replicated", new()));
                continue;
            }

            var named = context.Locations.For(policy);
            var held = new List<(string Location, VaultRepository Vault, IReadOnlyList<VaultPoint> Points)>();
            var unreadable = new List<string>();
            foreach (var (_, info) in named)
            {
                try
                {
                    var vault = await context.Locations.OpenAsync(info.Name, cancellationToken: cancellationToken);
                    var (points, _) = await VaultPoints.ListAsync(vault, RecoveryPointTags.FilterFor(component.Name), t => t.Component == component.Name, cancellationToken);
                    held.Add((info.Name, vault, points));
                }
                catch (Exception e) when (VerificationRunner.IsUnreadable(e))
                {
                    unreadable.Add(info.Name);
                    records.Add(VerificationRunner.Unreadable(context, Name, info.Name, component.Name, now, clock.Elapsed, e));
                }
            }

            records.Add(await CompareAsync(context, component.Name, now, clock, held, unreadable, cancellationToken));
        }

        return records;
    }

    private async Task<EvidenceRecord> CompareAsync(VerificationContext context, string component, DateTimeOffset now, Stopwatch clock,
        List<(string Location, VaultRepository Vault, IReadOnlyList<VaultPoint> Points)> held, List<string> unreadable, CancellationToken ct)
    {
        var numbers = new Dictionary<string, double>();
        var notCompared = unreadable.Count == 0 ? "" : $"; not compared: {string.Join(", ", unreadable)} (unreadable)";
        if (held.Count == 0)
        {
            return Record(context, component, now, clock, true, $"no location could be read{notCompared}", numbers);
        }

        // the reference: the most advanced position (the highest version when points carry one), else the first
        // readable location in role order (the primary)
        var reference = held.Where(h => h.Points.Count > 0)
            .OrderByDescending(h => h.Points.Max(p => p.Point.Tags.Version) ?? long.MinValue)
            .ThenBy(h => held.IndexOf(h))
            .FirstOrDefault();
        if (reference.Points is null)
        {
            return Record(context, component, now, clock, true, $"no recovery point yet in {string.Join(", ", held.Select(h => h.Location))}{notCompared}", numbers);
        }

        var newest = Newest(reference.Points);
        var problems = new List<string>();
        var verified = new List<string>();
        foreach (var (location, vault, points) in held)
        {
            var mine = points.Count == 0 ? null : Newest(points);
            if (mine?.Point.Tags.Version is { } v)
            {
                numbers["version." + location] = v;
            }

            numbers["points." + location] = points.Count;
            var copy = points.FirstOrDefault(p => p.Point.Id == newest.Point.Id);
            if (copy is null)
            {
                problems.Add(Behind(location, mine, newest, reference.Location));
                continue;
            }

            try
            {
                await foreach (var _ in vault.ListNodesAsync(copy.Snapshot, ct: ct))
                {
                }

                verified.Add(location);
            }
            catch (Exception e) when (e is VaultException or IOException or Storage.ObjectNotFoundException)
            {
                problems.Add($"{location} holds point {newest.Point.ShortId} but it does not read back ({LocationSet.FirstLine(e.Message)})");
            }
        }

        var position = newest.Point.Tags.Version is { } rv ? $"point {newest.Point.ShortId} (version {rv})" : $"point {newest.Point.ShortId}";
        return problems.Count == 0
            ? Record(context, component, now, clock, true, $"{position} verified in {string.Join(", ", verified)}{notCompared}", numbers)
            : Record(context, component, now, clock, false, $"{position} of {reference.Location} is not verified everywhere: {string.Join("; ", problems)}{notCompared}", numbers);
    }

    private static VaultPoint Newest(IReadOnlyList<VaultPoint> points) =>
        points.Any(p => p.Point.Tags.Version is not null) ? points.Where(p => p.Point.Tags.Version is not null).MaxBy(p => p.Point.Tags.Version)! : points[^1];

    private static string Behind(string location, VaultPoint? mine, VaultPoint newest, string reference)
    {
        if (mine is null)
        {
            return $"{location} holds no point of it";
        }

        if (mine.Point.Tags.Version is { } v && newest.Point.Tags.Version is { } rv)
        {
            return $"{location} is at version {v.ToString(CultureInfo.InvariantCulture)}, {(rv - v).ToString(CultureInfo.InvariantCulture)} versions behind {reference} (version {rv.ToString(CultureInfo.InvariantCulture)})";
        }

        return $"{location} lacks point {newest.Point.ShortId} (its newest is {mine.Point.ShortId})";
    }

    private EvidenceRecord Record(VerificationContext context, string component, DateTimeOffset now, Stopwatch clock, bool passed, string summary, Dictionary<string, double> numbers) => new()
    {
        Check = Name,
        Run = context.Run,
        Component = component,
        Against = "the newest recovery point's id and version in every location of the policy",
        Time = now,
        Duration = clock.Elapsed,
        Passed = passed,
        Summary = summary,
        Numbers = numbers,
    };
}
