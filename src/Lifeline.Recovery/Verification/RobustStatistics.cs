namespace Lifeline.Recovery.Verification;

/// <summary>Median and median absolute deviation: a few outliers in the history do not move them (docs/verification.md).</summary>
internal static class RobustStatistics
{
    /// <summary>The scale that makes the MAD estimate a normal distribution's standard deviation.</summary>
    public const double MadToSigma = 1.4826;

    public static double Median(IReadOnlyList<double> values)
    {
        if (values.Count == 0)
        {
            throw new ArgumentException("no values", nameof(values));
        }

        var sorted = values.Order().ToArray();
        var mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    public static double Mad(IReadOnlyList<double> values, double median) => Median(values.Select(v => Math.Abs(v - median)).ToArray());

    /// <summary>How many robust standard deviations <paramref name="value"/> is from the median; infinite when the
    /// history does not vary at all and the value differs.</summary>
    public static double RobustZ(double value, double median, double mad) =>
        mad > 0 ? Math.Abs(value - median) / (MadToSigma * mad) : value == median ? 0 : double.PositiveInfinity;
}
