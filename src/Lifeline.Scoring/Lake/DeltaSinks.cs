using Lifeline.Lake.LeadScoring;
using Lifeline.Scoring.Sinks;
using LakePrediction = Lifeline.Lake.LeadScoring.PredictionRecord;
using LakeLead = Lifeline.Lake.LeadScoring.LeadRecord;

namespace Lifeline.Scoring.Lake;

/// <summary>Predictions to the lake's Delta <c>predictions</c> table: one commit per flushed batch.</summary>
internal sealed class DeltaPredictionSink(LeadScoringLake lake) : IPredictionSink
{
    public async Task AppendAsync(IReadOnlyList<Sinks.PredictionRecord> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await lake.AppendPredictionsAsync([.. batch.Select(p => new LakePrediction(
            new LakeLead(p.LeadId, p.CompanySize!, p.Industry!, p.PageViews ?? 0, p.TimeOnSite ?? 0, p.FormCompletionTime ?? 0, p.ReferralSource!,
                Apis.LeadContract.TryParseTimestamp(p.CreatedAt, out var at)
                    ? at
                    : p.PredictionTimestamp),
            p.LeadScore, p.ScoreCategory, p.ModelVersion, p.PredictionTimestamp, p.LatencyMs))], cancellationToken: cancellationToken);
    }
}

/// <summary>Audit records to the lake's Delta <c>audit_logs</c> table: one commit per flushed batch.</summary>
internal sealed class DeltaAuditSink(LeadScoringLake lake) : IAuditSink
{
    public async Task AppendAsync(IReadOnlyList<AuditRecord> batch, CancellationToken cancellationToken)
    {
        if (batch.Count == 0)
        {
            return;
        }

        await lake.AppendAuditLogsAsync([.. batch.Select(a => new AuditLogRecord(
            a.Timestamp, a.Action, a.Actor, a.Actor == "admin" ? "admin" : "system", a.Target, a.Details, null,
            a.Action.EndsWith(".refused", StringComparison.Ordinal) ? "refused" : "ok"))], cancellationToken: cancellationToken);
    }
}
