using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Lifeline.Registry.Tests.Apis;

/// <summary>
/// Our server's answers against the expected MLflow request/response shapes in Fixtures/*.json: same field names at
/// every level, same JSON kinds (int64 numbers, version strings). The fixtures were written by hand from MLflow's
/// protos and server handlers, not recorded from a running MLflow server (see Fixtures/README.md); the check against
/// a client we did not write is Compat/MlflowJsClientTests.
/// </summary>
public sealed class WireShapeTests : IAsyncLifetime
{
    private RegistryTestServer _server = null!;

    public async Task InitializeAsync() => _server = await RegistryTestServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task MlflowClientSequence_EveryResponse_MatchesTheFixtureShape()
    {
        var created = await SendAsync(HttpMethod.Post, "experiments/create", """{"name": "lead-scoring", "tags": [{"key": "team", "value": "growth"}]}""");
        await AssertMatchesAsync("experiments-create", created);
        var experimentId = created.Body.GetProperty("experiment_id").GetString()!;
        await AssertMatchesAsync("experiments-get", await SendAsync(HttpMethod.Get, $"experiments/get?experiment_id={experimentId}"));

        var run = await SendAsync(HttpMethod.Post, "runs/create", $$"""{"experiment_id": "{{experimentId}}", "user_id": "trainer", "run_name": "train-1", "start_time": 1764151200000}""");
        await AssertMatchesAsync("runs-create", run);
        var runId = run.Body.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;

        await AssertMatchesAsync("runs-log-batch", await SendAsync(HttpMethod.Post, "runs/log-batch", $$"""
            {"run_id": "{{runId}}", "metrics": [{"key": "auc", "value": 0.85, "timestamp": 1764151220000, "step": 0}, {"key": "auc", "value": 0.91, "timestamp": 1764151230000, "step": 1}],
             "params": [{"key": "learning_rate", "value": "0.1"}], "tags": []}
            """));
        await SendAsync(HttpMethod.Post, "runs/update", $$"""{"run_id": "{{runId}}", "status": "FINISHED", "end_time": 1764151260000}""");
        await AssertMatchesAsync("runs-get", await SendAsync(HttpMethod.Get, $"runs/get?run_id={runId}"));
        await AssertMatchesAsync("metrics-get-history", await SendAsync(HttpMethod.Get, $"metrics/get-history?run_id={runId}&metric_key=auc"));

        await AssertMatchesAsync("registered-models-create", await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "lead-scorer", "description": "scores leads", "tags": [{"key": "owner", "value": "growth"}]}"""));
        var source = $"mlflow-artifacts:/{experimentId}/{runId}/artifacts/model";
        var version = await SendAsync(HttpMethod.Post, "model-versions/create", $$"""
            {"name": "lead-scorer", "source": "{{source}}", "run_id": "{{runId}}", "description": "first", "run_link": "http://127.0.0.1:5000/#/experiments/1/runs/{{runId}}", "tags": [{"key": "auc", "value": "0.91"}]}
            """);
        await AssertMatchesAsync("model-versions-create", version);
        Assert.Equal("1", version.Body.GetProperty("model_version").GetProperty("version").GetString());

        await AssertMatchesAsync("model-versions-transition-stage", await SendAsync(HttpMethod.Post, "model-versions/transition-stage", """{"name": "lead-scorer", "version": "1", "stage": "Production", "archive_existing_versions": true}"""));
        await AssertMatchesAsync("runs-log-batch", await SendAsync(HttpMethod.Post, "registered-models/alias", """{"name": "lead-scorer", "alias": "champion", "version": "1"}"""));
        await AssertMatchesAsync("registered-models-get-latest-versions", await SendAsync(HttpMethod.Post, "registered-models/get-latest-versions", """{"name": "lead-scorer", "stages": ["Production"]}"""));
        await AssertMatchesAsync("registered-models-get-latest-versions", await SendAsync(HttpMethod.Get, "registered-models/get-latest-versions?name=lead-scorer&stages=Production&stages=Staging"));
        await AssertMatchesAsync("registered-models-get", await SendAsync(HttpMethod.Get, "registered-models/get?name=lead-scorer"));
        await AssertMatchesAsync("registered-models-alias-get", await SendAsync(HttpMethod.Get, "registered-models/alias?name=lead-scorer&alias=champion"));
        await AssertMatchesAsync("registered-models-search", await SendAsync(HttpMethod.Get, "registered-models/search?filter=name+LIKE+%27lead%25%27&max_results=10"));
        var uri = await SendAsync(HttpMethod.Get, "model-versions/get-download-uri?name=lead-scorer&version=1");
        await AssertMatchesAsync("model-versions-get-download-uri", uri);
        Assert.Equal(source, uri.Body.GetProperty("artifact_uri").GetString());

        // the artifact proxy
        await SendRawAsync(HttpMethod.Put, $"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/model/model.zip", "hello");
        await SendRawAsync(HttpMethod.Put, $"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/model/signature/input.json", "{}");
        var list = await SendRawAsync(HttpMethod.Get, $"/api/2.0/mlflow-artifacts/artifacts?path={experimentId}/{runId}/artifacts/model", null);
        await AssertMatchesAsync("artifacts-list", list);
        using var download = await _server.Http.GetAsync(new Uri($"/api/2.0/mlflow-artifacts/artifacts/{experimentId}/{runId}/artifacts/model/model.zip", UriKind.Relative));
        Assert.Equal("hello", await download.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Errors_UnknownDuplicateBadStageOversize_MatchMlflowCodesAndStatus()
    {
        await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "lead-scorer"}""");
        await SendAsync(HttpMethod.Post, "model-versions/create", """{"name": "lead-scorer", "source": "s3://bucket/model"}""");
        await AssertMatchesAsync("error-model-not-found", await SendAsync(HttpMethod.Get, "registered-models/get?name=missing"), exactMessage: true);
        await AssertMatchesAsync("error-version-not-found", await SendAsync(HttpMethod.Get, "model-versions/get?name=lead-scorer&version=99"), exactMessage: true);
        await AssertMatchesAsync("error-model-already-exists", await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "lead-scorer"}"""), exactMessage: true);
        await AssertMatchesAsync("error-bad-stage", await SendAsync(HttpMethod.Post, "model-versions/transition-stage", """{"name": "lead-scorer", "version": "1", "stage": "Prod", "archive_existing_versions": false}"""), exactMessage: true);

        var run = await SendAsync(HttpMethod.Post, "runs/create", """{"experiment_id": "0"}""");
        var runId = run.Body.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString();
        var metrics = string.Join(",", Enumerable.Range(0, 1001).Select(i => $$"""{"key": "m", "value": {{i}}, "timestamp": {{i}}, "step": 0}"""));
        await AssertMatchesAsync("error-oversize-batch", await SendAsync(HttpMethod.Post, "runs/log-batch", $$"""{"run_id": "{{runId}}", "metrics": [{{metrics}}]}"""), exactMessage: true);
        var deleted = await SendAsync(HttpMethod.Delete, "registered-models/delete", """{"name": "missing"}""", RegistryTestServer.AdminToken);
        Assert.Equal("RESOURCE_DOES_NOT_EXIST", deleted.Body.GetProperty("error_code").GetString());
        var unknownEndpoint = await SendAsync(HttpMethod.Get, "no-such-thing");
        Assert.Equal((HttpStatusCode.NotFound, "ENDPOINT_NOT_FOUND"), (unknownEndpoint.Status, unknownEndpoint.Body.GetProperty("error_code").GetString()));
        var missingParam = await SendAsync(HttpMethod.Post, "registered-models/create", "{}");
        Assert.Equal((HttpStatusCode.BadRequest, "INVALID_PARAMETER_VALUE"), (missingParam.Status, missingParam.Body.GetProperty("error_code").GetString()));
    }

    [Fact]
    public async Task Auth_NoTokenReaderTokenWriterDelete_RefusedWithMlflowBodies()
    {
        await AssertMatchesAsync("error-unauthenticated", await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "m"}""", token: null), exactMessage: true);
        await AssertMatchesAsync("error-unauthenticated", await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "m"}""", token: "wrong"), exactMessage: true);
        await AssertMatchesAsync("error-permission-denied", await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "m"}""", RegistryTestServer.ReaderToken), exactMessage: true);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "m"}""")).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Get, "registered-models/get?name=m", token: null)).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Post, "registered-models/get-latest-versions", """{"name": "m"}""", token: null)).Status);
        var forbidden = await SendAsync(HttpMethod.Delete, "registered-models/delete", """{"name": "m"}""");
        Assert.Equal((HttpStatusCode.Forbidden, "PERMISSION_DENIED"), (forbidden.Status, forbidden.Body.GetProperty("error_code").GetString()));
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(HttpMethod.Delete, "registered-models/delete", """{"name": "m"}""", RegistryTestServer.AdminToken)).Status);
        using var upload = new HttpRequestMessage(HttpMethod.Put, "/api/2.0/mlflow-artifacts/artifacts/0/x/a.bin") { Content = new StringContent("x") };
        Assert.Equal(HttpStatusCode.Unauthorized, (await _server.Http.SendAsync(upload)).StatusCode);
    }

    [Fact]
    public async Task Auth_ReadsRequireToken_WhenConfigured()
    {
        await using var closed = await RegistryTestServer.StartAsync(requireTokenForReads: true);
        using var anonymous = await closed.Http.GetAsync(new Uri("/api/2.0/mlflow/experiments/get?experiment_id=0", UriKind.Relative));
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/2.0/mlflow/experiments/get?experiment_id=0");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", RegistryTestServer.ReaderToken);
        Assert.Equal(HttpStatusCode.OK, (await closed.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task SearchModelVersions_PageTokens_WalkEveryVersionOnce()
    {
        await SendAsync(HttpMethod.Post, "registered-models/create", """{"name": "m"}""");
        for (var i = 0; i < 7; i++)
        {
            await SendAsync(HttpMethod.Post, "model-versions/create", """{"name": "m", "source": "s3://b/m"}""");
        }

        var seen = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            var page = await SendAsync(HttpMethod.Get, "model-versions/search?filter=name%3D%27m%27&max_results=3" + (token is null ? "" : "&page_token=" + Uri.EscapeDataString(token)));
            Assert.Equal(HttpStatusCode.OK, page.Status);
            seen.AddRange(page.Body.GetProperty("model_versions").EnumerateArray().Select(v => v.GetProperty("version").GetString()!));
            token = page.Body.TryGetProperty("next_page_token", out var t) ? t.GetString() : null;
            pages++;
        }
        while (token is not null);
        Assert.Equal(3, pages);
        Assert.Equal(["7", "6", "5", "4", "3", "2", "1"], seen);
    }

    [Fact]
    public async Task AjaxApiPrefix_ServesTheSameApi()
    {
        using var response = await _server.Http.GetAsync(new Uri("/ajax-api/2.0/mlflow/experiments/get-by-name?experiment_name=Default", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("0", doc.RootElement.GetProperty("experiment").GetProperty("experiment_id").GetString());
    }

    // ---------------- helpers ----------------

    private sealed record Reply(HttpStatusCode Status, JsonElement Body);

    private Task<Reply> SendAsync(HttpMethod method, string endpoint, string? body = null, string? token = RegistryTestServer.WriterToken) =>
        SendRawAsync(method, "/api/2.0/mlflow/" + endpoint, body, token);

    private async Task<Reply> SendRawAsync(HttpMethod method, string path, string? body, string? token = RegistryTestServer.WriterToken)
    {
        using var request = new HttpRequestMessage(method, new Uri(path, UriKind.Relative));
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, method == HttpMethod.Put ? "application/octet-stream" : "application/json");
        }

        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await _server.Http.SendAsync(request);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var text = await response.Content.ReadAsStringAsync();
        using var doc = JsonDocument.Parse(text);
        return new Reply(response.StatusCode, doc.RootElement.Clone());
    }

    private static async Task AssertMatchesAsync(string fixture, Reply actual, bool exactMessage = false)
    {
        using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", fixture + ".json")));
        var expectedStatus = doc.RootElement.GetProperty("status").GetInt32();
        var expected = doc.RootElement.GetProperty("body");
        Assert.True(expectedStatus == (int)actual.Status, $"{fixture}: status {(int)actual.Status}, expected {expectedStatus}; body {actual.Body}");
        AssertSameShape(expected, actual.Body, fixture);
        if (expected.TryGetProperty("error_code", out var code))
        {
            Assert.Equal(code.GetString(), actual.Body.GetProperty("error_code").GetString());
            if (exactMessage)
            {
                Assert.Equal(expected.GetProperty("message").GetString(), actual.Body.GetProperty("message").GetString());
            }
        }
    }

    private static void AssertSameShape(JsonElement expected, JsonElement actual, string path)
    {
        Assert.True(expected.ValueKind == actual.ValueKind || (IsBool(expected) && IsBool(actual)), $"{path}: expected {expected.ValueKind}, got {actual.ValueKind} ({actual})");
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var expectedNames = expected.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
                var actualNames = actual.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToList();
                Assert.True(expectedNames.SequenceEqual(actualNames), $"{path}: fields [{string.Join(", ", actualNames)}], expected [{string.Join(", ", expectedNames)}]");
                foreach (var property in expected.EnumerateObject())
                {
                    AssertSameShape(property.Value, actual.GetProperty(property.Name), path + "." + property.Name);
                }

                break;
            case JsonValueKind.Array:
                Assert.True(expected.GetArrayLength() == actual.GetArrayLength(), $"{path}: {actual.GetArrayLength()} elements, expected {expected.GetArrayLength()}");
                var i = 0;
                foreach (var (e, a) in expected.EnumerateArray().Zip(actual.EnumerateArray()))
                {
                    AssertSameShape(e, a, $"{path}[{i++}]");
                }

                break;
        }
    }

    private static bool IsBool(JsonElement e) => e.ValueKind is JsonValueKind.True or JsonValueKind.False;
}
