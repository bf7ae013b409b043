using System.Globalization;
using Lifeline.Scoring.Models;
using Microsoft.Extensions.Hosting;

namespace Lifeline.Scoring.Failover;

/// <summary>
/// Watches the outcomes of the current model version in a rolling window and rolls back when
/// (a) failures reach <see cref="FailoverOptions.FailureShare"/> of at least <see cref="FailoverOptions.MinRequests"/>
/// predictions (checked on every failure, so the switch follows the failure that crossed the line), or
/// (b) the window's p99 latency stays over <see cref="FailoverOptions.LatencyBudget"/> for
/// <see cref="FailoverOptions.LatencySustain"/> (checked every <see cref="FailoverOptions.CheckInterval"/>).
/// The window starts empty with each newly activated version; outcomes of requests still running on an old version
/// are ignored.
/// </summary>
internal sealed class FailoverMonitor : BackgroundService
{
    private readonly ModelManager _models;
    private readonly FailoverOptions _options;
    private readonly TimeProvider _timeProvider;
    private readonly OutcomeWindow _window;
    private volatile ActiveModel? _watched;
    private int _rollingBack;
    private DateTimeOffset? _overBudgetSince;
    private DateTimeOffset _quietUntil = DateTimeOffset.MinValue;
    private readonly CancellationTokenSource _stopping = new();

    public FailoverMonitor(ModelManager models, ScoringOptions options, TimeProvider timeProvider)
    {
        _models = models;
        _options = options.Failover;
        _timeProvider = timeProvider;
        _window = new OutcomeWindow(_options.Window, timeProvider);
        _models.Activated += Watch;
        _watched = models.Current;
    }

    /// <summary>The running rollback, if any (tests wait on it).</summary>
    public Task? LastRollback { get; private set; }

    public OutcomeWindow.Snapshot Snapshot() => _window.Read();

    private void Watch(ActiveModel model)
    {
        _quietUntil = DateTimeOffset.MinValue;
        _window.Clear();
        _overBudgetSince = null;
        _watched = model;
    }

    public void Record(ActiveModel model, bool failed, double latencyMs)
    {
        if (!ReferenceEquals(model, _watched))
        {
            if (_watched is not null || !ReferenceEquals(model, _models.Current))
            {
                return;
            }

            _watched = model;
        }

        _window.Record(failed, latencyMs);
        if (!failed || !_options.Enabled)
        {
            return;
        }

        var snapshot = _window.Read();
        if (snapshot.Total >= _options.MinRequests && snapshot.FailureShare >= _options.FailureShare)
        {
            Trip(string.Create(CultureInfo.InvariantCulture,
                $"{snapshot.Failures} of {snapshot.Total} predictions failed in the last {_options.Window.TotalSeconds:0}s ({snapshot.FailureShare:P1} ≥ {_options.FailureShare:P1})"));
        }
    }

    private void Trip(string reason)
    {
        if (_timeProvider.GetUtcNow() < _quietUntil || Interlocked.CompareExchange(ref _rollingBack, 1, 0) != 0)
        {
            return;
        }

        LastRollback = RollBackAsync(reason);
    }

    private async Task RollBackAsync(string reason)
    {
        try
        {
            if (await _models.RollbackAsync(reason, "failover", _stopping.Token) is null)
            {
                // Nothing to go back to (alerted once by the manager): do not ask again on every failure; wait a window.
                _quietUntil = _timeProvider.GetUtcNow() + _options.Window;
            }
        }
        catch (Exception)
        {
            // logged by the manager; try again after a window
            _quietUntil = _timeProvider.GetUtcNow() + _options.Window;
        }
        finally
        {
            Volatile.Write(ref _rollingBack, 0);
        }
    }

    /// <summary>One evaluation of the latency trigger (the background loop calls it every check interval).</summary>
    internal void CheckLatency()
    {
        if (!_options.Enabled)
        {
            return;
        }

        var snapshot = _window.Read();
        var now = _timeProvider.GetUtcNow();
        if (snapshot.Total < _options.MinRequests || snapshot.P99Ms <= _options.LatencyBudget.TotalMilliseconds)
        {
            _overBudgetSince = null;
            return;
        }

        _overBudgetSince ??= now;
        if (now - _overBudgetSince.Value >= _options.LatencySustain)
        {
            _overBudgetSince = null;
            Trip(string.Create(CultureInfo.InvariantCulture,
                $"p99 latency {snapshot.P99Ms:0.###} ms over the {_options.LatencyBudget.TotalMilliseconds:0} ms budget for {_options.LatencySustain.TotalSeconds:0}s"));
        }
    }

    private PeriodicTimer? _timer;

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        _timer = new PeriodicTimer(_options.CheckInterval, _timeProvider); // before the loop runs, so a fake clock drives it at once
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = _timer ?? new PeriodicTimer(_options.CheckInterval, _timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                CheckLatency();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await _stopping.CancelAsync();
        }
    }

    public override void Dispose()
    {
        _models.Activated -= Watch;
        _stopping.Dispose();
        base.Dispose();
    }
}
