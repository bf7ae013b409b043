using System.Globalization;
using Lifeline.Storage;

namespace Lifeline.Lake.Protocol;

/// <summary>What kind of file of <c>_delta_log</c> a name is.</summary>
internal enum LogFileKind
{
    Commit,
    Checkpoint,
    MultiPartCheckpoint,
    V2Checkpoint,
}

/// <summary>One file of <c>_delta_log</c> with its parsed version.</summary>
internal sealed record LogFile(LogFileKind Kind, long Version, ObjectInfo Info, int Part = 0, int Parts = 0)
{
    public string FileName => Info.Key[(Info.Key.LastIndexOf('/') + 1)..];
}

/// <summary>Names and parses log file names (PROTOCOL.md "Delta Log Entries", "Checkpoints").</summary>
internal static class LogFiles
{
    public const string LogDir = "_delta_log/";
    public const string LastCheckpoint = "_last_checkpoint";

    public static string CommitName(long version) => version.ToString("D20", CultureInfo.InvariantCulture) + ".json";

    public static string CheckpointName(long version) => version.ToString("D20", CultureInfo.InvariantCulture) + ".checkpoint.parquet";

    public static LogFile? Parse(ObjectInfo info)
    {
        var name = info.Key[(info.Key.LastIndexOf('/') + 1)..];
        if (name.Length < 21 || name[20] != '.' || !long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var version))
        {
            return null;
        }

        var rest = name[21..];
        if (rest == "json")
        {
            return new LogFile(LogFileKind.Commit, version, info);
        }

        if (rest == "checkpoint.parquet")
        {
            return new LogFile(LogFileKind.Checkpoint, version, info);
        }

        var parts = rest.Split('.');
        if (parts.Length == 4 && parts[0] == "checkpoint" && parts[3] == "parquet"
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var part)
            && int.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out var total))
        {
            return new LogFile(LogFileKind.MultiPartCheckpoint, version, info, part, total);
        }

        if (parts.Length == 3 && parts[0] == "checkpoint" && Guid.TryParse(parts[1], out _) && parts[2] is "json" or "parquet")
        {
            return new LogFile(LogFileKind.V2Checkpoint, version, info);
        }

        return null;
    }
}
