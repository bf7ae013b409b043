namespace Lifeline.Cli.Infrastructure;

/// <summary>The one rule of every restore command: it writes into an empty or new directory, never over data.</summary>
internal static class RestoreTargets
{
    /// <summary>Refuses a target that is a file or a directory holding anything (exit 1, like <c>vault restore</c> without <c>--overwrite</c>).</summary>
    public static void RequireEmpty(string path, string option)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        if (File.Exists(full))
        {
            throw new UsageException($"restore target '{full}' given by {option} is a file: give an empty or new directory");
        }

        if (Directory.Exists(full) && Directory.EnumerateFileSystemEntries(full).Any())
        {
            throw new CliException(ExitCodes.Failure, $"restore target '{full}' given by {option} is not empty: choose an empty or new directory (move the old data aside first)");
        }
    }
}
