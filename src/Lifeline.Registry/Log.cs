using Microsoft.Extensions.Logging;

namespace Lifeline.Registry;

/// <summary>The registry's log events; ids are stable (5100-5199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 5100, Level = LogLevel.Information, Message = "registry serving {Store} with artifacts in {Artifacts}, schema version {Version}")]
    public static partial void Started(ILogger logger, string store, string artifacts, int version);

    [LoggerMessage(EventId = 5101, Level = LogLevel.Warning, Message = "refused {Method} {Path}: {Reason}")]
    public static partial void AuthRefused(ILogger logger, string method, string path, string reason);

    [LoggerMessage(EventId = 5102, Level = LogLevel.Critical, Message = "registry database is corrupt: {Message}")]
    public static partial void Corrupt(ILogger logger, string message);

    [LoggerMessage(EventId = 5103, Level = LogLevel.Error, Message = "internal error on {Method} {Path}")]
    public static partial void InternalError(ILogger logger, string method, string path, Exception exception);
}
