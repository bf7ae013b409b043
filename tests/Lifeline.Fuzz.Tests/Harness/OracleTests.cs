using System.Text;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Http;
using Lifeline.Fuzzing.Mutation;
using Lifeline.Fuzzing.Surfaces;

namespace Lifeline.Fuzz.Tests.Harness;

/// <summary>The harness itself: determinism, rendering of what a JSON tree cannot hold, and the oracles' verdicts on the issue's repros.</summary>
public sealed class OracleTests
{
    private static HttpRequestSpec Post(string path, string body, string contentType = "application/json", string method = "POST", string? token = null) =>
        new(method, path, token is null ? [new("Content-Type", contentType)] : [new("Content-Type", contentType), new("Authorization", "Bearer " + token)], Encoding.UTF8.GetBytes(body), "t");

    [Fact]
    public void Generate_SameSeedAndIndex_SameInput()
    {
        var mutator = new HttpMutator(new Dictionary<string, string?> { ["none"] = null, ["write"] = "w" });
        var template = new HttpTemplate { Name = "t", Method = "POST", Path = "/score-lead", Json = """{"lead_id":"a","page_views":3}""" };
        for (var i = 0; i < 50; i++)
        {
            var a = mutator.Generate(template, FuzzRandom.ForInput(7, i), i);
            var b = mutator.Generate(template, FuzzRandom.ForInput(7, i), i);
            Assert.Equal(a.Repro(), b.Repro());
        }

        var distinct = Enumerable.Range(0, 50).Select(i => mutator.Generate(template, FuzzRandom.ForInput(7, i), i).Repro()).Distinct().Count();
        Assert.True(distinct > 30, $"only {distinct} distinct inputs of 50");
    }

    [Fact]
    public void JsonDraft_DuplicateKeyAndOverflowingLiteral_RenderedAsRawText()
    {
        var draft = JsonDraft.Parse("""{"lead_id":"a","page_views":3}""");
        draft.AddProperty(JsonPath.Root, "lead_id", "\"b\"");
        draft.SetRaw(JsonPath.Root.Append("page_views"), "1e999");
        Assert.Equal("""{"lead_id":"a","page_views":1e999,"lead_id":"b"}""", draft.Render());
    }

    [Theory]
    [InlineData("""{"lead_id":"a","page_views":3}garbage""", "strict JSON")]
    [InlineData("""{"lead_id":"a","lead_id":"b"}""", "strict JSON")]
    [InlineData("""{"lead_id":"a","time_on_site":1e999}""", "not finite")]
    [InlineData("""{"lead_id":"a","page_views":2147483648}""", "32-bit")]
    [InlineData("""{"lead_id":"a","page_views":1.5}""", "32-bit")]
    [InlineData("""{"lead_id":"a","created_at":"26/11/2026"}""", "ISO 8601")]
    [InlineData("""{"lead_id":"a","page_views":-1}""", "negative")]
    [InlineData("""{"lead_id":""}""", "lead_id")]
    public void ScoringContract_IssueRepros_AreViolations(string body, string reason)
    {
        var violation = ScoringContract.Violation(Post("/score-lead", body));
        Assert.NotNull(violation);
        Assert.Contains(reason, violation);
    }

    [Theory]
    [InlineData("""{"lead_id":"a","page_views":3}""")]
    [InlineData("""{"lead_id":"a","page_views":3} """)]
    [InlineData("""{"lead_id":"a","created_at":"2026-11-26T14:30:00+01:00","time_on_site":1e308}""")]
    [InlineData("""{"lead_id":"a","created_at":"2026-11-26","extra":[1,2]}""")]
    public void ScoringContract_ValidLeads_AreNotViolations(string body) =>
        Assert.Null(ScoringContract.Violation(Post("/score-lead", body)));

    [Fact]
    public void ScoringContract_PostMetricsAndTextBody_AreViolations()
    {
        Assert.Contains("405", ScoringContract.Violation(Post("/metrics", "")));
        Assert.Contains("415", ScoringContract.Violation(Post("/score-lead", """{"lead_id":"a"}""", "text/plain")));
        Assert.Contains("413", ScoringContract.Violation(Post("/score-lead", $$"""{"lead_id":"{{new string('a', 20_000)}}"}""")));
    }

    [Theory]
    [InlineData("POST", "/API/2.0/mlflow/experiments/create", Role.Write)]
    [InlineData("DELETE", "/API/2.0/mlflow/model-versions/delete", Role.Admin)]
    [InlineData("DELETE", "/api/2.0/mlflow/registered-models/delete/", Role.Admin)]
    [InlineData("DELETE", "/API/2.0/mlflow-artifacts/artifacts/0/x/a.txt", Role.Write)]
    [InlineData("PUT", "/api/2.0/mlflow-artifacts/artifacts/0/x/mlflow/runs/search", Role.Write)]
    [InlineData("POST", "/api/2.0/mlflow/runs/search", Role.None)]
    [InlineData("GET", "/api/2.0/mlflow/registered-models/alias", Role.None)]
    [InlineData("DELETE", "/api/2.0/mlflow/registered-models/alias", Role.Write)]
    [InlineData("POST", "/api/2.0/mlflow/%72uns/log-metric", Role.Write)]
    [InlineData("POST", "/api/2.0/mlflow/runs/x/../log-batch", Role.Write)]
    [InlineData("POST", "/somewhere/else", Role.Write)]
    public void RegistryContract_Spellings_NeedTheEndpointsRole(string method, string path, Role expected) =>
        Assert.Equal(expected, RegistryContract.Required(new HttpRequestSpec(method, path, [], null, "none")));

    [Fact]
    public void RegistryContract_BearerAnyCase_PresentsTheTokensRole()
    {
        var tokens = new Dictionary<string, Role> { ["w"] = Role.Write };
        Assert.Equal(Role.Write, RegistryContract.Presented(new HttpRequestSpec("POST", "/", [new("Authorization", "bearer w")], null, "t"), tokens));
        Assert.Equal(Role.None, RegistryContract.Presented(new HttpRequestSpec("POST", "/", [new("Authorization", "Basic w")], null, "t"), tokens));
        Assert.Equal(Role.None, RegistryContract.Presented(new HttpRequestSpec("POST", "/", [new("Authorization", "Bearer wx")], null, "t"), tokens));
    }

    [Fact]
    public void RegistryContract_MlflowErrorBody_Recognised()
    {
        Assert.True(RegistryContract.IsMlflowError("""{"error_code":"BAD_REQUEST","message":"x"}"""u8.ToArray()));
        Assert.False(RegistryContract.IsMlflowError("""{"title":"Bad Request","status":400}"""u8.ToArray()));
        Assert.False(RegistryContract.IsMlflowError([]));
    }
}
