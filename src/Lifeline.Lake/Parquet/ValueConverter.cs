using System.Globalization;
using Lifeline.Lake.Schema;
using Parquet.Data;

namespace Lifeline.Lake.Parquet;

/// <summary>Converts values between Parquet.Net's CLR forms, the values this library hands out, and partition value strings.</summary>
internal static class ValueConverter
{
    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFF", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF'Z'", "yyyy-MM-dd'T'HH:mm:ss'Z'",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFzzz", "yyyy-MM-dd'T'HH:mm:sszzz", "yyyy-MM-dd'T'HH:mm:ss.FFFFFF", "yyyy-MM-dd'T'HH:mm:ss",
    ];

    public static object? FromParquet(object? value, PrimitiveType? type)
    {
        switch (value)
        {
            case null:
                return null;
            case ReadOnlyMemory<char> chars:
                return chars.ToString();
            case ReadOnlyMemory<byte> bytes:
                return bytes.ToArray();
            case DateTime dt:
                return type?.Name switch
                {
                    "date" => DateOnly.FromDateTime(dt),
                    "timestamp_ntz" => DateTime.SpecifyKind(dt, DateTimeKind.Unspecified),
                    "timestamp" => new DateTimeOffset(DateTime.SpecifyKind(dt, DateTimeKind.Utc)),
                    _ => dt.Kind == DateTimeKind.Utc ? new DateTimeOffset(dt) : dt,
                };
            case DateOnly day when type?.Name == "timestamp_ntz":
                return day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Unspecified);
            case DateOnly day when type?.Name == "timestamp":
                return new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc));
            case BigDecimal big:
                return FromBigDecimal(big.UnscaledValue, big.Scale, type);
        }

        if (type is null)
        {
            return value;
        }

        // Type widening (e.g. an int file column read as long) follows the table schema.
        return type.Name switch
        {
            "long" when value is not long => Convert.ToInt64(value, CultureInfo.InvariantCulture),
            "integer" when value is not int => Convert.ToInt32(value, CultureInfo.InvariantCulture),
            "short" when value is not short => Convert.ToInt16(value, CultureInfo.InvariantCulture),
            "double" when value is not double => Convert.ToDouble(value, CultureInfo.InvariantCulture),
            "date" when value is int days => DateOnly.FromDayNumber(DateOnly.FromDateTime(DateTime.UnixEpoch).DayNumber + days),
            _ when type.IsDecimal && value is not decimal => Convert.ToDecimal(value, CultureInfo.InvariantCulture),
            _ => value,
        };
    }

    /// <summary>decimal(p,s) with p ≤ 28 is a .NET <c>decimal</c>; wider decimals (Spark allows 38 digits) are <c>SqlDecimal</c>.</summary>
    internal static object FromBigDecimal(System.Numerics.BigInteger unscaled, int scale, PrimitiveType? type)
    {
        var negative = unscaled.Sign < 0;
        var magnitude = System.Numerics.BigInteger.Abs(unscaled);
        if ((type is null || type.Precision <= 28) && scale <= 28 && magnitude.GetBitLength() <= 96)
        {
            var bytes = new byte[12];
            magnitude.TryWriteBytes(bytes, out _, isUnsigned: true, isBigEndian: false);
            return new decimal(BitConverter.ToInt32(bytes, 0), BitConverter.ToInt32(bytes, 4), BitConverter.ToInt32(bytes, 8), negative, (byte)scale);
        }

        var words = new int[4];
        var raw = new byte[16];
        if (magnitude.GetBitLength() > 128 || !magnitude.TryWriteBytes(raw, out _, isUnsigned: true, isBigEndian: false))
        {
            throw new DeltaProtocolException($"decimal value with {magnitude.GetBitLength()} bits does not fit 38 digits");
        }

        for (var i = 0; i < 4; i++)
        {
            words[i] = BitConverter.ToInt32(raw, i * 4);
        }

        return new System.Data.SqlTypes.SqlDecimal((byte)Math.Max(type?.Precision ?? 38, 1), (byte)scale, !negative, words);
    }

    /// <summary>Parses a partition value string (PROTOCOL.md "Partition Value Serialization"); null and "" are null.</summary>
    public static object? ParsePartitionValue(string? text, DeltaType type, string column)
    {
        if (text is null)
        {
            return null;
        }

        if (type is not PrimitiveType p)
        {
            throw new DeltaProtocolException($"partition column '{column}' has non-primitive type {type}");
        }

        if (text.Length == 0 && p.Name != "string")
        {
            return null;
        }

        if (text.Length == 0)
        {
            return null;
        }

        var inv = CultureInfo.InvariantCulture;
        try
        {
            return p.Name switch
            {
                "string" => text,
                "long" => long.Parse(text, inv),
                "integer" => int.Parse(text, inv),
                "short" => short.Parse(text, inv),
                "byte" => sbyte.Parse(text, inv),
                "float" => float.Parse(text, NumberStyles.Float, inv),
                "double" => double.Parse(text, NumberStyles.Float, inv),
                "boolean" => bool.Parse(text),
                "date" => DateOnly.ParseExact(text, "yyyy-MM-dd", inv),
                "timestamp" => ParseTimestamp(text),
                "timestamp_ntz" => DateTime.ParseExact(text, TimestampFormats, inv, DateTimeStyles.None),
                "binary" => text.Select(c => (byte)c).ToArray(),
                _ when p.IsDecimal && p.Precision > 28 => System.Data.SqlTypes.SqlDecimal.Parse(text),
                _ when p.IsDecimal => decimal.Parse(text, NumberStyles.Float, inv),
                _ => throw new DeltaProtocolException($"partition column '{column}' has unsupported type {p.Name}"),
            };
        }
        catch (FormatException e)
        {
            throw new DeltaProtocolException($"partition value '{text}' of column '{column}' is not a valid {p.Name}", e);
        }
    }

    private static DateTimeOffset ParseTimestamp(string text) =>
        DateTimeOffset.ParseExact(text, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal);

    /// <summary>Formats a partition value the way Spark writes it.</summary>
    public static string? FormatPartitionValue(object? value) => value switch
    {
        null => null,
        string s => s,
        bool b => b ? "true" : "false",
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture),
        byte[] bytes => new string(bytes.Select(x => (char)x).ToArray()),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };
}
