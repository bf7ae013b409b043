using Lifeline.Scoring.Features;

namespace Lifeline.Scoring.Training;

/// <summary>
/// Seeded synthetic leads with the learnable signal of the original service's <c>synth</c> (app.py):
/// logit = -3 + 0.5·size + 0.08·page_views + 0.003·time_on_site − 0.02·form_completion_time + 0.7·[referral = Referral].
/// Used for training while the lake has no leads. A small share of leads has a missing category, whose logit term is
/// the mean of the known ones, so the model learns the "unknown" codes too.
/// </summary>
internal static class SyntheticLeads
{
    /// <summary>The share of leads with a missing company size, industry or referral source (each independently).</summary>
    public const double MissingShare = 0.03;

    public static List<LeadRecord> Generate(int count, int seed)
    {
        var rng = new Random(seed);
        var leads = new List<LeadRecord>(count);
        for (var n = 0; n < count; n++)
        {
            var size = rng.Next(4);
            var industry = rng.Next(6);
            var source = rng.Next(6);
            var pageViews = rng.Next(0, 41);
            var timeOnSite = rng.NextDouble() * 900;
            var formTime = 1 + (rng.NextDouble() * 59);
            var sizeMissing = rng.NextDouble() < MissingShare;
            var industryMissing = rng.NextDouble() < MissingShare;
            var sourceMissing = rng.NextDouble() < MissingShare;
            var sizeTerm = sizeMissing ? 0.5 * 1.5 : 0.5 * size;
            var sourceTerm = sourceMissing ? 0.7 / 6 : source == 4 ? 0.7 : 0;
            var logit = -3 + sizeTerm + (0.08 * pageViews) + (0.003 * timeOnSite) - (0.02 * formTime) + sourceTerm;
            var converted = rng.NextDouble() < 1 / (1 + Math.Exp(-logit));
            leads.Add(new LeadRecord(
                $"lead_{seed}_{n:D6}",
                sizeMissing ? null : LeadFeatures.CompanySizes[size],
                industryMissing ? null : LeadFeatures.Industries[industry],
                pageViews,
                Math.Round(timeOnSite, 1),
                Math.Round(formTime, 1),
                sourceMissing ? null : LeadFeatures.ReferralSources[source],
                converted));
        }

        return leads;
    }
}
