using System.Security.Cryptography;
using Lifeline.Recovery.Plan;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// <c>lifeline up</c>: the whole deployment of a plan in one data directory on one machine. <see cref="StartAsync"/>
/// takes the data directory's lock (one <c>up</c> per directory), creates the layout, starts the status endpoint
/// (<c>GET /status</c>, <c>GET /metrics</c>) and then each service in order (the registry, the lake tables, the scoring
/// service, then <see cref="DeploymentServices.Extra"/>), and writes <c>lifeline.state.json</c>.
/// <see cref="StopAsync"/> stops the services in reverse order, each gracefully (the scoring service drains its
/// spool into the lake), then the status endpoint, removes the state file and releases the lock.
/// </summary>
public sealed class DeploymentHost : IAsyncDisposable
{
    private readonly LifelinePlan _plan;
    private readonly string? _planPath;
    private readonly DeploymentOptions _options;
    private readonly IReadOnlyList<DeploymentServiceFactory> _factories;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly List<IDeploymentService> _services = [];
    private DeploymentLock? _lock;
    private WebApplication? _status;
    private DateTimeOffset _startedAt;

    /// <summary>
    /// Prepares the deployment of <paramref name="plan"/> (read from <paramref name="planPath"/>, or null for the
    /// recommended plan) with <paramref name="services"/> in start order (default <see cref="DeploymentServices.All"/>).
    /// </summary>
    public DeploymentHost(LifelinePlan plan, string? planPath, DeploymentOptions options, IReadOnlyList<DeploymentServiceFactory>? services = null,
        ILoggerFactory? loggerFactory = null, TimeProvider? time = null)
    {
        options.Validate();
        _plan = plan;
        _planPath = planPath is null ? null : Path.GetFullPath(planPath);
        _options = options;
        _factories = services ?? DeploymentServices.All;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<DeploymentHost>();
        _time = time ?? TimeProvider.System;
        Layout = DeploymentLayout.For(options.DataDirectory);
        Metrics = new DeploymentMetrics(() => Services);
    }

    /// <summary>Where everything lives.</summary>
    public DeploymentLayout Layout { get; }

    /// <summary>The Prometheus metrics served on the status endpoint.</summary>
    public DeploymentMetrics Metrics { get; }

    /// <summary>The services created so far, in start order.</summary>
    public IReadOnlyList<IDeploymentService> Services
    {
        get
        {
            lock (_services)
            {
                return [.. _services];
            }
        }
    }

    /// <summary>The status endpoint's base URL once started.</summary>
    public Uri? StatusUrl { get; private set; }

    /// <summary>
    /// Starts everything; returns once every service runs. Throws <see cref="DeploymentAlreadyRunningException"/> when
    /// another <c>up</c> holds the data directory; when a service fails to start, stops those already started (in
    /// reverse) and rethrows its error.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(Layout.Root);
        _lock = DeploymentLock.Acquire(Layout);
        _startedAt = _time.GetUtcNow();
        try
        {
            Layout.Create();
            await StartStatusAsync(cancellationToken);
            WriteState(ready: false);
            var context = new DeploymentContext(_plan, _planPath, Layout, _options, _loggerFactory, _time, Metrics, _services,
                Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)));
            foreach (var factory in _factories)
            {
                var service = factory(context);
                lock (_services)
                {
                    _services.Add(service);
                }

                try
                {
                    await service.StartAsync(cancellationToken);
                }
                catch (Exception e)
                {
                    Log.ServiceStartFailed(_logger, service.Name, e.Message);
                    throw;
                }

                Log.ServiceStarted(_logger, service.Name, service.State.Endpoint ?? "-");
                WriteState(ready: false);
            }

            WriteState(ready: true);
        }
        catch
        {
            await StopAsync(CancellationToken.None);
            throw;
        }
    }

    /// <summary>Starts, runs until <paramref name="cancellationToken"/> is cancelled (Ctrl-C, SIGTERM), then stops gracefully.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await StartAsync(cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // the normal way to stop
        }

        await StopAsync(CancellationToken.None);
    }

    /// <summary>Stops the services in reverse order (each within <see cref="DeploymentOptions.StopTimeout"/>), the status endpoint, and releases the lock.</summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        List<Exception> errors = [];
        foreach (var service in Services.AsEnumerable().Reverse())
        {
            if (service.State.Status is DeploymentServiceStatus.Pending or DeploymentServiceStatus.Stopped)
            {
                continue;
            }

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.StopTimeout);
            try
            {
                await service.StopAsync(timeout.Token);
                Log.ServiceStopped(_logger, service.Name);
            }
            catch (Exception e)
            {
                Log.ServiceStopFailed(_logger, service.Name, e.Message);
                errors.Add(e);
            }
        }

        if (_status is { } status)
        {
            _status = null;
            await status.StopAsync(CancellationToken.None);
            await status.DisposeAsync();
        }

        if (_lock is { } held)
        {
            DeploymentStateFile.Delete(Layout);
            _lock = null;
            held.Dispose();
        }

        if (errors.Count > 0)
        {
            throw new RecoveryException($"{errors.Count} service(s) did not stop cleanly; first: {errors[0].Message}", errors[0]);
        }
    }

    /// <inheritdoc/>
    public async ValueTask DisposeAsync() => await StopAsync(CancellationToken.None);

    /// <summary>The live state of every service, as <c>GET /status</c> answers it.</summary>
    public DeploymentStatusReport Report() => new()
    {
        Pid = Environment.ProcessId,
        StartedAt = _startedAt,
        DataDirectory = Layout.Root,
        Plan = _planPath,
        Services = [.. Services.Select(s => (s.Name, State: s.State))
            .Select(s => new DeploymentServiceReport(s.Name, DeploymentMetrics.StatusText(s.State.Status), s.State.Endpoint, s.State.Detail))],
    };

    private async Task StartStatusAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        ServiceLogging.Configure(builder.Logging);
        builder.WebHost.UseUrls($"http://{_options.ListenAddress}:{_options.StatusPort}");
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        var app = builder.Build();
        app.MapGet("/status", () => Results.Json(Report(), DeploymentStateFile.Json));
        app.MapGet("/health", () => Results.Text("ok"));
        app.MapMetrics("/metrics", Metrics.Registry).WithMetadata(new HttpMethodMetadata([HttpMethods.Get]));
        _status = app;
        await app.StartAsync(cancellationToken);
        StatusUrl = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    private void WriteState(bool ready) => DeploymentStateFile.Write(Layout, new DeploymentState
    {
        Pid = Environment.ProcessId,
        StartedAt = _startedAt,
        DataDirectory = Layout.Root,
        Plan = _planPath,
        StatusUrl = StatusUrl!.ToString().TrimEnd('/'),
        Ready = ready,
        Services = [.. Services.Select(s => new DeploymentStateService(s.Name, s.State.Endpoint))],
    });
}

/// <summary>One service in <see cref="DeploymentStatusReport"/>.</summary>
/// <param name="Name">The service's name.</param>
/// <param name="Status">pending, starting, running, degraded, stopped or failed.</param>
/// <param name="Endpoint">Where it listens, if it listens.</param>
/// <param name="Detail">One line for a human.</param>
public sealed record DeploymentServiceReport(string Name, string Status, string? Endpoint, string? Detail);

/// <summary>What <c>GET /status</c> of a running <c>up</c> answers.</summary>
public sealed record DeploymentStatusReport
{
    /// <summary>The up process.</summary>
    public int Pid { get; init; }

    /// <summary>When it started.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>The data directory.</summary>
    public string DataDirectory { get; init; } = "";

    /// <summary>The plan file, or null for the recommended plan.</summary>
    public string? Plan { get; init; }

    /// <summary>The services in start order.</summary>
    public IReadOnlyList<DeploymentServiceReport> Services { get; init; } = [];
}
