using System.Globalization;
using System.Text.RegularExpressions;

namespace Lifeline.Cli.Infrastructure;

/// <summary>A calendar duration as the retention options take it: years, months, days and hours (e.g. <c>1y6m</c>).</summary>
internal sealed record CalendarDuration(int Years, int Months, int Days, int Hours)
{
    /// <summary>The instant this duration before <paramref name="end"/>, counted on the calendar (a month is a month).</summary>
    public DateTimeOffset Before(DateTimeOffset end) =>
        end.AddYears(-Years).AddMonths(-Months).AddDays(-Days).AddHours(-Hours);

    /// <summary>An approximate length (a year is 365.25 days, a month 30.44), for APIs that take a <see cref="TimeSpan"/>.</summary>
    public TimeSpan Approximate =>
        TimeSpan.FromDays((Years * 365.25) + (Months * 30.436875) + Days) + TimeSpan.FromHours(Hours);

    public override string ToString()
    {
        var parts = new List<string>();
        if (Years != 0) parts.Add($"{Years}y");
        if (Months != 0) parts.Add($"{Months}m");
        if (Days != 0) parts.Add($"{Days}d");
        if (Hours != 0) parts.Add($"{Hours}h");
        return parts.Count == 0 ? "0h" : string.Concat(parts);
    }
}

/// <summary>Parses the times and durations the command line accepts; a bad value is a usage error naming the option.</summary>
internal static partial class TimeArguments
{
    private static readonly string[] LocalFormats =
    [
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd'T'HH:mm", "yyyy-MM-dd'T'HH:mm:ss", "yyyy-MM-dd'T'HH:mm:ss.FFFFFFF", "yyyy-MM-dd",
    ];

    /// <summary>
    /// Parses ISO 8601 (<c>2026-11-26T12:00:00Z</c>, <c>2026-11-26T12:00+01:00</c>) or <c>YYYY-MM-DD HH:MM</c> / <c>YYYY-MM-DD</c>;
    /// a time without an offset is in <paramref name="localZone"/> (the machine's zone).
    /// </summary>
    public static DateTimeOffset ParseTime(string option, string value, TimeZoneInfo localZone)
    {
        var text = value.Trim();
        if (HasOffset(text) &&
            DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AllowWhiteSpaces, out var withOffset))
        {
            return withOffset;
        }

        if (DateTime.TryParseExact(text, LocalFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var local))
        {
            var unspecified = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
            return new DateTimeOffset(unspecified, localZone.GetUtcOffset(unspecified));
        }

        throw new UsageException(
            $"invalid time '{value}' for {option}: use ISO 8601 or 'YYYY-MM-DD HH:MM', e.g. {option} '2026-11-26 14:30' or {option} 2026-11-26T14:30:00Z");
    }

    /// <summary>Parses <c>30d</c>, <c>2y</c>, <c>7y</c>, <c>12h</c>, <c>2w</c>, <c>1y6m</c> (y years, m months, w weeks, d days, h hours).</summary>
    public static CalendarDuration ParseDuration(string option, string value)
    {
        var text = value.Trim();
        var match = DurationPattern().Match(text);
        if (!match.Success || text.Length == 0)
        {
            throw BadDuration(option, value);
        }

        int years = 0, months = 0, days = 0, hours = 0;
        foreach (Capture part in match.Groups["part"].Captures)
        {
            var unit = part.Value[^1];
            if (!int.TryParse(part.Value.AsSpan(0, part.Value.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > 100_000)
            {
                throw BadDuration(option, value);
            }

            switch (unit)
            {
                case 'y': years += n; break;
                case 'm': months += n; break;
                case 'w': days += 7 * n; break;
                case 'd': days += n; break;
                case 'h': hours += n; break;
            }
        }

        var duration = new CalendarDuration(years, months, days, hours);
        if (duration.Approximate <= TimeSpan.Zero)
        {
            throw BadDuration(option, value);
        }

        return duration;
    }

    /// <summary>Parses <c>N/T</c> (check the N-th of T parts of the data), 1 ≤ N ≤ T.</summary>
    public static (int N, int T) ParseSubset(string option, string value)
    {
        var slash = value.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0 &&
            int.TryParse(value.AsSpan(0, slash), NumberStyles.None, CultureInfo.InvariantCulture, out var n) &&
            int.TryParse(value.AsSpan(slash + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var t) &&
            n >= 1 && t >= 1 && n <= t)
        {
            return (n, t);
        }

        throw new UsageException($"invalid subset '{value}' for {option}: use N/T with 1 <= N <= T, e.g. {option} 1/5");
    }

    private static UsageException BadDuration(string option, string value) =>
        new($"invalid duration '{value}' for {option}: use a number and a unit y, m, w, d or h, e.g. {option} 30d, 2y, 12h or 1y6m");

    private static bool HasOffset(string text) =>
        text.EndsWith('Z') || text.EndsWith('z') || OffsetPattern().IsMatch(text);

    [GeneratedRegex(@"^(?<part>[0-9]+[ymwdh])+$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();

    [GeneratedRegex(@"T.*[+-][0-9]{2}:?[0-9]{2}$", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetPattern();
}
