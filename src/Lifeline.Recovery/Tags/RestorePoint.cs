using System.Globalization;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tags;

/// <summary>A recovery point of a component: one vault snapshot, known by the same <see cref="Id"/> in every location
/// it was copied to (the primary's snapshot id; a copy records it as its original id).</summary>
public sealed record RecoveryPoint
{
    /// <summary>The id shared by the snapshot and its copies (64 hex characters).</summary>
    public required string Id { get; init; }

    /// <summary>The first 8 characters of <see cref="Id"/>.</summary>
    public string ShortId => Id.Length > 8 ? Id[..8] : Id;

    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>When the captured data was current (the tag time, else the snapshot time).</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>The decoded tags.</summary>
    public required RecoveryPointTags Tags { get; init; }

    /// <summary>The snapshot's statistics, from whichever location listed it first.</summary>
    public SnapshotSummary? Summary { get; init; }

    /// <summary>The identity of <paramref name="snapshot"/> across locations.</summary>
    public static string IdentityOf(SnapshotInfo snapshot) => snapshot.OriginalId ?? snapshot.Id;

    /// <summary>The recovery point <paramref name="snapshot"/> holds, or null if it carries no component tag.</summary>
    public static RecoveryPoint? From(SnapshotInfo snapshot) => RecoveryPointTags.Of(snapshot) is { } tags
        ? new RecoveryPoint { Id = IdentityOf(snapshot), Component = tags.Component, Time = tags.Time ?? snapshot.Time, Tags = tags, Summary = snapshot.Summary }
        : null;
}

/// <summary>Which recovery point a restore wants: <c>latest</c>, the newest at or before a time, or one by id (prefix).
/// Every command that restores parses its <c>--at</c> with <see cref="Parse"/> and chooses with <see cref="Choose"/>.</summary>
public sealed record RestorePointSpec
{
    private RestorePointSpec()
    {
    }

    /// <summary>The newest recovery point.</summary>
    public static RestorePointSpec Latest { get; } = new();

    /// <summary>Set for "the newest at or before this time".</summary>
    public DateTimeOffset? At { get; private init; }

    /// <summary>Set for "this id" (a prefix of at least 4 hex characters of the point's id).</summary>
    public string? Id { get; private init; }

    /// <summary>The newest point at or before <paramref name="time"/>.</summary>
    public static RestorePointSpec AtOrBefore(DateTimeOffset time) => new() { At = time };

    /// <summary>The point whose id starts with <paramref name="idPrefix"/>.</summary>
    public static RestorePointSpec ById(string idPrefix) => new() { Id = idPrefix.ToLowerInvariant() };

    /// <summary>Parses <c>latest</c>, an ISO-8601 time (<c>2026-03-02T12:00:00Z</c>, <c>2026-03-02</c> = midnight UTC),
    /// or a hex id prefix of 4 to 64 characters.</summary>
    /// <exception cref="FormatException">None of these; the message says what to write.</exception>
    public static RestorePointSpec Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = text.Trim();
        if (text.Length == 0 || text.Equals("latest", StringComparison.OrdinalIgnoreCase))
        {
            return Latest;
        }

        if (text.Length is >= 4 and <= 64 && text.All(Uri.IsHexDigit))
        {
            return ById(text);
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
        {
            return AtOrBefore(at);
        }

        throw new FormatException($"'{text}' is not a restore point: write latest, a time such as 2026-03-02T12:00:00Z, or a snapshot id");
    }

    /// <summary>The chosen point among <paramref name="points"/> (any order), or null when none fits.</summary>
    /// <exception cref="AmbiguousRestorePointException">An id prefix matches several points.</exception>
    public RecoveryPoint? Choose(IEnumerable<RecoveryPoint> points)
    {
        if (Id is { } prefix)
        {
            var matches = points.Where(p => p.Id.StartsWith(prefix, StringComparison.Ordinal)).DistinctBy(p => p.Id).ToList();
            return matches.Count switch
            {
                0 => null,
                1 => matches[0],
                _ => throw new AmbiguousRestorePointException(prefix, matches.Count),
            };
        }

        return points.Where(p => At is null || p.Time <= At).OrderByDescending(p => p.Time).ThenByDescending(p => p.Id, StringComparer.Ordinal).FirstOrDefault();
    }

    /// <summary>The spec as a user writes it.</summary>
    public override string ToString() => Id ?? At?.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture) ?? "latest";
}
