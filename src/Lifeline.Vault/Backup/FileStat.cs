using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace Lifeline.Vault.Backup;

/// <summary>What backup needs to know of a file system entry, from lstat (no link following).</summary>
internal readonly record struct FileStat(NodeType? Type, long Size, long MtimeNs, long CtimeNs, long Inode, int Mode);

/// <summary>
/// lstat via Linux statx(2) (its struct layout is the same on every architecture), so that backup gets inode, ctime
/// and nanosecond mtime, which .NET does not expose; elsewhere falls back to FileSystemInfo (no inode/ctime).
/// </summary>
internal static partial class FileStats
{
    private const int AtFdCwd = -100;
    private const int AtSymlinkNoFollow = 0x100;
    private const uint StatxBasicStats = 0x7ff;
    private static bool s_statxMissing = !OperatingSystem.IsLinux();

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Statx(int dirfd, string path, int flags, uint mask, Span<byte> buffer);

    [LibraryImport("libc", EntryPoint = "utimensat", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Utimensat(int dirfd, string path, ReadOnlySpan<long> times, int flags);

    /// <summary>Stats without following a final symlink; throws IOException-family exceptions like File APIs.</summary>
    public static FileStat Lstat(string path)
    {
        if (!s_statxMissing)
        {
            Span<byte> b = stackalloc byte[256];
            try
            {
                if (Statx(AtFdCwd, path, AtSymlinkNoFollow, StatxBasicStats, b) != 0)
                {
                    var errno = Marshal.GetLastPInvokeError();
                    throw errno switch
                    {
                        2 or 20 => new FileNotFoundException($"'{path}' does not exist", path),
                        13 or 1 => new UnauthorizedAccessException($"permission denied: '{path}'"),
                        _ => new IOException($"cannot stat '{path}' (errno {errno})"),
                    };
                }

                var mode = BinaryPrimitives.ReadUInt16LittleEndian(b[28..]);
                var type = (mode & 0xF000) switch
                {
                    0x8000 => NodeType.File,
                    0x4000 => NodeType.Dir,
                    0xA000 => NodeType.Symlink,
                    _ => (NodeType?)null,
                };
                return new FileStat(
                    type,
                    (long)BinaryPrimitives.ReadUInt64LittleEndian(b[40..]),
                    Ns(b[112..]),
                    Ns(b[96..]),
                    (long)BinaryPrimitives.ReadUInt64LittleEndian(b[32..]),
                    mode & 0xFFF);
            }
            catch (EntryPointNotFoundException)
            {
                s_statxMissing = true;
            }
            catch (DllNotFoundException)
            {
                s_statxMissing = true;
            }
        }

        FileSystemInfo info = Directory.Exists(path) && !new DirectoryInfo(path).Attributes.HasFlag(FileAttributes.ReparsePoint) ? new DirectoryInfo(path) : new FileInfo(path);
        if (!info.Exists && info.LinkTarget is null)
        {
            throw new FileNotFoundException($"'{path}' does not exist", path);
        }

        var t = info.LinkTarget is not null ? NodeType.Symlink : info is DirectoryInfo ? NodeType.Dir : NodeType.File;
        var m = OperatingSystem.IsWindows() ? (t == NodeType.Dir ? 0x1ED : 0x1A4) : (int)info.UnixFileMode;
        return new FileStat(t, info is FileInfo fi && t == NodeType.File ? fi.Length : 0, ToNs(info.LastWriteTimeUtc), 0, 0, m);
    }

    /// <summary>Sets the modification (and access) time with nanosecond precision, without following symlinks.</summary>
    public static void SetMtime(string path, long mtimeNs, bool isSymlink)
    {
        if (!s_statxMissing)
        {
            try
            {
                var sec = Math.DivRem(mtimeNs, 1_000_000_000L, out var nsec);
                if (nsec < 0)
                {
                    sec--;
                    nsec += 1_000_000_000L;
                }

                ReadOnlySpan<long> times = [sec, nsec, sec, nsec];
                if (Utimensat(AtFdCwd, path, times, AtSymlinkNoFollow) == 0)
                {
                    return;
                }

                if (isSymlink)
                {
                    return;
                }
            }
            catch (EntryPointNotFoundException)
            {
                s_statxMissing = true;
            }
        }

        if (!isSymlink)
        {
            var t = DateTime.UnixEpoch.AddTicks(mtimeNs / 100);
            if (Directory.Exists(path))
            {
                Directory.SetLastWriteTimeUtc(path, t);
            }
            else
            {
                File.SetLastWriteTimeUtc(path, t);
            }
        }
    }

    public static long ToNs(DateTime utc) => (utc.ToUniversalTime() - DateTime.UnixEpoch).Ticks * 100;

    public static DateTimeOffset FromNs(long ns) => DateTimeOffset.UnixEpoch.AddTicks(ns / 100);

    private static long Ns(ReadOnlySpan<byte> ts)
        => (BinaryPrimitives.ReadInt64LittleEndian(ts) * 1_000_000_000L) + BinaryPrimitives.ReadUInt32LittleEndian(ts[8..]);
}
