namespace Lifeline.Scoring.Features;

/// <summary>One lead as the model sees it, with its outcome when known (training and evaluation rows).</summary>
internal readonly record struct LeadRecord(
    string LeadId,
    string? CompanySize,
    string? Industry,
    int? PageViews,
    double? TimeOnSite,
    double? FormCompletionTime,
    string? ReferralSource,
    bool Converted)
{
    public void MapFeatures(Span<float> features) =>
        LeadFeatures.Map(CompanySize, Industry, PageViews, TimeOnSite, FormCompletionTime, ReferralSource, features);
}
