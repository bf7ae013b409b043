namespace Lifeline.Fuzzing.Mutation;

/// <summary>Interesting values per family, as raw JSON text or plain strings.</summary>
public static class Values
{
    public static readonly string[] WrongTypes = ["\"many\"", "true", "false", "null", "{}", "[]", "[1,2]", "{\"a\":1}", "0", "\"\"", "\"3\""];

    public static readonly string[] Integers =
    [
        "0", "-1", "1", "2147483647", "2147483648", "-2147483648", "-2147483649", "9223372036854775807",
        "9223372036854775808", "-9223372036854775809", "99999999999999999999999", "1.5", "1e3", "-0", "3.0", "1E2",
    ];

    public static readonly string[] Doubles =
    [
        "0", "-0.0", "1e308", "-1e308", "1.7976931348623157e308", "5e-324", "1e-400", "123.456", "-1", "0.1e1", "-5e-324",
        "3.4028235e38", "1e39",
    ];

    /// <summary>Numbers that are not finite once parsed (overflowing literals) or not JSON at all (NaN, Infinity).</summary>
    public static readonly string[] NonFinite = ["1e999", "-1e999", "1e309", "NaN", "Infinity", "-Infinity", "\"NaN\"", "\"Infinity\"", "1.8e308"];

    public static readonly string[] Strings =
    [
        "\"\"", "\" \"", "\"\\u0000\"", "\"\\ud800\"", "\"\\udc00x\"", "\"😀\"", "\"é\"", "\"<script>alert(1)</script>\"",
        "\"../../etc/passwd\"", "\"' OR 1=1 --\"", "\"%00\"", "\"%\"", "\"_\"", "\"a/b\"", "\"a\\\\b\"", "\"\\n\"", "\"\\t\\r\"",
        "\"CON\"", "\".\"", "\"..\"", "\".tmp\"", "\"x.tmp\"", "\".lifeline-tmp\"", "\"~x\"", "\"a%2Fb\"", "\"null\"",
        "\"%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%_%x\"",
    ];

    public static readonly string[] IsoTimestamps =
    [
        "\"2026-11-26T14:30:00Z\"", "\"2026-11-26\"", "\"2026-11-26T14:30:00+01:00\"", "\"2026-11-26T14:30:00.123456Z\"",
        "\"2026-11-26T14:30Z\"",
    ];

    public static readonly string[] NonIsoTimestamps =
    [
        "\"26/11/2026\"", "\"yesterday\"", "\"Nov 26 2026\"", "\"2026-13-45T99:99:99Z\"", "\"1700000000\"",
        "\"2026-11-26T14:30:00 garbage\"", "\"0000-00-00\"", "\"2026-02-30\"", "\"11/26/2026 2:30 PM\"", "\"Thursday\"",
        "\"2026-11-26T14:30:00+25:00\"",
    ];

    /// <summary>Time expressions for the command line's --at, --since, --until (valid and not).</summary>
    public static readonly string[] TimeExpressions =
    [
        "2026-11-26T14:30:00Z", "2026-11-26T14:30+01:00", "2026-11-26 09:00", "2026-11-26 09:00:30", "2026-11-26",
        "9999-12-31T23:59:59Z", "0001-01-01", "1970-01-01T00:00:00Z", "2100-01-01", "now", "yesterday", "-1h", "1d ago",
        "2026-02-30", "2026-13-01", "26/11/2026", "2026-11-26T25:00:00Z", "2026-11-26T14:30:00+25:00", "", " ", "1700000000",
        "2026-11-26T14:30:00.9999999999Z", "+002026-11-26", "2026-W48-4", "2026-330", "T14:30", "2026-11-26T14:30:00ZZ",
        "0", "-1", "٢٠٢٦-١١-٢٦", "2026-11-26\t09:00",
    ];

    /// <summary>Durations and retention values for --keep-within and friends.</summary>
    public static readonly string[] Durations =
    [
        "30d", "12h", "2y", "7y", "1y6m", "1w", "0d", "0", "-1d", "d", "", "1x", "99999999999y", "1.5d", "1d1d", "1D", "  3d",
        "1y-2m", "9223372036854775807d", "1e3d", "3 d", "∞", "P1D", "10000y",
    ];

    public static readonly string[] Counts = ["0", "1", "-1", "2147483647", "2147483648", "1.5", "x", "", "007", "1e3", "-0", "99999999999999999999"];

    public static string Nested(int depth, bool objects) =>
        objects ? string.Concat(Enumerable.Repeat("{\"a\":", depth)) + "1" + new string('}', depth)
                : new string('[', depth) + "1" + new string(']', depth);

    public static string LongString(int length, char c = 'a') => "\"" + new string(c, length) + "\"";
}
