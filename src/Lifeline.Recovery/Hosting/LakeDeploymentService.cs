using Lifeline.Lake.LeadScoring;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// The lake as a deployment service: opens the lead-scoring Delta tables in <c>&lt;data&gt;/lake</c> (leads,
/// predictions, conversions, audit_logs, monitoring_metrics), creating those that are absent. It does not listen; the
/// scoring service writes its predictions and audit records into these tables.
/// </summary>
public sealed class LakeDeploymentService : IDeploymentService
{
    private readonly DeploymentContext _context;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);

    /// <summary>Creates the service (nothing opens yet).</summary>
    public LakeDeploymentService(DeploymentContext context) => _context = context;

    /// <inheritdoc/>
    public string Name => "lake";

    /// <inheritdoc/>
    public DeploymentServiceState State => _state;

    /// <summary>The opened lake once started.</summary>
    public LeadScoringLake? Lake { get; private set; }

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _state = new(DeploymentServiceStatus.Starting, Detail: "opening the tables");
        try
        {
            Lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(_context.Layout.Lake), "", cancellationToken: cancellationToken);
        }
        catch (Exception e)
        {
            _state = new(DeploymentServiceStatus.Failed, Detail: e.Message);
            throw;
        }

        _state = new(DeploymentServiceStatus.Running, Detail: $"{Lake.Tables.Count} Delta tables in {_context.Layout.Lake}");
    }

    /// <inheritdoc/>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        _state = _state with { Status = DeploymentServiceStatus.Stopped, Detail = "stopped" };
        return Task.CompletedTask;
    }
}
