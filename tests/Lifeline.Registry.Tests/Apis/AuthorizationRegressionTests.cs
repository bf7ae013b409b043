using System.Net;

namespace Lifeline.Registry.Tests.Apis;

/// <summary>The authorization bypasses of issue 8, each as it was reported, and the state it would have changed checked unchanged.</summary>
public sealed class AuthorizationRegressionTests : IAsyncLifetime
{
    private const string Api = "/api/2.0/mlflow/";
    private ProbeServer _server = null!;

    public async Task InitializeAsync() => _server = await ProbeServer.StartAsync();

    public async Task DisposeAsync() => await _server.DisposeAsync();

    [Theory]
    [InlineData("/API/2.0/mlflow/experiments/create")]
    [InlineData("/api/2.0/MLFLOW/experiments/create")]
    [InlineData("/api/2.0/mlflow/experiments/create/")]
    [InlineData("/ajax-api/2.0/mlflow/Experiments/Create")]
    public async Task CreateExperiment_PathSpellingWithoutToken_UnauthorizedAndNothingCreated(string path)
    {
        var reply = await _server.SendAsync(HttpMethod.Post, path, """{"name": "x"}""");

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (reply.Status, reply.ErrorCode));
        Assert.Equal(HttpStatusCode.NotFound, (await _server.SendAsync(HttpMethod.Get, Api + "experiments/get-by-name?experiment_name=x")).Status);
    }

    [Fact]
    public async Task DeleteModelVersion_UpperCasePathWithoutToken_UnauthorizedAndVersionKept()
    {
        await CreateVersionAsync("m");

        var reply = await _server.SendAsync(HttpMethod.Delete, "/API/2.0/mlflow/model-versions/delete", """{"name": "m", "version": "1"}""");

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (reply.Status, reply.ErrorCode));
        Assert.Equal(HttpStatusCode.OK, (await _server.SendAsync(HttpMethod.Get, Api + "model-versions/get?name=m&version=1")).Status);
    }

    [Fact]
    public async Task DeleteArtifact_UpperCasePathWithoutToken_UnauthorizedAndArtifactKept()
    {
        await PutArtifactAsync("0/run/artifacts/model.bin", RegistryTestServer.WriterToken);

        var reply = await _server.SendAsync(HttpMethod.Delete, "/API/2.0/mlflow-artifacts/artifacts/0/run/artifacts/model.bin");

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (reply.Status, reply.ErrorCode));
        Assert.Equal(HttpStatusCode.OK, (await _server.SendAsync(HttpMethod.Get, "/api/2.0/mlflow-artifacts/artifacts/0/run/artifacts/model.bin")).Status);
    }

    [Theory]
    [InlineData("experiments/delete", "POST")]
    [InlineData("registered-models/delete", "DELETE")]
    [InlineData("model-versions/delete", "DELETE")]
    public async Task AdminEndpoint_WriteTokenAnySpelling_ForbiddenAndNothingDeleted(string endpoint, string method)
    {
        var experimentId = await CreateVersionAsync("m");
        var body = endpoint == "experiments/delete" ? $$"""{"experiment_id": "{{experimentId}}"}""" : """{"name": "m", "version": "1"}""";
        foreach (var path in new[] { Api + endpoint, Api + endpoint.ToUpperInvariant(), Api + endpoint + "/", "/API/2.0/MLFLOW/" + endpoint + "/", "/ajax-api/2.0/mlflow/" + endpoint })
        {
            var reply = await _server.SendAsync(new HttpMethod(method), path, body, RegistryTestServer.WriterToken);
            Assert.True((reply.Status, reply.ErrorCode) == (HttpStatusCode.Forbidden, "PERMISSION_DENIED"), $"{method} {path}: {reply}");
        }

        Assert.Equal(HttpStatusCode.OK, (await _server.SendAsync(HttpMethod.Get, Api + "model-versions/get?name=m&version=1")).Status);
        var experiment = await _server.SendAsync(HttpMethod.Get, Api + $"experiments/get?experiment_id={experimentId}");
        Assert.Contains("\"active\"", experiment.Body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0/x/mlflow/runs/search")]
    [InlineData("0/x/mlflow/experiments/search")]
    [InlineData("0/x/mlflow/registered-models/get-latest-versions")]
    public async Task UploadArtifact_PathNamingAReadEndpointWithoutToken_UnauthorizedAndNotWritten(string path)
    {
        var reply = await PutArtifactAsync(path, token: null);

        Assert.Equal((HttpStatusCode.Unauthorized, "UNAUTHENTICATED"), (reply.Status, reply.ErrorCode));
        Assert.Equal(HttpStatusCode.NotFound, (await _server.SendAsync(HttpMethod.Get, "/api/2.0/mlflow-artifacts/artifacts/" + path)).Status);
        Assert.Equal(HttpStatusCode.OK, (await PutArtifactAsync(path, RegistryTestServer.WriterToken)).Status);
    }

    private Task<Reply> PutArtifactAsync(string path, string? token) =>
        _server.SendAsync(HttpMethod.Put, "/api/2.0/mlflow-artifacts/artifacts/" + path, "bytes", token, "application/octet-stream");

    private async Task<string> CreateVersionAsync(string model)
    {
        var experiment = await _server.SendAsync(HttpMethod.Post, Api + "experiments/create", $$"""{"name": "e-{{model}}"}""", RegistryTestServer.WriterToken);
        Assert.Equal(HttpStatusCode.OK, experiment.Status);
        Assert.Equal(HttpStatusCode.OK, (await _server.SendAsync(HttpMethod.Post, Api + "registered-models/create", $$"""{"name": "{{model}}"}""", RegistryTestServer.WriterToken)).Status);
        Assert.Equal(HttpStatusCode.OK, (await _server.SendAsync(HttpMethod.Post, Api + "model-versions/create", $$"""{"name": "{{model}}", "source": "mlflow-artifacts:/0/r/artifacts/model"}""", RegistryTestServer.WriterToken)).Status);
        using var doc = System.Text.Json.JsonDocument.Parse(experiment.Body);
        return doc.RootElement.GetProperty("experiment_id").GetString()!;
    }
}
