using Lifeline.Registry.Contracts;
using Lifeline.Storage;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Extensions.Logging;

namespace Lifeline.Registry.Apis;

/// <summary>
/// The largest request body an endpoint accepts, in bytes. ASP.NET Core's endpoint routing sets Kestrel's
/// <c>MaxRequestBodySize</c> for the request from this metadata, and <see cref="RegistryErrors.RejectOversizedBodies"/>
/// refuses a declared <c>Content-Length</c> above it before anything reads the body.
/// </summary>
internal sealed record BodyLimit(long Bytes) : IRequestSizeLimitMetadata
{
    public long? MaxRequestBodySize => Bytes;
}

/// <summary>
/// One place that turns exceptions into MLflow error bodies: <see cref="MlflowException"/> into its code and status,
/// Kestrel's refusals (body too large, malformed request) into their 4xx, a missing artifact into 404, and anything
/// unforeseen into a logged 500 <c>INTERNAL_ERROR</c> whose body names no detail.
/// </summary>
internal static class RegistryErrors
{
    public static async Task HandleAsync(HttpContext context, RequestDelegate next)
    {
        try
        {
            await next(context);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            // the client went away: nobody to answer
        }
        catch (Exception e) when (!context.Response.HasStarted)
        {
            var (code, message, status) = Describe(e, context);
            context.Response.Clear();
            await RegistryApi.Error(code, message, status).ExecuteAsync(context);
        }
    }

    /// <summary>Refuses a body whose declared length exceeds the selected endpoint's <see cref="BodyLimit"/>: 413, before it is read.</summary>
    public static async Task RejectOversizedBodies(HttpContext context, RequestDelegate next)
    {
        var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize;
        if (limit is { } max && context.Request.ContentLength > max)
        {
            await RegistryApi.Error(ErrorCodes.BadRequest, TooLarge(context, max), StatusCodes.Status413PayloadTooLarge).ExecuteAsync(context);
            return;
        }

        await next(context);
    }

    private static (string Code, string Message, int Status) Describe(Exception e, HttpContext context)
    {
        switch (e)
        {
            case MlflowException m:
                return (m.ErrorCode, m.Message, m.HttpStatus);
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                var limit = context.GetEndpoint()?.Metadata.GetMetadata<IRequestSizeLimitMetadata>()?.MaxRequestBodySize;
                return (ErrorCodes.BadRequest, limit is { } max ? TooLarge(context, max) : "Request body too large.", StatusCodes.Status413PayloadTooLarge);
            case BadHttpRequestException bad:
                return (ErrorCodes.BadRequest, $"Bad request: {bad.Message}", bad.StatusCode is >= 400 and < 500 ? bad.StatusCode : StatusCodes.Status400BadRequest);
            case ObjectNotFoundException:
                return (ErrorCodes.ResourceDoesNotExist, $"No artifact at {context.Request.Path}", StatusCodes.Status404NotFound);
            default:
                var logger = context.RequestServices.GetService(typeof(ILoggerFactory)) is ILoggerFactory factory ? factory.CreateLogger("Lifeline.Registry.Api") : null;
                if (logger is not null)
                {
                    Log.InternalError(logger, context.Request.Method, context.Request.Path.Value ?? "", e);
                }

                return (ErrorCodes.InternalError, $"Internal error ({e.GetType().Name}); see the registry's log.", StatusCodes.Status500InternalServerError);
        }
    }

    private static string TooLarge(HttpContext context, long max) =>
        $"Request body too large: {context.Request.Method} {context.Request.Path} accepts at most {max} bytes (see docs/registry.md, body limits).";
}
