using System.Globalization;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tags;

/// <summary>
/// What a vault snapshot says about the recovery point it holds, as tags: <c>lifeline:component=NAME</c>,
/// <c>lifeline:table=NAME</c>, <c>lifeline:version=N</c>, <c>lifeline:time=ISO-8601</c> (when the data was captured,
/// e.g. a Delta version's commit time) and <c>lifeline:mode=native|api|...</c>. Every adapter's snapshots carry them,
/// written and read only by <see cref="RecoveryPointTags.Encode"/> and <see cref="RecoveryPointTags.Decode"/>.
/// </summary>
public sealed record RecoveryPointTags
{
    /// <summary>The prefix of every tag the codec writes.</summary>
    public const string Prefix = "lifeline:";

    /// <summary>The component the snapshot belongs to (also the snapshot's vault source).</summary>
    public required string Component { get; init; }

    /// <summary>For a lake table: the table's name.</summary>
    public string? Table { get; init; }

    /// <summary>The component's own version of the data (a Delta version, a registry schema version), if it has one.</summary>
    public long? Version { get; init; }

    /// <summary>When the captured data was current; the snapshot's time when absent.</summary>
    public DateTimeOffset? Time { get; init; }

    /// <summary>How the point was taken (<c>native</c>, <c>api</c>, <c>full</c>, ...), if the adapter has several ways.</summary>
    public string? Mode { get; init; }

    /// <summary>The tag that selects every snapshot of <paramref name="component"/>.</summary>
    public static string ComponentTag(string component) => Prefix + "component=" + Escape(component);

    /// <summary>The tags of this point, in a fixed order; values are percent-escaped, so any text round-trips.</summary>
    public IReadOnlyList<string> Encode()
    {
        ArgumentException.ThrowIfNullOrEmpty(Component);
        var tags = new List<string> { ComponentTag(Component) };
        if (Table is not null)
        {
            tags.Add(Prefix + "table=" + Escape(Table));
        }

        if (Version is { } v)
        {
            tags.Add(Prefix + "version=" + v.ToString(CultureInfo.InvariantCulture));
        }

        if (Time is { } t)
        {
            tags.Add(Prefix + "time=" + t.ToUniversalTime().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture));
        }

        if (Mode is not null)
        {
            tags.Add(Prefix + "mode=" + Escape(Mode));
        }

        return tags;
    }

    /// <summary>Reads the codec's tags back; null when there is no well-formed component tag. Other tags are ignored,
    /// a malformed value of a known key is ignored (an old or foreign snapshot never breaks a listing).</summary>
    public static RecoveryPointTags? Decode(IEnumerable<string> tags)
    {
        string? component = null, table = null, mode = null;
        long? version = null;
        DateTimeOffset? time = null;
        foreach (var tag in tags)
        {
            if (!tag.StartsWith(Prefix, StringComparison.Ordinal) || tag.IndexOf('=', StringComparison.Ordinal) is var eq && eq < 0)
            {
                continue;
            }

            var key = tag[Prefix.Length..eq];
            var value = tag[(eq + 1)..];
            switch (key)
            {
                case "component":
                    component = Unescape(value);
                    break;
                case "table":
                    table = Unescape(value);
                    break;
                case "mode":
                    mode = Unescape(value);
                    break;
                case "version" when long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n):
                    version = n;
                    break;
                case "time" when DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at):
                    time = at;
                    break;
            }
        }

        return string.IsNullOrEmpty(component) ? null : new RecoveryPointTags { Component = component, Table = table, Version = version, Time = time, Mode = mode };
    }

    /// <summary>The tags of <paramref name="snapshot"/>, decoded; a snapshot written before the codec (the registry's
    /// <c>registry</c>, <c>mode=X</c>; the lake's <c>lake</c>, <c>lake-table:PATH</c>, <c>lake-version:N</c>,
    /// <c>lake-time:MS</c>) is read with the same meaning (<see cref="LegacyTags"/>).</summary>
    public static RecoveryPointTags? Of(SnapshotInfo snapshot) => Decode(snapshot.Tags) ?? LegacyTags.Decode(snapshot);

    /// <summary>The filter that selects every snapshot of <paramref name="component"/> in a vault: its vault source
    /// (the component's name), so that snapshots written with the old tags are selected too; callers keep those whose
    /// decoded component is <paramref name="component"/>.</summary>
    public static SnapshotFilter FilterFor(string component) => new() { Source = component };

    private static string Escape(string value) => Uri.EscapeDataString(value);

    private static string? Unescape(string value)
    {
        try
        {
            return Uri.UnescapeDataString(value);
        }
        catch (UriFormatException)
        {
            return null;
        }
    }
}
