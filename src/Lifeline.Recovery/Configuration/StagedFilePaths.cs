namespace Lifeline.Recovery.Configuration;

/// <summary>
/// How a file-based adapter (configuration, jobs) names a live file inside its staging directory, and where a staged
/// file goes back: a file under the base directory keeps its relative path; one outside it is kept under
/// <c>_abs/</c> with its absolute path, and restored there only into the live location (into a target directory
/// otherwise, so a restore beside the live one never writes outside its target).
/// </summary>
internal static class StagedFilePaths
{
    private const string OutsidePrefix = "_abs";

    /// <summary>The staged relative path of the live <paramref name="file"/>.</summary>
    public static string Staged(string baseDirectory, string file)
    {
        var rel = Path.GetRelativePath(baseDirectory, file);
        return rel.StartsWith("..", StringComparison.Ordinal) || Path.IsPathRooted(rel)
            ? Path.Combine(OutsidePrefix, file.TrimStart('/', '\\'))
            : rel;
    }

    /// <summary>Where the staged <paramref name="stagedPath"/> is restored: its absolute place for a live restore of an
    /// outside file, else under <paramref name="targetDirectory"/>.</summary>
    public static string Destination(string stagedPath, string targetDirectory, bool live)
    {
        var rel = stagedPath.Replace('/', Path.DirectorySeparatorChar);
        return live && rel.StartsWith(OutsidePrefix + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? Path.DirectorySeparatorChar + rel[(OutsidePrefix.Length + 1)..]
            : Path.Combine(targetDirectory, rel);
    }
}
