using System.Globalization;

namespace Lifeline.Lake.LeadScoring;

/// <summary>
/// Seeded synthetic leads whose conversion depends on the features in a learnable way (the same law as the
/// original system's synthetic training data): logit = -3 + 0.5·size_rank + 0.08·page_views + 0.003·time_on_site
/// - 0.02·form_completion_time + 0.7·[referral_source = "Referral"].
/// </summary>
public sealed class LeadGenerator
{
    /// <summary>Company sizes in rank order.</summary>
    public static readonly IReadOnlyList<string> CompanySizes = ["Small", "Medium", "Large", "Enterprise"];

    /// <summary>Industries.</summary>
    public static readonly IReadOnlyList<string> Industries = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education"];

    /// <summary>Referral sources.</summary>
    public static readonly IReadOnlyList<string> ReferralSources = ["Organic Search", "Paid Search", "Social Media", "Direct", "Referral", "Email"];

    private readonly Random _random;
    private readonly DateTimeOffset _start;
    private long _next;

    /// <summary>Creates a generator; the same seed and start give the same leads.</summary>
    public LeadGenerator(int seed, DateTimeOffset start, long firstId = 1)
    {
        _random = new Random(seed);
        _start = start;
        _next = firstId;
    }

    /// <summary>The probability that <paramref name="lead"/> converts.</summary>
    public static double ConversionProbability(LeadRecord lead)
    {
        var size = Array.IndexOf([.. CompanySizes], lead.CompanySize);
        var logit = -3 + (0.5 * Math.Max(size, 0)) + (0.08 * lead.PageViews) + (0.003 * lead.TimeOnSite) - (0.02 * lead.FormCompletionTime)
            + (lead.ReferralSource == "Referral" ? 0.7 : 0);
        return 1 / (1 + Math.Exp(-logit));
    }

    /// <summary>The next lead; lead n is created in minute n after the start (at a random second).</summary>
    public LeadRecord NextLead()
    {
        var id = _next++;
        var created = _start.AddSeconds((id - 1) * 60 + _random.Next(0, 60));
        return new LeadRecord(
            "lead_" + id.ToString("D6", CultureInfo.InvariantCulture),
            CompanySizes[_random.Next(CompanySizes.Count)],
            Industries[_random.Next(Industries.Count)],
            _random.Next(0, 41),
            Math.Round(_random.NextDouble() * 900, 1),
            Math.Round(1 + (_random.NextDouble() * 59), 1),
            ReferralSources[_random.Next(ReferralSources.Count)],
            created);
    }

    /// <summary>Draws whether <paramref name="lead"/> converts (converted_at is 1-14 days after creation).</summary>
    public ConversionRecord Convert(LeadRecord lead)
    {
        var converted = _random.NextDouble() < ConversionProbability(lead);
        return new ConversionRecord(lead.LeadId, converted, converted ? lead.CreatedAt.AddDays(1 + _random.Next(14)) : null);
    }

    /// <summary><paramref name="count"/> leads with their conversions.</summary>
    public (List<LeadRecord> Leads, List<ConversionRecord> Conversions) Generate(int count)
    {
        var leads = new List<LeadRecord>(count);
        var conversions = new List<ConversionRecord>(count);
        for (var i = 0; i < count; i++)
        {
            var lead = NextLead();
            leads.Add(lead);
            conversions.Add(Convert(lead));
        }

        return (leads, conversions);
    }
}
