using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Lifeline.Registry.Backup;

/// <summary>What the artifact mirror compares of a file: the same fields as the vault's unchanged-file check.</summary>
internal readonly record struct LinkStat(long Size, long MtimeNs, long CtimeNs, long Inode);

/// <summary>link(2) and statx(2), which .NET does not expose: a staging copy of an artifact that costs no disk space, and the inode and ctime that tell whether it is still the same file.</summary>
internal static partial class HardLink
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;

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

    /// <summary>Size, nanosecond mtime and ctime, inode of <paramref name="path"/> (Linux); <c>null</c> where it is missing or statx is not available.</summary>
    public static LinkStat? TryStat(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        Span<byte> b = stackalloc byte[256];
        try
        {
            if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, b) != 0)
            {
                return null;
            }
        }
        catch (EntryPointNotFoundException)
        {
            return null;
        }

        return new LinkStat(
            (long)BinaryPrimitives.ReadUInt64LittleEndian(b[40..]),
            Ns(b[112..]),
            Ns(b[96..]),
            (long)BinaryPrimitives.ReadUInt64LittleEndian(b[32..]));
    }

    private static long Ns(ReadOnlySpan<byte> ts)
        => (BinaryPrimitives.ReadInt64LittleEndian(ts) * 1_000_000_000L) + BinaryPrimitives.ReadUInt32LittleEndian(ts[8..]);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, Span<byte> buffer);
}
