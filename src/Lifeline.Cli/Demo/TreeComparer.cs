using System.Security.Cryptography;

namespace Lifeline.Cli.Demo;

/// <summary>
/// One entry's identity for comparison: relative path (a directory's ends with '/'), SHA-256 (empty for a directory),
/// size, modification time and mode.
/// </summary>
internal sealed record FileFingerprint(string Path, string Sha256, long Size, DateTime ModifiedUtc, UnixFileMode Mode)
{
    public bool IsDirectory => Path.EndsWith('/');
}

/// <summary>
/// Proves a restored tree identical to its source: same files and directories, same bytes (SHA-256) and sizes, same
/// mtimes and modes (of files and directories). Symbolic links are left out.
/// </summary>
internal static class TreeComparer
{
    /// <summary>Fingerprints every regular file and directory below <paramref name="root"/>, ordered by relative path.</summary>
    public static async Task<IReadOnlyList<FileFingerprint>> FingerprintAsync(string root, CancellationToken ct)
    {
        var result = new List<FileFingerprint>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 };
        foreach (var dir in Directory.EnumerateDirectories(root, "*", options))
        {
            var info = new DirectoryInfo(dir);
            if (info.LinkTarget is not null)
            {
                continue;
            }

            result.Add(new FileFingerprint(
                Path.GetRelativePath(root, dir).Replace(Path.DirectorySeparatorChar, '/') + "/", "", 0, info.LastWriteTimeUtc,
                OperatingSystem.IsWindows() ? 0 : File.GetUnixFileMode(dir)));
        }

        foreach (var file in Directory.EnumerateFiles(root, "*", options))
        {
            var info = new FileInfo(file);
            if (info.LinkTarget is not null)
            {
                continue;
            }

            await using var stream = File.OpenRead(file);
            var hash = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
            result.Add(new FileFingerprint(
                Path.GetRelativePath(root, file).Replace(Path.DirectorySeparatorChar, '/'), hash, info.Length, info.LastWriteTimeUtc,
                OperatingSystem.IsWindows() ? 0 : File.GetUnixFileMode(file)));
        }

        result.Sort((a, b) => string.CompareOrdinal(a.Path, b.Path));
        return result;
    }

    /// <summary>
    /// Returns one line per difference between two fingerprinted trees (empty when identical): "missing: P",
    /// "unexpected: P", "size differs: P", "content differs: P" (same size, other bytes), "modification time differs: P",
    /// "mode differs: P"; a directory's P ends with '/'.
    /// </summary>
    public static IReadOnlyList<string> Compare(IReadOnlyList<FileFingerprint> expected, IReadOnlyList<FileFingerprint> actual)
    {
        var differences = new List<string>();
        var byPath = actual.ToDictionary(f => f.Path, StringComparer.Ordinal);
        foreach (var e in expected)
        {
            if (!byPath.Remove(e.Path, out var a))
            {
                differences.Add($"missing: {e.Path}");
                continue;
            }

            if (e.Size != a.Size)
            {
                differences.Add($"size differs: {e.Path} ({e.Size} vs {a.Size} bytes)");
            }
            else if (e.Sha256 != a.Sha256)
            {
                differences.Add($"content differs: {e.Path}");
            }

            if (e.ModifiedUtc != a.ModifiedUtc)
            {
                differences.Add($"modification time differs: {e.Path} ({e.ModifiedUtc:O} vs {a.ModifiedUtc:O})");
            }

            if (e.Mode != a.Mode)
            {
                differences.Add($"mode differs: {e.Path} ({Octal(e.Mode)} vs {Octal(a.Mode)})");
            }
        }

        differences.AddRange(byPath.Keys.Order(StringComparer.Ordinal).Select(p => $"unexpected: {p}"));
        return differences;
    }

    private static string Octal(UnixFileMode mode) => "0" + Convert.ToString((int)mode, 8);
}
