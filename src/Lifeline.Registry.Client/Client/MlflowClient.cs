using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Client;

/// <summary>
/// A typed client for MLflow's REST API (tracking, model registry and the mlflow-artifacts proxy). It works against
/// <c>lifeline registry serve</c> and against any MLflow tracking server. Errors surface as <see cref="MlflowException"/>
/// with MLflow's error code. The bearer token, if any, is sent on every request and never logged.
/// </summary>
public sealed class MlflowClient
{
    /// <summary>MLflow's limit of metrics in one log-batch request.</summary>
    public const int MaxMetricsPerBatch = 1000;

    /// <summary>MLflow's limit of params (and of tags) in one log-batch request.</summary>
    public const int MaxParamsTagsPerBatch = 100;

    /// <summary>MLflow's limit of metrics, params and tags together in one log-batch request.</summary>
    public const int MaxEntitiesPerBatch = 1000;

    private const string Api = "api/2.0/mlflow/";
    private const string ArtifactsApi = "api/2.0/mlflow-artifacts/artifacts";
    private readonly HttpClient _http;
    private readonly AuthenticationHeaderValue? _auth;

    /// <summary>Creates a client on <paramref name="http"/>, whose <see cref="HttpClient.BaseAddress"/> is the server root.</summary>
    /// <param name="http">The HTTP client; its base address is the server root, e.g. <c>http://127.0.0.1:5100/</c>.</param>
    /// <param name="token">Optional bearer token for servers that require one.</param>
    public MlflowClient(HttpClient http, string? token = null)
    {
        ArgumentNullException.ThrowIfNull(http);
        if (http.BaseAddress is null)
        {
            throw new ArgumentException("the HttpClient needs a BaseAddress (the MLflow server root)", nameof(http));
        }

        if (!http.BaseAddress.AbsoluteUri.EndsWith('/'))
        {
            http.BaseAddress = new Uri(http.BaseAddress.AbsoluteUri + "/");
        }

        _http = http;
        _auth = string.IsNullOrEmpty(token) ? null : new AuthenticationHeaderValue("Bearer", token);
    }

    /// <summary>The server root.</summary>
    public Uri BaseAddress => _http.BaseAddress!;

    // ---------------- experiments ----------------

    /// <summary>Creates an experiment and returns its id.</summary>
    public async Task<string> CreateExperimentAsync(string name, string? artifactLocation = null, IReadOnlyList<MlflowTag>? tags = null, CancellationToken cancellationToken = default)
    {
        var response = await PostAsync<CreateExperimentResponse>("experiments/create", new CreateExperimentRequest { Name = name, ArtifactLocation = artifactLocation, Tags = tags ?? [] }, cancellationToken);
        return response.ExperimentId;
    }

    /// <summary>Gets an experiment by id.</summary>
    public async Task<MlflowExperiment> GetExperimentAsync(string experimentId, CancellationToken cancellationToken = default) =>
        (await GetAsync<ExperimentResponse>("experiments/get", [("experiment_id", experimentId)], cancellationToken)).Experiment!;

    /// <summary>Gets an experiment by name, or null if there is none.</summary>
    public async Task<MlflowExperiment?> GetExperimentByNameAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await GetAsync<ExperimentResponse>("experiments/get-by-name", [("experiment_name", name)], cancellationToken)).Experiment;
        }
        catch (MlflowException e) when (e.ErrorCode == ErrorCodes.ResourceDoesNotExist)
        {
            return null;
        }
    }

    /// <summary>Returns the id of the experiment named <paramref name="name"/>, creating it if needed.</summary>
    public async Task<string> GetOrCreateExperimentAsync(string name, CancellationToken cancellationToken = default)
    {
        var existing = await GetExperimentByNameAsync(name, cancellationToken);
        if (existing is not null)
        {
            return existing.ExperimentId;
        }

        try
        {
            return await CreateExperimentAsync(name, cancellationToken: cancellationToken);
        }
        catch (MlflowException e) when (e.ErrorCode == ErrorCodes.ResourceAlreadyExists)
        {
            return (await GetExperimentByNameAsync(name, cancellationToken))!.ExperimentId;
        }
    }

    /// <summary>One page of experiments.</summary>
    public Task<SearchExperimentsResponse> SearchExperimentsAsync(SearchExperimentsRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<SearchExperimentsResponse>("experiments/search", request, cancellationToken);

    /// <summary>Every experiment, page by page (view type ACTIVE_ONLY, DELETED_ONLY or ALL).</summary>
    public async IAsyncEnumerable<MlflowExperiment> ListExperimentsAsync(string viewType = "ACTIVE_ONLY", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await SearchExperimentsAsync(new SearchExperimentsRequest { MaxResults = 1000, PageToken = token, ViewType = viewType }, cancellationToken);
            foreach (var e in page.Experiments)
            {
                yield return e;
            }

            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    /// <summary>Renames an experiment.</summary>
    public Task UpdateExperimentAsync(string experimentId, string newName, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("experiments/update", new UpdateExperimentRequest { ExperimentId = experimentId, NewName = newName }, cancellationToken);

    /// <summary>Marks an experiment deleted.</summary>
    public Task DeleteExperimentAsync(string experimentId, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("experiments/delete", new ExperimentIdRequest { ExperimentId = experimentId }, cancellationToken);

    // ---------------- runs ----------------

    /// <summary>Creates a run in an experiment.</summary>
    public async Task<MlflowRun> CreateRunAsync(string experimentId, string? runName = null, long? startTime = null, IReadOnlyList<MlflowTag>? tags = null, string? userId = null, CancellationToken cancellationToken = default) =>
        (await PostAsync<RunResponse>("runs/create", new CreateRunRequest { ExperimentId = experimentId, RunName = runName, StartTime = startTime, Tags = tags ?? [], UserId = userId }, cancellationToken)).Run!;

    /// <summary>Gets a run with the latest value of each metric.</summary>
    public async Task<MlflowRun> GetRunAsync(string runId, CancellationToken cancellationToken = default) =>
        (await GetAsync<RunResponse>("runs/get", [("run_id", runId)], cancellationToken)).Run!;

    /// <summary>Updates a run's status, end time or name.</summary>
    public async Task<MlflowRunInfo> UpdateRunAsync(string runId, string? status = null, long? endTime = null, string? runName = null, CancellationToken cancellationToken = default) =>
        (await PostAsync<UpdateRunResponse>("runs/update", new UpdateRunRequest { RunId = runId, RunUuid = runId, Status = status, EndTime = endTime, RunName = runName }, cancellationToken)).RunInfo!;

    /// <summary>Marks a run deleted.</summary>
    public Task DeleteRunAsync(string runId, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("runs/delete", new RunIdRequest { RunId = runId }, cancellationToken);

    /// <summary>Logs one metric value.</summary>
    public Task LogMetricAsync(string runId, string key, double value, long timestamp, long step = 0, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("runs/log-metric", new LogMetricRequest { RunId = runId, RunUuid = runId, Key = key, Value = value, Timestamp = timestamp, Step = step }, cancellationToken);

    /// <summary>Logs one parameter (parameters are immutable once logged).</summary>
    public Task LogParamAsync(string runId, string key, string value, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("runs/log-parameter", new LogParamRequest { RunId = runId, RunUuid = runId, Key = key, Value = value }, cancellationToken);

    /// <summary>Sets a run tag.</summary>
    public Task SetTagAsync(string runId, string key, string value, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("runs/set-tag", new SetTagRequest { RunId = runId, RunUuid = runId, Key = key, Value = value }, cancellationToken);

    /// <summary>Deletes a run tag.</summary>
    public Task DeleteTagAsync(string runId, string key, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("runs/delete-tag", new DeleteTagRequest { RunId = runId, Key = key }, cancellationToken);

    /// <summary>
    /// Logs metrics, params and tags, split into as many requests as MLflow's per-batch limits need
    /// (1000 metrics, 100 params, 100 tags, 1000 in all); each request is one log-batch call.
    /// </summary>
    public async Task LogBatchAsync(string runId, IReadOnlyList<MlflowMetric>? metrics = null, IReadOnlyList<MlflowTag>? parameters = null, IReadOnlyList<MlflowTag>? tags = null, CancellationToken cancellationToken = default)
    {
        metrics ??= [];
        parameters ??= [];
        tags ??= [];
        int m = 0, p = 0, t = 0;
        do
        {
            var batchParams = parameters.Skip(p).Take(MaxParamsTagsPerBatch).ToList();
            var batchTags = tags.Skip(t).Take(MaxParamsTagsPerBatch).ToList();
            var batch = new LogBatchRequest
            {
                RunId = runId,
                Metrics = metrics.Skip(m).Take(MaxEntitiesPerBatch - batchParams.Count - batchTags.Count).ToList(),
                Params = batchParams,
                Tags = batchTags,
            };
            await PostAsync<EmptyResponse>("runs/log-batch", batch, cancellationToken);
            m += batch.Metrics.Count;
            p += batch.Params.Count;
            t += batch.Tags.Count;
        }
        while (m < metrics.Count || p < parameters.Count || t < tags.Count);
    }

    /// <summary>Every logged value of a metric, page by page.</summary>
    public async Task<IReadOnlyList<MlflowMetric>> GetMetricHistoryAsync(string runId, string key, CancellationToken cancellationToken = default)
    {
        var all = new List<MlflowMetric>();
        string? token = null;
        do
        {
            var query = new List<(string, string)> { ("run_id", runId), ("metric_key", key), ("max_results", "25000") };
            if (token is not null)
            {
                query.Add(("page_token", token));
            }

            var page = await GetAsync<GetMetricHistoryResponse>("metrics/get-history", query, cancellationToken);
            all.AddRange(page.Metrics);
            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
        return all;
    }

    /// <summary>One page of runs.</summary>
    public Task<SearchRunsResponse> SearchRunsAsync(SearchRunsRequest request, CancellationToken cancellationToken = default) =>
        PostAsync<SearchRunsResponse>("runs/search", request, cancellationToken);

    /// <summary>Every run of the experiments matching <paramref name="filter"/>, page by page.</summary>
    public async IAsyncEnumerable<MlflowRun> ListRunsAsync(IReadOnlyList<string> experimentIds, string? filter = null, string runViewType = "ACTIVE_ONLY", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await SearchRunsAsync(new SearchRunsRequest { ExperimentIds = experimentIds, Filter = filter, RunViewType = runViewType, MaxResults = 1000, PageToken = token }, cancellationToken);
            foreach (var run in page.Runs)
            {
                yield return run;
            }

            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    // ---------------- registered models ----------------

    /// <summary>Creates a registered model.</summary>
    public async Task<MlflowRegisteredModel> CreateRegisteredModelAsync(string name, string? description = null, IReadOnlyList<MlflowTag>? tags = null, CancellationToken cancellationToken = default) =>
        (await PostAsync<RegisteredModelResponse>("registered-models/create", new CreateRegisteredModelRequest { Name = name, Description = description, Tags = tags ?? [] }, cancellationToken)).RegisteredModel!;

    /// <summary>Gets a registered model, or null if there is none.</summary>
    public async Task<MlflowRegisteredModel?> GetRegisteredModelAsync(string name, CancellationToken cancellationToken = default)
    {
        try
        {
            return (await GetAsync<RegisteredModelResponse>("registered-models/get", [("name", name)], cancellationToken)).RegisteredModel;
        }
        catch (MlflowException e) when (e.ErrorCode == ErrorCodes.ResourceDoesNotExist)
        {
            return null;
        }
    }

    /// <summary>Renames a registered model.</summary>
    public async Task<MlflowRegisteredModel> RenameRegisteredModelAsync(string name, string newName, CancellationToken cancellationToken = default) =>
        (await PostAsync<RegisteredModelResponse>("registered-models/rename", new RenameRegisteredModelRequest { Name = name, NewName = newName }, cancellationToken)).RegisteredModel!;

    /// <summary>Updates a registered model's description.</summary>
    public async Task<MlflowRegisteredModel> UpdateRegisteredModelAsync(string name, string? description, CancellationToken cancellationToken = default) =>
        (await SendJsonAsync<RegisteredModelResponse>(HttpMethod.Patch, "registered-models/update", new UpdateRegisteredModelRequest { Name = name, Description = description }, cancellationToken)).RegisteredModel!;

    /// <summary>Deletes a registered model and its versions.</summary>
    public Task DeleteRegisteredModelAsync(string name, CancellationToken cancellationToken = default) =>
        SendJsonAsync<EmptyResponse>(HttpMethod.Delete, "registered-models/delete", new NameRequest { Name = name }, cancellationToken);

    /// <summary>One page of registered models.</summary>
    public Task<SearchRegisteredModelsResponse> SearchRegisteredModelsAsync(SearchRequest request, CancellationToken cancellationToken = default) =>
        GetAsync<SearchRegisteredModelsResponse>("registered-models/search", SearchQuery(request), cancellationToken);

    /// <summary>Every registered model, page by page.</summary>
    public async IAsyncEnumerable<MlflowRegisteredModel> ListRegisteredModelsAsync(string? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await SearchRegisteredModelsAsync(new SearchRequest { Filter = filter, MaxResults = 1000, PageToken = token }, cancellationToken);
            foreach (var model in page.RegisteredModels)
            {
                yield return model;
            }

            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    /// <summary>The latest version in each of <paramref name="stages"/> (every stage when empty).</summary>
    public async Task<IReadOnlyList<MlflowModelVersion>> GetLatestVersionsAsync(string name, IReadOnlyList<string>? stages = null, CancellationToken cancellationToken = default) =>
        (await PostAsync<ModelVersionsResponse>("registered-models/get-latest-versions", new GetLatestVersionsRequest { Name = name, Stages = stages ?? [] }, cancellationToken)).ModelVersions;

    /// <summary>Sets a registered-model tag.</summary>
    public Task SetRegisteredModelTagAsync(string name, string key, string value, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("registered-models/set-tag", new ModelTagRequest { Name = name, Key = key, Value = value }, cancellationToken);

    /// <summary>Deletes a registered-model tag.</summary>
    public Task DeleteRegisteredModelTagAsync(string name, string key, CancellationToken cancellationToken = default) =>
        SendJsonAsync<EmptyResponse>(HttpMethod.Delete, "registered-models/delete-tag", new ModelTagRequest { Name = name, Key = key }, cancellationToken);

    /// <summary>Points an alias at a version.</summary>
    public Task SetRegisteredModelAliasAsync(string name, string alias, string version, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("registered-models/alias", new AliasRequest { Name = name, Alias = alias, Version = version }, cancellationToken);

    /// <summary>Deletes an alias.</summary>
    public Task DeleteRegisteredModelAliasAsync(string name, string alias, CancellationToken cancellationToken = default) =>
        SendJsonAsync<EmptyResponse>(HttpMethod.Delete, "registered-models/alias", new AliasRequest { Name = name, Alias = alias }, cancellationToken);

    /// <summary>The version an alias points at.</summary>
    public async Task<MlflowModelVersion> GetModelVersionByAliasAsync(string name, string alias, CancellationToken cancellationToken = default) =>
        (await GetAsync<ModelVersionResponse>("registered-models/alias", [("name", name), ("alias", alias)], cancellationToken)).ModelVersion!;

    // ---------------- model versions ----------------

    /// <summary>Registers a new version of a model.</summary>
    public async Task<MlflowModelVersion> CreateModelVersionAsync(string name, string source, string? runId = null, IReadOnlyList<MlflowTag>? tags = null, string? runLink = null, string? description = null, CancellationToken cancellationToken = default) =>
        (await PostAsync<ModelVersionResponse>("model-versions/create", new CreateModelVersionRequest { Name = name, Source = source, RunId = runId, Tags = tags ?? [], RunLink = runLink, Description = description }, cancellationToken)).ModelVersion!;

    /// <summary>Gets a model version.</summary>
    public async Task<MlflowModelVersion> GetModelVersionAsync(string name, string version, CancellationToken cancellationToken = default) =>
        (await GetAsync<ModelVersionResponse>("model-versions/get", [("name", name), ("version", version)], cancellationToken)).ModelVersion!;

    /// <summary>Updates a version's description.</summary>
    public async Task<MlflowModelVersion> UpdateModelVersionAsync(string name, string version, string? description, CancellationToken cancellationToken = default) =>
        (await SendJsonAsync<ModelVersionResponse>(HttpMethod.Patch, "model-versions/update", new UpdateModelVersionRequest { Name = name, Version = version, Description = description }, cancellationToken)).ModelVersion!;

    /// <summary>Deletes a model version.</summary>
    public Task DeleteModelVersionAsync(string name, string version, CancellationToken cancellationToken = default) =>
        SendJsonAsync<EmptyResponse>(HttpMethod.Delete, "model-versions/delete", new ModelVersionRequest { Name = name, Version = version }, cancellationToken);

    /// <summary>Moves a version to a stage; with <paramref name="archiveExistingVersions"/> the versions in that stage go to Archived.</summary>
    public async Task<MlflowModelVersion> TransitionModelVersionStageAsync(string name, string version, string stage, bool archiveExistingVersions, CancellationToken cancellationToken = default) =>
        (await PostAsync<ModelVersionResponse>("model-versions/transition-stage", new TransitionStageRequest { Name = name, Version = version, Stage = stage, ArchiveExistingVersions = archiveExistingVersions }, cancellationToken)).ModelVersion!;

    /// <summary>Sets a model-version tag.</summary>
    public Task SetModelVersionTagAsync(string name, string version, string key, string value, CancellationToken cancellationToken = default) =>
        PostAsync<EmptyResponse>("model-versions/set-tag", new ModelVersionTagRequest { Name = name, Version = version, Key = key, Value = value }, cancellationToken);

    /// <summary>One page of model versions.</summary>
    public Task<ModelVersionsResponse> SearchModelVersionsAsync(SearchRequest request, CancellationToken cancellationToken = default) =>
        GetAsync<ModelVersionsResponse>("model-versions/search", SearchQuery(request), cancellationToken);

    /// <summary>Every model version matching <paramref name="filter"/> (e.g. <c>name='churn'</c>), page by page.</summary>
    public async IAsyncEnumerable<MlflowModelVersion> ListModelVersionsAsync(string? filter = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        string? token = null;
        do
        {
            var page = await SearchModelVersionsAsync(new SearchRequest { Filter = filter, MaxResults = 1000, PageToken = token }, cancellationToken);
            foreach (var version in page.ModelVersions)
            {
                yield return version;
            }

            token = page.NextPageToken;
        }
        while (!string.IsNullOrEmpty(token));
    }

    /// <summary>Where a version's artifacts can be downloaded from.</summary>
    public async Task<string?> GetModelVersionDownloadUriAsync(string name, string version, CancellationToken cancellationToken = default) =>
        (await GetAsync<DownloadUriResponse>("model-versions/get-download-uri", [("name", name), ("version", version)], cancellationToken)).ArtifactUri;

    // ---------------- artifacts (mlflow-artifacts proxy) ----------------

    /// <summary>Uploads one artifact to <paramref name="path"/> below the proxy root (e.g. <c>1/&lt;run&gt;/artifacts/model/model.zip</c>).</summary>
    public async Task UploadArtifactAsync(string path, ReadOnlyMemory<byte> content, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Put, ArtifactsApi + "/" + EscapePath(path));
        request.Content = new ReadOnlyMemoryContent(content);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        using var response = await _http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
    }

    /// <summary>Downloads one artifact from <paramref name="path"/> below the proxy root.</summary>
    public async Task<byte[]> DownloadArtifactAsync(string path, CancellationToken cancellationToken = default)
    {
        using var request = NewRequest(HttpMethod.Get, ArtifactsApi + "/" + EscapePath(path));
        using var response = await _http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        return await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }

    /// <summary>The immediate children of <paramref name="path"/> below the proxy root (names, not full paths).</summary>
    public async Task<IReadOnlyList<MlflowFileInfo>> ListArtifactsAsync(string? path, CancellationToken cancellationToken = default)
    {
        var query = string.IsNullOrEmpty(path) ? "" : "?path=" + Uri.EscapeDataString(path);
        using var request = NewRequest(HttpMethod.Get, ArtifactsApi + query);
        using var response = await _http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        var body = await response.Content.ReadFromJsonAsync<ListArtifactsResponse>(MlflowJson.Options, cancellationToken);
        return body?.Files ?? [];
    }

    /// <summary>Every file below <paramref name="path"/>, recursively, as paths relative to the proxy root.</summary>
    public async IAsyncEnumerable<MlflowFileInfo> ListArtifactsRecursiveAsync(string path, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var pending = new Stack<string>();
        pending.Push(path.Trim('/'));
        while (pending.Count > 0)
        {
            var dir = pending.Pop();
            foreach (var entry in await ListArtifactsAsync(dir, cancellationToken))
            {
                var full = dir.Length == 0 ? entry.Path : dir + "/" + entry.Path;
                if (entry.IsDir)
                {
                    pending.Push(full);
                }
                else
                {
                    yield return entry with { Path = full };
                }
            }
        }
    }

    /// <summary>
    /// The proxy path of an artifact URI: <c>mlflow-artifacts:/1/r/artifacts/x</c> (or <c>mlflow-artifacts://host/1/...</c>)
    /// becomes <c>1/r/artifacts/x</c>; returns null for URIs the proxy does not serve.
    /// </summary>
    public static string? ProxyPathOf(string? artifactUri)
    {
        const string scheme = "mlflow-artifacts:";
        if (artifactUri is null || !artifactUri.StartsWith(scheme, StringComparison.Ordinal))
        {
            return null;
        }

        var rest = artifactUri[scheme.Length..];
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            var slash = rest.IndexOf('/', 2);
            rest = slash < 0 ? "" : rest[slash..];
        }

        return rest.Trim('/');
    }

    // ---------------- plumbing ----------------

    private static List<(string, string)> SearchQuery(SearchRequest request)
    {
        var query = new List<(string, string)>();
        if (request.Filter is not null)
        {
            query.Add(("filter", request.Filter));
        }

        if (request.MaxResults is { } max)
        {
            query.Add(("max_results", max.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        query.AddRange(request.OrderBy.Select(o => ("order_by", o)));
        if (request.PageToken is not null)
        {
            query.Add(("page_token", request.PageToken));
        }

        return query;
    }

    private static string EscapePath(string path) => string.Join('/', path.Trim('/').Split('/').Select(Uri.EscapeDataString));

    private HttpRequestMessage NewRequest(HttpMethod method, string relative)
    {
        var request = new HttpRequestMessage(method, new Uri(_http.BaseAddress!, relative));
        request.Headers.Authorization = _auth;
        return request;
    }

    private Task<T> PostAsync<T>(string endpoint, object body, CancellationToken cancellationToken) =>
        SendJsonAsync<T>(HttpMethod.Post, endpoint, body, cancellationToken);

    private async Task<T> SendJsonAsync<T>(HttpMethod method, string endpoint, object body, CancellationToken cancellationToken)
    {
        using var request = NewRequest(method, Api + endpoint);
        request.Content = new StringContent(JsonSerializer.Serialize(body, body.GetType(), MlflowJson.Options), Encoding.UTF8, "application/json");
        return await SendAsync<T>(request, cancellationToken);
    }

    private async Task<T> GetAsync<T>(string endpoint, IEnumerable<(string Key, string Value)> query, CancellationToken cancellationToken)
    {
        var qs = string.Join('&', query.Select(q => Uri.EscapeDataString(q.Key) + "=" + Uri.EscapeDataString(q.Value)));
        using var request = NewRequest(HttpMethod.Get, Api + endpoint + (qs.Length > 0 ? "?" + qs : ""));
        return await SendAsync<T>(request, cancellationToken);
    }

    private async Task<T> SendAsync<T>(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        using var response = await _http.SendAsync(request, cancellationToken);
        await EnsureSuccessAsync(response, cancellationToken);
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return JsonSerializer.Deserialize<T>(string.IsNullOrWhiteSpace(text) ? "{}" : text, MlflowJson.Options)!;
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        MlflowError? error = null;
        try
        {
            error = JsonSerializer.Deserialize<MlflowError>(text, MlflowJson.Options);
        }
        catch (JsonException)
        {
            // not an MLflow error body (a proxy's page, for example): fall through to the status code
        }

        var code = error is not null && text.Contains("\"error_code\"", StringComparison.Ordinal)
            ? error.ErrorCode
            : CodeOf((int)response.StatusCode);
        var message = error?.Message is { Length: > 0 } m ? m : $"HTTP {(int)response.StatusCode} from {response.RequestMessage?.RequestUri?.AbsolutePath}";
        throw new MlflowException(code, message);
    }

    private static string CodeOf(int status) => status switch
    {
        400 => ErrorCodes.BadRequest,
        401 => ErrorCodes.Unauthenticated,
        403 => ErrorCodes.PermissionDenied,
        404 => ErrorCodes.EndpointNotFound,
        _ => ErrorCodes.InternalError,
    };
}
