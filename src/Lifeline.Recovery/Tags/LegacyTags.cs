using System.Globalization;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tags;

/// <summary>
/// The tags the two component backups wrote before the codec, read with the same meaning, so that every snapshot
/// taken by an older Lifeline stays restorable: the registry's (source <c>registry</c>, tags <c>registry</c> and
/// <c>mode=native|api</c>) and the lake table's (source <c>lake</c>, tags <c>lake</c>, <c>lake-table:PATH</c>,
/// <c>lake-version:N</c>, <c>lake-time:UNIX-MS</c>). Nothing writes them any more.
/// </summary>
public static class LegacyTags
{
    /// <summary>The old registry source and tag.</summary>
    public const string Registry = "registry";

    /// <summary>The old lake source and tag.</summary>
    public const string Lake = "lake";

    private const string RegistryMode = "mode=";
    private const string LakeTable = "lake-table:";
    private const string LakeVersion = "lake-version:";
    private const string LakeTime = "lake-time:";

    /// <summary>The meaning of an old-tagged snapshot, or null when it is not one.</summary>
    public static RecoveryPointTags? Decode(SnapshotInfo snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        var tags = snapshot.Tags;
        if (snapshot.Source == Registry && tags.Contains(Registry))
        {
            var mode = tags.FirstOrDefault(t => t.StartsWith(RegistryMode, StringComparison.Ordinal))?[RegistryMode.Length..];
            return new RecoveryPointTags { Component = Registry, Mode = mode, Time = snapshot.Time };
        }

        if (tags.Contains(Lake) && tags.FirstOrDefault(t => t.StartsWith(LakeTable, StringComparison.Ordinal)) is { } tableTag)
        {
            var table = tableTag[LakeTable.Length..];
            var time = Number(tags, LakeTime) is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
            var name = Path.GetFileName(Path.TrimEndingDirectorySeparator(table));
            return new RecoveryPointTags { Component = name.Length == 0 ? Lake : name, Table = table, Version = Number(tags, LakeVersion), Time = time };
        }

        return null;
    }

    private static long? Number(IReadOnlyList<string> tags, string prefix) =>
        tags.FirstOrDefault(t => t.StartsWith(prefix, StringComparison.Ordinal)) is { } tag
        && long.TryParse(tag.AsSpan(prefix.Length), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;
}
