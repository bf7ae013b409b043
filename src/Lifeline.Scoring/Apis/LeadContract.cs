using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeline.Scoring.Apis;

/// <summary>
/// The written contract of a lead (docs/scoring.md, "Input contract"): the limits every field is checked against at
/// the edge, so a record that reaches the spool can always be serialised and written.
/// </summary>
internal static class LeadContract
{
    /// <summary>Longest <c>lead_id</c> and categorical value, in UTF-16 characters.</summary>
    public const int MaxStringLength = 256;

    /// <summary>Largest <c>time_on_site</c> and <c>form_completion_time</c>, in seconds (about 31 years).</summary>
    public const double MaxSeconds = 1e9;

    private static readonly string[] Iso8601Formats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mmK",
        "yyyy-MM-dd",
    ];

    /// <summary>
    /// Parses an ISO-8601 timestamp (<c>2024-12-04T03:24:08Z</c>, fractional seconds and a <c>±hh:mm</c> offset allowed;
    /// without an offset it is UTC; a date alone is midnight UTC). Nothing else: no locale formats, no month names.
    /// </summary>
    public static bool TryParseTimestamp(string? text, out DateTimeOffset value) =>
        DateTimeOffset.TryParseExact(text, Iso8601Formats, CultureInfo.InvariantCulture,
            DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out value);
}

/// <summary>A JSON number that is valid JSON but outside what the contract allows for its field (answered 422, not 400).</summary>
internal sealed class ContractViolationException(string message) : JsonException(message);

/// <summary>
/// Reads a 32-bit integer field: an integer literal out of int range (<c>99999999999</c>, <c>1e10</c>) or not
/// finite (<c>1e999</c>) is a contract violation (422); a fraction or a string is a wrong type (400).
/// </summary>
internal sealed class ContractInt32Converter : JsonConverter<int?>
{
    public override bool HandleNull => true;

    public override int? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException();
        }

        if (reader.TryGetInt32(out var value))
        {
            return value;
        }

        if (!reader.TryGetDouble(out var d) || !double.IsFinite(d))
        {
            throw new ContractViolationException("is not a finite number");
        }

        if (Math.Floor(d) == d && (d > int.MaxValue || d < int.MinValue))
        {
            throw new ContractViolationException($"is outside the range of a 32-bit integer (at most {int.MaxValue})");
        }

        throw new JsonException();
    }

    public override void Write(Utf8JsonWriter writer, int? value, JsonSerializerOptions options)
    {
        if (value is { } v)
        {
            writer.WriteNumberValue(v);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>Reads a double field: a literal that overflows to infinity (<c>1e999</c>) is a contract violation (422).</summary>
internal sealed class ContractDoubleConverter : JsonConverter<double?>
{
    public override bool HandleNull => true;

    public override double? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return null;
        }

        if (reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException();
        }

        if (!reader.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            throw new ContractViolationException("is not a finite number");
        }

        return value;
    }

    public override void Write(Utf8JsonWriter writer, double? value, JsonSerializerOptions options)
    {
        if (value is { } v && double.IsFinite(v))
        {
            writer.WriteNumberValue(v);
        }
        else
        {
            writer.WriteNullValue();
        }
    }
}

/// <summary>
/// Reads a categorical string field (<c>company_size</c>, <c>industry</c>, <c>referral_source</c>): a value the model
/// knows (<see cref="Features.LeadFeatures"/>), written without escapes, is returned as the shared string instead of a
/// new one per request; anything else is read as the built-in string converter reads it (same value, same errors).
/// </summary>
internal sealed class CategoricalStringConverter : JsonConverter<string?>
{
    private static readonly (byte[] Utf8, string Value)[] Known =
        [.. Features.LeadFeatures.CompanySizes.Concat(Features.LeadFeatures.Industries).Concat(Features.LeadFeatures.ReferralSources)
            .Distinct(StringComparer.Ordinal).Select(v => (System.Text.Encoding.UTF8.GetBytes(v), v))];

    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && !reader.HasValueSequence)
        {
            var span = reader.ValueSpan;
            foreach (var (utf8, value) in Known)
            {
                if (span.SequenceEqual(utf8))
                {
                    return value;
                }
            }
        }

        return reader.TokenType == JsonTokenType.Null ? null : reader.GetString();
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
