using System.Security.Cryptography;

namespace Lifeline.Cli.Demo;

/// <summary>One file's identity for comparison: relative path, SHA-256, size, modification time and mode.</summary>
internal sealed record FileFingerprint(string Path, string Sha256, long Size, DateTime ModifiedUtc, UnixFileMode Mode);

/// <summary>Proves a restored tree identical to its source: same files, same bytes (SHA-256), same mtimes and modes.</summary>
internal static class TreeComparer
{
    /// <summary>Fingerprints every regular file below <paramref name="root"/>, ordered by relative path.</summary>
    public static async Task<IReadOnlyList<FileFingerprint>> FingerprintAsync(string root, CancellationToken ct)
    {
        var result = new List<FileFingerprint>();
        foreach (var file in Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
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

    /// <summary>Returns one line per difference between two fingerprinted trees (empty when identical).</summary>
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

            if (e.Sha256 != a.Sha256 || e.Size != a.Size)
            {
                differences.Add($"content differs: {e.Path}");
            }

            if (e.ModifiedUtc != a.ModifiedUtc)
            {
                differences.Add($"modification time differs: {e.Path} ({e.ModifiedUtc:O} vs {a.ModifiedUtc:O})");
            }

            if (e.Mode != a.Mode)
            {
                differences.Add($"mode differs: {e.Path} ({e.Mode} vs {a.Mode})");
            }
        }

        differences.AddRange(byPath.Keys.Order(StringComparer.Ordinal).Select(p => $"unexpected: {p}"));
        return differences;
    }
}
