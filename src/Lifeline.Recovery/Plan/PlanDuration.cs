using System.Globalization;
using System.Text;

namespace Lifeline.Recovery.Plan;

/// <summary>Durations as the plan writes them: a number and a unit, possibly several (<c>90s</c>, <c>15m</c>,
/// <c>1h30m</c>, <c>30d</c>, <c>2w</c>, <c>7y</c>); <c>0</c> alone is zero. A year is 365 days.</summary>
public static class PlanDuration
{
    /// <summary>The one-line hint for a bad duration.</summary>
    public const string Hint = "write a number and a unit: s, m, h, d, w or y (90s, 15m, 1h30m, 30d, 2w, 7y)";

    /// <summary>Parses <paramref name="text"/>; on failure <paramref name="error"/> says why.</summary>
    public static bool TryParse(string? text, out TimeSpan value, out string error)
    {
        value = TimeSpan.Zero;
        error = "";
        text = text?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            error = "empty duration";
            return false;
        }

        if (text == "0")
        {
            return true;
        }

        var i = 0;
        var total = TimeSpan.Zero;
        while (i < text.Length)
        {
            var start = i;
            while (i < text.Length && char.IsAsciiDigit(text[i]))
            {
                i++;
            }

            if (i == start)
            {
                error = text[i] == '-' ? $"negative duration '{text}'" : $"'{text}' is not a duration";
                return false;
            }

            if (!long.TryParse(text.AsSpan(start, i - start), NumberStyles.None, CultureInfo.InvariantCulture, out var number) || number > 1_000_000)
            {
                error = $"'{text}' is too large";
                return false;
            }

            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }

            var unitStart = i;
            while (i < text.Length && char.IsAsciiLetter(text[i]))
            {
                i++;
            }

            var unit = text[unitStart..i];
            TimeSpan? step = unit switch
            {
                "s" => TimeSpan.FromSeconds(number),
                "m" => TimeSpan.FromMinutes(number),
                "h" => TimeSpan.FromHours(number),
                "d" => TimeSpan.FromDays(number),
                "w" => TimeSpan.FromDays(7 * number),
                "y" => TimeSpan.FromDays(365 * number),
                _ => null,
            };
            if (step is null)
            {
                error = unit.Length == 0 ? $"'{text}' has no unit" : $"unknown unit '{unit}' in '{text}'";
                return false;
            }

            total += step.Value;
            while (i < text.Length && text[i] == ' ')
            {
                i++;
            }
        }

        value = total;
        return true;
    }

    /// <summary>Formats a duration so that <see cref="TryParse"/> reads it back exactly: whole years as <c>Ny</c>,
    /// whole days as <c>Nd</c>, otherwise hours, minutes and seconds (<c>24h15m</c>).</summary>
    public static string Format(TimeSpan value)
    {
        if (value <= TimeSpan.Zero)
        {
            return "0";
        }

        var year = TimeSpan.FromDays(365);
        if (value.Ticks % year.Ticks == 0)
        {
            return $"{value.Ticks / year.Ticks}y";
        }

        if (value.Ticks % TimeSpan.TicksPerDay == 0)
        {
            return $"{value.Ticks / TimeSpan.TicksPerDay}d";
        }

        var sb = new StringBuilder();
        var hours = (long)value.TotalHours;
        if (hours > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{hours}h");
        }

        if (value.Minutes > 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Minutes}m");
        }

        // sub-second parts are dropped: the plan's finest unit is the second
        if (value.Seconds > 0 || sb.Length == 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"{value.Seconds}s");
        }

        return sb.ToString();
    }
}
