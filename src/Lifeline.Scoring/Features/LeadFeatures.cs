namespace Lifeline.Scoring.Features;

/// <summary>
/// The feature mapping of the original FastAPI service (app.py): the same category codes in the same order, and the
/// numeric fields as they are (missing → 0). Unlike the original, which silently mapped an unknown or missing
/// category to the first one, an unknown or missing category gets its own code (the number of known categories), so
/// "Small" and "we don't know" are different inputs to the model.
/// </summary>
internal static class LeadFeatures
{
    /// <summary>Number of model inputs.</summary>
    public const int Count = 6;

    /// <summary>Version of this mapping; written into every model signature and checked on load.</summary>
    public const string MappingVersion = "lead-features/1";

    public const int CompanySize = 0;
    public const int Industry = 1;
    public const int PageViews = 2;
    public const int TimeOnSite = 3;
    public const int FormCompletionTime = 4;
    public const int ReferralSource = 5;

    /// <summary>The input names, in feature order (the request's field names).</summary>
    public static readonly string[] Names =
        ["company_size", "industry", "page_views", "time_on_site", "form_completion_time", "referral_source"];

    /// <summary>The input types, in feature order, as written into the model signature.</summary>
    public static readonly string[] Types = ["category", "category", "int", "float", "float", "category"];

    public static readonly string[] CompanySizes = ["Small", "Medium", "Large", "Enterprise"];

    public static readonly string[] Industries = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education"];

    public static readonly string[] ReferralSources =
        ["Organic Search", "Paid Search", "Social Media", "Direct", "Referral", "Email"];

    /// <summary>The code of an unknown or missing company size.</summary>
    public const int UnknownCompanySize = 4;

    /// <summary>The code of an unknown or missing industry.</summary>
    public const int UnknownIndustry = 6;

    /// <summary>The code of an unknown or missing referral source.</summary>
    public const int UnknownReferralSource = 6;

    public static int CompanySizeCode(string? value) => value switch
    {
        "Small" => 0,
        "Medium" => 1,
        "Large" => 2,
        "Enterprise" => 3,
        _ => UnknownCompanySize,
    };

    public static int IndustryCode(string? value) => value switch
    {
        "Technology" => 0,
        "Finance" => 1,
        "Healthcare" => 2,
        "Retail" => 3,
        "Manufacturing" => 4,
        "Education" => 5,
        _ => UnknownIndustry,
    };

    public static int ReferralSourceCode(string? value) => value switch
    {
        "Organic Search" => 0,
        "Paid Search" => 1,
        "Social Media" => 2,
        "Direct" => 3,
        "Referral" => 4,
        "Email" => 5,
        _ => UnknownReferralSource,
    };

    /// <summary>Writes the model inputs of one lead into <paramref name="features"/> (length <see cref="Count"/>).</summary>
    public static void Map(
        string? companySize, string? industry, int? pageViews, double? timeOnSite, double? formCompletionTime,
        string? referralSource, Span<float> features)
    {
        features[CompanySize] = CompanySizeCode(companySize);
        features[Industry] = IndustryCode(industry);
        features[PageViews] = pageViews ?? 0;
        features[TimeOnSite] = (float)(timeOnSite ?? 0.0);
        features[FormCompletionTime] = (float)(formCompletionTime ?? 0.0);
        features[ReferralSource] = ReferralSourceCode(referralSource);
    }

    /// <summary>The score category of the original service: ≥ 0.8 Very High, ≥ 0.6 High, ≥ 0.4 Medium, else Low.</summary>
    public static string Category(double score) =>
        score >= 0.8 ? "Very High" : score >= 0.6 ? "High" : score >= 0.4 ? "Medium" : "Low";
}
