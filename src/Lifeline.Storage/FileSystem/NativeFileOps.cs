using System.Runtime.InteropServices;

namespace Lifeline.Storage.FileSystem;

/// <summary>
/// The two POSIX calls .NET does not expose and the file-system store needs for its guarantees: a rename that never
/// replaces (exact put-if-absent) and an fsync of a directory (a rename is durable only once its directory is).
/// </summary>
internal static partial class NativeFileOps
{
    private const int AtFdCwd = -100;
    private const uint RenameNoReplace = 1;
    private const int OpenReadOnlyCloseOnExec = 0x80000; // O_RDONLY | O_CLOEXEC, the same on x64 and arm64 Linux
    private const int ErrorExists = 17;   // EEXIST
    private const int ErrorInvalid = 22;  // EINVAL: the file system does not support RENAME_NOREPLACE
    private const int ErrorNoSys = 38;    // ENOSYS
    private const int ErrorNotSupported = 95; // EOPNOTSUPP

    /// <summary>
    /// Moves <paramref name="source"/> to <paramref name="destination"/> unless the destination exists, atomically:
    /// of any number of concurrent callers for one destination exactly one succeeds. Returns <c>false</c> when the
    /// destination existed (the source is left in place).
    /// </summary>
    public static bool TryMoveNoReplace(string source, string destination)
    {
        if (OperatingSystem.IsLinux())
        {
            if (RenameAt2(AtFdCwd, source, AtFdCwd, destination, RenameNoReplace) == 0)
            {
                return true;
            }

            var errno = Marshal.GetLastPInvokeError();
            if (errno == ErrorExists)
            {
                return false;
            }

            if (errno is not (ErrorInvalid or ErrorNoSys or ErrorNotSupported))
            {
                throw new IOException($"cannot move '{source}' to '{destination}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
            }
        }

        if (OperatingSystem.IsWindows())
        {
            // MoveFileEx without MOVEFILE_REPLACE_EXISTING is atomic and fails when the destination exists.
            try
            {
                File.Move(source, destination, overwrite: false);
                return true;
            }
            catch (IOException) when (File.Exists(destination))
            {
                return false;
            }
        }

        // link(2) fails with EEXIST when the destination exists, atomically; then the source name is dropped.
        if (Link(source, destination) == 0)
        {
            _ = Unlink(source);
            return true;
        }

        var linkErrno = Marshal.GetLastPInvokeError();
        if (linkErrno == ErrorExists)
        {
            return false;
        }

        throw new IOException($"cannot link '{source}' to '{destination}': {Marshal.GetPInvokeErrorMessage(linkErrno)} (errno {linkErrno}); this file system cannot give an exact put-if-absent");
    }

    /// <summary>Flushes a directory's entries to disk, so that a rename or create inside it survives a power loss.</summary>
    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows())
        {
            return; // NTFS journals metadata; a directory cannot be opened for flushing through this API.
        }

        var fd = Open(directory, OpenReadOnlyCloseOnExec);
        if (fd < 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            throw new IOException($"cannot open directory '{directory}' to flush it: {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
        }

        try
        {
            if (Fsync(fd) != 0)
            {
                var errno = Marshal.GetLastPInvokeError();
                if (errno != ErrorInvalid)
                {
                    // EINVAL: the file system does not support syncing directories (nothing more can be done).
                    throw new IOException($"cannot flush directory '{directory}': {Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})");
                }
            }
        }
        finally
        {
            _ = Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "renameat2", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int RenameAt2(int oldDirFd, string oldPath, int newDirFd, string newPath, uint flags);

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);

    [LibraryImport("libc", EntryPoint = "unlink", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Unlink(string path);

    [LibraryImport("libc", EntryPoint = "open", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close", SetLastError = true)]
    private static partial int Close(int fd);
}
