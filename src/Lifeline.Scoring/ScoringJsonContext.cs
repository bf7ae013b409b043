using System.Text.Json.Serialization;
using Lifeline.Scoring.Apis;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sinks;
using Lifeline.Scoring.Sources;

namespace Lifeline.Scoring;

/// <summary>
/// Source-generated JSON for every wire and file type of the scoring area (snake_case, like the original service).
/// A duplicated key is an error (never "the last wins").
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    NumberHandling = JsonNumberHandling.Strict,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(ScoreLeadRequest))]
[JsonSerializable(typeof(ScoreLeadResponse))]
[JsonSerializable(typeof(ScoreLeadsRequest))]
[JsonSerializable(typeof(ScoreLeadsResponse))]
[JsonSerializable(typeof(HealthResponse))]
[JsonSerializable(typeof(ModelInfoResponse))]
[JsonSerializable(typeof(RollbackRequest))]
[JsonSerializable(typeof(RollbackResponse))]
[JsonSerializable(typeof(ModelSignature))]
[JsonSerializable(typeof(ModelVersionInfo))]
[JsonSerializable(typeof(PredictionRecord))]
[JsonSerializable(typeof(AuditRecord))]
[JsonSerializable(typeof(Failover.Alert))]
[JsonSerializable(typeof(Training.TrainingOutcome))]
internal sealed partial class ScoringJsonContext : JsonSerializerContext;
