using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lifeline.Scoring.Apis;
using Lifeline.Scoring.Sinks;

namespace Lifeline.Scoring.Tests.Apis;

public class ScoringApiTests
{
    private const string Lead =
        """{"lead_id":"lead_000001","company_size":"Medium","industry":"Healthcare","page_views":17,"time_on_site":243.8,"form_completion_time":20.4,"referral_source":"Social Media","created_at":"2024-12-04T03:24:08Z"}""";

    [Fact]
    public async Task ScoreLead_ValidLead_ReturnsTheOriginalResponseFields()
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var response = await server.PostJsonAsync("/score-lead", Lead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var root = json.RootElement;
        Assert.Equal("lead_000001", root.GetProperty("lead_id").GetString());
        var score = root.GetProperty("lead_score").GetDouble();
        Assert.InRange(score, 0, 1);
        Assert.Equal(Lifeline.Scoring.Features.LeadFeatures.Category(score), root.GetProperty("score_category").GetString());
        Assert.Equal("1", root.GetProperty("model_version").GetString());
        Assert.Equal(server.Time.GetUtcNow(), root.GetProperty("prediction_timestamp").GetDateTimeOffset());
        Assert.True(root.TryGetProperty("latency_ms", out _));
    }

    [Fact]
    public async Task ScoreLead_UnknownCategoriesAndOnlyLeadId_AreScored()
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var unknown = await server.PostJsonAsync("/score-lead", """{"lead_id":"x","company_size":"Galactic","industry":"Piracy","referral_source":"Carrier Pigeon"}""");
        using var minimal = await server.PostJsonAsync("/score-lead", """{"lead_id":"y"}""");

        Assert.Equal(HttpStatusCode.OK, unknown.StatusCode);
        Assert.Equal(HttpStatusCode.OK, minimal.StatusCode);
        var a = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        var b = await minimal.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(a.GetProperty("lead_score").GetDouble(), b.GetProperty("lead_score").GetDouble()); // unknown == missing
    }

    [Theory]
    [InlineData("""{"company_size":"Small"}""", 422, "lead_id")]
    [InlineData("""{"lead_id":""}""", 422, "lead_id")]
    [InlineData("""{"lead_id":"a","page_views":-1}""", 422, "page_views")]
    [InlineData("""{"lead_id":"a","time_on_site":-0.5}""", 422, "time_on_site")]
    [InlineData("""{"lead_id":"a","form_completion_time":-3}""", 422, "form_completion_time")]
    [InlineData("""{"lead_id":"a","created_at":"yesterday"}""", 422, "created_at")]
    [InlineData("""{"lead_id":"a","page_views":"many"}""", 400, "page_views")]
    [InlineData("""{"lead_id":"a","page_views":1.5}""", 400, "page_views")]
    [InlineData("""{"lead_id":"a","page_views":99999999999}""", 422, "page_views")]
    [InlineData("""{"lead_id":"a",""", 400, "body")]
    [InlineData("""not json""", 400, "body")]
    [InlineData("", 400, "body")]
    [InlineData("null", 400, "body")]
    [InlineData("[1,2]", 400, "body")]
    public async Task ScoreLead_BadInput_ProblemDetailsNamingTheField(string body, int status, string field)
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var response = await server.PostJsonAsync("/score-lead", body);

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _));
    }

    [Fact]
    public async Task ScoreLead_WrongContentTypeOrTooLarge_415And413()
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var text = await server.PostJsonAsync("/score-lead", Lead, "text/plain");
        using var large = await server.PostJsonAsync("/score-lead", "{\"lead_id\":\"" + new string('x', 20_000) + "\"}");
        using var chunked = await server.Client.PostAsync("/score-lead", new ChunkedContent("{\"lead_id\":\"" + new string('x', 20_000) + "\"}"));

        Assert.True(text.StatusCode == HttpStatusCode.UnsupportedMediaType, await text.Content.ReadAsStringAsync());
        Assert.Contains("\"field\":\"content-type\"", await text.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, large.StatusCode);
        Assert.Contains("16384", (await large.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunked.StatusCode);
    }

    [Fact]
    public async Task ScoreLeads_Batch_ScoresEachInOrderAndRefusesOversize()
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path, o => o.MaxBatchSize = 3);

        using var ok = await server.PostJsonAsync("/score-leads", """{"leads":[{"lead_id":"a"},{"lead_id":"b","company_size":"Enterprise","page_views":40}]}""");
        using var tooMany = await server.PostJsonAsync("/score-leads", """{"leads":[{"lead_id":"a"},{"lead_id":"b"},{"lead_id":"c"},{"lead_id":"d"}]}""");
        using var badItem = await server.PostJsonAsync("/score-leads", """{"leads":[{"lead_id":"a"},{"page_views":-2}]}""");

        Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        var batch = await ok.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(2, batch.GetProperty("count").GetInt32());
        Assert.Equal(["a", "b"], batch.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("lead_id").GetString()));
        Assert.Equal(422, (int)tooMany.StatusCode);
        Assert.Contains("at most 3", (await tooMany.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        Assert.Equal(422, (int)badItem.StatusCode);
        var errors = (await badItem.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        Assert.True(errors.TryGetProperty("leads[1].lead_id", out _));
        Assert.True(errors.TryGetProperty("leads[1].page_views", out _));
    }

    [Fact]
    public async Task HealthReadyModelInfoMetricsOpenApi_Answer()
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);
        (await server.PostJsonAsync("/score-lead", Lead)).Dispose();

        var health = await server.GetJsonAsync<JsonElement>("/health");
        var ready = await server.GetJsonAsync<JsonElement>("/health/ready");
        var info = await server.GetJsonAsync<JsonElement>("/model-info");
        var metrics = await server.Client.GetStringAsync("/metrics");
        var openapi = await server.GetJsonAsync<JsonElement>("/openapi/v1.json");

        Assert.Equal("healthy", health.GetProperty("status").GetString());
        Assert.Equal("1", ready.GetProperty("model_version").GetString());
        Assert.Equal("lead-scoring", info.GetProperty("model_name").GetString());
        Assert.Equal("FastTree", info.GetProperty("signature").GetProperty("trainer").GetString());
        Assert.Contains("lifeline_scoring_requests_total{endpoint=\"score-lead\",status=\"200\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeline_scoring_request_duration_seconds_bucket", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeline_scoring_model_version 1", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeline_scoring_prediction_errors_total", metrics, StringComparison.Ordinal);
        Assert.True(openapi.GetProperty("paths").TryGetProperty("/score-lead", out _));
    }

    [Fact]
    public async Task OpenApi_UnknownDocumentName_404ProblemDetails()
    {
        // found by the fuzz harness: /openapi/v1.json.json was answered by the OpenAPI middleware in plain text
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var response = await server.Client.GetAsync("/openapi/v1.json.json");

        Assert.Equal(System.Net.HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Ready_NoModelAnywhere_503AndScoreLead503()
    {
        using var dir = new TempDir();
        var empty = new Lifeline.Scoring.Sources.DirectoryModelSource(dir.Sub("empty-registry"));
        await using var server = await ScoringServer.StartAsync(empty, dir.Path);

        using var ready = await server.Client.GetAsync("/health/ready");
        using var score = await server.PostJsonAsync("/score-lead", Lead);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, score.StatusCode);
        Assert.Equal("application/problem+json", score.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task AdminRollback_NoTokenWrongTokenRightToken_401_403_200()
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry"), versions: 2), dir.Path);

        using var none = await server.Client.PostAsync("/admin/rollback", null);
        using var wrong = new HttpRequestMessage(HttpMethod.Post, "/admin/rollback") { Headers = { { "Authorization", "Bearer nope" } } };
        using var wrongResponse = await server.Client.SendAsync(wrong);
        using var right = new HttpRequestMessage(HttpMethod.Post, "/admin/rollback")
        {
            Headers = { { "Authorization", "Bearer test-admin-token" } },
            Content = JsonContent.Create(new { reason = "bad calibration" }),
        };
        using var rightResponse = await server.Client.SendAsync(right);

        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.Forbidden, wrongResponse.StatusCode);
        Assert.Equal(HttpStatusCode.OK, rightResponse.StatusCode);
        var result = await rightResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("2", result.GetProperty("from_version").GetString());
        Assert.Equal("1", result.GetProperty("to_version").GetString());
        var info = await server.GetJsonAsync<JsonElement>("/model-info");
        Assert.Equal("1", info.GetProperty("model_version").GetString());
        Assert.Equal(["2"], info.GetProperty("rejected_versions").EnumerateArray().Select(v => v.GetString()));
    }

    [Fact]
    public async Task Sinks_GracefulStop_EveryPredictionAndAuditRecordWritten()
    {
        using var dir = new TempDir();
        var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);
        await Task.WhenAll(Enumerable.Range(0, 200).Select(async i =>
        {
            using var r = await server.PostJsonAsync("/score-lead", $$"""{"lead_id":"lead-{{i}}","page_views":{{i % 40}}}""");
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }));

        await server.DisposeAsync(); // graceful: the sinks drain after the server stops taking requests

        var lines = await File.ReadAllLinesAsync(Path.Combine(dir.Path, "sinks", "predictions.jsonl"));
        Assert.Equal(200, lines.Length);
        var ids = lines.Select(l => JsonSerializer.Deserialize(l, ScoringJsonContext.Default.PredictionRecord)!.LeadId).ToHashSet();
        Assert.Equal(200, ids.Count);
        var audit = await File.ReadAllLinesAsync(Path.Combine(dir.Path, "sinks", "audit_logs.jsonl"));
        Assert.Contains(audit, l => l.Contains("model.activate", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Poll_NewProductionVersion_ServedWithoutRestartOrFailedRequest()
    {
        using var dir = new TempDir();
        var source = await TestModels.SourceAsync(dir.Sub("registry"));
        await using var server = await ScoringServer.StartAsync(source, dir.Path, o => o.PollInterval = TimeSpan.FromSeconds(30));
        using var traffic = new CancellationTokenSource();
        var failures = 0;
        var sent = 0;
        var load = Task.Run(async () =>
        {
            while (!traffic.IsCancellationRequested)
            {
                using var r = await server.PostJsonAsync("/score-lead", Lead);
                Interlocked.Increment(ref sent);
                if (r.StatusCode != HttpStatusCode.OK)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });

        var model = await TestModels.GetAsync();
        var v2 = await source.AddVersionAsync(model.ArtifactDirectory, CancellationToken.None);
        await source.PromoteAsync(v2, CancellationToken.None);
        server.Time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => (await server.GetJsonAsync<JsonElement>("/model-info")).GetProperty("model_version").GetString() == "2",
            "version 2 served after one poll interval");
        var sentAtSwitch = Volatile.Read(ref sent);
        await Eventually.TrueAsync(() => Task.FromResult(Volatile.Read(ref sent) > sentAtSwitch + 50), "traffic after the switch");
        await traffic.CancelAsync();
        await load;

        Assert.Equal(0, failures);
        Assert.Equal("1", (await server.GetJsonAsync<JsonElement>("/model-info")).GetProperty("previous_version").GetString());
    }

    [Fact]
    public async Task Start_RegistryDown_ServesTheCachedVersion()
    {
        using var dir = new TempDir();
        var registry = dir.Sub("registry");
        var source = await TestModels.SourceAsync(registry);
        await (await ScoringServer.StartAsync(source, dir.Path)).DisposeAsync(); // first start fills the cache
        Directory.Delete(registry, recursive: true);
        await using var server = await ScoringServer.StartAsync(new UnreachableSource(), dir.Path);

        using var response = await server.PostJsonAsync("/score-lead", Lead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString());
    }

    private sealed class UnreachableSource : Lifeline.Scoring.Sources.IModelSource
    {
        public string Description => "unreachable";

        public Task<Lifeline.Scoring.Sources.ModelVersionInfo?> GetProductionAsync(CancellationToken cancellationToken) =>
            throw new HttpRequestException("connection refused");

        public Task<Lifeline.Scoring.Sources.ModelVersionInfo?> GetPreviousProductionAsync(string currentVersion, CancellationToken cancellationToken) =>
            throw new HttpRequestException("connection refused");

        public Task DownloadAsync(Lifeline.Scoring.Sources.ModelVersionInfo version, string directory, CancellationToken cancellationToken) =>
            throw new HttpRequestException("connection refused");
    }

    private sealed class ChunkedContent : HttpContent
    {
        private readonly string text;

        public ChunkedContent(string text)
        {
            this.text = text;
            Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
            stream.WriteAsync(System.Text.Encoding.UTF8.GetBytes(text)).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
