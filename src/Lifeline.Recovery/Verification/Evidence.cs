using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Configuration;
using Lifeline.Storage;

namespace Lifeline.Recovery.Verification;

/// <summary>What one verification check found about one component in one location (docs/verification.md).</summary>
public sealed record EvidenceRecord
{
    /// <summary>Unique, ordered by time (the object key); assigned when appended.</summary>
    public string Id { get; init; } = "";

    /// <summary>The check: one of <see cref="Plan.VerificationPlan.KnownChecks"/>, or <c>after-write</c>/<c>after-copy</c>
    /// for the read-back of packs as they are written.</summary>
    public required string Check { get; init; }

    /// <summary>The plan's check that ran it (<c>daily</c>, <c>weekly</c>), or null for a run by hand or after a backup.</summary>
    public string? Run { get; init; }

    /// <summary>The component checked, when the check is about one.</summary>
    public string? Component { get; init; }

    /// <summary>The location checked, when the check is about one.</summary>
    public string? Location { get; init; }

    /// <summary>What it was checked against, in words: "the last 20 incremental backups", "the source's manifest".</summary>
    public string? Against { get; init; }

    /// <summary>When the check started.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Whether it passed.</summary>
    public required bool Passed { get; init; }

    /// <summary>One line: what was found, with the numbers; never a secret.</summary>
    public required string Summary { get; init; }

    /// <summary>The measured figures by name (bytes, rows, seconds, ratios), for reports and trends.</summary>
    public IReadOnlyDictionary<string, double> Numbers { get; init; } = new Dictionary<string, double>();

    /// <summary>The location could not be read at all (unreachable, no vault, wrong password): its cause is the
    /// location (<c>location:NAME</c>, one incident), not the component.</summary>
    public bool Unreachable { get; init; }
}

/// <summary>The evidence of every check, append-only.</summary>
public interface IEvidenceLog
{
    /// <summary>Appends <paramref name="record"/> (its id assigned if empty); returns it as stored.</summary>
    Task<EvidenceRecord> AppendAsync(EvidenceRecord record, CancellationToken cancellationToken = default);

    /// <summary>Every record, oldest first.</summary>
    IAsyncEnumerable<EvidenceRecord> ReadAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// The evidence kept with the vaults, as the audit is: one JSON object per record under <c>lifeline/evidence/</c>,
/// written put-if-absent under a key that sorts by time into every store that accepts it (so the evidence is itself
/// replicated: a lost location does not lose it), read merged by id. An append fails only when no store takes it.
/// </summary>
public sealed class ObjectStoreEvidenceLog : IEvidenceLog
{
    /// <summary>The key prefix of evidence records.</summary>
    public const string Prefix = "lifeline/evidence/";

    private readonly ObjectStoreRecordLog<EvidenceRecord> _log;

    /// <summary>A log over the stores given.</summary>
    public ObjectStoreEvidenceLog(IReadOnlyList<IObjectStore> stores)
        : this(_ => Task.FromResult(stores))
    {
    }

    /// <summary>A log over stores resolved when first needed (the locations that can be opened).</summary>
    public ObjectStoreEvidenceLog(Func<CancellationToken, Task<IReadOnlyList<IObjectStore>>> stores) =>
        _log = new ObjectStoreRecordLog<EvidenceRecord>(Prefix, EvidenceJson.Default.EvidenceRecord, (r, id) => r with { Id = id }, stores);

    /// <inheritdoc/>
    public async Task<EvidenceRecord> AppendAsync(EvidenceRecord record, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(record);
        var stored = record with
        {
            Id = record.Id.Length > 0 ? record.Id : ObjectStoreRecordLog<EvidenceRecord>.NewId(record.Time),
            Summary = Secrets.RedactText(record.Summary),
            Against = record.Against is null ? null : Secrets.RedactText(record.Against),
        };
        var (written, last) = await _log.PutAsync(stored.Id, stored, everywhere: true, cancellationToken);
        return written > 0 ? stored
            : throw new RecoveryException($"the evidence of {stored.Check} could not be written to any location ({(last is null ? "no location" : Locations.LocationSet.FirstLine(last.Message))}): check the locations", last);
    }

    /// <inheritdoc/>
    public async IAsyncEnumerable<EvidenceRecord> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var r in await ReadAsync(null, cancellationToken))
        {
            yield return r;
        }
    }

    /// <summary>Every record, oldest first; with a <paramref name="cache"/> kept between calls only the records
    /// written since the last call are fetched.</summary>
    public Task<IReadOnlyList<EvidenceRecord>> ReadAsync(RecordLogCache<EvidenceRecord>? cache, CancellationToken cancellationToken = default) =>
        _log.ReadAsync(cache, cancellationToken);
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(EvidenceRecord))]
internal sealed partial class EvidenceJson : JsonSerializerContext;
