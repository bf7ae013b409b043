using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Hosting;

/// <summary>Makes one service of the deployment; called just before the service starts, after the ones before it.</summary>
public delegate IDeploymentService DeploymentServiceFactory(DeploymentContext context);

/// <summary>
/// What a <see cref="DeploymentServiceFactory"/> gets: the plan, the layout, the options, logging, time, the metrics
/// to feed, and the services started before it (e.g. the registry's URL for the scoring service).
/// </summary>
public sealed class DeploymentContext
{
    private readonly List<IDeploymentService> _started;

    internal DeploymentContext(LifelinePlan plan, string? planPath, DeploymentLayout layout, DeploymentOptions options,
        ILoggerFactory loggerFactory, TimeProvider time, DeploymentMetrics metrics, List<IDeploymentService> started, string registryToken)
    {
        Plan = plan;
        PlanPath = planPath;
        Layout = layout;
        Options = options;
        LoggerFactory = loggerFactory;
        Time = time;
        Metrics = metrics;
        _started = started;
        RegistryToken = registryToken;
    }

    /// <summary>The plan being run.</summary>
    public LifelinePlan Plan { get; }

    /// <summary>The plan file (absolute), or null for the recommended plan used when there is no file.</summary>
    public string? PlanPath { get; }

    /// <summary>Where everything lives in the data directory.</summary>
    public DeploymentLayout Layout { get; }

    /// <summary>The options of <c>up</c>.</summary>
    public DeploymentOptions Options { get; }

    /// <summary>Logging of the up process.</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; }

    /// <summary>The Prometheus metrics to feed (recovery-point age, heartbeats, next runs).</summary>
    public DeploymentMetrics Metrics { get; }

    /// <summary>An admin token of the registry known only to this process (for in-process clients); never printed or stored.</summary>
    public string RegistryToken { get; }

    /// <summary>The services started so far, in order.</summary>
    public IReadOnlyList<IDeploymentService> Started => _started;

    /// <summary>The started service of type <typeparamref name="T"/>, or null.</summary>
    public T? Find<T>() where T : class, IDeploymentService => _started.OfType<T>().FirstOrDefault();

    /// <summary>The endpoint of the started service named <paramref name="name"/>, or null.</summary>
    public Uri? EndpointOf(string name) =>
        _started.FirstOrDefault(s => s.Name == name)?.State.Endpoint is { } e ? new Uri(e) : null;
}

/// <summary>
/// The services <c>lifeline up</c> starts, in order; it stops them in reverse. A new long-running part of the
/// deployment is one line in <see cref="Extra"/>.
/// </summary>
public static class DeploymentServices
{
    /// <summary>The registry, the lake tables and the scoring service (which needs both).</summary>
    public static IReadOnlyList<DeploymentServiceFactory> Core { get; } =
    [
        c => new RegistryDeploymentService(c),
        c => new LakeDeploymentService(c),
        c => new ScoringDeploymentService(c),
    ];

    /// <summary>The services after the core ones, in start order: one line each (the outbox first, so that the incidents find it; the heartbeat; the incidents, so that later services can raise signals; the scheduler, the change protector, the plan file's reload).</summary>
    public static IReadOnlyList<DeploymentServiceFactory> Extra { get; } =
    [
        c => new Notifications.NotificationsDeploymentService(c),
        c => new Notifications.HeartbeatDeploymentService(c),
        c => new IncidentsDeploymentService(c),
        PlanKeepers.Scheduler,
        c => new ProtectionDeploymentService(c),
        c => new PlanReloadService(c),
    ];

    /// <summary><see cref="Core"/> then <see cref="Extra"/>.</summary>
    public static IReadOnlyList<DeploymentServiceFactory> All => [.. Core, .. Extra];
}
