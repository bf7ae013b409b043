using System.Globalization;
using System.Security.Cryptography;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Microsoft.Extensions.Logging;
using Prometheus;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// The plan file, followed (service <c>plan</c> of <c>lifeline up</c>, docs/up.md "Plan reload"): a file-system watcher
/// and a poll of the file's content every <see cref="DeploymentOptions.PlanPollInterval"/> (watchers miss events), and
/// <see cref="RequestReload"/> (SIGHUP). A good change is reconciled into the scheduler
/// (<see cref="PlanScheduler.ReloadAsync"/>) and the protection (<see cref="ProtectionDeploymentService.ReloadAsync"/>);
/// a bad one (a parse error, or jobs the scheduler refuses) changes nothing: the running schedules keep firing, one
/// line is logged with the file, line and error, and the state turns degraded with
/// <c>plan reload failed at HH:MM: ...; running the plan loaded at HH:MM</c> until a good change clears it.
/// </summary>
internal sealed class PlanReloadService(DeploymentContext context) : IDeploymentService, IAsyncDisposable
{
    private readonly SemaphoreSlim _signal = new(0, 1);
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger("Lifeline.Plan");
    private CancellationTokenSource? _stop;
    private Task? _loop;
    private FileSystemWatcher? _watcher;
    private string? _loadedHash;
    private DateTimeOffset _loadedAt;
    private DateTimeOffset? _failedAt;
    private string? _error;
    private long _reloads;
    private int _forced;
    private Gauge? _failedGauge;
    private Gauge? _loadedGauge;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);

    public string Name => "plan";

    public DeploymentServiceState State => _state;

    /// <summary>The last reload's error (null when the running plan is the file's).</summary>
    public string? LastError => _error;

    /// <summary>Good reloads so far.</summary>
    public long Reloads => Interlocked.Read(ref _reloads);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loadedAt = context.Time.GetUtcNow();
        if (context.PlanPath is not { } path)
        {
            _state = new(DeploymentServiceStatus.Running, Detail: "Lifeline's recommended plan (no plan file): nothing to reload");
            return Task.CompletedTask;
        }

        _loadedHash = HashOf(path);
        _failedGauge = context.Metrics.CreateGauge("lifeline_plan_reload_failed", "1 while the last change of the plan file could not be loaded (the plan loaded before runs), else 0");
        _loadedGauge = context.Metrics.CreateGauge("lifeline_plan_loaded_timestamp_seconds", "When the running plan was loaded from the plan file");
        _failedGauge.Set(0);
        _loadedGauge.Set(_loadedAt.ToUnixTimeMilliseconds() / 1000.0);
        try
        {
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size,
            };
            _watcher.Changed += (_, _) => RequestReload();
            _watcher.Created += (_, _) => RequestReload();
            _watcher.Renamed += (_, _) => RequestReload();
            _watcher.EnableRaisingEvents = true;
        }
        catch (Exception e) when (e is IOException or ArgumentException or PlatformNotSupportedException)
        {
            _watcher?.Dispose();
            _watcher = null; // the poll still sees changes
        }

        _state = Loaded("watching the plan file");
        _stop = new CancellationTokenSource();
        var stop = _stop.Token;
        _loop = Task.Run(() => LoopAsync(path, stop), CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Asks for a reload now: <paramref name="force"/> (SIGHUP) reads the file even when its content looks
    /// unchanged; the watcher's requests only when it changed.</summary>
    public void RequestReload(bool force = false)
    {
        if (force)
        {
            Interlocked.Exchange(ref _forced, 1);
        }

        try
        {
            _signal.Release();
        }
        catch (SemaphoreFullException)
        {
            // one pending request is enough
        }
    }

    private async Task LoopAsync(string path, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            bool signalled;
            using (var wake = CancellationTokenSource.CreateLinkedTokenSource(stop))
            {
                // a change signalled (watcher, SIGHUP) or the poll's interval on the deployment's clock, whichever is first
                var signal = _signal.WaitAsync(wake.Token);
                var poll = Task.Delay(context.Options.PlanPollInterval, context.Time, wake.Token);
                await Task.WhenAny(signal, poll);
                await wake.CancelAsync();
                try
                {
                    await signal;
                }
                catch (OperationCanceledException)
                {
                    // the poll came first
                }

                if (stop.IsCancellationRequested)
                {
                    return;
                }

                signalled = signal.IsCompletedSuccessfully;
            }

            try
            {
                var forced = Interlocked.Exchange(ref _forced, 0) == 1;
                var hash = HashOf(path);
                if (!signalled && hash == _loadedHash)
                {
                    continue;
                }

                if (signalled)
                {
                    // an editor writes in several steps: wait until no further change is signalled for a moment
                    do
                    {
                        await Task.Delay(TimeSpan.FromMilliseconds(200), context.Time, stop);
                    }
                    while (_signal.Wait(0));

                    forced |= Interlocked.Exchange(ref _forced, 0) == 1;
                    hash = HashOf(path);
                    if (!forced && hash == _loadedHash)
                    {
                        continue; // touched, not changed
                    }
                }

                await ReloadAsync(path, hash, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Fail(path, $"{path}: cannot be read: {e.Message}");
            }
        }
    }

    private async Task ReloadAsync(string path, string? hash, CancellationToken ct)
    {
        var parsed = await PlanFile.LoadAsync(path, ct);
        if (!parsed.Succeeded)
        {
            _loadedHash = hash; // reported once; the next change is read again
            var more = parsed.Errors.Count > 1 ? $" ({parsed.Errors.Count - 1} more: lifeline plan check --plan {path})" : "";
            Fail(path, (parsed.Errors.Count > 0 ? parsed.Errors[0].ToString() : $"{path}: the plan cannot be read") + more);
            return;
        }

        // --data names where everything lives, as at the start (UpCommand)
        var plan = parsed.Plan! with { Sources = parsed.Plan!.Sources with { Data = context.Layout.Root } };
        _loadedHash = hash;
        var done = new List<string>();
        if (context.Find<PlanScheduler>() is { } scheduler)
        {
            var result = await scheduler.ReloadAsync(plan, ct);
            if (!result.Applied)
            {
                Fail(path, $"{path}: {result.Error}");
                return;
            }

            done.Add($"schedules +{result.Added.Count} ~{result.Changed.Count} -{result.Removed.Count}");
        }

        if (context.Find<ProtectionDeploymentService>() is { } protection)
        {
            done.Add(await protection.ReloadAsync(plan, ct));
        }

        _loadedAt = context.Time.GetUtcNow();
        _error = null;
        _failedAt = null;
        Interlocked.Increment(ref _reloads);
        _failedGauge?.Set(0);
        _loadedGauge?.Set(_loadedAt.ToUnixTimeMilliseconds() / 1000.0);
        var what = string.Join("; ", done);
        Log.PlanReloaded(_logger, path, what);
        _state = Loaded(what);
    }

    private void Fail(string path, string error)
    {
        _error = error;
        _failedAt = context.Time.GetUtcNow();
        _failedGauge?.Set(1);
        Log.PlanReloadFailed(_logger, path, error);
        _state = new(DeploymentServiceStatus.Degraded, Detail:
            $"plan reload failed at {Clock(_failedAt.Value)}: {error}; running the plan loaded at {Clock(_loadedAt)}");
    }

    private DeploymentServiceState Loaded(string what) =>
        new(DeploymentServiceStatus.Running, Detail: $"plan loaded at {Clock(_loadedAt)} from {context.PlanPath}; {what}");

    private static string Clock(DateTimeOffset time) => time.UtcDateTime.ToString("HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private static string? HashOf(string path)
    {
        try
        {
            return Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(path)));
        }
        catch (FileNotFoundException)
        {
            return null; // moved away mid-save: the next look sees the new file
        }
        catch (DirectoryNotFoundException)
        {
            return null;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _watcher?.Dispose();
        _watcher = null;
        if (_stop is { } stop)
        {
            await stop.CancelAsync();
            if (_loop is { } loop)
            {
                await loop.WaitAsync(cancellationToken);
            }

            stop.Dispose();
            _stop = null;
        }

        _state = new(DeploymentServiceStatus.Stopped);
    }

    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);
}
