using Lifeline.Scoring.Failover;
using Lifeline.Scoring.Sinks;
using Lifeline.Scoring.Sources;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Models;

/// <summary>A loaded version being served: immutable, swapped as a whole, so a request sees one version throughout.</summary>
internal sealed record ActiveModel(ILeadModel Model, ModelVersionInfo Info, ModelSignature Signature, DateTimeOffset LoadedAt)
{
    public string Version => Info.Version;
}

/// <summary>Turns a cached artifact directory into a model; replaceable (tests wrap models to make them fail).</summary>
public interface IModelLoader
{
    /// <summary>Loads the artifact in <paramref name="directory"/> for <paramref name="version"/>.</summary>
    Task<(ILeadModel Model, ModelSignature Signature)> LoadAsync(string directory, ModelVersionInfo version, CancellationToken cancellationToken);
}

internal sealed class ArtifactModelLoader : IModelLoader
{
    public Task<(ILeadModel Model, ModelSignature Signature)> LoadAsync(string directory, ModelVersionInfo version, CancellationToken cancellationToken) =>
        ModelArtifact.LoadAsync(directory, cancellationToken);
}

/// <summary>The outcome of a rollback.</summary>
internal sealed record RollbackResult(string FromVersion, string ToVersion, string Reason, DateTimeOffset At);

/// <summary>
/// Owns the served model: loads the Production version at start (from the source, else from the cache), polls for a
/// new one, and rolls back. The current model is one reference swapped atomically; requests read it once.
/// A rolled-back version is remembered (in the cache directory) and never picked up again by the poller.
/// </summary>
internal sealed class ModelManager(
    IModelSource source,
    ModelCache cache,
    IModelLoader loader,
    ScoringOptions options,
    TimeProvider timeProvider,
    AuditLog audit,
    IAlertSink alerts,
    ScoringMetrics metrics,
    ILogger<ModelManager> logger) : BackgroundService
{
    private const string RejectedFile = "rejected.txt";
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _loading = new(1, 1);
    private volatile ActiveModel? _current;
    private ActiveModel? _previous;
    private HashSet<string> _rejected = [];

    public ActiveModel? Current => _current;

    public ActiveModel? Previous
    {
        get
        {
            lock (_gate)
            {
                return _previous;
            }
        }
    }

    public IReadOnlyList<string> Rejected
    {
        get
        {
            lock (_gate)
            {
                return [.. _rejected.Order(StringComparer.Ordinal)];
            }
        }
    }

    public IModelSource Source => source;

    /// <summary>Raised after a new model became current (load, poll or rollback).</summary>
    public event Action<ActiveModel>? Activated;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        options.Validate();
        _rejected = await ReadRejectedAsync(cancellationToken);
        await InitialLoadAsync(cancellationToken);
        _timer = new PeriodicTimer(options.PollInterval, timeProvider); // before the loop runs, so a fake clock drives it at once
        await base.StartAsync(cancellationToken);
    }

    private PeriodicTimer? _timer;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = _timer ?? new PeriodicTimer(options.PollInterval, timeProvider);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                await RefreshAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task InitialLoadAsync(CancellationToken cancellationToken)
    {
        Exception? sourceError = null;
        try
        {
            var production = await source.GetProductionAsync(cancellationToken);
            if (production is not null && IsRejected(production.Version))
            {
                production = await FindPreviousAcceptableAsync(production.Version, cancellationToken);
            }

            if (production is not null)
            {
                await ActivateAsync(production, "start", cancellationToken);
                return;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            sourceError = ex;
        }

        var cached = await cache.GetCurrentAsync(cancellationToken);
        if (cached is not null)
        {
            try
            {
                await ActivateAsync(cached, "start-from-cache", cancellationToken);
                if (sourceError is not null)
                {
                    Log.ServingFromCache(logger, source.Description, cached.Version, sourceError);
                }

                return;
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                sourceError ??= ex;
            }
        }

        Log.NoModel(logger, source.Description, sourceError);
    }

    /// <summary>Asks the source for the Production version and switches to it when it is new and not rejected.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var production = await source.GetProductionAsync(cancellationToken);
            if (production is null || production.Version == _current?.Version || IsRejected(production.Version))
            {
                return;
            }

            await ActivateAsync(production, "poll", cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Log.PollFailed(logger, source.Description, _current?.Version, ex);
        }
    }

    private bool IsRejected(string version)
    {
        lock (_gate)
        {
            return _rejected.Contains(version);
        }
    }

    private async Task<ActiveModel> LoadAsync(ModelVersionInfo version, CancellationToken cancellationToken)
    {
        var directory = await cache.GetOrDownloadAsync(source, version, cancellationToken);
        var (model, signature) = await loader.LoadAsync(directory, version, cancellationToken);
        return new ActiveModel(model, version, signature, timeProvider.GetUtcNow());
    }

    private async Task ActivateAsync(ModelVersionInfo version, string why, CancellationToken cancellationToken)
    {
        await _loading.WaitAsync(cancellationToken);
        try
        {
            ActiveModel loaded;
            try
            {
                loaded = await LoadAsync(version, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Log.LoadFailed(logger, version.Version, _current?.Version, ex);
                throw;
            }

            string? from;
            lock (_gate)
            {
                from = _current?.Version;
                if (_current is not null)
                {
                    _previous = _current;
                }

                _current = loaded;
            }

            await cache.SetCurrentAsync(version, cancellationToken);
            metrics.SetModelVersion(version.Version);
            Log.ModelActivated(logger, version.Name, version.Version, source.Description);
            Activated?.Invoke(loaded);
            await audit.WriteAsync(new AuditRecord(timeProvider.GetUtcNow(), "scoring", "model.activate", $"{version.Name}/{version.Version}",
                $"{why}; previous {from ?? "none"}"), cancellationToken);
        }
        finally
        {
            _loading.Release();
        }
    }

    /// <summary>
    /// Switches back to the previous Production version: the one served before (still in memory, so the switch is
    /// immediate) or else the one the source names. The abandoned version is rejected from now on. Returns
    /// <c>null</c> when there is no version to go back to.
    /// </summary>
    public async Task<RollbackResult?> RollbackAsync(string reason, string actor, CancellationToken cancellationToken)
    {
        ActiveModel? from;
        ActiveModel? to;
        lock (_gate)
        {
            from = _current;
            to = _previous;
            if (from is not null && to is not null)
            {
                _rejected.Add(from.Version);
                _current = to;
                _previous = null;
            }
        }

        if (from is null)
        {
            return null;
        }

        if (to is null)
        {
            await _loading.WaitAsync(cancellationToken);
            try
            {
                if (!ReferenceEquals(_current, from))
                {
                    return null; // someone else switched meanwhile
                }

                var previous = await FindPreviousAcceptableAsync(from.Version, cancellationToken);
                if (previous is null)
                {
                    Log.NoPreviousVersion(logger, from.Info.Name, from.Version, reason);
                    await alerts.RaiseAsync(new Alert(timeProvider.GetUtcNow(), "critical", "model-failover-impossible",
                        $"{from.Info.Name} version {from.Version}: {reason}; no previous version to roll back to"), cancellationToken);
                    return null;
                }

                to = await LoadAsync(previous, cancellationToken);
                lock (_gate)
                {
                    _rejected.Add(from.Version);
                    _current = to;
                    _previous = null;
                }
            }
            finally
            {
                _loading.Release();
            }
        }

        var at = timeProvider.GetUtcNow();
        metrics.SetModelVersion(to.Version);
        metrics.Rollbacks.Inc();
        if (actor == "failover")
        {
            metrics.Failovers.Inc();
        }
        Activated?.Invoke(to);
        Log.RolledBack(logger, from.Info.Name, from.Version, to.Version, reason);
        await WriteRejectedAsync(cancellationToken);
        await cache.SetCurrentAsync(to.Info, cancellationToken);
        await audit.WriteAsync(new AuditRecord(at, actor, "model.rollback", $"{from.Info.Name}/{from.Version}",
            $"rolled back to {to.Version}: {reason}"), cancellationToken);
        await alerts.RaiseAsync(new Alert(at, "critical", "model-rollback",
            $"{from.Info.Name}: rolled back from version {from.Version} to {to.Version} ({actor}): {reason}"), cancellationToken);
        return new RollbackResult(from.Version, to.Version, reason, at);
    }

    private async Task<ModelVersionInfo?> FindPreviousAcceptableAsync(string version, CancellationToken cancellationToken)
    {
        var candidate = await source.GetPreviousProductionAsync(version, cancellationToken);
        while (candidate is not null && IsRejected(candidate.Version))
        {
            candidate = await source.GetPreviousProductionAsync(candidate.Version, cancellationToken);
        }

        return candidate;
    }

    private async Task<HashSet<string>> ReadRejectedAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(cache.Directory, RejectedFile);
        return File.Exists(path)
            ? [.. (await File.ReadAllLinesAsync(path, cancellationToken)).Where(l => l.Length > 0)]
            : [];
    }

    private async Task WriteRejectedAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(cache.Directory);
        await File.WriteAllLinesAsync(Path.Combine(cache.Directory, RejectedFile), Rejected, cancellationToken);
    }
}
