using System.Runtime.InteropServices;

namespace Lifeline.Registry.Backup;

/// <summary>link(2), which .NET does not expose: a staging copy of an artifact that costs no disk space.</summary>
internal static partial class HardLink
{
    /// <summary>Links <paramref name="destination"/> to <paramref name="source"/> (creating its folder); <c>false</c> where hard links are not available (Windows, another file system).</summary>
    public static bool TryCreate(string source, string destination)
    {
        if (OperatingSystem.IsWindows())
        {
            return false;
        }

        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        return Link(source, destination) == 0;
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);
}
