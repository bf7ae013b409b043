using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeline.Recovery.Configuration;
using Lifeline.Storage;

namespace Lifeline.Recovery.Audit;

/// <summary>The actions that change something and are audited.</summary>
public static class AuditActions
{
    /// <summary>A component backup (capture, primary, copies, verification).</summary>
    public const string Backup = "backup";

    /// <summary>A restore (not a dry run).</summary>
    public const string Restore = "restore";

    /// <summary>A retention run (not a dry run).</summary>
    public const string Forget = "forget";

    /// <summary>A prune of the locations (not a dry run): the data no snapshot uses is deleted.</summary>
    public const string Prune = "prune";

    /// <summary>A vault key added or removed.</summary>
    public const string KeyChange = "key-change";

    /// <summary>A verification of recovery points in locations.</summary>
    public const string Verify = "verify";
}

/// <summary>How an audited action ended.</summary>
public static class AuditOutcomes
{
    /// <summary>Done.</summary>
    public const string Ok = "ok";

    /// <summary>Done in part (e.g. backed up but not copied everywhere).</summary>
    public const string Partial = "partial";

    /// <summary>Failed; <see cref="AuditRecord.Message"/> says why.</summary>
    public const string Failed = "failed";

    /// <summary>Stored when an action starts (with its <see cref="AuditRecord.Operation"/>); reading pairs it with the
    /// action's end record and shows only that one.</summary>
    public const string Started = "started";

    /// <summary>Read, never stored: an action whose start was recorded and whose end never was (the process was
    /// killed, or is still running).</summary>
    public const string Interrupted = "interrupted";
}

/// <summary>Why a backup failed, when the reason matters to a reader (<see cref="AuditRecord.FailureKind"/>).</summary>
public static class AuditFailureKinds
{
    /// <summary>A pack the backup wrote or copied was damaged on read-back (the vault's <c>PackReadBackException</c>):
    /// the snapshot was not committed; the next backup writes the pack again.</summary>
    public const string ReadBack = "read-back";
}

/// <summary>One audited action. Never holds a secret: arguments and messages are redacted before they get here.</summary>
public sealed record AuditRecord
{
    /// <summary>Unique, and ordered by time (the object key).</summary>
    public string Id { get; init; } = "";

    /// <summary>When the action started.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>One of <see cref="AuditActions"/>.</summary>
    public required string Action { get; init; }

    /// <summary>The user who ran it.</summary>
    public required string Who { get; init; }

    /// <summary>The host it ran on.</summary>
    public required string Host { get; init; }

    /// <summary>The command's arguments, secrets redacted.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>The component, when the action is about one.</summary>
    public string? Component { get; init; }

    /// <summary>One of <see cref="AuditOutcomes"/>.</summary>
    public required string Outcome { get; init; }

    /// <summary>Why it failed, or a one-line summary; redacted.</summary>
    public string? Message { get; init; }

    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>The recovery point written or restored (its id shared by every location).</summary>
    public string? Snapshot { get; init; }

    /// <summary>Bytes captured or restored.</summary>
    public long? Bytes { get; init; }

    /// <summary>Backup phases: taking the snapshot into the primary.</summary>
    public TimeSpan? BackupDuration { get; init; }

    /// <summary>Backup phases: copying to every other location.</summary>
    public TimeSpan? CopyDuration { get; init; }

    /// <summary>Backup phases: verifying in every location.</summary>
    public TimeSpan? VerifyDuration { get; init; }

    /// <summary>The locations the point was verified in (backup and verify records).</summary>
    public IReadOnlyList<string> VerifiedIn { get; init; } = [];

    /// <summary>For restores: which location served what (<c>component: location</c>).</summary>
    public IReadOnlyList<string> ServedBy { get; init; } = [];

    /// <summary>The operation id shared by the <see cref="AuditOutcomes.Started"/> record of an action and its end record.</summary>
    public string? Operation { get; init; }

    /// <summary>Backups: true for a full backup (every byte re-read), false for an incremental one; null in older records.</summary>
    public bool? Full { get; init; }

    /// <summary>Backups: bytes newly stored in the primary (after compression and encryption).</summary>
    public long? DataAdded { get; init; }

    /// <summary>Backups: plaintext bytes of content new to the primary, before compression.</summary>
    public long? RawDataAdded { get; init; }

    /// <summary>Backups: of <see cref="RawDataAdded"/>, the bytes that did not compress (the ransomware-like alarm
    /// of the size-in-range check compares it with the component's history: docs/verification.md).</summary>
    public long? IncompressibleAdded { get; init; }

    /// <summary>Failed backups: one of <see cref="AuditFailureKinds"/> when the cause is one a reader tells apart
    /// (<c>failureKind</c> in the JSON); null for other failures and in records written before the field.</summary>
    public string? FailureKind { get; init; }
}

/// <summary>An append-only list of <see cref="AuditRecord"/>s.</summary>
public interface IAuditLog
{
    /// <summary>Appends <paramref name="record"/> (its id is assigned if empty); returns the record as stored.</summary>
    Task<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default);

    /// <summary>Every record, oldest first.</summary>
    IAsyncEnumerable<AuditRecord> ReadAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The audit log kept with the vault: one JSON object per record under <c>lifeline/audit/</c> in a location's store
/// (beside the vault's own objects, which it never touches), written with put-if-absent under a key that sorts by
/// time (<c>lifeline/audit/20260302T120000.000Z-RANDOM.json</c>), so records are never overwritten and a crash leaves
/// either the whole record or none. Appends go to the first store that accepts them (the primary, else the next), and
/// reading merges every store by id, so a failure recorded while the primary was down is still read.
/// </summary>
public sealed class ObjectStoreAuditLog : IAuditLog
{
    /// <summary>The key prefix of audit records.</summary>
    public const string Prefix = "lifeline/audit/";

    private readonly ObjectStoreRecordLog<AuditRecord> _log;
    private readonly TimeProvider _time;

    /// <summary>A log over the stores given (first = where appends go).</summary>
    public ObjectStoreAuditLog(IReadOnlyList<IObjectStore> stores, TimeProvider? time = null)
        : this(_ => Task.FromResult(stores), time)
    {
    }

    /// <summary>A log over stores resolved when first needed (the locations that can be opened, primary first).</summary>
    public ObjectStoreAuditLog(Func<CancellationToken, Task<IReadOnlyList<IObjectStore>>> stores, TimeProvider? time = null)
    {
        _log = new ObjectStoreRecordLog<AuditRecord>(Prefix, AuditJson.Default.AuditRecord, (r, id) => r with { Id = id }, stores);
        _time = time ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public async Task<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with
        {
            Id = record.Id.Length > 0 ? record.Id : ObjectStoreRecordLog<AuditRecord>.NewId(record.Time),
            Arguments = Secrets.RedactArguments(record.Arguments),
            Message = record.Message is null ? null : Secrets.RedactText(record.Message),
        };
        var (written, last) = await _log.PutAsync(stored.Id, stored, everywhere: false, cancellationToken);
        return written > 0 ? stored
            : throw new RecoveryException($"the audit record of {stored.Action} could not be written to any location ({LocationsFirstLine(last)}): check the locations", last);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<AuditRecord> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var r in await ReadAsync(null, cancellationToken))
        {
            yield return r;
        }
    }

    /// <summary>Every record, oldest first, as <see cref="ReadAsync(CancellationToken)"/>; with a
    /// <paramref name="cache"/> kept between calls only the records written since the last call are fetched (the
    /// incidents service reads the audit every round this way).</summary>
    public async Task<IReadOnlyList<AuditRecord>> ReadAsync(RecordLogCache<AuditRecord>? cache, CancellationToken cancellationToken = default) =>
        [.. Pair(await _log.ReadAsync(cache, cancellationToken))];

    /// <summary>A started record is dropped when its operation's end record is there, and otherwise read as
    /// <see cref="AuditOutcomes.Interrupted"/>: a SIGKILL leaves the start, never the end.</summary>
    internal static IEnumerable<AuditRecord> Pair(IEnumerable<AuditRecord> records)
    {
        var all = records.ToList();
        var ended = all.Where(r => r.Outcome != AuditOutcomes.Started && r.Operation is not null).Select(r => r.Operation!).ToHashSet(StringComparer.Ordinal);
        foreach (var r in all)
        {
            if (r.Outcome != AuditOutcomes.Started)
            {
                yield return r;
            }
            else if (r.Operation is null || !ended.Contains(r.Operation))
            {
                yield return r with
                {
                    Outcome = AuditOutcomes.Interrupted,
                    Message = $"started {r.Time.ToUniversalTime():yyyy-MM-dd HH:mm:ss}Z on {r.Host} and never finished: the process was killed (or is still running); the next run completes the work",
                };
            }
        }
    }

    /// <summary>Now, by this log's clock.</summary>
    internal DateTimeOffset Now => _time.GetUtcNow();

    private static string LocationsFirstLine(Exception? e) => e is null ? "no location" : Locations.LocationSet.FirstLine(e.Message);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuditRecord))]
internal sealed partial class AuditJson : JsonSerializerContext;
