using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lifeline.Registry.Contracts;

namespace Lifeline.Registry.Apis;

/// <summary>
/// MLflow's search conventions: <c>max_results</c> + opaque <c>page_token</c> (base64 of <c>{"offset": n}</c>, as MLflow
/// does), and the filter subset this registry supports: conditions joined by AND, each
/// <c>field op value</c> with op one of = != LIKE ILIKE &lt; &lt;= &gt; &gt;=, values in single or double quotes or numbers,
/// fields plain (<c>name</c>, <c>run_id</c>), prefixed (<c>tags.k</c>, <c>params.k</c>, <c>metrics.k</c>,
/// <c>attributes.k</c>) or back-quoted (<c>tags.`mlflow.runName`</c>).
/// Every user-supplied pattern is bounded: a filter is at most <see cref="MaxFilterLength"/> characters and
/// <see cref="MaxConditions"/> conditions, <c>order_by</c> at most <see cref="MaxOrderBy"/> clauses, a LIKE pattern at most <see cref="MaxPatternLength"/> characters, and LIKE is
/// matched by a non-backtracking regex built once per condition (time linear in the value's length, never a timeout).
/// </summary>
internal static class SearchSupport
{
    /// <summary>Longest accepted filter, in characters.</summary>
    public const int MaxFilterLength = 4096;

    /// <summary>Most conditions in one filter.</summary>
    public const int MaxConditions = 50;

    /// <summary>Most <c>order_by</c> clauses in one search (each one sorts the results again).</summary>
    public const int MaxOrderBy = 20;

    /// <summary>Longest LIKE/ILIKE pattern, in characters.</summary>
    public const int MaxPatternLength = 500;

    public sealed record Condition(string Field, string Op, string Value)
    {
        /// <summary>The compiled LIKE/ILIKE pattern (null for other operators).</summary>
        public Regex? Pattern { get; init; }
    }

    public static (List<T> Items, string? NextPageToken) Page<T>(IReadOnlyList<T> all, long? maxResults, string? pageToken, int defaultMax, int limit)
    {
        var max = maxResults is null or 0 ? defaultMax : maxResults.Value;
        if (max < 1 || max > limit)
        {
            throw MlflowException.Invalid($"Invalid value {max} for parameter 'max_results' supplied. It must be at most {limit}, and at least 1.");
        }

        var offset = DecodeToken(pageToken);
        var items = all.Skip(offset).Take((int)max).ToList();
        var next = offset + items.Count < all.Count ? EncodeToken(offset + items.Count) : null;
        return (items, next);
    }

    public static string EncodeToken(int offset) =>
        Convert.ToBase64String(Encoding.UTF8.GetBytes($"{{\"offset\": {offset.ToString(CultureInfo.InvariantCulture)}}}"));

    private static int DecodeToken(string? token)
    {
        if (string.IsNullOrEmpty(token))
        {
            return 0;
        }

        try
        {
            using var doc = JsonDocument.Parse(Convert.FromBase64String(token));
            var offset = doc.RootElement.GetProperty("offset").GetInt32();
            return offset >= 0 ? offset : throw new FormatException();
        }
        catch (Exception e) when (e is FormatException or JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw MlflowException.Invalid($"Invalid page token, could not base64-decode: {token}");
        }
    }

    public static List<Condition> ParseFilter(string? filter)
    {
        var conditions = new List<Condition>();
        if (string.IsNullOrWhiteSpace(filter))
        {
            return conditions;
        }

        if (filter.Length > MaxFilterLength)
        {
            throw MlflowException.Invalid($"Invalid filter: {filter.Length} characters, at most {MaxFilterLength} are accepted.");
        }

        var s = filter.Trim();
        var i = 0;
        while (true)
        {
            SkipSpace(s, ref i);
            var field = ReadIdentifier(s, ref i, filter);
            SkipSpace(s, ref i);
            var op = ReadOperator(s, ref i, filter);
            SkipSpace(s, ref i);
            var value = ReadValue(s, ref i, filter);
            if (conditions.Count == MaxConditions)
            {
                throw BadFilter(filter, $"at most {MaxConditions} conditions are accepted");
            }

            conditions.Add(new Condition(field, op, value) { Pattern = op is "LIKE" or "ILIKE" ? LikePattern(value, op == "ILIKE", filter) : null });
            SkipSpace(s, ref i);
            if (i >= s.Length)
            {
                return conditions;
            }

            if (s.Length - i >= 4 && s.Substring(i, 3).Equals("AND", StringComparison.OrdinalIgnoreCase) && char.IsWhiteSpace(s[i + 3]))
            {
                i += 3;
                continue;
            }

            throw BadFilter(filter, "only conditions joined by AND are supported");
        }
    }

    /// <summary>True when every condition holds; <paramref name="resolve"/> maps a field to its value (null when absent).</summary>
    public static bool Matches(IEnumerable<Condition> conditions, Func<string, string?> resolve)
    {
        foreach (var c in conditions)
        {
            var actual = resolve(c.Field);
            if (!Holds(actual, c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool Holds(string? actual, Condition condition)
    {
        var (op, expected) = (condition.Op, condition.Value);
        if (actual is null)
        {
            return op == "!=" ;
        }

        switch (op)
        {
            case "=": return actual == expected;
            case "!=": return actual != expected;
            case "LIKE" or "ILIKE": return condition.Pattern!.IsMatch(actual);
        }

        if (!double.TryParse(actual, NumberStyles.Float, CultureInfo.InvariantCulture, out var a) || !double.TryParse(expected, NumberStyles.Float, CultureInfo.InvariantCulture, out var b))
        {
            var cmp = string.CompareOrdinal(actual, expected);
            return op switch { "<" => cmp < 0, "<=" => cmp <= 0, ">" => cmp > 0, _ => cmp >= 0 };
        }

        return op switch { "<" => a < b, "<=" => a <= b, ">" => a > b, _ => a >= b };
    }

    /// <summary>SQL LIKE as a non-backtracking regex: '%' any run, '_' any one character, everything else literal.</summary>
    private static Regex LikePattern(string pattern, bool ignoreCase, string filter)
    {
        if (pattern.Length > MaxPatternLength)
        {
            throw BadFilter(filter.Length > 100 ? filter[..100] + "..." : filter, $"a LIKE pattern is {pattern.Length} characters, at most {MaxPatternLength} are accepted");
        }

        var regex = new StringBuilder(@"\A");
        foreach (var ch in pattern)
        {
            regex.Append(ch switch
            {
                '%' => ".*",
                '_' => ".",
                _ => Regex.Escape(ch.ToString()),
            });
        }

        regex.Append(@"\z");
        var options = RegexOptions.NonBacktracking | RegexOptions.Singleline | RegexOptions.CultureInvariant | (ignoreCase ? RegexOptions.IgnoreCase : RegexOptions.None);
        return new Regex(regex.ToString(), options);
    }

    /// <summary>Sorts by MLflow-style <c>order_by</c> clauses ("field [ASC|DESC]"), then by the given tie-breaker.</summary>
    public static List<T> Order<T>(IEnumerable<T> items, IReadOnlyList<string> orderBy, Func<T, string, string?> resolve, Func<IEnumerable<T>, IOrderedEnumerable<T>> tieBreak)
    {
        if (orderBy.Count > MaxOrderBy)
        {
            throw MlflowException.Invalid($"Invalid order_by: {orderBy.Count} clauses, at most {MaxOrderBy} are accepted.");
        }

        var list = tieBreak(items).ToList();
        foreach (var clause in orderBy.Reverse())
        {
            var parts = clause.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length is 0 or > 2 || (parts.Length == 2 && !parts[1].Equals("ASC", StringComparison.OrdinalIgnoreCase) && !parts[1].Equals("DESC", StringComparison.OrdinalIgnoreCase)))
            {
                throw MlflowException.Invalid($"Invalid order_by clause '{clause}'.");
            }

            var field = parts[0].Replace("`", "", StringComparison.Ordinal);
            var descending = parts.Length == 2 && parts[1].Equals("DESC", StringComparison.OrdinalIgnoreCase);
            var comparer = Comparer<string?>.Create(CompareValues);
            // OrderBy is stable, so sorting by the last clause first keeps earlier clauses dominant.
            list = descending ? list.OrderByDescending(x => resolve(x, field), comparer).ToList() : list.OrderBy(x => resolve(x, field), comparer).ToList();
        }

        return list;
    }

    private static int CompareValues(string? a, string? b)
    {
        if (a is null || b is null)
        {
            return a is null ? (b is null ? 0 : 1) : -1;
        }

        return double.TryParse(a, NumberStyles.Float, CultureInfo.InvariantCulture, out var x) && double.TryParse(b, NumberStyles.Float, CultureInfo.InvariantCulture, out var y)
            ? x.CompareTo(y)
            : string.CompareOrdinal(a, b);
    }

    private static void SkipSpace(string s, ref int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i]))
        {
            i++;
        }
    }

    private static string ReadIdentifier(string s, ref int i, string filter)
    {
        var sb = new StringBuilder();
        while (i < s.Length && !char.IsWhiteSpace(s[i]) && s[i] is not ('=' or '!' or '<' or '>'))
        {
            if (s[i] == '`')
            {
                var end = s.IndexOf('`', i + 1);
                if (end < 0)
                {
                    throw BadFilter(filter, "unterminated back-quote");
                }

                sb.Append(s, i + 1, end - i - 1);
                i = end + 1;
                continue;
            }

            sb.Append(s[i++]);
        }

        return sb.Length > 0 ? sb.ToString() : throw BadFilter(filter, "expected a field name");
    }

    private static string ReadOperator(string s, ref int i, string filter)
    {
        foreach (var op in new[] { "!=", "<=", ">=", "=", "<", ">" })
        {
            if (string.CompareOrdinal(s, i, op, 0, op.Length) == 0)
            {
                i += op.Length;
                return op;
            }
        }

        foreach (var op in new[] { "ILIKE", "LIKE" })
        {
            if (s.Length - i > op.Length && s.Substring(i, op.Length).Equals(op, StringComparison.OrdinalIgnoreCase) && char.IsWhiteSpace(s[i + op.Length]))
            {
                i += op.Length;
                return op;
            }
        }

        throw BadFilter(filter, "expected one of = != < <= > >= LIKE ILIKE");
    }

    private static string ReadValue(string s, ref int i, string filter)
    {
        if (i < s.Length && s[i] is '\'' or '"')
        {
            var quote = s[i];
            var end = s.IndexOf(quote, i + 1);
            if (end < 0)
            {
                throw BadFilter(filter, "unterminated string");
            }

            var value = s[(i + 1)..end];
            i = end + 1;
            return value;
        }

        var start = i;
        while (i < s.Length && !char.IsWhiteSpace(s[i]))
        {
            i++;
        }

        return i > start ? s[start..i] : throw BadFilter(filter, "expected a value");
    }

    private static MlflowException BadFilter(string filter, string why) =>
        MlflowException.Invalid($"Invalid filter '{filter}': {why}.");
}
