using Microsoft.Extensions.Logging;

namespace Lifeline.Storage;

/// <summary>Log events of Lifeline.Storage. Event ids are stable (1000-1099); never reuse or renumber one.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1000, Level = LogLevel.Warning, Message = "Transient fault in {Operation} on {Location} (attempt {Attempt}), retrying in {DelayMs} ms: {Error}")]
    public static partial void RetryingTransientFault(ILogger logger, string operation, string location, int attempt, double delayMs, string error);

    [LoggerMessage(EventId = 1001, Level = LogLevel.Error, Message = "{Operation} on {Location} failed after {Attempts} attempts: {Error}")]
    public static partial void RetriesExhausted(ILogger logger, string operation, string location, int attempts, string error);

    [LoggerMessage(EventId = 1010, Level = LogLevel.Warning, Message = "Fault injected into {Operation} of {Key} on {Location}: {Fault}")]
    public static partial void FaultInjected(ILogger logger, string operation, string key, string location, string fault);

    [LoggerMessage(EventId = 1020, Level = LogLevel.Information, Message = "Created missing container {Container} for {Location}")]
    public static partial void ContainerCreated(ILogger logger, string container, string location);

    [LoggerMessage(EventId = 1021, Level = LogLevel.Information, Message = "Created missing bucket {Bucket} for {Location}")]
    public static partial void BucketCreated(ILogger logger, string bucket, string location);

    [LoggerMessage(EventId = 1022, Level = LogLevel.Warning, Message = "Could not abort multipart upload {UploadId} on {Location} (its parts stay until a lifecycle rule removes them): {Error}")]
    public static partial void MultipartAbortFailed(ILogger logger, string uploadId, string location, string error);
}
