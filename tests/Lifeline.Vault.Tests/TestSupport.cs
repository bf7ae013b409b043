using System.Security.Cryptography;
using Lifeline.Storage;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Vault.Tests;

/// <summary>A temporary directory per test, deleted afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lifeline-vault-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name)
    {
        var p = System.IO.Path.Combine(Path, name);
        Directory.CreateDirectory(p);
        return p;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

internal static class Vaults
{
    public const string Password = "correct horse battery staple";

    /// <summary>Small chunks and packs so that small test data spans many chunks and packs; small KDF.</summary>
    public static VaultInitOptions Small { get; } = VaultInitOptions.ForTests with
    {
        ChunkMinSize = 16 * 1024,
        ChunkAverageSize = 64 * 1024,
        ChunkMaxSize = 256 * 1024,
        PackSize = 1024 * 1024,
    };

    public static async Task<VaultRepository> CreateAsync(IObjectStore store, VaultInitOptions? options = null, TimeProvider? time = null, TimeSpan? lockTtl = null, string? host = null, int? workers = null)
        => await VaultRepository.InitAsync(store, Password, options ?? Small, new VaultOpenOptions { LockTtl = lockTtl ?? TimeSpan.FromSeconds(60), Host = host ?? "test-host", Workers = workers }, time);

    public static byte[] RandomBytes(int n, int seed)
    {
        var b = new byte[n];
        new Random(seed).NextBytes(b);
        return b;
    }

    public static byte[] TextBytes(int n, int seed)
    {
        var r = new Random(seed);
        var words = new[] { "lead", "score", "Technology", "Finance", "Organic Search", "2024-01-01", "Enterprise", "0.87", "converted" };
        var sb = new System.Text.StringBuilder(n + 64);
        while (sb.Length < n)
        {
            sb.Append(words[r.Next(words.Length)]).Append(r.Next(3) == 0 ? '\n' : ',');
        }

        return System.Text.Encoding.ASCII.GetBytes(sb.ToString(0, n));
    }

    /// <summary>A small tree: nested dirs, an empty dir, an empty file, text and random files, distinct mtimes.</summary>
    public static void MakeTree(string root, int seed = 1)
    {
        Directory.CreateDirectory(Path.Combine(root, "a", "b", "c"));
        Directory.CreateDirectory(Path.Combine(root, "empty-dir"));
        File.WriteAllBytes(Path.Combine(root, "empty.txt"), []);
        File.WriteAllBytes(Path.Combine(root, "a", "text.csv"), TextBytes(300_000, seed));
        File.WriteAllBytes(Path.Combine(root, "a", "b", "random.bin"), RandomBytes(700_000, seed + 1));
        File.WriteAllBytes(Path.Combine(root, "a", "b", "c", "small.txt"), "hello"u8.ToArray());
        File.SetLastWriteTimeUtc(Path.Combine(root, "a", "text.csv"), new DateTime(2024, 3, 1, 12, 0, 0, DateTimeKind.Utc));
        File.SetLastWriteTimeUtc(Path.Combine(root, "empty.txt"), new DateTime(2023, 1, 2, 3, 4, 5, DateTimeKind.Utc));
        Directory.SetLastWriteTimeUtc(Path.Combine(root, "empty-dir"), new DateTime(2022, 5, 6, 7, 8, 9, DateTimeKind.Utc));
        Directory.SetLastWriteTimeUtc(Path.Combine(root, "a", "b"), new DateTime(2021, 5, 6, 7, 8, 9, DateTimeKind.Utc));
    }

    /// <summary>Asserts that two trees have the same entries, bytes, modes and modification times.</summary>
    public static void AssertSameTree(string expected, string actual, bool checkRootMtime = false)
    {
        var e = Entries(expected);
        var a = Entries(actual);
        Assert.Equal(e.Keys.Order(StringComparer.Ordinal), a.Keys.Order(StringComparer.Ordinal));
        foreach (var (rel, info) in e)
        {
            var other = a[rel];
            if (info is FileInfo fi)
            {
                var fo = Assert.IsType<FileInfo>(other);
                Assert.Equal(fi.Length, fo.Length);
                Assert.True(SHA256.HashData(File.ReadAllBytes(fi.FullName)).AsSpan().SequenceEqual(SHA256.HashData(File.ReadAllBytes(fo.FullName))), $"content of {rel} differs");
            }

            Assert.True(info.LastWriteTimeUtc == other.LastWriteTimeUtc, $"mtime of {rel}: {info.LastWriteTimeUtc:O} vs {other.LastWriteTimeUtc:O}");
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(info.UnixFileMode, other.UnixFileMode);
            }
        }

        if (checkRootMtime)
        {
            Assert.Equal(Directory.GetLastWriteTimeUtc(expected), Directory.GetLastWriteTimeUtc(actual));
        }
    }

    private static Dictionary<string, FileSystemInfo> Entries(string root)
        => new DirectoryInfo(root).EnumerateFileSystemInfos("*", SearchOption.AllDirectories)
            .ToDictionary(i => Path.GetRelativePath(root, i.FullName), i => i, StringComparer.Ordinal);

    public static async Task<List<T>> ToListAsync<T>(this IAsyncEnumerable<T> source)
    {
        var list = new List<T>();
        await foreach (var x in source)
        {
            list.Add(x);
        }

        return list;
    }

    public static FileSystemObjectStore Store(TempDir dir, string name = "repo") => new(dir.Sub(name));
}
