using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lifeline.Registry.Tests.Apis;

/// <summary>
/// The classes of fuzzed requests that answered 500 with an empty body (issue 8), each now a 4xx MLflow error: nulls
/// where a list is expected, invalid JSON and wrong types, artifact paths that clash with a file or a folder, names
/// over 255 bytes, names of the store's temporary files; LIKE patterns that would backtrack; and the one 500 left, for
/// the unforeseen, in MLflow's shape without details.
/// </summary>
public sealed class BadInputTests : IAsyncLifetime
{
    private const string Api = "/api/2.0/mlflow/";
    private const string Artifacts = "/api/2.0/mlflow-artifacts/artifacts/";
    private const string Writer = RegistryTestServer.WriterToken;
    private ProbeServer _server = null!;
    private string _runId = "";

    public async Task InitializeAsync()
    {
        _server = await ProbeServer.StartAsync(map: app => app.MapGet("/api/2.0/mlflow/test-throws", (RequestDelegate)(_ =>
            throw new InvalidOperationException("secret detail"))).RequireAuthorization("read"));
        var run = await _server.SendAsync(HttpMethod.Post, Api + "runs/create", """{"experiment_id": "0"}""", Writer);
        _runId = JsonDocument.Parse(run.Body).RootElement.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        await _server.SendAsync(HttpMethod.Post, Api + "registered-models/create", """{"name": "m"}""", Writer);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "metrics": null}""")]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "params": null}""")]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "tags": null}""")]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "tags": [null]}""")]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "metrics": [{"key": null, "value": 1, "timestamp": 1}]}""")]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "metrics": [{"key": "k", "value": null, "timestamp": 1}]}""")]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "params": [{"key": "k", "value": null}]}""")]
    [InlineData("runs/log-batch", """{"run_id": "RUN", "params": [{"key": "k"}]}""")]
    [InlineData("experiments/create", """{"name": "e", "tags": null}""")]
    [InlineData("experiments/create", """{"name": "e", "tags": [{"key": null, "value": "v"}]}""")]
    [InlineData("runs/create", """{"experiment_id": "0", "tags": null}""")]
    [InlineData("registered-models/create", """{"name": "m2", "tags": null}""")]
    [InlineData("model-versions/create", """{"name": "m", "source": "s", "tags": null}""")]
    [InlineData("runs/search", """{"experiment_ids": null}""")]
    [InlineData("runs/search", """{"experiment_ids": [null]}""")]
    [InlineData("runs/search", """{"order_by": null}""")]
    [InlineData("experiments/search", """{"order_by": [null]}""")]
    [InlineData("registered-models/get-latest-versions", """{"name": "m", "stages": null}""")]
    [InlineData("experiments/create", """{"name": null}""")]
    public async Task Request_NullWhereAListOrValueIsExpected_InvalidParameterValue(string endpoint, string body)
    {
        var reply = await _server.SendAsync(HttpMethod.Post, Api + endpoint, body.Replace("RUN", _runId, StringComparison.Ordinal), Writer);

        Assert.True((reply.Status, reply.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), reply.ToString());
    }

    [Theory]
    [InlineData("{")]
    [InlineData("""{"name": "e"} trailing""")]
    [InlineData("[]")]
    [InlineData("\"name\"")]
    [InlineData("null")]
    [InlineData("""{"name": 5}""")]
    [InlineData("""{"name": {}}""")]
    [InlineData("""{"name": ["e"]}""")]
    [InlineData("""{"name": "e", "tags": "t"}""")]
    [InlineData("""{"name": "e", "tags": [1]}""")]
    public async Task CreateExperiment_InvalidJsonOrWrongType_InvalidParameterValue(string body)
    {
        var reply = await _server.SendAsync(HttpMethod.Post, Api + "experiments/create", body, Writer);

        Assert.True((reply.Status, reply.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), reply.ToString());
    }

    [Fact]
    public async Task Request_DeeplyNestedOrWrongTypedQuery_InvalidParameterValue()
    {
        var nested = await _server.SendAsync(HttpMethod.Post, Api + "runs/search", """{"experiment_ids": """ + new string('[', 5000) + "}", Writer);
        var query = await _server.SendAsync(HttpMethod.Get, Api + "experiments/search?max_results=lots");

        Assert.Equal((HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), (nested.Status, nested.ErrorCode));
        Assert.Equal((HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), (query.Status, query.ErrorCode));
    }

    [Fact]
    public async Task UploadArtifact_BelowAFileOrWhereAFolderIs_InvalidParameterValue()
    {
        Assert.Equal(HttpStatusCode.OK, (await PutAsync("0/r/file")).Status);
        Assert.Equal(HttpStatusCode.OK, (await PutAsync("0/r/dir/inner")).Status);

        var belowFile = await PutAsync("0/r/file/child");
        var onFolder = await PutAsync("0/r/dir");

        Assert.True((belowFile.Status, belowFile.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), belowFile.ToString());
        Assert.Contains("'0/r/file' is a file", belowFile.Body, StringComparison.Ordinal);
        Assert.True((onFolder.Status, onFolder.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), onFolder.ToString());
        Assert.Equal("bytes", (await _server.SendAsync(HttpMethod.Get, Artifacts + "0/r/file")).Body);
    }

    [Fact]
    public async Task ReadListOrDelete_BelowAFile_NotFoundOrEmptyNever500()
    {
        Assert.Equal(HttpStatusCode.OK, (await PutAsync("0/r/file")).Status);

        var get = await _server.SendAsync(HttpMethod.Get, Artifacts + "0/r/file/child");
        var delete = await _server.SendAsync(HttpMethod.Delete, Artifacts + "0/r/file/child/deeper", token: Writer);
        var list = await _server.SendAsync(HttpMethod.Get, "/api/2.0/mlflow-artifacts/artifacts?path=0/r/file/child");
        var listFile = await _server.SendAsync(HttpMethod.Get, "/api/2.0/mlflow-artifacts/artifacts?path=0/r/file");
        var folder = await _server.SendAsync(HttpMethod.Get, Artifacts + "0/r");
        var runRoot = "mlflow-artifacts:/0/" + _runId + "/artifacts";
        Assert.Equal(HttpStatusCode.OK, (await PutAsync($"0/{_runId}/artifacts/model")).Status);
        var runList = await _server.SendAsync(HttpMethod.Get, Api + $"artifacts/list?run_id={_runId}&path=model/inner");

        Assert.Equal((HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST"), (get.Status, get.ErrorCode));
        Assert.Equal(HttpStatusCode.OK, delete.Status);
        Assert.Equal((HttpStatusCode.OK, "{}"), (list.Status, list.Body));
        Assert.Equal((HttpStatusCode.OK, "{}"), (listFile.Status, listFile.Body));
        Assert.Equal((HttpStatusCode.NotFound, "RESOURCE_DOES_NOT_EXIST"), (folder.Status, folder.ErrorCode));
        Assert.True(runList.Status == HttpStatusCode.OK && runList.Body.Contains(runRoot, StringComparison.Ordinal), runList.ToString());
        Assert.Equal("bytes", (await _server.SendAsync(HttpMethod.Get, Artifacts + "0/r/file")).Body);
    }

    [Fact]
    public async Task UploadArtifact_ConcurrentClashingPaths_200Or400Never500()
    {
        var replies = await Task.WhenAll(Enumerable.Range(0, 12).SelectMany(i => new[] { PutAsync($"race/{i}/b"), PutAsync($"race/{i}/b/c"), PutAsync($"race/{i}/b/c/d") }));

        Assert.All(replies, r => Assert.True(r.Status is HttpStatusCode.OK || (r.Status, r.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), r.ToString()));
    }

    [Theory]
    [InlineData("PUT")]
    [InlineData("GET")]
    [InlineData("DELETE")]
    public async Task ArtifactPath_NameOver255BytesOrPathOver1024_InvalidParameterValue(string method)
    {
        string[] paths = ["0/" + new string('n', 256), "0/" + string.Concat(Enumerable.Repeat("é", 128)), string.Join('/', Enumerable.Repeat("dir", 300))];
        foreach (var path in paths)
        {
            var reply = await _server.SendAsync(new HttpMethod(method), Artifacts + Uri.EscapeDataString(path).Replace("%2F", "/", StringComparison.Ordinal), method == "PUT" ? "bytes" : null, Writer, "application/octet-stream");
            Assert.True((reply.Status, reply.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), $"{path[..20]}...: {reply}");
        }

        Assert.Equal(HttpStatusCode.OK, (await PutAsync("0/" + new string('n', 255))).Status);
    }

    [Theory]
    [InlineData(".tmp-0123456789abcdef")]
    [InlineData("0/r/.tmp-x")]
    [InlineData("0/.tmp-dir/file")]
    public async Task ArtifactPath_StoreTemporaryFileName_InvalidParameterValue(string path)
    {
        foreach (var method in new[] { "PUT", "GET", "DELETE" })
        {
            var reply = await _server.SendAsync(new HttpMethod(method), Artifacts + path, method == "PUT" ? "bytes" : null, Writer, "application/octet-stream");
            Assert.True((reply.Status, reply.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), $"{method}: {reply}");
            Assert.Contains("reserved", reply.Body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task SearchModels_LikePatternThatWouldBacktrack_AnswersWithout500()
    {
        var longName = new string('a', 3000);
        Assert.Equal(HttpStatusCode.OK, (await _server.SendAsync(HttpMethod.Post, Api + "registered-models/create", $$"""{"name": "{{longName}}"}""", Writer)).Status);
        var pattern = string.Concat(Enumerable.Repeat("%a", 200)) + "%b";

        var reply = await _server.SendAsync(HttpMethod.Get, Api + "registered-models/search?filter=" + Uri.EscapeDataString($"name LIKE '{pattern}'"));
        var matching = await _server.SendAsync(HttpMethod.Get, Api + "registered-models/search?filter=" + Uri.EscapeDataString($"name ILIKE '{string.Concat(Enumerable.Repeat("%A", 200))}%'"));

        Assert.Equal((HttpStatusCode.OK, "{}"), (reply.Status, reply.Body));
        Assert.Equal(HttpStatusCode.OK, matching.Status);
        Assert.Contains(longName, matching.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("name LIKE 'a.c'", "a.c")]
    [InlineData("name LIKE 'a_c'", "a.c,abc")]
    [InlineData("name ILIKE 'a_c'", "A_C,a.c,abc")]
    [InlineData("name LIKE 'A\\_C'", "")]
    [InlineData("name LIKE 'x(%'", "x(y")]
    [InlineData("name LIKE '%[%'", "")]
    [InlineData("name LIKE '%'", "A_C,a.c,abc,m,x(y")]
    public async Task SearchModels_LikeWildcardsAndLiterals_MatchAsSql(string filter, string expected)
    {
        foreach (var name in new[] { "a.c", "abc", "A_C", "x(y" })
        {
            await _server.SendAsync(HttpMethod.Post, Api + "registered-models/create", $$"""{"name": "{{name}}"}""", Writer);
        }

        var reply = await _server.SendAsync(HttpMethod.Get, Api + "registered-models/search?filter=" + Uri.EscapeDataString(filter));

        Assert.Equal(HttpStatusCode.OK, reply.Status);
        var names = JsonDocument.Parse(reply.Body).RootElement.TryGetProperty("registered_models", out var models)
            ? models.EnumerateArray().Select(m => m.GetProperty("name").GetString()!).Order(StringComparer.Ordinal).ToList() : [];
        Assert.Equal(expected, string.Join(',', names));
    }

    [Theory]
    [InlineData(4097, 1, 10)]
    [InlineData(0, 51, 10)]
    [InlineData(0, 1, 501)]
    public async Task Search_FilterOrPatternOverLimit_InvalidParameterValue(int filterLength, int conditions, int patternLength)
    {
        var filter = filterLength > 0
            ? $"name = '{new string('x', filterLength)}'"
            : string.Join(" AND ", Enumerable.Repeat($"name LIKE '{new string('%', patternLength)}'", conditions));

        var models = await _server.SendAsync(HttpMethod.Get, Api + "registered-models/search?filter=" + Uri.EscapeDataString(filter));
        var runs = await _server.SendAsync(HttpMethod.Post, Api + "runs/search", JsonSerializer.Serialize(new { experiment_ids = new[] { "0" }, filter = filter.Replace("name", "params.p", StringComparison.Ordinal) }));

        Assert.True((models.Status, models.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), models.ToString());
        Assert.True((runs.Status, runs.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), runs.ToString());
    }

    [Fact]
    public async Task SearchRuns_OrderByOverLimit_InvalidParameterValue()
    {
        var body = JsonSerializer.Serialize(new { experiment_ids = new[] { "0" }, order_by = Enumerable.Repeat("attributes.start_time DESC", 21) });

        var reply = await _server.SendAsync(HttpMethod.Post, Api + "runs/search", body);

        Assert.True((reply.Status, reply.ErrorCode) == (HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), reply.ToString());
    }

    [Fact]
    public async Task UnforeseenException_500InMlflowShapeWithoutDetails()
    {
        var reply = await _server.SendAsync(HttpMethod.Get, Api + "test-throws");

        Assert.Equal((HttpStatusCode.InternalServerError, "INTERNAL_ERROR", "application/json"), (reply.Status, reply.ErrorCode, reply.MediaType));
        Assert.DoesNotContain("secret detail", reply.Body, StringComparison.Ordinal);
    }

    private Task<Reply> PutAsync(string path) =>
        _server.SendAsync(HttpMethod.Put, Artifacts + path, "bytes", Writer, "application/octet-stream");
}
