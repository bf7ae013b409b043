using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lifeline.Registry.Contracts;
using Lifeline.Registry.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Lifeline.Registry.Apis;

/// <summary>
/// MLflow's REST API under <c>/api/2.0/mlflow/</c> (and <c>/ajax-api/2.0/mlflow/</c>), with MLflow's wire conventions:
/// a JSON object with status 200, errors as <c>{"error_code", "message"}</c> with MLflow's status mapping, GET fields as
/// query parameters (repeated for lists), DELETE with a JSON body.
/// </summary>
public static class RegistryApi
{
    /// <summary>Query fields that are repeated (lists) in MLflow's request messages.</summary>
    private static readonly HashSet<string> RepeatedFields = ["order_by", "stages", "experiment_ids"];

    /// <summary>
    /// Maps the MLflow API and the artifact proxy. Every endpoint sits in a route group that declares its policy
    /// (<see cref="RegistryPolicies"/>: read, write, admin) and its body limit; see docs/registry.md.
    /// </summary>
    public static IEndpointRouteBuilder MapRegistryApi(this IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<RegistryOptions>();
        foreach (var prefix in new[] { "/api/2.0/mlflow", "/ajax-api/2.0/mlflow" })
        {
            var api = app.MapGroup(prefix).WithMetadata(new BodyLimit(options.MaxJsonBodyBytes));
            var read = api.MapGroup("").RequireAuthorization(RegistryPolicies.Read);
            var write = api.MapGroup("").RequireAuthorization(RegistryPolicies.Write);
            var admin = api.MapGroup("").RequireAuthorization(RegistryPolicies.Admin);
            MapTracking(read, write, admin, options);
            MapModelRegistry(read, write, admin);
        }

        ArtifactsApi.Map(app);

        // Any other path or method answers ENDPOINT_NOT_FOUND to whoever may read.
        app.MapFallback("/{**rest}", static (HttpContext context) => Error(ErrorCodes.EndpointNotFound, $"No API endpoint {context.Request.Method} {context.Request.Path}"))
            .RequireAuthorization(RegistryPolicies.Read)
            .WithMetadata(new BodyLimit(options.MaxJsonBodyBytes));

        return app;
    }

    private static void MapTracking(RouteGroupBuilder read, RouteGroupBuilder write, RouteGroupBuilder admin, RegistryOptions options)
    {
        Post<CreateExperimentRequest>(write, "experiments/create", static async (s, r, ct) =>
            new CreateExperimentResponse { ExperimentId = await s.CreateExperimentAsync(Required(r.Name, "name"), r.ArtifactLocation, r.Tags, ct) });
        Get<ExperimentIdRequest>(read, "experiments/get", static async (s, r, ct) =>
            new ExperimentResponse { Experiment = await s.GetExperimentAsync(Required(r.ExperimentId, "experiment_id"), ct) });
        Get<GetExperimentByNameRequest>(read, "experiments/get-by-name", static async (s, r, ct) =>
            new ExperimentResponse
            {
                Experiment = await s.FindExperimentByNameAsync(Required(r.ExperimentName, "experiment_name"), ct)
                    ?? throw MlflowException.NotFound($"Could not find experiment with name {r.ExperimentName}"),
            });
        Both<SearchExperimentsRequest>(read, "experiments/search", static async (s, r, ct) =>
        {
            var conditions = SearchSupport.ParseFilter(r.Filter);
            var all = (await s.ListExperimentsAsync(ParseViewType(r.ViewType), ct))
                .Where(e => SearchSupport.Matches(conditions, f => ExperimentField(e, f)));
            var ordered = SearchSupport.Order(all, r.OrderBy, ExperimentField, q => q.OrderByDescending(e => e.CreationTime).ThenBy(e => long.Parse(e.ExperimentId, CultureInfo.InvariantCulture)));
            var (items, next) = SearchSupport.Page(ordered, r.MaxResults, r.PageToken, 1000, 50000);
            return new SearchExperimentsResponse { Experiments = items, NextPageToken = next };
        });
        Post<ExperimentIdRequest>(admin, "experiments/delete", static async (s, r, ct) => { await s.DeleteExperimentAsync(Required(r.ExperimentId, "experiment_id"), ct); return new EmptyResponse(); });
        Post<ExperimentIdRequest>(write, "experiments/restore", static async (s, r, ct) => { await s.RestoreExperimentAsync(Required(r.ExperimentId, "experiment_id"), ct); return new EmptyResponse(); });
        Post<UpdateExperimentRequest>(write, "experiments/update", static async (s, r, ct) => { await s.RenameExperimentAsync(Required(r.ExperimentId, "experiment_id"), Required(r.NewName, "new_name"), ct); return new EmptyResponse(); });
        Post<SetExperimentTagRequest>(write, "experiments/set-experiment-tag", static async (s, r, ct) => { await s.SetExperimentTagAsync(Required(r.ExperimentId, "experiment_id"), Required(r.Key, "key"), r.Value ?? "", ct); return new EmptyResponse(); });

        Post<CreateRunRequest>(write, "runs/create", static async (s, r, ct) =>
            new RunResponse { Run = await s.CreateRunAsync(string.IsNullOrEmpty(r.ExperimentId) ? "0" : r.ExperimentId, r.UserId, r.RunName, r.StartTime, r.Tags, ct) });
        Get<RunIdRequest>(read, "runs/get", static async (s, r, ct) => new RunResponse { Run = await s.GetRunAsync(RunId(r.RunId, r.RunUuid), ct) });
        Post<UpdateRunRequest>(write, "runs/update", static async (s, r, ct) =>
            new UpdateRunResponse { RunInfo = await s.UpdateRunAsync(RunId(r.RunId, r.RunUuid), r.Status, r.EndTime, r.RunName, ct) });
        Post<RunIdRequest>(write, "runs/delete", static async (s, r, ct) => { await s.DeleteRunAsync(RunId(r.RunId, r.RunUuid), ct); return new EmptyResponse(); });
        Post<RunIdRequest>(write, "runs/restore", static async (s, r, ct) => { await s.RestoreRunAsync(RunId(r.RunId, r.RunUuid), ct); return new EmptyResponse(); });
        Post<LogMetricRequest>(write, "runs/log-metric", static async (s, r, ct) =>
        {
            var metric = new MlflowMetric { Key = Required(r.Key, "key"), Value = r.Value, Timestamp = r.Timestamp ?? throw Missing("timestamp"), Step = r.Step ?? 0 };
            await s.LogBatchAsync(RunId(r.RunId, r.RunUuid), [metric], [], [], ct);
            return new EmptyResponse();
        });
        Post<LogParamRequest>(write, "runs/log-parameter", static async (s, r, ct) =>
        {
            await s.LogBatchAsync(RunId(r.RunId, r.RunUuid), [], [new MlflowTag(Required(r.Key, "key"), r.Value ?? throw Missing("value"))], [], ct);
            return new EmptyResponse();
        });
        Post<SetTagRequest>(write, "runs/set-tag", static async (s, r, ct) =>
        {
            await s.LogBatchAsync(RunId(r.RunId, r.RunUuid), [], [], [new MlflowTag(Required(r.Key, "key"), r.Value ?? throw Missing("value"))], ct);
            return new EmptyResponse();
        });
        Post<DeleteTagRequest>(write, "runs/delete-tag", static async (s, r, ct) => { await s.DeleteRunTagAsync(RunId(r.RunId, null), Required(r.Key, "key"), ct); return new EmptyResponse(); });
        Post<LogBatchRequest>(write, "runs/log-batch", static async (s, r, ct) =>
        {
            await s.LogBatchAsync(RunId(r.RunId, null), r.Metrics, r.Params, r.Tags, ct);
            return new EmptyResponse();
        }).WithMetadata(new BodyLimit(options.MaxBatchBodyBytes));
        Both<SearchRunsRequest>(read, "runs/search", static async (s, r, ct) =>
        {
            var conditions = SearchSupport.ParseFilter(r.Filter);
            var byTag = conditions.FirstOrDefault(c => c.Op == "=" && (c.Field.StartsWith("tags.", StringComparison.Ordinal) || c.Field.StartsWith("tag.", StringComparison.Ordinal)));
            var requiredTag = byTag is null ? null : new MlflowTag(byTag.Field[(byTag.Field.IndexOf('.') + 1)..], byTag.Value);
            var runs = (await s.ListRunsAsync(r.ExperimentIds, ParseViewType(r.RunViewType), ct, requiredTag)).Where(run => SearchSupport.Matches(conditions, f => RunField(run, f)));
            var ordered = SearchSupport.Order(runs, r.OrderBy, RunField, q => q.OrderByDescending(run => run.Info.StartTime).ThenBy(run => run.Info.RunId, StringComparer.Ordinal));
            var (items, next) = SearchSupport.Page(ordered, r.MaxResults, r.PageToken, 1000, 50000);
            return new SearchRunsResponse { Runs = items, NextPageToken = next };
        });
        Get<GetMetricHistoryRequest>(read, "metrics/get-history", static async (s, r, ct) =>
        {
            var history = await s.GetMetricHistoryAsync(RunId(r.RunId, r.RunUuid), Required(r.MetricKey, "metric_key"), ct);
            if (r.MaxResults is null && r.PageToken is null)
            {
                return new GetMetricHistoryResponse { Metrics = history };
            }

            var (items, next) = SearchSupport.Page(history, r.MaxResults, r.PageToken, 25000, 25000);
            return new GetMetricHistoryResponse { Metrics = items, NextPageToken = next };
        });
        read.MapGet("artifacts/list", (Delegate)ArtifactsApi.ListRunArtifactsAsync);
    }

    private static void MapModelRegistry(RouteGroupBuilder read, RouteGroupBuilder write, RouteGroupBuilder admin)
    {
        Post<CreateRegisteredModelRequest>(write, "registered-models/create", static async (s, r, ct) =>
            new RegisteredModelResponse { RegisteredModel = await s.CreateRegisteredModelAsync(Required(r.Name, "name"), r.Description, r.Tags, ct) });
        Get<NameRequest>(read, "registered-models/get", static async (s, r, ct) =>
            new RegisteredModelResponse { RegisteredModel = await s.GetRegisteredModelAsync(Required(r.Name, "name"), ct) });
        Post<RenameRegisteredModelRequest>(write, "registered-models/rename", static async (s, r, ct) =>
            new RegisteredModelResponse { RegisteredModel = await s.RenameRegisteredModelAsync(Required(r.Name, "name"), Required(r.NewName, "new_name"), ct) });
        Patch<UpdateRegisteredModelRequest>(write, "registered-models/update", static async (s, r, ct) =>
            new RegisteredModelResponse { RegisteredModel = await s.UpdateRegisteredModelAsync(Required(r.Name, "name"), r.Description, ct) });
        Delete<NameRequest>(admin, "registered-models/delete", static async (s, r, ct) => { await s.DeleteRegisteredModelAsync(Required(r.Name, "name"), ct); return new EmptyResponse(); });
        Get<SearchRequest>(read, "registered-models/search", static async (s, r, ct) =>
        {
            var conditions = SearchSupport.ParseFilter(r.Filter);
            var names = (await s.ListRegisteredModelNamesAsync(ct)).Where(n => SearchSupport.Matches(conditions, f => ModelNameField(n, f))).ToList();
            if (r.OrderBy.Count == 0)
            {
                // names come sorted: only the page is read in full
                var (page, next) = SearchSupport.Page(names, r.MaxResults, r.PageToken, 100, 1000);
                var models = new List<MlflowRegisteredModel>(page.Count);
                foreach (var name in page)
                {
                    models.Add(await s.GetRegisteredModelAsync(name, ct));
                }

                return new SearchRegisteredModelsResponse { RegisteredModels = models, NextPageToken = next };
            }

            var all = new List<MlflowRegisteredModel>(names.Count);
            foreach (var name in names)
            {
                all.Add(await s.GetRegisteredModelAsync(name, ct));
            }

            var ordered = SearchSupport.Order(all, r.OrderBy, ModelField, q => q.OrderBy(m => m.Name, StringComparer.Ordinal));
            var (items, nextToken) = SearchSupport.Page(ordered, r.MaxResults, r.PageToken, 100, 1000);
            return new SearchRegisteredModelsResponse { RegisteredModels = items, NextPageToken = nextToken };
        });
        Both<GetLatestVersionsRequest>(read, "registered-models/get-latest-versions", static async (s, r, ct) =>
            new ModelVersionsResponse { ModelVersions = await s.GetLatestVersionsAsync(Required(r.Name, "name"), r.Stages, ct) });
        Post<ModelTagRequest>(write, "registered-models/set-tag", static async (s, r, ct) =>
        {
            await s.SetRegisteredModelTagAsync(Required(r.Name, "name"), Required(r.Key, "key"), r.Value ?? throw Missing("value"), ct);
            return new EmptyResponse();
        });
        Delete<ModelTagRequest>(write, "registered-models/delete-tag", static async (s, r, ct) => { await s.DeleteRegisteredModelTagAsync(Required(r.Name, "name"), Required(r.Key, "key"), ct); return new EmptyResponse(); });
        Post<AliasRequest>(write, "registered-models/alias", static async (s, r, ct) =>
        {
            await s.SetAliasAsync(Required(r.Name, "name"), Required(r.Alias, "alias"), Required(r.Version, "version"), ct);
            return new EmptyResponse();
        });
        Delete<AliasRequest>(write, "registered-models/alias", static async (s, r, ct) => { await s.DeleteAliasAsync(Required(r.Name, "name"), Required(r.Alias, "alias"), ct); return new EmptyResponse(); });
        Get<AliasRequest>(read, "registered-models/alias", static async (s, r, ct) =>
            new ModelVersionResponse { ModelVersion = await s.GetModelVersionByAliasAsync(Required(r.Name, "name"), Required(r.Alias, "alias"), ct) });

        Post<CreateModelVersionRequest>(write, "model-versions/create", static async (s, r, ct) =>
            new ModelVersionResponse { ModelVersion = await s.CreateModelVersionAsync(Required(r.Name, "name"), Required(r.Source, "source"), r.RunId, r.Tags, r.RunLink, r.Description, ct) });
        Get<ModelVersionRequest>(read, "model-versions/get", static async (s, r, ct) =>
            new ModelVersionResponse { ModelVersion = await s.GetModelVersionAsync(Required(r.Name, "name"), Required(r.Version, "version"), ct) });
        Patch<UpdateModelVersionRequest>(write, "model-versions/update", static async (s, r, ct) =>
            new ModelVersionResponse { ModelVersion = await s.UpdateModelVersionAsync(Required(r.Name, "name"), Required(r.Version, "version"), r.Description, ct) });
        Delete<ModelVersionRequest>(admin, "model-versions/delete", static async (s, r, ct) => { await s.DeleteModelVersionAsync(Required(r.Name, "name"), Required(r.Version, "version"), ct); return new EmptyResponse(); });
        Get<SearchRequest>(read, "model-versions/search", static async (s, r, ct) =>
        {
            var conditions = SearchSupport.ParseFilter(r.Filter);
            var exactName = conditions.FirstOrDefault(c => c.Field is "name" && c.Op == "=")?.Value;
            var versions = (await s.ListModelVersionsAsync(exactName, ct)).Where(v => SearchSupport.Matches(conditions, f => VersionField(v, f)));
            var ordered = SearchSupport.Order(versions, r.OrderBy, VersionField, q => q.OrderBy(v => v.Name, StringComparer.Ordinal).ThenByDescending(v => long.Parse(v.Version, CultureInfo.InvariantCulture)));
            var (items, next) = SearchSupport.Page(ordered, r.MaxResults, r.PageToken, 10000, 200000);
            return new ModelVersionsResponse { ModelVersions = items, NextPageToken = next };
        });
        Post<TransitionStageRequest>(write, "model-versions/transition-stage", static async (s, r, ct) =>
            new ModelVersionResponse
            {
                ModelVersion = await s.TransitionStageAsync(Required(r.Name, "name"), Required(r.Version, "version"), Required(r.Stage, "stage"),
                    r.ArchiveExistingVersions ?? throw Missing("archive_existing_versions"), ct),
            });
        Post<ModelVersionTagRequest>(write, "model-versions/set-tag", static async (s, r, ct) =>
        {
            await s.SetModelVersionTagAsync(Required(r.Name, "name"), Required(r.Version, "version"), Required(r.Key, "key"), r.Value ?? throw Missing("value"), ct);
            return new EmptyResponse();
        });
        Delete<ModelVersionTagRequest>(write, "model-versions/delete-tag", static async (s, r, ct) =>
        {
            await s.DeleteModelVersionTagAsync(Required(r.Name, "name"), Required(r.Version, "version"), Required(r.Key, "key"), ct);
            return new EmptyResponse();
        });
        Get<ModelVersionRequest>(read, "model-versions/get-download-uri", static async (s, r, ct) =>
        {
            var version = await s.GetModelVersionAsync(Required(r.Name, "name"), Required(r.Version, "version"), ct);
            return new DownloadUriResponse { ArtifactUri = await ResolveSourceAsync(s, version, ct) };
        });
    }

    /// <summary>A <c>runs:/&lt;id&gt;/path</c> source resolves to the run's artifact URI; other sources are returned as they are.</summary>
    internal static async Task<string?> ResolveSourceAsync(IRegistryStore store, MlflowModelVersion version, CancellationToken ct)
    {
        const string runs = "runs:/";
        if (version.Source is not { } source || !source.StartsWith(runs, StringComparison.Ordinal))
        {
            return version.Source;
        }

        var rest = source[runs.Length..].TrimStart('/');
        var slash = rest.IndexOf('/');
        var runId = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "" : rest[(slash + 1)..];
        var run = await store.GetRunAsync(runId, ct);
        return path.Length == 0 ? run.Info.ArtifactUri : $"{run.Info.ArtifactUri}/{path}";
    }

    // ---------------- field resolvers for filters and ordering ----------------

    private static string? ExperimentField(MlflowExperiment e, string field) => field switch
    {
        "name" or "attributes.name" => e.Name,
        "experiment_id" or "attributes.experiment_id" => e.ExperimentId,
        "creation_time" or "attributes.creation_time" => e.CreationTime?.ToString(CultureInfo.InvariantCulture),
        "last_update_time" or "attributes.last_update_time" => e.LastUpdateTime?.ToString(CultureInfo.InvariantCulture),
        _ when field.StartsWith("tags.", StringComparison.Ordinal) || field.StartsWith("tag.", StringComparison.Ordinal) => e.Tags.FirstOrDefault(t => t.Key == field[(field.IndexOf('.') + 1)..])?.Value,
        _ => throw MlflowException.Invalid($"Invalid attribute key '{field}' specified."),
    };

    private static string? ModelNameField(string name, string field) => field switch
    {
        "name" or "attributes.name" => name,
        _ => throw MlflowException.Invalid($"Invalid attribute key '{field}' specified. Registered models can be filtered by name."),
    };

    private static string? ModelField(MlflowRegisteredModel m, string field) => field switch
    {
        "name" or "attributes.name" => m.Name,
        "last_updated_timestamp" or "attributes.last_updated_timestamp" or "timestamp" => m.LastUpdatedTimestamp?.ToString(CultureInfo.InvariantCulture),
        "creation_timestamp" or "attributes.creation_timestamp" => m.CreationTimestamp?.ToString(CultureInfo.InvariantCulture),
        _ => throw MlflowException.Invalid($"Invalid order_by key '{field}': use name, creation_timestamp or last_updated_timestamp."),
    };

    private static string? RunField(MlflowRun run, string field)
    {
        var dot = field.IndexOf('.');
        var (kind, key) = dot < 0 ? ("attributes", field) : (field[..dot], field[(dot + 1)..]);
        return kind switch
        {
            "tags" or "tag" => run.Data.Tags.FirstOrDefault(t => t.Key == key)?.Value,
            "params" or "param" or "parameters" => run.Data.Params.FirstOrDefault(t => t.Key == key)?.Value,
            "metrics" or "metric" => run.Data.Metrics.FirstOrDefault(m => m.Key == key)?.Value.ToString("R", CultureInfo.InvariantCulture),
            "attributes" or "attribute" or "attr" or "run" => key switch
            {
                "run_id" or "run_uuid" => run.Info.RunId,
                "run_name" => run.Info.RunName,
                "status" => run.Info.Status,
                "start_time" => run.Info.StartTime?.ToString(CultureInfo.InvariantCulture),
                "end_time" => run.Info.EndTime?.ToString(CultureInfo.InvariantCulture),
                "artifact_uri" => run.Info.ArtifactUri,
                "user_id" => run.Info.UserId,
                "lifecycle_stage" => run.Info.LifecycleStage,
                _ => throw MlflowException.Invalid($"Invalid attribute key '{key}' specified."),
            },
            _ => throw MlflowException.Invalid($"Invalid entity type '{kind}'. Valid values are ['metric', 'parameter', 'tag', 'attribute']"),
        };
    }

    private static string? VersionField(MlflowModelVersion v, string field) => field switch
    {
        "name" => v.Name,
        "version" or "version_number" => v.Version,
        "run_id" => v.RunId,
        "source" or "source_path" => v.Source,
        "current_stage" => v.CurrentStage,
        "creation_timestamp" => v.CreationTimestamp?.ToString(CultureInfo.InvariantCulture),
        "last_updated_timestamp" => v.LastUpdatedTimestamp?.ToString(CultureInfo.InvariantCulture),
        _ when field.StartsWith("tags.", StringComparison.Ordinal) || field.StartsWith("tag.", StringComparison.Ordinal) => v.Tags.FirstOrDefault(t => t.Key == field[(field.IndexOf('.') + 1)..])?.Value,
        _ => throw MlflowException.Invalid($"Invalid attribute key '{field}' specified."),
    };

    private static ViewType ParseViewType(string? value) => value?.ToUpperInvariant() switch
    {
        null or "" or "ACTIVE_ONLY" or "1" => ViewType.ActiveOnly,
        "DELETED_ONLY" or "2" => ViewType.DeletedOnly,
        "ALL" or "3" => ViewType.All,
        _ => throw MlflowException.Invalid($"Invalid view type '{value}': use ACTIVE_ONLY, DELETED_ONLY or ALL."),
    };

    // ---------------- plumbing ----------------

    internal delegate Task<object> Handler<in T>(IRegistryStore store, T request, CancellationToken cancellationToken);

    private static string Required(string? value, string name) => string.IsNullOrEmpty(value) ? throw Missing(name) : value;

    private static string RunId(string? runId, string? runUuid) => !string.IsNullOrEmpty(runId) ? runId : Required(runUuid, "run_id");

    private static MlflowException Missing(string name) =>
        MlflowException.Invalid($"Missing value for required parameter '{name}'. See the API docs for more information about request parameters.");

    private static RouteHandlerBuilder Post<T>(RouteGroupBuilder group, string path, Handler<T> handler) =>
        group.MapPost(path, (Delegate)((HttpContext context) => InvokeAsync(context, handler, fromQuery: false)));

    private static RouteHandlerBuilder Patch<T>(RouteGroupBuilder group, string path, Handler<T> handler) =>
        group.MapPatch(path, (Delegate)((HttpContext context) => InvokeAsync(context, handler, fromQuery: false)));

    private static RouteHandlerBuilder Delete<T>(RouteGroupBuilder group, string path, Handler<T> handler) =>
        group.MapDelete(path, (Delegate)((HttpContext context) => InvokeAsync(context, handler, fromQuery: false)));

    private static RouteHandlerBuilder Get<T>(RouteGroupBuilder group, string path, Handler<T> handler) =>
        group.MapGet(path, (Delegate)((HttpContext context) => InvokeAsync(context, handler, fromQuery: true)));

    private static void Both<T>(RouteGroupBuilder group, string path, Handler<T> handler)
    {
        Get(group, path, handler);
        Post(group, path, handler);
    }

    /// <summary>
    /// Reads the request (query or JSON body, within the endpoint's body limit), runs the handler and writes MLflow's
    /// 200 JSON. Errors are thrown to <see cref="RegistryErrors"/>, which writes MLflow's error body.
    /// </summary>
    private static async Task<IResult> InvokeAsync<T>(HttpContext context, Handler<T> handler, bool fromQuery)
    {
        var request = fromQuery && context.Request.QueryString.HasValue
            ? FromQuery<T>(context.Request.Query)
            : await FromBodyAsync<T>(context.Request, context.RequestAborted);
        var store = context.RequestServices.GetRequiredService<IRegistryStore>();
        var response = await handler(store, request, context.RequestAborted);
        return TypedResults.Json(response, MlflowJson.Options, "application/json", StatusCodes.Status200OK);
    }

    internal static IResult Error(string code, string message, int? status = null) =>
        TypedResults.Json(new MlflowError { ErrorCode = code, Message = message }, MlflowJson.Options, "application/json", status ?? MlflowException.StatusOf(code));

    private static T FromQuery<T>(IQueryCollection query)
    {
        var obj = new JsonObject();
        foreach (var (key, values) in query)
        {
            obj[key] = RepeatedFields.Contains(key)
                ? new JsonArray(values.Select(v => (JsonNode?)JsonValue.Create(v)).ToArray())
                : JsonValue.Create(values.ToString());
        }

        return Deserialize<T>(obj.ToJsonString());
    }

    private static async Task<T> FromBodyAsync<T>(HttpRequest request, CancellationToken ct)
    {
        using var reader = new StreamReader(request.Body);
        var text = await reader.ReadToEndAsync(ct);
        return Deserialize<T>(string.IsNullOrWhiteSpace(text) ? "{}" : text);
    }

    private static T Deserialize<T>(string json)
    {
        try
        {
            return JsonSerializer.Deserialize<T>(json, RequestJson.Options) ?? throw MlflowException.Invalid("Request body must be a JSON object.");
        }
        catch (JsonException e)
        {
            throw MlflowException.Invalid($"Invalid request: {e.Message}");
        }
    }
}

#pragma warning disable CS1591
/// <summary>experiments/get-by-name.</summary>
public sealed record GetExperimentByNameRequest { public string ExperimentName { get; init; } = ""; }
/// <summary>experiments/set-experiment-tag.</summary>
public sealed record SetExperimentTagRequest { public string ExperimentId { get; init; } = ""; public string Key { get; init; } = ""; public string? Value { get; init; } }
/// <summary>metrics/get-history.</summary>
public sealed record GetMetricHistoryRequest { public string? RunId { get; init; } public string? RunUuid { get; init; } public string MetricKey { get; init; } = ""; public long? MaxResults { get; init; } public string? PageToken { get; init; } }
/// <summary>artifacts/list.</summary>
public sealed record ListRunArtifactsRequest { public string? RunId { get; init; } public string? RunUuid { get; init; } public string? Path { get; init; } public string? PageToken { get; init; } }
#pragma warning restore CS1591
