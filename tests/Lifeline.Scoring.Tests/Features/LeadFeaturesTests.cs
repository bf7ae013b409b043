using Lifeline.Scoring.Features;

namespace Lifeline.Scoring.Tests.Features;

public class LeadFeaturesTests
{
    [Fact]
    public void Map_KnownCategories_UseTheOriginalCodes()
    {
        var features = new float[LeadFeatures.Count];
        LeadFeatures.Map("Enterprise", "Retail", 17, 243.8, 20.4, "Referral", features);
        Assert.Equal([3f, 3f, 17f, 243.8f, 20.4f, 4f], features);
        Assert.Equal(0, LeadFeatures.CompanySizeCode("Small"));
        Assert.Equal(5, LeadFeatures.IndustryCode("Education"));
        Assert.Equal(5, LeadFeatures.ReferralSourceCode("Email"));
    }

    [Fact]
    public void Map_UnknownOrMissingCategories_GetTheUnknownCode()
    {
        var features = new float[LeadFeatures.Count];
        LeadFeatures.Map("Huge", null, null, null, null, "carrier pigeon", features);
        Assert.Equal([LeadFeatures.UnknownCompanySize, LeadFeatures.UnknownIndustry, 0f, 0f, 0f, LeadFeatures.UnknownReferralSource], features);
        Assert.Equal(LeadFeatures.UnknownIndustry, LeadFeatures.IndustryCode("retail")); // case-sensitive, like the original
    }

    [Theory]
    [InlineData(0.95, "Very High")]
    [InlineData(0.8, "Very High")]
    [InlineData(0.79, "High")]
    [InlineData(0.6, "High")]
    [InlineData(0.4, "Medium")]
    [InlineData(0.39, "Low")]
    [InlineData(0.0, "Low")]
    public void Category_Thresholds_MatchTheOriginal(double score, string expected) =>
        Assert.Equal(expected, LeadFeatures.Category(score));
}
