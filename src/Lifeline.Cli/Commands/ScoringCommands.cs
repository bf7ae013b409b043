using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Lifeline.Cli.Infrastructure;
using Lifeline.Registry.Client;
using Lifeline.Scoring;
using Lifeline.Scoring.Apis;
using Lifeline.Scoring.Hosting;
using Lifeline.Scoring.Sources;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline scoring serve</c> and <c>lifeline model rollback</c>.</summary>
internal static class ScoringCommands
{
    /// <summary>Environment variable holding the scoring service's admin token (never a command-line argument).</summary>
    public const string AdminTokenVariable = "LIFELINE_SCORING_ADMIN_TOKEN";

    /// <summary>Environment variable holding the registry's bearer token.</summary>
    public const string RegistryTokenVariable = "LIFELINE_REGISTRY_TOKEN";

    public static Command Create()
    {
        var command = new Command("scoring", "The real-time lead-scoring service");
        command.Subcommands.Add(CreateServe());
        return command;
    }

    public static Command CreateModel()
    {
        var command = new Command("model", "Act on the model a scoring service serves");
        command.Subcommands.Add(CreateRollback());
        return command;
    }

    private static Command CreateServe()
    {
        var urls = CommonOptions.Urls("http://127.0.0.1:5200", loopbackOnly: true);
        var registryUrl = CommonOptions.RegistryUrl($"MLflow-compatible registry to serve the Production version from (token in ${RegistryTokenVariable})");
        var modelDir = CommonOptions.ModelDir("A directory model source instead of a registry (versions/<v>/, production.txt)");
        var modelName = new Option<string>("--model-name") { Description = "Registered model name", DefaultValueFactory = _ => "lead-scoring" };
        var stage = new Option<string>("--stage") { Description = "Stage to serve", DefaultValueFactory = _ => "Production" };
        var alias = new Option<string?>("--alias") { Description = "Serve the version with this alias instead of a stage" };
        var cacheDir = new Option<string>("--cache-dir") { Description = "Local artifact cache (serves while the registry is down)", DefaultValueFactory = _ => Path.Combine("lifeline-data", "scoring", "cache") };
        var sinkDir = new Option<string?>("--sink-dir") { Description = "Directory of predictions.jsonl and audit_logs.jsonl", DefaultValueFactory = _ => Path.Combine("lifeline-data", "scoring", "sinks") };
        var lakeDir = new Option<string?>("--lake") { Description = "Lake directory: predictions and audit records go to its Delta tables instead of JSON lines" };
        var noSinks = new Option<bool>("--no-sinks") { Description = "Do not record predictions (audit records stay in memory)" };
        var flush = new Option<int?>("--sink-flush-ms") { Description = "How long the spool lets records gather before one sink append, in ms (default 200 for JSON lines, 1000 for the lake: one Delta commit per flush); answered predictions are durable in the spool (<sink-dir>/spool) before the answer" };
        var poll = new Option<int>("--poll-seconds") { Description = "How often to look for a new Production version", DefaultValueFactory = _ => 30 };
        var verbose = new Option<bool>("--verbose") { Description = "Log at Information level" };
        var metricsTable = new Option<string?>("--metrics-table")
        {
            Description = "Record the service's metrics every interval into this monitoring_metrics Delta table (a directory, s3://bucket/prefix or azure://container/prefix); default LAKE/monitoring_metrics with --lake, 'none' for off",
        };
        var metricsInterval = new Option<int>("--metrics-interval-seconds") { Description = "Length of one monitoring row's interval", DefaultValueFactory = _ => 10 };
        var command = new Command("serve", $"Serve POST /score-lead and friends until Ctrl-C (admin token in ${AdminTokenVariable})")
        {
            urls, registryUrl, modelDir, modelName, stage, alias, cacheDir, sinkDir, lakeDir, noSinks, flush, poll, verbose, metricsTable, metricsInterval,
        };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var registry = parse.GetValue(registryUrl);
            var directory = parse.GetValue(modelDir);
            if ((registry is null) == (directory is null))
            {
                throw new UsageException("give exactly one of --registry-url URL or --model-dir DIR");
            }

            if (parse.GetValue(metricsInterval) is < 1 or > 86_400)
            {
                throw new UsageException("--metrics-interval-seconds must be between 1 and 86400, e.g. --metrics-interval-seconds 10");
            }

            var metrics = parse.GetValue(metricsTable) switch
            {
                "none" => null,
                { } explicitTable when !string.IsNullOrWhiteSpace(explicitTable) => explicitTable,
                { } => throw new UsageException("--metrics-table is empty: give a directory, s3://bucket/prefix or azure://container/prefix, or 'none'"),
                null => parse.GetValue(lakeDir) is { } lakeRoot && !parse.GetValue(noSinks)
                    ? (Lifeline.Recovery.Components.Lake.LakeTableVault.IsUrl(lakeRoot) ? lakeRoot.TrimEnd('/') + "/monitoring_metrics" : Path.Combine(lakeRoot, "monitoring_metrics"))
                    : null,
            };
            var listen = new Uri(parse.GetValue(urls)!.Split(';')[0].Trim());
            IModelSource source;
            HttpClient? http = null;
            if (registry is not null)
            {
                http = new HttpClient { BaseAddress = registry, Timeout = TimeSpan.FromSeconds(10) };
                source = new MlflowModelSource(new MlflowClient(http, Environment.GetEnvironmentVariable(RegistryTokenVariable)),
                    parse.GetValue(modelName)!, parse.GetValue(stage)!, parse.GetValue(alias));
            }
            else
            {
                source = new DirectoryModelSource(directory!, parse.GetValue(modelName)!);
            }

            try
            {
                Lifeline.Lake.LeadScoring.LeadScoringLake? lake = null;
                if (parse.GetValue(lakeDir) is { } lakePath && !parse.GetValue(noSinks))
                {
                    lake = await LakeCommands.OpenLeadScoringLakeAsync(lakePath, ct);
                }

                // Opened here so a malformed location or missing credentials is one line (exit 1), not a start-up failure.
                var metricsSink = metrics is null ? null : Lifeline.Scoring.Monitoring.DeltaMonitoringSink.Open(metrics);
                var gate = new HostStartGate();
                var app = ScoringHost.Build(listen.ToString().TrimEnd('/'), o =>
                {
                    o.ModelName = parse.GetValue(modelName)!;
                    o.CacheDirectory = parse.GetValue(cacheDir)!;
                    o.SinkDirectory = parse.GetValue(noSinks) ? null : parse.GetValue(sinkDir);
                    o.PollInterval = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(poll)));
                    o.SinkFlushInterval = TimeSpan.FromMilliseconds(Math.Max(10, parse.GetValue(flush) ?? (lake is null ? 200 : 1000)));
                    o.AdminToken = Environment.GetEnvironmentVariable(AdminTokenVariable);
                    o.Monitoring.Table = metrics;
                    o.Monitoring.Interval = TimeSpan.FromSeconds(parse.GetValue(metricsInterval));
                }, s =>
                {
                    gate.AddTo(s, parse.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning);
                    s.AddSingleton(source);
                    if (metricsSink is not null)
                    {
                        s.AddSingleton<Lifeline.Scoring.Monitoring.IMonitoringSink>(metricsSink);
                    }

                    if (lake is not null)
                    {
                        s.AddSingleton<Lifeline.Scoring.Sinks.IPredictionSink>(new Lifeline.Scoring.Lake.DeltaPredictionSink(lake));
                        s.AddSingleton<Lifeline.Scoring.Sinks.IAuditSink>(new Lifeline.Scoring.Lake.DeltaAuditSink(lake));
                    }
                }, parse.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning);
                await using (app)
                {
                    await app.StartAsync(ct);
                    gate.Open();
                    var ready = app.Services.GetRequiredService<Lifeline.Scoring.Models.ModelManager>().Current;
                    context.Console.Document(new { url = listen.ToString().TrimEnd('/'), model = parse.GetValue(modelName), version = ready?.Version, source = source.Description });
                    context.Console.Line($"scoring: listening on {listen.ToString().TrimEnd('/')}, model {parse.GetValue(modelName)} " +
                        (ready is null ? "NOT loaded (readiness false; polling the source)" : $"version {ready.Version}") + $", source {source.Description}");
                    // Ctrl-C (the CLI's token) or SIGTERM (the host's ApplicationStopping) both end in a graceful stop that drains the sinks.
                    var lifetime = app.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostApplicationLifetime>();
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, lifetime.ApplicationStopping);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    await app.StopAsync(CancellationToken.None);
                }

                return ExitCodes.Ok;
            }
            finally
            {
                http?.Dispose();
            }
        });
        return command;
    }

    private static Command CreateRollback()
    {
        var url = new Option<string>("--url") { Description = "The scoring service", DefaultValueFactory = _ => "http://127.0.0.1:5200" };
        var reason = new Option<string>("--reason") { Description = "Why (goes to the audit log)", DefaultValueFactory = _ => "manual rollback (lifeline model rollback)" };
        var command = new Command("rollback", $"Switch a scoring service back to the previous Production version (admin token in ${AdminTokenVariable})") { url, reason };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var token = Environment.GetEnvironmentVariable(AdminTokenVariable);
            if (string.IsNullOrEmpty(token))
            {
                throw new UsageException($"set ${AdminTokenVariable} to the service's admin token");
            }

            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var baseUri) || (baseUri.Scheme != Uri.UriSchemeHttp && baseUri.Scheme != Uri.UriSchemeHttps))
            {
                throw new UsageException($"--url '{parse.GetValue(url)}' is not an absolute http(s) URL, e.g. --url http://127.0.0.1:5200");
            }

            using var http = new HttpClient { BaseAddress = baseUri, Timeout = TimeSpan.FromSeconds(30) };
            using var request = new HttpRequestMessage(HttpMethod.Post, "admin/rollback")
            {
                Content = JsonContent.Create(new RollbackRequest { Reason = parse.GetValue(reason) }, ScoringJsonContext.Default.RollbackRequest),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            HttpResponseMessage response;
            try
            {
                response = await http.SendAsync(request, ct);
            }
            catch (HttpRequestException ex)
            {
                throw new CliException(ExitCodes.ServiceUnreachable, $"cannot reach the scoring service at {baseUri}: {ex.Message}", ex);
            }

            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    throw new CliException(ExitCodes.NotAuthorized, $"the scoring service refused the token ({(int)response.StatusCode}): check ${AdminTokenVariable}");
                }

                if (response.StatusCode == HttpStatusCode.Conflict)
                {
                    throw new CliException(ExitCodes.NothingToRollBack, "the scoring service has no previous Production version to go back to");
                }

                if (!response.IsSuccessStatusCode)
                {
                    throw new CliException(ExitCodes.Failure, $"the scoring service answered {(int)response.StatusCode}: {body}");
                }

                var result = JsonSerializer.Deserialize(body, ScoringJsonContext.Default.RollbackResponse)!;
                context.Console.Document(result);
                context.Console.Line($"rolled back from version {result.FromVersion} to {result.ToVersion}: {result.Reason}");
                return ExitCodes.Ok;
            }
        });
        return command;
    }
}
