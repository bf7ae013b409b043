using System.CommandLine;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
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
        var urls = new Option<string>("--urls") { Description = "Where to listen (loopback by default)", DefaultValueFactory = _ => "http://127.0.0.1:5200" };
        var registryUrl = new Option<string?>("--registry-url") { Description = $"MLflow-compatible registry to serve the Production version from (token in ${RegistryTokenVariable})" };
        var modelDir = new Option<string?>("--model-dir") { Description = "A directory model source instead of a registry (versions/<v>/, production.txt)" };
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
        var command = new Command("serve", $"Serve POST /score-lead and friends until Ctrl-C (admin token in ${AdminTokenVariable})")
        {
            urls, registryUrl, modelDir, modelName, stage, alias, cacheDir, sinkDir, lakeDir, noSinks, flush, poll, verbose,
        };
        command.SetAction(async (parse, ct) =>
        {
            var registry = parse.GetValue(registryUrl);
            var directory = parse.GetValue(modelDir);
            if ((registry is null) == (directory is null))
            {
                await Console.Error.WriteLineAsync("lifeline scoring serve: give exactly one of --registry-url URL or --model-dir DIR");
                return ExitCodes.Usage;
            }

            if (!Uri.TryCreate(parse.GetValue(urls), UriKind.Absolute, out var listen) || !IPAddress.TryParse(listen.Host, out var ip) || !IPAddress.IsLoopback(ip))
            {
                await Console.Error.WriteLineAsync($"lifeline scoring serve: --urls must be an http URL on a loopback address, e.g. http://127.0.0.1:5200 (got '{parse.GetValue(urls)}')");
                return ExitCodes.Usage;
            }

            IModelSource source;
            HttpClient? http = null;
            if (registry is not null)
            {
                if (!Uri.TryCreate(registry, UriKind.Absolute, out var registryUri))
                {
                    await Console.Error.WriteLineAsync($"lifeline scoring serve: --registry-url '{registry}' is not an absolute URL");
                    return ExitCodes.Usage;
                }

                http = new HttpClient { BaseAddress = registryUri, Timeout = TimeSpan.FromSeconds(10) };
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

                var app = ScoringHost.Build(listen.ToString().TrimEnd('/'), o =>
                {
                    o.ModelName = parse.GetValue(modelName)!;
                    o.CacheDirectory = parse.GetValue(cacheDir)!;
                    o.SinkDirectory = parse.GetValue(noSinks) ? null : parse.GetValue(sinkDir);
                    o.PollInterval = TimeSpan.FromSeconds(Math.Max(1, parse.GetValue(poll)));
                    o.SinkFlushInterval = TimeSpan.FromMilliseconds(Math.Max(10, parse.GetValue(flush) ?? (lake is null ? 200 : 1000)));
                    o.AdminToken = Environment.GetEnvironmentVariable(AdminTokenVariable);
                }, s =>
                {
                    s.AddSingleton(source);
                    if (lake is not null)
                    {
                        s.AddSingleton<Lifeline.Scoring.Sinks.IPredictionSink>(new Lifeline.Scoring.Lake.DeltaPredictionSink(lake));
                        s.AddSingleton<Lifeline.Scoring.Sinks.IAuditSink>(new Lifeline.Scoring.Lake.DeltaAuditSink(lake));
                    }
                }, parse.GetValue(verbose) ? LogLevel.Information : LogLevel.Warning);
                await using (app)
                {
                    await app.StartAsync(ct);
                    var ready = app.Services.GetRequiredService<Lifeline.Scoring.Models.ModelManager>().Current;
                    await Console.Out.WriteLineAsync($"scoring: listening on {listen.ToString().TrimEnd('/')}, model {parse.GetValue(modelName)} " +
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
            catch (ArgumentException ex)
            {
                await Console.Error.WriteLineAsync($"lifeline scoring serve: {ex.Message}");
                return ExitCodes.Usage;
            }
            catch (IOException ex)
            {
                await Console.Error.WriteLineAsync($"lifeline scoring serve: cannot start: {ex.Message}");
                return ExitCodes.Failure;
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
        command.SetAction(async (parse, ct) =>
        {
            var token = Environment.GetEnvironmentVariable(AdminTokenVariable);
            if (string.IsNullOrEmpty(token))
            {
                await Console.Error.WriteLineAsync($"lifeline model rollback: set ${AdminTokenVariable} to the service's admin token");
                return ExitCodes.Usage;
            }

            if (!Uri.TryCreate(parse.GetValue(url), UriKind.Absolute, out var baseUri))
            {
                await Console.Error.WriteLineAsync($"lifeline model rollback: --url '{parse.GetValue(url)}' is not an absolute URL");
                return ExitCodes.Usage;
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
                await Console.Error.WriteLineAsync($"lifeline model rollback: cannot reach {baseUri}: {ex.Message}");
                return ExitCodes.ServiceUnreachable;
            }

            using (response)
            {
                var body = await response.Content.ReadAsStringAsync(ct);
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    await Console.Error.WriteLineAsync($"lifeline model rollback: refused ({(int)response.StatusCode}): check ${AdminTokenVariable}");
                    return ExitCodes.NotAuthorized;
                }

                if (response.StatusCode == HttpStatusCode.Conflict)
                {
                    await Console.Error.WriteLineAsync("lifeline model rollback: the service has no previous Production version to go back to");
                    return ExitCodes.NothingToRollBack;
                }

                if (!response.IsSuccessStatusCode)
                {
                    await Console.Error.WriteLineAsync($"lifeline model rollback: the service answered {(int)response.StatusCode}: {body}");
                    return ExitCodes.Failure;
                }

                var result = JsonSerializer.Deserialize(body, ScoringJsonContext.Default.RollbackResponse)!;
                await Console.Out.WriteLineAsync(parse.GetValue(LifelineCommand.Json)
                    ? body
                    : $"rolled back from version {result.FromVersion} to {result.ToVersion}: {result.Reason}");
                return ExitCodes.Ok;
            }
        });
        return command;
    }
}
