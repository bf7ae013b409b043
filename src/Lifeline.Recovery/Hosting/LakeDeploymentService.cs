using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// The lake as a deployment service: opens the lead-scoring Delta tables in <c>&lt;data&gt;/lake</c> (leads,
/// predictions, conversions, audit_logs, monitoring_metrics), creating those that are absent. It does not listen; the
/// scoring service writes its predictions and audit records into these tables. While it runs, its
/// <see cref="TableCompactor"/> compacts the tables that collect small files and vacuums, by each table's retention, the
/// files they no longer reference (<see cref="DeploymentOptions.LakeCompaction"/>).
/// </summary>
public sealed class LakeDeploymentService : IDeploymentService, IAsyncDisposable
{
    private readonly DeploymentContext _context;
    private TableCompactor? _compactor;
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
            if (_context.Options.LakeCompaction is { } compaction)
            {
                _compactor = new TableCompactor(Lake.Tables, compaction, _context.Time, _context.LoggerFactory.CreateLogger<LakeDeploymentService>());
                _compactor.RoundCompleted += OnCompactionRound;
            }
        }
        catch (Exception e)
        {
            _state = new(DeploymentServiceStatus.Failed, Detail: e.Message);
            throw;
        }

        _state = new(DeploymentServiceStatus.Running, Detail: RunningDetail(null));
        _compactor?.Start();
    }

    /// <summary>The compactor of the lake's tables, when compaction is on and the service started.</summary>
    public TableCompactor? Compactor => _compactor;

    private string RunningDetail(string? compaction) =>
        $"{Lake?.Tables.Count} Delta tables in {_context.Layout.Lake}"
        + (_compactor is null ? "" : $"; compaction every {_compactor.Options.Interval.TotalMinutes:0.#} min")
        + (compaction is null ? "" : $", last: {compaction}");

    private void OnCompactionRound(IReadOnlyList<CompactionOutcome> outcomes)
    {
        var done = outcomes.Where(o => o.Result?.Version is not null).ToList();
        var failed = outcomes.Where(o => o.Error is not null).ToList();
        var summary = $"{_context.Time.GetUtcNow():HH:mm:ss}Z "
            + (done.Count == 0 ? "nothing to compact" : string.Join(", ", done.Select(o => $"{o.Table} {o.Result!.FilesRemoved}→{o.Result.FilesAdded} files")))
            + (outcomes.Sum(o => o.Vacuum?.Deleted.Count ?? 0) is var vacuumed and > 0 ? $", {vacuumed} removed files vacuumed" : "")
            + (failed.Count == 0 ? "" : $", failed: {string.Join(", ", failed.Select(o => o.Table))} (retried next round)");
        if (_state.Status == DeploymentServiceStatus.Running)
        {
            _state = _state with { Detail = RunningDetail(summary) };
        }
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_compactor is not null)
        {
            await _compactor.StopAsync();
        }

        _state = _state with { Status = DeploymentServiceStatus.Stopped, Detail = "stopped" };
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (_compactor is not null)
        {
            await _compactor.DisposeAsync();
        }
    }
}
