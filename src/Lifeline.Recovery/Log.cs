using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery;

/// <summary>Recovery's log events; ids are stable (operational signals). No event carries a secret: messages from
/// exceptions are redacted before they are logged.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "Backup of {Component} wrote recovery point {PointId} to {Location}: {Files} files, {DataAdded} bytes added")]
    public static partial void BackupWritten(ILogger logger, string component, string pointId, string location, long files, long dataAdded);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "Recovery point {PointId} of {Component} copied to {Location}: {Snapshots} snapshots, {Bytes} bytes")]
    public static partial void Copied(ILogger logger, string pointId, string component, string location, int snapshots, long bytes);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Copy of {Component} to {Location} failed: {Reason}")]
    public static partial void CopyFailed(ILogger logger, string component, string location, string reason);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Error, Message = "Backup of {Component} failed: {Reason}")]
    public static partial void BackupFailed(ILogger logger, string component, string reason);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Information, Message = "Restore of {Component} point {PointId} served by {Location} into {Target}")]
    public static partial void RestoreServed(ILogger logger, string component, string pointId, string location, string target);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Warning, Message = "Restore of {Component} point {PointId} from {Location} failed, trying the next location: {Reason}")]
    public static partial void RestoreFellBack(ILogger logger, string component, string pointId, string location, string reason);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Warning, Message = "Retention finding: {Finding}")]
    public static partial void RetentionFinding(ILogger logger, string finding);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Information, Message = "Forget of {Component} in {Location}: keeps {Kept}, removes {Removed} (dry run: {DryRun})")]
    public static partial void Forgot(ILogger logger, string component, string location, int kept, int removed, bool dryRun);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Information, Message = "Prune of {Location}: {Packs} packs deleted, {Rewritten} rewritten, {Bytes} bytes freed")]
    public static partial void Pruned(ILogger logger, string location, int packs, int rewritten, long bytes);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Warning, Message = "Verification of {Component} point {PointId} in {Location} failed: {Reason}")]
    public static partial void VerifyFailed(ILogger logger, string component, string pointId, string location, string reason);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Error, Message = "The audit record of {Action} could not be written: {Reason}")]
    public static partial void AuditFailed(ILogger logger, string action, string reason);

    // Protection/ChangeProtector (6101-6119)
    [LoggerMessage(EventId = 6101, Level = LogLevel.Information, Message = "Change protection started: {Tables} tables, registry {Registry}, {Configurations} configurations; replicas in {Secondaries}")]
    public static partial void ProtectionStarted(ILogger logger, int tables, bool registry, int configurations, string secondaries);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Warning, Message = "Replication of {Component} to {Location} failed, retrying: {Reason}")]
    public static partial void ReplicationFailed(ILogger logger, string component, string location, string reason);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Information, Message = "Change of {Component} detected; backing it up")]
    public static partial void ChangeDetected(ILogger logger, string component);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Warning, Message = "Change protection of {Component} failed, retrying: {Reason}")]
    public static partial void ProtectionFailed(ILogger logger, string component, string reason);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Information, Message = "Cut recorded in {Location}: registry point {RegistryPoint}, {Tables} tables")]
    public static partial void CutRecorded(ILogger logger, string location, string registryPoint, int tables);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Warning, Message = "Heartbeat write failed: {Reason}")]
    public static partial void HeartbeatFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Information, Message = "Protection maintenance: {CutsRemoved} cut records removed")]
    public static partial void ProtectionMaintenance(ILogger logger, int cutsRemoved);

    // Verification (6601-6609)
    [LoggerMessage(EventId = 6601, Level = LogLevel.Warning, Message = "Verification check {Check} failed for {Subject}: {Summary}")]
    public static partial void CheckFailed(ILogger logger, string check, string subject, string summary);

    [LoggerMessage(EventId = 6602, Level = LogLevel.Error, Message = "The evidence of {Check} could not be kept: {Reason}")]
    public static partial void EvidenceNotKept(ILogger logger, string check, string reason);

    [LoggerMessage(EventId = 6603, Level = LogLevel.Error, Message = "The incident signal {Cause} could not be raised: {Reason}")]
    public static partial void SignalNotRaised(ILogger logger, string cause, string reason);
}
