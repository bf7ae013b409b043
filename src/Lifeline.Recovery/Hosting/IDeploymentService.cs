namespace Lifeline.Recovery.Hosting;

/// <summary>
/// A long-running part of the deployment that <c>lifeline up</c> starts, watches and stops: the registry server, the
/// scoring service, the metrics recorder, the scheduler, the change watchers. The host starts them in order, stops
/// them in reverse order, and shows <see cref="State"/> in <c>lifeline status</c> and the Prometheus metrics.
/// </summary>
public interface IDeploymentService
{
    /// <summary>Short stable name, as shown by <c>status</c> (<c>registry</c>, <c>scoring</c>, <c>scheduler</c>...).</summary>
    string Name { get; }

    /// <summary>Returns once the service is running (listening, first reconcile done); throws if it cannot start.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Graceful stop: finishes or hands over in-flight work so nothing acknowledged is lost.</summary>
    Task StopAsync(CancellationToken cancellationToken);

    /// <summary>The live state, read at any time from any thread.</summary>
    DeploymentServiceState State { get; }
}

/// <summary>Where a deployment service stands.</summary>
public enum DeploymentServiceStatus
{
    /// <summary>Not started yet.</summary>
    Pending,
    /// <summary>Starting.</summary>
    Starting,
    /// <summary>Running normally.</summary>
    Running,
    /// <summary>Running, but something needs attention (see the detail).</summary>
    Degraded,
    /// <summary>Stopped on request.</summary>
    Stopped,
    /// <summary>Failed to start or crashed (see the detail).</summary>
    Failed,
}

/// <summary>The live state of one deployment service.</summary>
/// <param name="Status">Where it stands.</param>
/// <param name="Endpoint">Where it listens (a URL), if it listens.</param>
/// <param name="Detail">One line for a human, e.g. the last error or "next run in 4m".</param>
public sealed record DeploymentServiceState(DeploymentServiceStatus Status, string? Endpoint = null, string? Detail = null);
