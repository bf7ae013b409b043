using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Lifeline.Scoring.Tests.Apis;

/// <summary>The repros of issue 8 ("input the contract does not allow, accepted"): each one answered 200 before.</summary>
public class InputContractTests
{
    [Theory]
    [InlineData("""{"lead_id":"a","page_views":3}garbage""", 400, "body")]
    [InlineData("""{"lead_id":"a","page_views":3}{"lead_id":"b"}""", 400, "body")]
    [InlineData("""{"lead_id":"a","lead_id":"b"}""", 400, "lead_id")]
    [InlineData("""{"lead_id":"a","page_views":1,"page_views":2}""", 400, "page_views")]
    [InlineData("""{"lead_id":"a","time_on_site":1e999}""", 422, "time_on_site")]
    [InlineData("""{"lead_id":"a","form_completion_time":-1e999}""", 422, "form_completion_time")]
    [InlineData("""{"lead_id":"a","page_views":1e999}""", 422, "page_views")]
    [InlineData("""{"lead_id":"a","page_views":2147483648}""", 422, "page_views")]
    [InlineData("""{"lead_id":"a","page_views":1e10}""", 422, "page_views")]
    [InlineData("""{"lead_id":"a","time_on_site":1e10}""", 422, "time_on_site")]
    [InlineData("""{"lead_id":"a","created_at":"12/04/2024"}""", 422, "created_at")]
    [InlineData("""{"lead_id":"a","created_at":"Dec 4 2024"}""", 422, "created_at")]
    [InlineData("""{"lead_id":"a","created_at":"2024-13-04T03:24:08Z"}""", 422, "created_at")]
    public async Task ScoreLead_InputTheContractForbids_ProblemDetailsNamingTheField(string body, int status, string field)
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

    [Theory]
    [InlineData("/score-lead", new byte[] { 0xff })]       // an invalid byte inside an unknown key (found by the fuzz long run)
    [InlineData("/score-leads", new byte[] { 0xc0, 0xaf })] // an overlong encoding of '/'
    public async Task Score_BodyNotValidUtf8_400NamingTheEncoding(string path, byte[] invalid)
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);
        var lead = """{"lead_id":"a","page_views":3,"X":1}""";
        var text = path == "/score-lead" ? lead : $$"""{"leads":[{{lead}}]}""";
        var at = text.IndexOf('X');
        var body = System.Text.Encoding.UTF8.GetBytes(text[..at]).Concat(invalid).Concat(System.Text.Encoding.UTF8.GetBytes(text[at..])).ToArray();

        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var response = await server.Client.PostAsync(path, content);

        Assert.Equal(400, (int)response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("not valid UTF-8", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("""{"leads":[{"lead_id":"a"},{"lead_id":"b","time_on_site":1e999}]}""", 422, "leads[1].time_on_site")]
    [InlineData("""{"leads":[{"lead_id":"a","industry":"x","industry":"y"}]}""", 400, "leads[0].industry")]
    [InlineData("""{"leads":[{"lead_id":"a"}]} x""", 400, "body")]
    public async Task ScoreLeads_InputTheContractForbids_ProblemDetailsNamingTheField(string body, int status, string field)
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var response = await server.PostJsonAsync("/score-leads", body);

        Assert.Equal(status, (int)response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("""{"lead_id":"a","created_at":"2024-12-04T03:24:08Z"}""")]
    [InlineData("""{"lead_id":"a","created_at":"2024-12-04T03:24:08.123456+02:00"}""")]
    [InlineData("""{"lead_id":"a","created_at":"2024-12-04"}""")]
    [InlineData("""{"lead_id":"a","page_views":2147483647,"time_on_site":1e9,"form_completion_time":0}""")]
    [InlineData("""  {"lead_id":"a"}  """)]
    public async Task ScoreLead_InputAtTheContractsEdges_200(string body)
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var response = await server.PostJsonAsync("/score-lead", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("POST", "/metrics")]
    [InlineData("PUT", "/metrics")]
    [InlineData("DELETE", "/health")]
    [InlineData("GET", "/score-lead")]
    [InlineData("PUT", "/score-leads")]
    [InlineData("GET", "/admin/rollback")]
    public async Task WrongMethod_KnownPath_405ProblemDetails(string method, string path)
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var response = await server.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent("") });

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
