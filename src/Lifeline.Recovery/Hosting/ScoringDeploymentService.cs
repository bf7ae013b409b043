using System.Globalization;
using Lifeline.Registry.Client;
using Lifeline.Scoring.Hosting;
using Lifeline.Scoring.Lake;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sinks;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// The scoring service as a deployment service, started in-process the way <c>lifeline scoring serve --registry-url
/// --lake</c> starts it: it serves the registry's Production version and records every answered prediction and audit
/// record in the lake's Delta tables through its durable spool (<c>&lt;data&gt;/scoring/sinks/spool</c>: a prediction
/// is on disk before its answer, drained into the table on a graceful stop and replayed after a crash).
/// When the registry holds no Production version yet, the first start trains one, registers and promotes it (as
/// <c>lifeline demo</c> does), unless <see cref="DeploymentOptions.TrainWhenNoModel"/> is off: then the service starts
/// without a model (readiness false, status degraded) and picks one up when it appears.
/// </summary>
public sealed class ScoringDeploymentService : IDeploymentService
{
    /// <summary>Fewest labelled leads in the lake to train on them rather than on generated leads.</summary>
    public const int MinimumLakeLeads = 500;

    private readonly DeploymentContext _context;
    private HttpClient? _http;
    private WebApplication? _app;
    private ModelManager? _models;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);

    /// <summary>Creates the service (nothing starts yet).</summary>
    public ScoringDeploymentService(DeploymentContext context) => _context = context;

    /// <inheritdoc/>
    public string Name => "scoring";

    /// <inheritdoc/>
    public DeploymentServiceState State
    {
        get
        {
            var state = _state;
            if (state.Status is DeploymentServiceStatus.Running or DeploymentServiceStatus.Degraded && _models is { } models)
            {
                // the model can arrive (or change) after the start: read it live
                return models.Current is { } current
                    ? state with { Status = DeploymentServiceStatus.Running, Detail = $"model {_context.Options.ModelName} v{current.Info.Version}" }
                    : state with { Status = DeploymentServiceStatus.Degraded, Detail = $"no model yet: the registry has no Production version of {_context.Options.ModelName} (readiness false; polling)" };
            }

            return state;
        }
    }

    /// <summary>What the first start trained, if it trained.</summary>
    public TrainingOutcome? Trained { get; private set; }

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var registry = _context.Find<RegistryDeploymentService>()?.Address
            ?? throw new InvalidOperationException("the scoring service starts after the registry");
        var lake = _context.Find<LakeDeploymentService>()?.Lake
            ?? throw new InvalidOperationException("the scoring service starts after the lake");
        var options = _context.Options;
        _state = new(DeploymentServiceStatus.Starting, Detail: "looking for the Production model");
        try
        {
            _http = new HttpClient { BaseAddress = registry, Timeout = TimeSpan.FromMinutes(2) };
            var client = new MlflowClient(_http, _context.RegistryToken);
            var source = new MlflowModelSource(client, options.ModelName);
            if (options.TrainWhenNoModel && await source.GetProductionAsync(cancellationToken) is null)
            {
                _state = new(DeploymentServiceStatus.Starting, Detail: "training the first model");
                Trained = await TrainFirstModelAsync(client, lake, cancellationToken);
            }

            var scoring = _context.Layout.Scoring;
            var app = ScoringHost.Build($"http://{options.ListenAddress}:{options.ScoringPort}", o =>
            {
                o.ModelName = options.ModelName;
                o.CacheDirectory = Path.Combine(scoring, "cache");
                o.SinkDirectory = Path.Combine(scoring, "sinks");
                o.PollInterval = options.ModelPollInterval;
                o.SinkFlushInterval = TimeSpan.FromSeconds(1); // one Delta commit per flush
                o.AdminToken = options.ScoringAdminToken;
            }, services =>
            {
                services.AddSingleton<IModelSource>(source);
                services.AddSingleton<IPredictionSink>(new DeltaPredictionSink(lake));
                services.AddSingleton<IAuditSink>(new DeltaAuditSink(lake));
                // the service's own metrics, every interval, into the lake's monitoring_metrics table (docs/scoring.md)
                services.AddSingleton<Lifeline.Scoring.Monitoring.IMonitoringSink>(new Lifeline.Scoring.Monitoring.DeltaMonitoringSink(lake.MonitoringMetrics));
                // its log lines go to stderr like every other part of up: stdout is the summary (and the --json document)
                services.Configure<ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                services.Configure<LoggerFilterOptions>(f =>
                {
                    f.Rules.Add(new LoggerFilterRule(null, "Microsoft.Extensions.Hosting", LogLevel.None, null));
                    f.Rules.Add(new LoggerFilterRule(null, "Microsoft.Hosting.Lifetime", LogLevel.None, null));
                });
            });
            _app = app;
            await app.StartAsync(cancellationToken);
            _models = app.Services.GetRequiredService<ModelManager>();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');
            _state = new(DeploymentServiceStatus.Running, address, "started");
        }
        catch (Exception e)
        {
            _state = new(DeploymentServiceStatus.Failed, Detail: e.Message);
            await DisposeAsync();
            throw;
        }
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var before = _state;
        if (_app is { } app)
        {
            // the scoring host's stop drains the spool into the lake's tables
            _state = before with { Status = DeploymentServiceStatus.Stopped, Detail = "draining the spool" };
            await app.StopAsync(cancellationToken);
        }

        await DisposeAsync();
        _state = before with { Status = DeploymentServiceStatus.Stopped, Detail = "stopped" };
    }

    private async Task<TrainingOutcome> TrainFirstModelAsync(MlflowClient client, Lifeline.Lake.LeadScoring.LeadScoringLake lake, CancellationToken cancellationToken)
    {
        var fromLake = new LakeTrainingData(lake, "the lake's leads joined with conversions");
        var loaded = await fromLake.LoadAsync(cancellationToken);
        ITrainingDataSource data = loaded.Leads.Count >= MinimumLakeLeads
            ? new PreloadedTrainingData(loaded, fromLake.Description)
            : new SyntheticTrainingData(5000, 1);
        var work = Path.Combine(_context.Layout.Scoring, "train", _context.Time.GetUtcNow().ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
        try
        {
            var outcome = await new TrainingJob(client, _context.Time).RunAsync(data, _context.Options.ModelName, new TrainingOptions(), work, cancellationToken);
            Log.FirstModelTrained(_context.LoggerFactory.CreateLogger<ScoringDeploymentService>(), _context.Options.ModelName, outcome.Version, outcome.Metrics.Auc);
            return outcome;
        }
        finally
        {
            try
            {
                Directory.Delete(work, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private async Task DisposeAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.DisposeAsync();
        }

        _http?.Dispose();
        _http = null;
    }
}
