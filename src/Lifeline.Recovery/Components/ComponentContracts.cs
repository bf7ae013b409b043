using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;
using Lifeline.Vault;

namespace Lifeline.Recovery.Components;

// Velero-style: a few narrow interfaces, one per capability. An adapter implements those it can; the core never asks
// a component for something it does not implement (no "not supported" methods).

/// <summary>What an adapter applies to: a component kind, and optionally only some component names.</summary>
/// <param name="Kind">The kind of component.</param>
/// <param name="Names">The component names it protects; empty = every component of <paramref name="Kind"/>.</param>
public sealed record ComponentSelector(ComponentKind Kind, IReadOnlyList<string> Names)
{
    /// <summary>True when the adapter protects <paramref name="component"/>.</summary>
    public bool Matches(PlanComponent component) =>
        PlanChecker.KindOf(component) == Kind && (Names.Count == 0 || Names.Contains(component.Name));
}

/// <summary>A protected component: its name, its kind and what it applies to. Every capability extends it.</summary>
public interface IProtectedComponent
{
    /// <summary>The component's name in the plan (also its vault source and tag).</summary>
    string Name { get; }

    /// <summary>What it is.</summary>
    ComponentKind Kind { get; }

    /// <summary>What it applies to.</summary>
    ComponentSelector AppliesTo { get; }
}

/// <summary>Progress of a long recovery operation, tagged by its operation id (as Velero's async actions).</summary>
public sealed record RecoveryProgress
{
    /// <summary>The operation (one backup, restore, copy or forget run), stable for its whole run.</summary>
    public required string OperationId { get; init; }

    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>hook-pre, capture, backup, copy, verify, hook-post, restore, reinstate, forget.</summary>
    public required string Phase { get; init; }

    /// <summary>The location being worked on, if any.</summary>
    public string? Location { get; init; }

    /// <summary>The vault's own progress within the phase, if any.</summary>
    public VaultProgress? Vault { get; init; }
}

/// <summary>What a recovery point source hands the core: a consistent, staged copy of the component.</summary>
public sealed class CapturedPoint : IAsyncDisposable
{
    private readonly Func<ValueTask>? _cleanup;

    /// <summary>Creates a captured point; <paramref name="cleanup"/> runs when the core is done with it.</summary>
    public CapturedPoint(IReadOnlyList<string> paths, RecoveryPointTags tags, Func<ValueTask>? cleanup = null)
    {
        Paths = paths;
        Tags = tags;
        _cleanup = cleanup;
    }

    /// <summary>The files or directories the vault snapshot is made of.</summary>
    public IReadOnlyList<string> Paths { get; }

    /// <summary>The tags the snapshot gets (encoded by the one codec).</summary>
    public RecoveryPointTags Tags { get; }

    /// <summary>Re-read every byte instead of trusting the parent snapshot's metadata (a "full").</summary>
    public bool Force { get; init; }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => _cleanup?.Invoke() ?? ValueTask.CompletedTask;
}

/// <summary>What a capture is given.</summary>
public sealed record CaptureContext
{
    /// <summary>A directory of the run's own to stage into (empty; deleted by the core afterwards).</summary>
    public required string WorkDirectory { get; init; }

    /// <summary>The run's operation id.</summary>
    public required string OperationId { get; init; }

    /// <summary>True for the policy's "full" run.</summary>
    public bool Full { get; init; }

    /// <summary>A directory of the component's own kept between its captures on this host (under the same capture
    /// lock), for staging an adapter updates instead of rebuilding (the registry's hard-link mirror); <c>null</c> when none.</summary>
    public string? KeepDirectory { get; init; }
}

/// <summary>Takes a consistent recovery point of a component (a database snapshot, one table version, the set of
/// configuration files) into a staging area; the core stores it as one vault snapshot and copies it.</summary>
public interface IRecoveryPointSource : IProtectedComponent
{
    /// <summary>Captures the component as it is now.</summary>
    Task<CapturedPoint> CaptureAsync(CaptureContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>Where a restore writes.</summary>
/// <param name="Directory">The directory the component is reinstated into.</param>
/// <param name="IsLive">True when it is where the live component is (needs an explicit overwrite).</param>
public sealed record RestoreTarget(string Directory, bool IsLive);

/// <summary>What reinstating is given: the point, restored by the core from a vault into a staging directory.</summary>
public sealed record ReinstateContext
{
    /// <summary>The point restored.</summary>
    public required RecoveryPoint Point { get; init; }

    /// <summary>The vault snapshot's files, restored from the location that served it.</summary>
    public required string StagedDirectory { get; init; }

    /// <summary>Where to reinstate.</summary>
    public required RestoreTarget Target { get; init; }

    /// <summary>Replace what is in the target (asked for explicitly).</summary>
    public bool Overwrite { get; init; }
}

/// <summary>What reinstating did.</summary>
/// <param name="Target">Where the component now is.</param>
/// <param name="Items">Files, variables, rows... reinstated, for the report.</param>
/// <param name="Summary">One line for the report (never a secret).</param>
public sealed record ReinstateResult(string Target, long Items, string Summary);

/// <summary>Restores a recovery point of a component: the core restores the snapshot out of the vault (falling back
/// across locations); the restorer reinstates it into a target, never over live data unless asked.</summary>
public interface IRestorer : IProtectedComponent
{
    /// <summary>Where a restore goes: the live place (<paramref name="asName"/> null) or beside it under that name.</summary>
    RestoreTarget ResolveTarget(string? asName);

    /// <summary>Reinstates the staged point into the target.</summary>
    Task<ReinstateResult> ReinstateAsync(ReinstateContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken);
}

/// <summary>The outcome of verifying a component or one of its points.</summary>
/// <param name="Ok">True when nothing is wrong.</param>
/// <param name="Problems">One line per problem.</param>
public sealed record VerificationResult(bool Ok, IReadOnlyList<string> Problems)
{
    /// <summary>A passed verification.</summary>
    public static VerificationResult Passed { get; } = new(true, []);
}

/// <summary>Verifies a restored point beyond the vault's own hash checks (the component's own integrity: a table's
/// log, the registry's database, a configuration manifest).</summary>
public interface IVerifier : IProtectedComponent
{
    /// <summary>Verifies the point restored into <paramref name="stagedDirectory"/>.</summary>
    Task<VerificationResult> VerifyAsync(RecoveryPoint point, string stagedDirectory, CancellationToken cancellationToken);
}

/// <summary>The live component's health.</summary>
/// <param name="Healthy">True when it answers and is consistent.</param>
/// <param name="Detail">One line.</param>
public sealed record HealthResult(bool Healthy, string Detail);

/// <summary>Probes the live component (for status, failover and drills).</summary>
public interface IHealthProbe : IProtectedComponent
{
    /// <summary>Probes it now.</summary>
    Task<HealthResult> ProbeAsync(CancellationToken cancellationToken);
}

/// <summary>Reports the newest recovery point of a component; the core's <see cref="Locations.LocationSet"/>-based
/// implementation serves every component whose points are vault snapshots (all of them today).</summary>
public interface IRecoveryPointReporter
{
    /// <summary>The newest recovery point of <paramref name="component"/> present in every one of <paramref name="locations"/>, or null.</summary>
    Task<RecoveryPoint?> GetNewestAsync(string component, IReadOnlyList<string> locations, CancellationToken cancellationToken);
}
