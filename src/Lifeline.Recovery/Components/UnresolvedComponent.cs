using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Components;

/// <summary>A component whose sources could not be resolved (an environment variable the plan names is not set, an
/// API URL that is not one once expanded): it stands in for its adapter so that the other components still run and
/// backing up or restoring this one fails with the reason, one line.</summary>
internal sealed class UnresolvedComponent(PlanComponent component, ComponentKind kind, string reason) : IRecoveryPointSource, IRestorer, IHealthProbe
{
    public string Name => component.Name;

    public ComponentKind Kind => kind;

    public ComponentSelector AppliesTo => new(kind, [component.Name]);

    /// <summary>Why the adapter could not be built.</summary>
    public string Reason => reason;

    public Task<CapturedPoint> CaptureAsync(CaptureContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken) =>
        throw new RecoveryException(reason);

    public RestoreTarget ResolveTarget(string? asName) => throw new RecoveryException(reason);

    public Task<ReinstateResult> ReinstateAsync(ReinstateContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken) =>
        throw new RecoveryException(reason);

    public Task<HealthResult> ProbeAsync(CancellationToken cancellationToken) => Task.FromResult(new HealthResult(false, reason));
}
