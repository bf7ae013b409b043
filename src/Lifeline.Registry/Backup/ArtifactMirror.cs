using System.Security.Cryptography;
using System.Text.Json;
using Lifeline.Storage;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Registry.Backup;

/// <summary>What updating the staged artifacts did: files kept as they were, linked anew, removed, and hashed (read).</summary>
public sealed record StagingStats(long Kept, long Linked, long Copied, long Removed, long Hashed, long HashedBytes)
{
    /// <summary>True when every staged artifact is a hard link to the registry's own file (so keeping the staging costs no disk space).</summary>
    public bool AllLinked => Copied == 0;
}

/// <summary>
/// The staged <c>artifacts/</c> of a native backup, kept between backups as a mirror of hard links to the registry's
/// artifact files and updated rather than rebuilt: an artifact whose staged link still points at the registry's file
/// (same inode) is left alone, so its inode and ctime stay as they were and the vault's unchanged-file check
/// (size, mtime, ctime, inode) skips it; a new or replaced artifact is linked anew; a staged file the registry no
/// longer holds is removed. The manifest's SHA-256 of an artifact is taken from a cache beside the staging directory
/// (<c>STAGING.hashes.json</c>, when the caller keeps the staging) while the staged file's size, mtime, ctime and inode are those the hash was taken of;
/// any other file (changed in place, replaced, new) is read and hashed again.
/// </summary>
internal static class ArtifactMirror
{
    public const string CacheSuffix = ".hashes.json";

    internal sealed record CachedHash(long Size, long MtimeNs, long CtimeNs, long Inode, string Sha256);

    public static string CacheFileOf(string stagingDirectory) => Path.TrimEndingDirectorySeparator(Path.GetFullPath(stagingDirectory)) + CacheSuffix;

    /// <summary>Brings <paramref name="mirrorDirectory"/> up to the artifacts under <paramref name="sourceDirectory"/> and returns their manifest entries.</summary>
    public static async Task<(List<ArtifactEntry> Entries, StagingStats Stats)> UpdateAsync(string sourceDirectory, string mirrorDirectory, string? cacheFile, CancellationToken ct)
    {
        var cache = await ReadCacheAsync(cacheFile, ct);
        var next = new Dictionary<string, CachedHash>(StringComparer.Ordinal);
        var entries = new List<ArtifactEntry>();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        long kept = 0, linked = 0, copied = 0, hashed = 0, hashedBytes = 0;
        var source = new FileSystemObjectStore(sourceDirectory);
        Directory.CreateDirectory(mirrorDirectory);
        await foreach (var info in source.ListAsync("", ct))
        {
            keys.Add(info.Key);
            var from = Path.Combine(sourceDirectory, info.Key.Replace('/', Path.DirectorySeparatorChar));
            var staged = Path.Combine(mirrorDirectory, info.Key.Replace('/', Path.DirectorySeparatorChar));
            if (HardLink.TryStat(from) is { } s && HardLink.TryStat(staged) is { } d && s.Inode == d.Inode)
            {
                kept++;
            }
            else
            {
                if (File.Exists(staged))
                {
                    File.Delete(staged);
                }

                if (!HardLink.TryCreate(from, staged))
                {
                    entries.Add(await CopyAsync(source, info.Key, staged, ct));
                    copied++;
                    continue;
                }

                linked++;
            }

            // stat before reading: a file changed while it is hashed has a newer stat than the one cached, so it is read again next time
            var stat = HardLink.TryStat(staged);
            if (stat is { } st && cache.TryGetValue(info.Key, out var c) && c == new CachedHash(st.Size, st.MtimeNs, st.CtimeNs, st.Inode, c.Sha256))
            {
                entries.Add(new ArtifactEntry(info.Key, st.Size, c.Sha256));
                next[info.Key] = c;
                continue;
            }

            var (size, sha) = await NativeBackup.HashFileAsync(staged, ct);
            hashed++;
            hashedBytes += size;
            entries.Add(new ArtifactEntry(info.Key, size, sha));
            if (stat is { } now && now.Size == size)
            {
                next[info.Key] = new CachedHash(now.Size, now.MtimeNs, now.CtimeNs, now.Inode, sha);
            }
        }

        var removed = RemoveGone(mirrorDirectory, keys);
        if (cacheFile is not null)
        {
            await WriteCacheAsync(cacheFile, next, ct);
        }

        return (entries, new StagingStats(kept, linked, copied, removed, hashed, hashedBytes));
    }

    /// <summary>Removes the mirror and its hash cache.</summary>
    public static void Delete(string stagingDirectory)
    {
        if (Directory.Exists(stagingDirectory))
        {
            Directory.Delete(stagingDirectory, recursive: true);
        }

        File.Delete(CacheFileOf(stagingDirectory));
    }

    private static long RemoveGone(string mirrorDirectory, HashSet<string> keys)
    {
        long removed = 0;
        foreach (var file in Directory.EnumerateFiles(mirrorDirectory, "*", SearchOption.AllDirectories).ToList())
        {
            var key = Path.GetRelativePath(mirrorDirectory, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!keys.Contains(key))
            {
                File.Delete(file);
                removed++;
            }
        }

        foreach (var dir in Directory.EnumerateDirectories(mirrorDirectory, "*", SearchOption.AllDirectories).OrderByDescending(d => d.Length).ToList())
        {
            if (!Directory.EnumerateFileSystemEntries(dir).Any())
            {
                Directory.Delete(dir);
            }
        }

        return removed;
    }

    private static async Task<ArtifactEntry> CopyAsync(IObjectStore source, string key, string path, CancellationToken ct)
    {
        // Streamed and hashed on the way: memory stays at one buffer whatever the artifact's size.
        var buffer = new byte[81920];
        await using var read = await source.OpenReadAsync(key, cancellationToken: ct);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        await using (var file = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous))
        {
            int n;
            while ((n = await read.ReadAsync(buffer, ct)) > 0)
            {
                hash.AppendData(buffer, 0, n);
                await file.WriteAsync(buffer.AsMemory(0, n), ct);
            }
        }

        return new ArtifactEntry(key, read.Length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static async Task<Dictionary<string, CachedHash>> ReadCacheAsync(string? cacheFile, CancellationToken ct)
    {
        if (cacheFile is null || !File.Exists(cacheFile))
        {
            return new Dictionary<string, CachedHash>(StringComparer.Ordinal);
        }

        try
        {
            await using var stream = File.OpenRead(cacheFile);
            return await JsonSerializer.DeserializeAsync<Dictionary<string, CachedHash>>(stream, NativeBackup.Json, ct) ?? new Dictionary<string, CachedHash>(StringComparer.Ordinal);
        }
        catch (JsonException)
        {
            return new Dictionary<string, CachedHash>(StringComparer.Ordinal); // a damaged cache only costs reading every artifact again
        }
    }

    private static async Task WriteCacheAsync(string cacheFile, Dictionary<string, CachedHash> cache, CancellationToken ct)
    {
        var temp = cacheFile + ".tmp";
        await using (var stream = File.Create(temp))
        {
            await JsonSerializer.SerializeAsync(stream, cache, NativeBackup.Json, ct);
        }

        File.Move(temp, cacheFile, overwrite: true);
    }
}
