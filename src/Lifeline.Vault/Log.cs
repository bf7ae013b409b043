using Microsoft.Extensions.Logging;

namespace Lifeline.Vault;

/// <summary>The vault's log events; ids are stable (operational signals).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Information, Message = "Vault {Location} opened with key {KeyId}")]
    public static partial void Opened(ILogger logger, string location, string keyId);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Information, Message = "Backup of source {Source} wrote snapshot {SnapshotId}: {Files} files, {DataAdded} bytes added, {Errors} errors")]
    public static partial void BackupDone(ILogger logger, string source, string snapshotId, long files, long dataAdded, int errors);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Warning, Message = "Backup could not read {Path}: {Message}")]
    public static partial void SourceError(ILogger logger, string path, string message);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Information, Message = "Restore of snapshot {SnapshotId} into {Target}: {Files} files, {Bytes} bytes")]
    public static partial void RestoreDone(ILogger logger, string snapshotId, string target, long files, long bytes);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Forget removed snapshot {SnapshotId}")]
    public static partial void SnapshotForgotten(ILogger logger, string snapshotId);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Information, Message = "Prune deleted {Packs} packs, rewrote {Rewritten}, freed {Bytes} bytes")]
    public static partial void PruneDone(ILogger logger, int packs, int rewritten, long bytes);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Warning, Message = "Lock {LockId} renewal failed: {Message}")]
    public static partial void LockRenewFailed(ILogger logger, string lockId, string message);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning, Message = "Lock {LockId} was removed by someone else; the lease is lost")]
    public static partial void LockLost(ILogger logger, string lockId);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information, Message = "Copied snapshot {SnapshotId} to {Destination} as {NewId}")]
    public static partial void SnapshotCopied(ILogger logger, string snapshotId, string destination, string newId);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Error, Message = "Index file {Key} is corrupt and was skipped: {Message}")]
    public static partial void CorruptIndex(ILogger logger, string key, string message);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Error, Message = "Snapshot file {Key} is corrupt and was skipped: {Message}")]
    public static partial void CorruptSnapshot(ILogger logger, string key, string message);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Warning, Message = "Ignoring undecodable lock {LockKey}")]
    public static partial void BadLock(ILogger logger, string lockKey);
}
