using System.Diagnostics;
using Lifeline.Lake;
using Lifeline.Lake.Protocol;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Components;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Protection;
using Lifeline.Recovery.Tags;

namespace Lifeline.Recovery;

/// <summary>What <c>lifeline restore --all</c> restores: every component of the plan as of one moment.</summary>
public sealed record SetRestoreOptions
{
    /// <summary>The moment: the newest cut at or before it (null: the newest cut).</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary>A cut by its id (a prefix of it, <see cref="CutLog.IdOf"/>) instead of <see cref="At"/>.</summary>
    public string? CutId { get; init; }

    /// <summary>Restore each component beside the live one as <c>NAME-COMPONENT</c>; null = in place (needs <see cref="Overwrite"/>).</summary>
    public string? As { get; init; }

    /// <summary>Say what would be restored from where, change nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>Replace live (or existing) data; never the default.</summary>
    public bool Overwrite { get; init; }
}

/// <summary>One component of a set restore.</summary>
/// <param name="Component">The component.</param>
/// <param name="From">Where it comes from, for a human: <c>registry point 1a2b3c4d of the cut</c>, <c>replica in b at version 7</c>, <c>its own newest point at or before T</c>.</param>
/// <param name="InCut">True when the cut names it (its state matches the others').</param>
/// <param name="Version">A table's version, when restored at a version.</param>
/// <param name="Point">The vault point restored (or that would be), if one.</param>
/// <param name="Target">Where it goes.</param>
/// <param name="Summary">What was done (or would be), one line.</param>
/// <param name="Error">Why it failed or, on a dry run, why the real run would refuse.</param>
public sealed record SetRestoreItem(string Component, string From, bool InCut, long? Version, RecoveryPoint? Point, string Target, string Summary, string? Error);

/// <summary>The outcome (or, on a dry run, the plan) of a set restore.</summary>
public sealed record SetRestoreResult
{
    /// <summary>The cut used, or null when none was at or before the moment (each component by its own points).</summary>
    public CutRecord? Cut { get; init; }

    /// <summary>The cut's id.</summary>
    public string? CutId { get; init; }

    /// <summary>The location the cut was read from.</summary>
    public string? CutLocation { get; init; }

    /// <summary>One line: which cut, or why none.</summary>
    public required string Basis { get; init; }

    /// <summary>True when nothing was changed.</summary>
    public bool DryRun { get; init; }

    /// <summary>Every component of the plan, in plan order.</summary>
    public IReadOnlyList<SetRestoreItem> Items { get; init; } = [];

    /// <summary>The first error's exception (for its exit code), when a component failed.</summary>
    public Exception? FirstError { get; init; }

    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>A <c>--cut ID</c> that no location holds.</summary>
public sealed class NoSuchCutException(string id, string detail)
    : RecoveryException($"no cut '{id}' in any location ({detail}): 'lifeline restore --all --dry-run' shows the newest cut, 'lifeline restore --all --at T' picks one by time");

public sealed partial class RecoveryService
{
    /// <summary>
    /// Restores the plan's components as one matching set: the newest cut at or before <see cref="SetRestoreOptions.At"/>
    /// (or the one <see cref="SetRestoreOptions.CutId"/> names) gives the registry point and each on-change table's
    /// version; the registry comes from its vault point, each table from its replica at that version (or from the
    /// cut's vault point when that holds exactly the version), and the components the cut does not name from their own
    /// newest point at or before the cut. Without a cut at or before the moment every component is restored by its own
    /// points, and <see cref="SetRestoreResult.Basis"/> says so. One component failing does not stop the others.
    /// </summary>
    public async Task<SetRestoreResult> RestoreSetAsync(SetRestoreOptions options, IProgress<RecoveryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var clock = Stopwatch.StartNew();
        var (cut, cutId, location, basis) = await FindCutAsync(options, cancellationToken);
        var items = new List<SetRestoreItem>();
        Exception? firstError = null;
        foreach (var component in _plan.Components)
        {
            var asName = options.As is null ? null : $"{options.As}-{component.Name}";
            var single = new RestoreRunOptions { As = asName, DryRun = options.DryRun, Overwrite = options.Overwrite };
            try
            {
                if (cut is not null && cut.Registry == component.Name && cut.RegistryPoint is { } registryPoint)
                {
                    var r = await RestoreAsync(component.Name, single with { Point = RestorePointSpec.ById(registryPoint) }, progress, cancellationToken);
                    items.Add(Item(r, $"registry point {r.Point.ShortId} of the cut", inCut: true, version: null));
                }
                else if (cut is not null && location is not null && cut.Tables.TryGetValue(component.Name, out var table))
                {
                    items.Add(await RestoreTableAtAsync(component.Name, table, location, single, progress, cancellationToken));
                }
                else
                {
                    var at = cut?.Time ?? options.At;
                    var r = await RestoreAsync(component.Name, single with { Point = at is { } t ? RestorePointSpec.AtOrBefore(t) : RestorePointSpec.Latest }, progress, cancellationToken);
                    items.Add(Item(r, at is { } a ? $"its own newest point at or before {a.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z ({(cut is null ? "no cut" : "not in the cut")})" : "its own newest point",
                        inCut: false, version: r.Point.Tags.Version));
                }
            }
            catch (Exception e) when (e is RecoveryException or IOException or DeltaProtocolException)
            {
                firstError ??= e;
                items.Add(new SetRestoreItem(component.Name, "-", cut?.Tables.ContainsKey(component.Name) == true || cut?.Registry == component.Name, null, null, "-", "failed", OneLine(e)));
            }
        }

        return new SetRestoreResult
        {
            Cut = cut,
            CutId = cutId,
            CutLocation = location,
            Basis = basis,
            DryRun = options.DryRun,
            Items = items,
            FirstError = firstError,
            Duration = clock.Elapsed,
        };
    }

    private static SetRestoreItem Item(RestoreRunResult r, string from, bool inCut, long? version) => new(
        r.Component, from, inCut, version, r.Point, r.Target.Directory,
        r.Reinstated?.Summary ?? $"point {r.Point.ShortId} ({r.Point.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z) from {r.ServedBy}", r.WouldRefuse);

    /// <summary>The cut to restore and the location it was read from: the locations that hold cuts (the secondaries
    /// of the on-change policies first, then every other location of the plan), the newest cut at or before the moment
    /// across them, or the one whose id starts with the given id.</summary>
    private async Task<(CutRecord? Cut, string? Id, string? Location, string Basis)> FindCutAsync(SetRestoreOptions options, CancellationToken ct)
    {
        var order = _plan.Policies.Where(p => p.Schedule.OnChange)
            .SelectMany(p => _locations.For(p).OrderBy(n => n.Role == "secondary" ? 0 : 1).Select(n => n.Location.Name))
            .Concat(_locations.All.Select(l => l.Name))
            .Distinct(StringComparer.Ordinal).ToList();
        var notes = new List<string>();
        (string Key, CutRecord Cut, string Location)? best = null;
        foreach (var name in order)
        {
            IReadOnlyList<(string Key, CutRecord Cut)> cuts;
            try
            {
                cuts = await CutLog.ListAsync(_locations.Store(name), ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                notes.Add($"{name}: {OneLine(e)}");
                continue;
            }

            notes.Add($"{name}: {cuts.Count} cuts");
            foreach (var (key, cut) in cuts)
            {
                var matches = options.CutId is { } id
                    ? CutLog.IdOf(key).StartsWith(id, StringComparison.OrdinalIgnoreCase)
                    : options.At is not { } at || cut.Time <= at;
                if (matches && (best is null || cut.Time > best.Value.Cut.Time))
                {
                    best = (key, cut, name);
                }
            }

            if (best is not null && options.CutId is not null)
            {
                break; // the same cut is replicated into every location: the first that has it serves
            }
        }

        if (best is { } found)
        {
            var id = CutLog.IdOf(found.Key);
            var tables = string.Join(", ", found.Cut.Tables.Select(t => $"{t.Key} v{t.Value.Version}"));
            var registry = found.Cut.RegistryPoint is { } rp ? $"registry point {rp[..Math.Min(8, rp.Length)]}" : "no registry point";
            return (found.Cut, id, found.Location,
                $"cut {id} ({found.Cut.Time.UtcDateTime:yyyy-MM-dd HH:mm:ss.fff}Z, from {found.Location}): {registry}" + (tables.Length > 0 ? $" with {tables}" : ""));
        }

        if (options.CutId is { } missing)
        {
            throw new NoSuchCutException(missing, string.Join("; ", notes));
        }

        var when = options.At is { } t ? $"at or before {t.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z" : "at all";
        return (null, null, null, $"no cut {when} ({string.Join("; ", notes)}): each component is restored from its own points");
    }

    /// <summary>A table at the cut's version: from its replica in the cut's location (exact, any version it still
    /// holds), else from the cut's vault point when that holds exactly the version.</summary>
    private async Task<SetRestoreItem> RestoreTableAtAsync(string component, CutTable table, string location, RestoreRunOptions options, IProgress<RecoveryProgress>? progress, CancellationToken ct)
    {
        var restorer = _adapters.GetValueOrDefault(component) as IRestorer
            ?? throw new UnknownComponentException(component, $"no adapter restores components of kind {KindName(Component(component))} here");
        var replica = new DeltaTable(_locations.Store(location), ProtectionLayout.ReplicaRoot(component));
        string? replicaProblem;
        try
        {
            var snapshot = await replica.GetSnapshotAsync(table.Version, ct);
            return await RestoreFromReplicaAsync(component, restorer, replica, snapshot, location, options, progress, ct);
        }
        catch (Exception e) when (e is DeltaProtocolException or IOException or Storage.ObjectNotFoundException)
        {
            replicaProblem = OneLine(e);
        }

        if (table.Point is { } point)
        {
            var r = await RestoreAsync(component, options with { Point = RestorePointSpec.ById(point) }, progress, ct);
            if (r.Point.Tags.Version == table.Version)
            {
                return Item(r, $"vault point {r.Point.ShortId} of the cut (the replica in {location} lacks version {table.Version}: {replicaProblem})", inCut: true, version: table.Version);
            }
        }

        throw new RecoveryException($"'{component}' cannot be restored at version {table.Version} of the cut: the replica in {location} lacks it ({replicaProblem}) and no vault point holds exactly that version; restore it alone ('lifeline restore {component} --at T')");
    }

    private async Task<SetRestoreItem> RestoreFromReplicaAsync(string component, IRestorer restorer, DeltaTable replica, Snapshot snapshot, string location, RestoreRunOptions options,
        IProgress<RecoveryProgress>? progress, CancellationToken ct)
    {
        var started = _time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var opId = Guid.NewGuid().ToString("N")[..12];
        var version = snapshot.Version;
        var from = $"replica in {location} at version {version}";
        // a point for the adapter and the audit: the replica's version, not a vault snapshot
        var point = new RecoveryPoint
        {
            Id = $"replica-{location}-v{version}",
            Component = component,
            Time = snapshot.Timestamp,
            Tags = new RecoveryPointTags { Component = component, Version = version, Time = snapshot.Timestamp },
        };
        var target = restorer.ResolveTarget(options.As);
        var refuse = target.IsLive && !options.Overwrite ? new LiveDataProtectedException(target.Directory)
            : !target.IsLive && !options.Overwrite && Directory.Exists(target.Directory) && Directory.EnumerateFileSystemEntries(target.Directory).Any()
                ? new RecoveryException($"'{target.Directory}' already exists and is not empty: choose another --as name, or pass --overwrite")
                : null;
        if (options.DryRun)
        {
            return new SetRestoreItem(component, from, true, version, null, target.Directory, $"{snapshot.Files.Count} files at version {version}", refuse?.Message);
        }

        await AppendAuditAsync(StartRecord(started, AuditActions.Restore, component, opId), ct);
        var staging = Path.Combine(_work, "restore", opId);
        var partial = PartialTarget(target, options, opId);
        try
        {
            if (refuse is not null)
            {
                throw refuse;
            }

            ResetDirectory(staging);
            Report(progress, opId, component, "restore", location);
            await TableBackupView.MaterializeAsync(replica, version, Path.Combine(staging, Components.Lake.LakeTableVault.StageName), ct);
            Report(progress, opId, component, "reinstate", location);
            var reinstated = await restorer.ReinstateAsync(new ReinstateContext { Point = point, StagedDirectory = staging, Target = partial ?? target, Overwrite = options.Overwrite }, progress, ct);
            if (partial is not null)
            {
                reinstated = Publish(partial, target, reinstated);
            }

            Log.RestoreServed(_logger, component, $"v{version}", location, target.Directory);
            await AppendAuditAsync(RestoreRecord(started, component, AuditOutcomes.Ok, $"{from} into {target.Directory}", clock.Elapsed, point.Id, null, [$"{component}: {location}"]) with { Operation = opId }, ct);
            return new SetRestoreItem(component, from, true, version, null, target.Directory, reinstated.Summary, null);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await AppendAuditAsync(RestoreRecord(started, component, AuditOutcomes.Failed, OneLine(e), clock.Elapsed, point.Id, null, []) with { Operation = opId }, ct);
            throw;
        }
        finally
        {
            TryDelete(staging);
            if (partial is not null)
            {
                TryDelete(partial.Directory);
            }
        }
    }
}
