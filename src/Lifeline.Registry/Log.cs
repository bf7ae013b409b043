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

    [LoggerMessage(EventId = 5110, Level = LogLevel.Information, Message = "registry backup {Mode} to {Target}: {Objects} artifact objects, {Bytes} bytes")]
    public static partial void BackupDone(ILogger logger, string mode, string target, int objects, long bytes);

    [LoggerMessage(EventId = 5111, Level = LogLevel.Information, Message = "registry restore {Mode} from {Source}: {Created} created, {Skipped} already present")]
    public static partial void RestoreDone(ILogger logger, string mode, string source, int created, int skipped);
}
