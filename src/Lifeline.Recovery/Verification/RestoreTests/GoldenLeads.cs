using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;

namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>
/// A fixed set of leads the restored model must score exactly as the live one does: every company size, industry and
/// referral source, missing categories, and the extremes of the numeric fields (no page views, a long visit, a slow form).
/// Fixed on purpose: changing them changes nothing about the check, only which inputs it compares.
/// </summary>
internal static class GoldenLeads
{
    public static readonly IReadOnlyList<LeadRecord> Leads =
    [
        new("golden-01", "Small", "Technology", 3, 45.0, 30.0, "Organic Search", false),
        new("golden-02", "Medium", "Finance", 12, 240.5, 12.5, "Paid Search", false),
        new("golden-03", "Large", "Healthcare", 25, 610.0, 8.0, "Referral", false),
        new("golden-04", "Enterprise", "Retail", 40, 899.9, 1.0, "Referral", false),
        new("golden-05", "Enterprise", "Manufacturing", 0, 0.0, 60.0, "Direct", false),
        new("golden-06", "Small", "Education", 18, 120.0, 45.0, "Social Media", false),
        new("golden-07", "Medium", "Technology", 7, 75.3, 20.0, "Email", false),
        new("golden-08", null, null, 10, 300.0, 15.0, null, false),
        new("golden-09", "Large", "Finance", null, null, null, "Organic Search", false),
        new("golden-10", "Medium", "Healthcare", 33, 450.0, 5.5, "Paid Search", false),
    ];

    public static int Count => Leads.Count;

    /// <summary>The model's score of every golden lead, in order.</summary>
    public static float[] Score(ILeadModel model)
    {
        var scores = new float[Leads.Count];
        Span<float> features = stackalloc float[LeadFeatures.Count];
        for (var i = 0; i < Leads.Count; i++)
        {
            Leads[i].MapFeatures(features);
            scores[i] = model.Score(features);
        }

        return scores;
    }
}
