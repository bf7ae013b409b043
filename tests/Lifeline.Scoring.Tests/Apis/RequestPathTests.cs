using System.Buffers;
using System.Net;
using System.Text.Json;
using Lifeline.Scoring.Apis;
using Lifeline.Scoring.Sinks;

namespace Lifeline.Scoring.Tests.Apis;

/// <summary>The allocation-lean request path (docs/scoring.md, "The request path") answers as the mapped endpoint did.</summary>
public class RequestPathTests
{
    private const string Lead =
        """{"lead_id":"lead_000001","company_size":"Medium","industry":"Healthcare","page_views":17,"time_on_site":243.8,"form_completion_time":20.4,"referral_source":"Social Media","created_at":"2024-12-04T03:24:08Z"}""";

    public static TheoryData<string> Leads() =>
    [
        Lead,
        """{"lead_id":"x"}""",
        """{"lead_id":"q\"\u00e9<>&\u2028","company_size":"Galactic","industry":"Health\u0063are","page_views":0,"time_on_site":1e-7,"form_completion_time":123456789.125,"referral_source":"Email"}""",
    ];

    [Theory]
    [MemberData(nameof(Leads))]
    public void PredictionRecordJson_Write_SameBytesAsTheSerialisedRecord(string json)
    {
        var lead = JsonSerializer.Deserialize(json, ScoringJsonContext.Default.ScoreLeadRequest)!;
        var response = new ScoreLeadResponse(lead.LeadId!, 0.123456789012345, "Low", "7", new DateTimeOffset(2026, 12, 1, 21, 0, 0, 123, TimeSpan.Zero).AddTicks(4567), 0.0417);

        var expected = JsonSerializer.SerializeToUtf8Bytes(LeadScorer.ToRecord(response, lead), ScoringJsonContext.Default.PredictionRecord);
        var buffer = new ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            PredictionRecordJson.Write(writer, response, lead);
        }

        Assert.Equal(System.Text.Encoding.UTF8.GetString(expected), System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan));
    }

    [Fact]
    public void CategoricalStringConverter_KnownEscapedUnknownAndWrongType_ReadAsTheBuiltInConverter()
    {
        var known = JsonSerializer.Deserialize("""{"industry":"Healthcare","company_size":"Medium","referral_source":"Social Media"}""", ScoringJsonContext.Default.ScoreLeadRequest)!;
        var escaped = JsonSerializer.Deserialize("""{"industry":"Health\u0063are","company_size":"Galactic","referral_source":null}""", ScoringJsonContext.Default.ScoreLeadRequest)!;
        var wrongType = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize("""{"industry":17}""", ScoringJsonContext.Default.ScoreLeadRequest));

        Assert.Same(Lifeline.Scoring.Features.LeadFeatures.Industries[2], known.Industry);
        Assert.Equal(("Medium", "Social Media"), (known.CompanySize, known.ReferralSource));
        Assert.Equal(("Healthcare", "Galactic", null), (escaped.Industry, escaped.CompanySize, escaped.ReferralSource));
        Assert.Equal("$.industry", wrongType.Path);
    }

    [Fact]
    public async Task ScoreLead_DirectPathAndMappedEndpoint_AnswerAlikeAndRecordEach()
    {
        using var dir = new TempDir();
        await using var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);

        using var direct = await server.PostJsonAsync("/score-lead", Lead); // taken before routing
        using var mapped = await server.PostJsonAsync("/Score-Lead", Lead); // another spelling: routing and the minimal API endpoint
        using var badDirect = await server.PostJsonAsync("/score-lead", """{"lead_id":"x","page_views":"many"}""");
        using var badMapped = await server.PostJsonAsync("/Score-Lead", """{"lead_id":"x","page_views":"many"}""");
        using var get = await server.Client.GetAsync("/score-lead");

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (direct.StatusCode, mapped.StatusCode));
        Assert.Equal(await direct.Content.ReadAsStringAsync(), await mapped.Content.ReadAsStringAsync());
        Assert.Equal(direct.Content.Headers.ContentType?.ToString(), mapped.Content.Headers.ContentType?.ToString());
        Assert.Equal((HttpStatusCode.BadRequest, HttpStatusCode.BadRequest), (badDirect.StatusCode, badMapped.StatusCode));
        Assert.Equal(WithoutTraceId(await badDirect.Content.ReadAsStringAsync()), WithoutTraceId(await badMapped.Content.ReadAsStringAsync()));
        Assert.Equal("application/problem+json", badDirect.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("lifeline_scoring_requests_total{endpoint=\"score-lead\",status=\"200\"} 2", metrics, StringComparison.Ordinal);
        await server.App.StopAsync(); // drains the spool to the sink
        var lines = File.ReadAllLines(Path.Combine(dir.Path, "sinks", "predictions.jsonl"));
        Assert.Equal(2, lines.Length);
        Assert.All(lines, l => Assert.Equal("lead_000001", JsonSerializer.Deserialize(l, ScoringJsonContext.Default.PredictionRecord)!.LeadId));
    }

    // each request has its own trace id; everything else of the two problems is the same
    private static string WithoutTraceId(string problem) =>
        System.Text.RegularExpressions.Regex.Replace(problem, "\"trace_id\":\"[^\"]*\"", "\"trace_id\":\"\"");
}
