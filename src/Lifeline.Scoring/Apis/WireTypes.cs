using System.Text.Json.Serialization;

namespace Lifeline.Scoring.Apis;

/// <summary>
/// The request of <c>POST /score-lead</c>: the original service's fields; only <c>lead_id</c> is required. The
/// numbers are read by the contract's converters (out of range or not finite is 422); docs/scoring.md has the contract.
/// Settable properties, not init-only: the serializer fills init-only properties through its parameterised-constructor
/// path, which boxes every number and allocates argument state per request (about 200 bytes a lead). The categorical
/// fields are read by <see cref="CategoricalStringConverter"/>, which returns the shared string for a known value.
/// </summary>
public sealed record ScoreLeadRequest
{
    public string? LeadId { get; set; }
    [JsonConverter(typeof(CategoricalStringConverter))]
    public string? CompanySize { get; set; }
    [JsonConverter(typeof(CategoricalStringConverter))]
    public string? Industry { get; set; }

    [JsonConverter(typeof(ContractInt32Converter))]
    public int? PageViews { get; set; }

    [JsonConverter(typeof(ContractDoubleConverter))]
    public double? TimeOnSite { get; set; }

    [JsonConverter(typeof(ContractDoubleConverter))]
    public double? FormCompletionTime { get; set; }
    [JsonConverter(typeof(CategoricalStringConverter))]
    public string? ReferralSource { get; set; }
    public string? CreatedAt { get; set; }
}

/// <summary>The response of <c>POST /score-lead</c>, field for field the original service's.</summary>
public sealed record ScoreLeadResponse(
    string LeadId,
    double LeadScore,
    string ScoreCategory,
    string ModelVersion,
    DateTimeOffset PredictionTimestamp,
    double LatencyMs);

/// <summary>The request of <c>POST /score-leads</c>.</summary>
public sealed record ScoreLeadsRequest
{
    public IReadOnlyList<ScoreLeadRequest?>? Leads { get; init; }
}

/// <summary>The response of <c>POST /score-leads</c>: one prediction per lead, in request order.</summary>
public sealed record ScoreLeadsResponse(IReadOnlyList<ScoreLeadResponse> Predictions, int Count, string ModelVersion, double LatencyMs);

/// <summary>The body of <c>GET /health</c> and <c>GET /health/ready</c>.</summary>
public sealed record HealthResponse(string Status, string? ModelVersion = null);

/// <summary>The body of <c>GET /model-info</c>.</summary>
public sealed record ModelInfoResponse(
    string ModelName,
    string ModelVersion,
    string? Stage,
    string? Source,
    string? RunId,
    DateTimeOffset LoadedAt,
    string? PreviousVersion,
    IReadOnlyList<string> RejectedVersions,
    Models.ModelSignature Signature);

/// <summary>The optional body of <c>POST /admin/rollback</c>.</summary>
public sealed record RollbackRequest
{
    public string? Reason { get; init; }
}

/// <summary>The response of <c>POST /admin/rollback</c>.</summary>
public sealed record RollbackResponse(string FromVersion, string ToVersion, string Reason, DateTimeOffset At);
