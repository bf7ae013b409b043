using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring;

/// <summary>Every log event of the scoring area, with stable event ids (5000-5099).</summary>
internal static partial class Log
{
    [LoggerMessage(5000, LogLevel.Information, "Serving model {ModelName} version {Version} from {Source}")]
    public static partial void ModelActivated(ILogger logger, string modelName, string version, string source);

    [LoggerMessage(5001, LogLevel.Warning, "Model source {Source} unreachable; serving cached version {Version}")]
    public static partial void ServingFromCache(ILogger logger, string source, string version, Exception exception);

    [LoggerMessage(5002, LogLevel.Error, "No model to serve: the source {Source} failed and the cache is empty; readiness stays false")]
    public static partial void NoModel(ILogger logger, string source, Exception? exception);

    [LoggerMessage(5003, LogLevel.Warning, "Polling {Source} for the Production version failed; still serving {Version}")]
    public static partial void PollFailed(ILogger logger, string source, string? version, Exception exception);

    [LoggerMessage(5004, LogLevel.Error, "Model failover: rolled back {ModelName} from version {From} to {To}: {Reason}")]
    public static partial void RolledBack(ILogger logger, string modelName, string from, string to, string reason);

    [LoggerMessage(5005, LogLevel.Critical, "Model failover wanted ({Reason}) but no previous version of {ModelName} is available; still serving {Version}")]
    public static partial void NoPreviousVersion(ILogger logger, string modelName, string version, string reason);

    [LoggerMessage(5006, LogLevel.Warning, "Prediction failed on model version {Version}: {Kind}")]
    public static partial void PredictionFailed(ILogger logger, string version, string kind, Exception? exception);

    [LoggerMessage(5007, LogLevel.Warning, "Sink {Sink} queue full: {Dropped} records dropped so far")]
    public static partial void SinkDropped(ILogger logger, string sink, long dropped);

    [LoggerMessage(5013, LogLevel.Error, "Sink {Sink} refused the record at spool position {Position}; moved to {DeadLetterPath}")]
    public static partial void SinkDeadLetter(ILogger logger, string sink, long position, string deadLetterPath, Exception exception);

    [LoggerMessage(5014, LogLevel.Critical, "Spool of {Sink} is corrupt: {What}")]
    public static partial void SpoolCorrupt(ILogger logger, string sink, string what);

    [LoggerMessage(5015, LogLevel.Error, "A prediction could not be recorded ({Reason}); answered 503")]
    public static partial void RecordFailed(ILogger logger, string reason, Exception? exception);

    [LoggerMessage(5008, LogLevel.Error, "Sink {Sink} append of {Count} records failed (attempt {Attempt})")]
    public static partial void SinkAppendFailed(ILogger logger, string sink, int count, int attempt, Exception exception);

    [LoggerMessage(5009, LogLevel.Critical, "ALERT {Severity} {Kind}: {Message}")]
    public static partial void Alert(ILogger logger, string severity, string kind, string message);

    [LoggerMessage(5010, LogLevel.Warning, "Loading model version {Version} failed; keeping {Current}")]
    public static partial void LoadFailed(ILogger logger, string version, string? current, Exception exception);

    [LoggerMessage(5011, LogLevel.Error, "Unhandled error on {Path}")]
    public static partial void Unhandled(ILogger logger, string path, Exception exception);

    [LoggerMessage(5012, LogLevel.Warning, "Admin request refused on {Path}: {Reason}")]
    public static partial void AdminRefused(ILogger logger, string path, string reason);

    [LoggerMessage(5016, LogLevel.Warning, "Monitoring sample of the interval ending {At} was not recorded: {Reason}")]
    public static partial void MonitoringSampleDropped(ILogger logger, DateTimeOffset at, string reason);
}
