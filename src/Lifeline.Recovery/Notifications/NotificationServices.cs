using System.Globalization;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Notifications;

/// <summary>
/// The deliverer as a service of <c>lifeline up</c> ("notifications"): opens the outbox (<c>DATA/notifications/outbox.db</c>),
/// probes each channel once at start (one line each in the log and in the state), and delivers what is due, woken by
/// each enqueue and otherwise at the next retry. It is the deployment's <see cref="INoticeSink"/>: a later service
/// finds it with <c>context.Started.OfType&lt;INoticeSink&gt;()</c>; a channel-failing signal goes to the first started
/// <see cref="IIncidentSignals"/>, looked up when it is raised.
/// </summary>
public sealed class NotificationsDeploymentService : IDeploymentService, INoticeSink, IAsyncDisposable
{
    private readonly DeploymentContext _context;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _wake = new(0, 1);
    private Task _loop = Task.CompletedTask;
    private volatile string _probe = "probing channels";
    private volatile bool _probeFailed;
    private volatile string? _error;
    private int _disposed;

    /// <summary>The service for <paramref name="context"/>.</summary>
    public NotificationsDeploymentService(DeploymentContext context, DeliveryOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _logger = context.LoggerFactory.CreateLogger("Lifeline.Notifications");
        Outbox = NotificationOutbox.InDataDirectory(context.Plan, context.Layout.Root, context.Time);
        Outbox.Enqueued += Wake;
        var baseDirectory = context.PlanPath is { } plan ? Path.GetDirectoryName(plan)! : context.Layout.Root;
        Deliverer = new NotificationDeliverer(context.Plan, Outbox, baseDirectory, options, context.Time, _logger,
            () => context.Started.OfType<IIncidentSignals>().FirstOrDefault());
    }

    /// <inheritdoc/>
    public string Name => "notifications";

    /// <summary>The outbox.</summary>
    public NotificationOutbox Outbox { get; }

    /// <summary>The deliverer.</summary>
    public NotificationDeliverer Deliverer { get; }

    /// <summary>Completes when every channel has been probed once (the lines are in the log and the state).</summary>
    public Task Probed { get; private set; } = Task.CompletedTask;

    /// <summary>The probe lines, one per channel, once <see cref="Probed"/> completed.</summary>
    public IReadOnlyList<string> ProbeLines { get; private set; } = [];

    /// <inheritdoc/>
    public DeploymentServiceState State => _error is { } e
        ? new(DeploymentServiceStatus.Degraded, Detail: e)
        : new(_probeFailed ? DeploymentServiceStatus.Degraded : DeploymentServiceStatus.Running, Detail: $"{_context.Plan.Notifications.Channels.Count} channels; {_probe}");

    /// <inheritdoc/>
    public Task EnqueueAsync(Notice notice, CancellationToken cancellationToken = default) => Outbox.EnqueueAsync(notice, cancellationToken);

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await Outbox.CountsAsync(cancellationToken); // creates or migrates the outbox now: a bad file fails the start, not the first incident
        Probed = ProbeAsync(_stop.Token);
        _loop = RunAsync(_stop.Token);
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(_loop, Probed).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // stopping: what is pending stays in the outbox for the next start or `lifeline notify flush`
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        Outbox.Enqueued -= Wake;
        Deliverer.Dispose();
        _stop.Dispose();
        _wake.Dispose();
    }

    private void Wake()
    {
        try
        {
            if (_wake.CurrentCount == 0)
            {
                _wake.Release();
            }
        }
        catch (Exception e) when (e is SemaphoreFullException or ObjectDisposedException)
        {
            // already woken, or stopped
        }
    }

    private async Task ProbeAsync(CancellationToken ct)
    {
        await Task.Yield();
        var channels = _context.Plan.Notifications.Channels;
        var results = await Task.WhenAll(channels.Select(c => Deliverer.Sender.ProbeAsync(c, ct)));
        foreach (var (ok, line) in results)
        {
            if (ok)
            {
                Log.ChannelProbeOk(_logger, line);
            }
            else
            {
                Log.ChannelProbeFailed(_logger, line);
            }
        }

        ProbeLines = results.Select(r => r.Line).ToList();
        var failed = results.Where(r => !r.Ok).Select(r => r.Line).ToList();
        _probeFailed = failed.Count > 0;
        _probe = failed.Count == 0 ? "every channel answered its probe" : string.Join("; ", failed);
    }

    private async Task RunAsync(CancellationToken ct)
    {
        await Task.Yield();
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await Deliverer.DeliverDueAsync(cancellationToken: ct);
                _error = null;
                var next = await Deliverer.NextDueAsync(ct);
                var wait = next is { } n ? n - _context.Time.GetUtcNow() : TimeSpan.FromMinutes(1);
                wait = wait < TimeSpan.FromMilliseconds(50) ? TimeSpan.FromMilliseconds(50) : wait > TimeSpan.FromMinutes(1) ? TimeSpan.FromMinutes(1) : wait;
                using var round = CancellationTokenSource.CreateLinkedTokenSource(ct);
                var woken = _wake.WaitAsync(round.Token);
                await Task.WhenAny(woken, Task.Delay(wait, _context.Time, round.Token));
                await round.CancelAsync();
                await woken.ContinueWith(_ => { }, TaskScheduler.Default);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or RecoveryException or InvalidOperationException)
            {
                _error = $"the outbox cannot be read: {e.Message}";
                Log.DelivererRoundFailed(_logger, e.Message);
                await Task.Delay(TimeSpan.FromSeconds(5), _context.Time, ct).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }
}

/// <summary>
/// The dead man's switch as a service of <c>lifeline up</c> ("heartbeat"): GETs (or POSTs) the plan's
/// <c>notifications.heartbeat.url</c> at start and every <c>every</c>, so a receiver outside Lifeline (a healthchecks
/// service, a cron monitor) notices when the beats stop: a Lifeline that died silently. Without a heartbeat in the plan
/// it does not run, and says so.
/// </summary>
public sealed class HeartbeatDeploymentService(DeploymentContext context) : IDeploymentService, IAsyncDisposable
{
    private readonly ILogger _logger = context.LoggerFactory.CreateLogger("Lifeline.Heartbeat");
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private Task _loop = Task.CompletedTask;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);
    private long _beats;
    private int _disposed;

    /// <inheritdoc/>
    public string Name => "heartbeat";

    /// <inheritdoc/>
    public DeploymentServiceState State => _state;

    /// <summary>Beats sent and accepted so far.</summary>
    public long Beats => Interlocked.Read(ref _beats);

    /// <inheritdoc/>
    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (context.Plan.Notifications.Heartbeat is not { } heartbeat)
        {
            _state = new(DeploymentServiceStatus.Stopped, Detail: "no notifications.heartbeat in the plan: no dead man's switch");
            return Task.CompletedTask;
        }

        if (ChannelChecks.HeartbeatUrl(heartbeat) is not { } url)
        {
            var problem = ChannelChecks.Problems(heartbeat).FirstOrDefault()?.Message ?? "the heartbeat has no usable URL";
            _state = new(DeploymentServiceStatus.Degraded, Detail: problem);
            return Task.CompletedTask;
        }

        var every = heartbeat.Every ?? HeartbeatPlan.DefaultEvery;
        _state = new(DeploymentServiceStatus.Running, Detail: $"beating to {url.Host} every {every.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s");
        _loop = RunAsync(url, heartbeat.Post, every, _stop.Token);
        return Task.CompletedTask;
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        try
        {
            await _loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // stopped
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await StopAsync(CancellationToken.None);
        _http.Dispose();
        _stop.Dispose();
    }

    private async Task RunAsync(Uri url, bool post, TimeSpan every, CancellationToken ct)
    {
        await Task.Yield();
        using var timer = new PeriodicTimer(every, context.Time);
        var secrets = new[] { url.ToString() };
        do
        {
            try
            {
                using var request = new HttpRequestMessage(post ? HttpMethod.Post : HttpMethod.Get, url);
                if (post)
                {
                    request.Content = new StringContent($"{{\"service\":\"lifeline\",\"time\":\"{context.Time.GetUtcNow():O}\"}}", System.Text.Encoding.UTF8, "application/json");
                }

                using var response = await _http.SendAsync(request, ct);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _beats);
                    Log.HeartbeatSent(_logger, url.Host, (int)response.StatusCode);
                    _state = new(DeploymentServiceStatus.Running, Detail: $"last beat to {url.Host} at {context.Time.GetUtcNow():u}, every {every.TotalSeconds.ToString("0.#", CultureInfo.InvariantCulture)} s");
                }
                else
                {
                    Missed($"answered {(int)response.StatusCode}");
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                Missed(ChannelChecks.Redact(e.Message, secrets));
            }
        }
        while (await Continue());

        async Task<bool> Continue()
        {
            try
            {
                return await timer.WaitForNextTickAsync(ct);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        void Missed(string reason)
        {
            Log.HeartbeatMissed(_logger, url.Host, reason);
            _state = new(DeploymentServiceStatus.Degraded, Detail: $"heartbeat to {url.Host} failed: {reason}");
        }
    }
}
