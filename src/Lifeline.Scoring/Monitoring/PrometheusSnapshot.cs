using System.Globalization;
using System.Text;
using Prometheus;

namespace Lifeline.Scoring.Monitoring;

/// <summary>
/// The service's metrics at one instant, read from the same registry <c>GET /metrics</c> exports (its text format),
/// so the monitoring table and a Prometheus scrape always agree. Samples are kept by name with their labels.
/// </summary>
internal sealed class PrometheusSnapshot
{
    private readonly Dictionary<string, List<(Dictionary<string, string> Labels, double Value)>> _samples;

    private PrometheusSnapshot(Dictionary<string, List<(Dictionary<string, string> Labels, double Value)>> samples) => _samples = samples;

    /// <summary>A snapshot with no samples (every counter zero): the baseline before the first collection.</summary>
    public static PrometheusSnapshot Empty { get; } = new([]);

    public static async Task<PrometheusSnapshot> CollectAsync(CollectorRegistry registry, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await registry.CollectAndExportAsTextAsync(buffer, cancellationToken);
        return Parse(Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length));
    }

    /// <summary>Parses the Prometheus text exposition format (comment lines skipped; label values may hold \" \\ \n).</summary>
    public static PrometheusSnapshot Parse(string text)
    {
        var samples = new Dictionary<string, List<(Dictionary<string, string>, double)>>(StringComparer.Ordinal);
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.Trim();
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            var nameEnd = line.IndexOfAny(['{', ' ']);
            if (nameEnd <= 0)
            {
                continue;
            }

            var name = line[..nameEnd];
            var at = nameEnd;
            if (line[at] == '{')
            {
                at++;
                while (at < line.Length && line[at] != '}')
                {
                    var eq = line.IndexOf('=', at);
                    if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"')
                    {
                        break;
                    }

                    var key = line[at..eq].Trim().TrimStart(',').Trim();
                    var value = new StringBuilder();
                    at = eq + 2;
                    while (at < line.Length && line[at] != '"')
                    {
                        if (line[at] == '\\' && at + 1 < line.Length)
                        {
                            at++;
                            value.Append(line[at] == 'n' ? '\n' : line[at]);
                        }
                        else
                        {
                            value.Append(line[at]);
                        }

                        at++;
                    }

                    labels[key] = value.ToString();
                    at++; // the closing quote
                    while (at < line.Length && (line[at] == ',' || line[at] == ' '))
                    {
                        at++;
                    }
                }

                at++; // the closing brace
            }

            var rest = line[Math.Min(at, line.Length)..].Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (rest.Length == 0 || !TryParseValue(rest[0], out var number))
            {
                continue;
            }

            if (!samples.TryGetValue(name, out var list))
            {
                samples[name] = list = [];
            }

            list.Add((labels, number));
        }

        return new PrometheusSnapshot(samples);
    }

    /// <summary>The sum of every sample of <paramref name="name"/> whose labels pass <paramref name="where"/> (0 when none).</summary>
    public double Sum(string name, Func<IReadOnlyDictionary<string, string>, bool>? where = null) =>
        _samples.TryGetValue(name, out var list) ? list.Where(s => where is null || where(s.Labels)).Sum(s => s.Value) : 0;

    /// <summary>Cumulative bucket counts of histogram <paramref name="name"/>, summed over its other labels, by upper bound.</summary>
    public SortedDictionary<double, double> Buckets(string name)
    {
        var buckets = new SortedDictionary<double, double>();
        if (_samples.TryGetValue(name + "_bucket", out var list))
        {
            foreach (var (labels, value) in list)
            {
                if (labels.TryGetValue("le", out var le) && TryParseValue(le, out var bound))
                {
                    buckets[bound] = buckets.GetValueOrDefault(bound) + value;
                }
            }
        }

        return buckets;
    }

    /// <summary>
    /// The <paramref name="q"/> quantile of the observations between two cumulative histograms, as Prometheus's
    /// <c>histogram_quantile</c> estimates it: linear within the bucket that holds the rank, the first bucket starting at
    /// 0, a rank in the +Inf bucket answered with the highest finite bound. Null when there are no observations.
    /// </summary>
    public static double? Quantile(double q, SortedDictionary<double, double> before, SortedDictionary<double, double> after)
    {
        var bounds = after.Keys.ToList();
        if (bounds.Count == 0)
        {
            return null;
        }

        var counts = bounds.Select(b => after[b] - before.GetValueOrDefault(b)).ToList();
        var total = counts[^1];
        if (total <= 0)
        {
            return null;
        }

        var rank = q * total;
        var lower = 0.0;
        var below = 0.0;
        for (var i = 0; i < bounds.Count; i++)
        {
            if (counts[i] >= rank)
            {
                if (double.IsPositiveInfinity(bounds[i]))
                {
                    return i > 0 ? bounds[i - 1] : null;
                }

                var inBucket = counts[i] - below;
                return inBucket <= 0 ? bounds[i] : lower + ((bounds[i] - lower) * (rank - below) / inBucket);
            }

            lower = bounds[i];
            below = counts[i];
        }

        return bounds[^1];
    }

    private static bool TryParseValue(string text, out double value)
    {
        switch (text)
        {
            case "+Inf":
                value = double.PositiveInfinity;
                return true;
            case "-Inf":
                value = double.NegativeInfinity;
                return true;
            default:
                return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out value);
        }
    }
}
