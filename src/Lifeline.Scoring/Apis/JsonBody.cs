using System.Buffers;
using System.IO.Pipelines;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lifeline.Scoring.Apis;

/// <summary>
/// Reads a JSON request body with the limits checked first: the wrong content type is 415, a body over the limit
/// 413 (checked on Content-Length and again while reading chunked bodies), malformed JSON, a wrong type, a duplicated key or
/// bytes after the JSON value 400 with the JSON path of the offending field, a number outside the contract 422. Each is a
/// ProblemDetails.
/// </summary>
internal static class JsonBody
{
    public static async ValueTask<(T? Value, ProblemHttpResult? Problem)> ReadAsync<T>(HttpRequest request, JsonTypeInfo<T> typeInfo, int limit)
        where T : class
    {
        if (!IsJson(request))
        {
            return (null, Problems.Create(StatusCodes.Status415UnsupportedMediaType, "Unsupported content type",
                $"the body must be JSON (Content-Type: application/json), got '{request.ContentType ?? "none"}'", "content-type"));
        }

        if (request.ContentLength > limit)
        {
            return (null, TooLarge(limit));
        }

        var reader = request.BodyReader;
        while (true)
        {
            ReadResult read;
            try
            {
                read = await reader.ReadAsync(request.HttpContext.RequestAborted);
            }
            catch (BadHttpRequestException ex)
            {
                return (null, Problems.Create(ex.StatusCode, "Bad request body", ex.Message, "body"));
            }

            var buffer = read.Buffer;
            if (buffer.Length > limit)
            {
                reader.AdvanceTo(buffer.End);
                return (null, TooLarge(limit));
            }

            if (read.IsCompleted || read.IsCanceled)
            {
                try
                {
                    return Parse(buffer, typeInfo);
                }
                finally
                {
                    reader.AdvanceTo(buffer.End);
                }
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    // The common spellings are compared as strings; anything else is parsed (HasJsonContentType allocates a parsed
    // media type per request).
    private static bool IsJson(HttpRequest request) =>
        request.ContentType is { } type
        && (type.Equals("application/json", StringComparison.OrdinalIgnoreCase)
            || type.Equals("application/json; charset=utf-8", StringComparison.OrdinalIgnoreCase)
            || request.HasJsonContentType());

    private static (T? Value, ProblemHttpResult? Problem) Parse<T>(ReadOnlySequence<byte> buffer, JsonTypeInfo<T> typeInfo)
        where T : class
    {
        if (buffer.IsEmpty)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "Empty body", "the request body is empty; send a JSON object", "body"));
        }

        // JSON is UTF-8 (RFC 8259): System.Text.Json checks the bytes of the strings it decodes, not of property names it
        // only compares, so an invalid byte in an unknown key would pass. Checked once, vectorised, before parsing.
        if (!IsValidUtf8(buffer, out var badByte))
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "Malformed JSON",
                $"the body is not valid UTF-8 (from byte {badByte}); send the JSON encoded as UTF-8", "body"));
        }

        T? value;
        var json = new Utf8JsonReader(buffer);
        try
        {
            value = JsonSerializer.Deserialize(ref json, typeInfo);
        }
        catch (ContractViolationException ex)
        {
            var field = FieldOf(ex.Path);
            return (null, Problems.Create(StatusCodes.Status422UnprocessableEntity, "Invalid lead", $"{field} {ex.Message}", field));
        }
        catch (JsonException ex)
        {
            var field = FieldOf(ex.Path);
            if (ex.Message.StartsWith("Duplicate property", StringComparison.Ordinal))
            {
                return (null, Problems.Create(StatusCodes.Status400BadRequest, "Duplicate key",
                    $"the key '{field}' appears more than once; send each key once", field));
            }

            var detail = ex.Path is null or "$"
                ? "the body is not valid JSON"
                : $"'{field}' has the wrong type or is malformed";
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "Malformed JSON", $"{detail} (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine})", field));
        }

        if (value is null)
        {
            return (null, Problems.Create(StatusCodes.Status400BadRequest, "Malformed JSON", "the body is JSON null; send a JSON object", "body"));
        }

        // One JSON value and nothing after it but whitespace: `{...}garbage` or `{...}{...}` is not a lead.
        bool more;
        try
        {
            more = json.Read();
        }
        catch (JsonException)
        {
            more = true;
        }

        return more
            ? (null, Problems.Create(StatusCodes.Status400BadRequest, "Malformed JSON",
                $"there are bytes after the JSON value (from byte {json.BytesConsumed}); send exactly one JSON object", "body"))
            : (value, null);
    }

    private static bool IsValidUtf8(ReadOnlySequence<byte> buffer, out long badByte)
    {
        badByte = 0;
        if (buffer.IsSingleSegment)
        {
            var span = buffer.FirstSpan;
            if (System.Text.Unicode.Utf8.IsValid(span))
            {
                return true;
            }

            badByte = System.Text.Unicode.Utf8.ToUtf16(span, new char[span.Length], out var read, out _, replaceInvalidSequences: false) == OperationStatus.Done ? 0 : read;
            return false;
        }

        // a body split across segments: a sequence may straddle two of them, so check a contiguous copy (bodies are small)
        var bytes = buffer.ToArray();
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            return true;
        }

        badByte = System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out var at, out _, replaceInvalidSequences: false) == OperationStatus.Done ? 0 : at;
        return false;
    }

    private static string FieldOf(string? path) =>
        string.IsNullOrEmpty(path) || path == "$" ? "body" : path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path;

    private static ProblemHttpResult TooLarge(int limit) =>
        Problems.Create(StatusCodes.Status413PayloadTooLarge, "Body too large", $"the body is larger than the limit of {limit} bytes", "body");
}

/// <summary>ProblemDetails with the offending field named in <c>errors</c> (the key) and in the <c>field</c> extension.</summary>
internal static class Problems
{
    public static ProblemHttpResult Create(int status, string title, string detail, string field) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
        {
            Status = status,
            Title = title,
            Detail = detail,
            Extensions = { ["field"] = field },
        });

    public static ProblemHttpResult Validation(IDictionary<string, string[]> errors)
    {
        var first = errors.First();
        return TypedResults.Problem(new HttpValidationProblemDetails(errors)
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = "Invalid lead",
            Detail = $"{first.Key}: {first.Value[0]}",
            Extensions = { ["field"] = first.Key },
        });
    }
}
