using Lifeline.Cli.Infrastructure;

namespace Lifeline.Cli.Tests.Unit;

public sealed class TimeArgumentsTests
{
    private static readonly TimeZoneInfo Plus2 = TimeZoneInfo.CreateCustomTimeZone("plus2", TimeSpan.FromHours(2), "plus2", "plus2");

    [Theory]
    [InlineData("2026-11-26T14:30:00Z", "2026-11-26T14:30:00+00:00")]
    [InlineData("2026-11-26T14:30:00+01:00", "2026-11-26T13:30:00+00:00")]
    [InlineData("2026-11-26 14:30", "2026-11-26T12:30:00+00:00")]
    [InlineData("2026-11-26 14:30:15", "2026-11-26T12:30:15+00:00")]
    [InlineData("2026-11-26T14:30", "2026-11-26T12:30:00+00:00")]
    [InlineData("2026-11-26", "2026-11-25T22:00:00+00:00")]
    public void ParseTime_AcceptedForms_GiveTheInstant(string text, string expectedUtc)
    {
        var parsed = TimeArguments.ParseTime("--at", text, Plus2);
        Assert.Equal(DateTimeOffset.Parse(expectedUtc, System.Globalization.CultureInfo.InvariantCulture), parsed);
    }

    [Theory]
    [InlineData("yesterday")]
    [InlineData("2026-13-01")]
    [InlineData("26.11.2026 14:30")]
    [InlineData("")]
    public void ParseTime_Garbage_UsageErrorNamingOptionWithExample(string text)
    {
        var e = Assert.Throws<UsageException>(() => TimeArguments.ParseTime("--until", text, Plus2));
        Assert.Equal(ExitCodes.Usage, e.ExitCode);
        Assert.Contains("--until", e.Message);
        Assert.Contains("YYYY-MM-DD HH:MM", e.Message);
    }

    [Theory]
    [InlineData("30d", 0, 0, 30, 0)]
    [InlineData("2y", 2, 0, 0, 0)]
    [InlineData("7y", 7, 0, 0, 0)]
    [InlineData("12h", 0, 0, 0, 12)]
    [InlineData("1y6m", 1, 6, 0, 0)]
    [InlineData("2w3d", 0, 0, 17, 0)]
    public void ParseDuration_PlanRetentions_Parse(string text, int years, int months, int days, int hours)
    {
        Assert.Equal(new CalendarDuration(years, months, days, hours), TimeArguments.ParseDuration("--keep-within", text));
    }

    [Theory]
    [InlineData("30")]
    [InlineData("d30")]
    [InlineData("1.5d")]
    [InlineData("0d")]
    [InlineData("-3d")]
    [InlineData("3 d")]
    public void ParseDuration_Bad_UsageErrorWithExample(string text)
    {
        var e = Assert.Throws<UsageException>(() => TimeArguments.ParseDuration("--keep-within", text));
        Assert.Contains("--keep-within", e.Message);
        Assert.Contains("30d", e.Message);
    }

    [Fact]
    public void CalendarDuration_Before_CountsCalendarMonthsAndYears()
    {
        var end = new DateTimeOffset(2026, 3, 31, 12, 0, 0, TimeSpan.Zero);
        Assert.Equal(new DateTimeOffset(2024, 9, 30, 12, 0, 0, TimeSpan.Zero), new CalendarDuration(1, 6, 0, 0).Before(end));
        Assert.InRange(new CalendarDuration(7, 0, 0, 0).Approximate.TotalDays, 2556, 2557);
    }

    [Theory]
    [InlineData("1/5", 1, 5)]
    [InlineData("5/5", 5, 5)]
    public void ParseSubset_Valid_Parses(string text, int n, int t) =>
        Assert.Equal((n, t), TimeArguments.ParseSubset("--read-data-subset", text));

    [Theory]
    [InlineData("0/5")]
    [InlineData("6/5")]
    [InlineData("5")]
    [InlineData("a/b")]
    public void ParseSubset_Invalid_UsageError(string text) =>
        Assert.Throws<UsageException>(() => TimeArguments.ParseSubset("--read-data-subset", text));
}
