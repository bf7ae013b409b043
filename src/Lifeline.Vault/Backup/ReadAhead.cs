using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Lifeline.Vault.Backup;

/// <summary>
/// Read-ahead hint for the backup reader: asks the kernel (posix_fadvise POSIX_FADV_WILLNEED, Linux only) to start
/// reading the next file into the page cache while the reader still chunks and hashes the current one, so that
/// cold-cache disk reads overlap with the reader's CPU work. A hint only: failures are ignored, nothing is read
/// into the process.
/// </summary>
internal static partial class ReadAhead
{
    private const int PosixFadvWillNeed = 3;

    [LibraryImport("libc", EntryPoint = "posix_fadvise")]
    private static partial int PosixFadvise(SafeFileHandle fd, long offset, long length, int advice);

    public static void WillNeed(string path, long size)
    {
        if (!OperatingSystem.IsLinux() || size <= 0)
        {
            return;
        }

        try
        {
            using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            _ = PosixFadvise(handle, 0, size, PosixFadvWillNeed);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or EntryPointNotFoundException or DllNotFoundException)
        {
            // only a hint: the reader reports real errors when it opens the file itself
        }
    }
}
