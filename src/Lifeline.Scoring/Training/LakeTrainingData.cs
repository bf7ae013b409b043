using System.Globalization;
using Lifeline.Lake.LeadScoring;
using Lifeline.Scoring.Features;

namespace Lifeline.Scoring.Training;

/// <summary>
/// Training leads from the lake: the <c>leads</c> table joined with <c>conversions</c> on lead_id (leads without a
/// conversion row are not yet labelled and are left out), both read at one pinned version recorded as lineage.
/// </summary>
internal sealed class LakeTrainingData(LeadScoringLake lake, string description) : ITrainingDataSource
{
    public string Description => description;

    public async Task<TrainingData> LoadAsync(CancellationToken cancellationToken)
    {
        var leadsVersion = await lake.Leads.GetLatestVersionAsync(cancellationToken);
        var conversionsVersion = await lake.Conversions.GetLatestVersionAsync(cancellationToken);
        var leads = await lake.ReadLeadsAsync(leadsVersion, cancellationToken);
        var conversions = new Dictionary<string, bool>(StringComparer.Ordinal);
        foreach (var conversion in await lake.ReadConversionsAsync(conversionsVersion, cancellationToken))
        {
            conversions[conversion.LeadId] = conversion.Converted;
        }

        var labelled = new List<Features.LeadRecord>(leads.Count);
        foreach (var lead in leads)
        {
            if (conversions.TryGetValue(lead.LeadId, out var converted))
            {
                labelled.Add(new Features.LeadRecord(lead.LeadId, lead.CompanySize, lead.Industry, lead.PageViews, lead.TimeOnSite,
                    lead.FormCompletionTime, lead.ReferralSource, converted));
            }
        }

        return new TrainingData(labelled, "leads+conversions",
            string.Create(CultureInfo.InvariantCulture, $"leads@v{leadsVersion};conversions@v{conversionsVersion}"));
    }
}
