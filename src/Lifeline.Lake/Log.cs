using Microsoft.Extensions.Logging;

namespace Lifeline.Lake;

/// <summary>The log events of Lifeline.Lake; event ids are stable (3000-3099).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Warning, Message = "{Table}: _last_checkpoint is corrupt ({Reason}); falling back to listing")]
    public static partial void CorruptLastCheckpoint(ILogger logger, string table, string reason);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "{Table}: checkpoint {Version} skipped ({Reason}); using an older checkpoint or the commits")]
    public static partial void CheckpointSkipped(ILogger logger, string table, long version, string reason);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "{Table}: committed version {Version} ({Operation})")]
    public static partial void Committed(ILogger logger, string table, long version, string operation);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "{Table}: commit of version {Version} lost a race; retrying as {Next}")]
    public static partial void CommitRetry(ILogger logger, string table, long version, long next);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information, Message = "{Table}: wrote checkpoint {Version}")]
    public static partial void CheckpointWritten(ILogger logger, string table, long version);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Information, Message = "{Table}: vacuum deleted {Count} files")]
    public static partial void Vacuumed(ILogger logger, string table, int count);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information, Message = "{Table}: log clean-up deleted {Count} log files before version {Version}")]
    public static partial void LogCleaned(ILogger logger, string table, int count, long version);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Information, Message = "{Table}: replicated version {Version} to {Target}")]
    public static partial void Replicated(ILogger logger, string table, long version, string target);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Information, Message = "{Table}: OPTIMIZE committed version {Version}: {Removed} files compacted into {Added}")]
    public static partial void Optimized(ILogger logger, string table, long version, int removed, int added);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Information, Message = "{Table}: compacted {Removed} small files into {Added} (version {Version}) and checkpointed")]
    public static partial void Compacted(ILogger logger, string table, int removed, int added, long version);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Warning, Message = "{Table}: compaction did not complete this round ({Reason}); the next round tries again")]
    public static partial void CompactionFailed(ILogger logger, string table, string reason);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Warning, Message = "{Table}: compaction gave way to a concurrent commit this round ({Reason}); the next round tries again")]
    public static partial void CompactionLostRace(ILogger logger, string table, string reason);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Warning, Message = "{Table}: the retention pass (log clean-up and VACUUM) did not complete this round ({Reason}); the next round tries again")]
    public static partial void RetentionFailed(ILogger logger, string table, string reason);
}
