using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;

namespace Lifeline.Scoring.Apis;

/// <summary>
/// Writes a small JSON response with a Content-Length (no chunked framing), serialised into a per-thread buffer
/// and copied into the response pipe synchronously, so the buffer is free again before the flush awaits.
/// The hot path of <c>POST /score-lead</c>; the benchmark in docs/benchmarks.md measures it.
/// </summary>
internal static class FastJson
{
    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static Task WriteAsync<T>(HttpResponse response, T value, JsonTypeInfo<T> typeInfo)
    {
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var writer = t_writer ??= new Utf8JsonWriter(buffer);
        writer.Reset(buffer);
        JsonSerializer.Serialize(writer, value, typeInfo);
        writer.Flush();
        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "application/json; charset=utf-8";
        response.ContentLength = buffer.WrittenCount;
        response.BodyWriter.Write(buffer.WrittenSpan);
        var flush = response.BodyWriter.FlushAsync();
        return flush.IsCompletedSuccessfully ? Task.CompletedTask : flush.AsTask(); // AsTask of a done flush is a Task per request
    }
}

/// <summary>An <see cref="IResult"/> that writes through <see cref="FastJson"/>.</summary>
internal sealed class FastJsonResult<T>(T value, JsonTypeInfo<T> typeInfo) : IResult
{
    public T Value { get; } = value;

    public Task ExecuteAsync(HttpContext httpContext) => FastJson.WriteAsync(httpContext.Response, Value, typeInfo);
}
