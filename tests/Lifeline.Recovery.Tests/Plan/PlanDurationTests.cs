using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Tests.Plan;

public sealed class PlanDurationTests
{
    [Theory]
    [InlineData("0", 0)]
    [InlineData("90s", 90)]
    [InlineData("15m", 15 * 60)]
    [InlineData("1h30m", 90 * 60)]
    [InlineData("30d", 30 * 86400)]
    [InlineData("2w", 14 * 86400)]
    [InlineData("7y", 7 * 365 * 86400L)]
    public void TryParse_ValidText_Value(string text, long seconds)
    {
        Assert.True(PlanDuration.TryParse(text, out var value, out _));
        Assert.Equal(TimeSpan.FromSeconds(seconds), value);
        Assert.True(PlanDuration.TryParse(PlanDuration.Format(value), out var again, out _));
        Assert.Equal(value, again);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("30", "no unit")]
    [InlineData("-1h", "negative")]
    [InlineData("1 hour", "unknown unit")]
    [InlineData("1mo", "unknown unit 'mo'")]
    [InlineData("h", "not a duration")]
    public void TryParse_InvalidText_SaysWhy(string text, string why)
    {
        Assert.False(PlanDuration.TryParse(text, out _, out var error));
        Assert.Contains(why, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(24 * 60 + 15, "24h15m")]
    [InlineData(60 * 24 * 30, "30d")]
    [InlineData(60 * 24 * 365 * 2, "2y")]
    [InlineData(45, "45m")]
    public void Format_Minutes_Text(int minutes, string text) => Assert.Equal(text, PlanDuration.Format(TimeSpan.FromMinutes(minutes)));
}
