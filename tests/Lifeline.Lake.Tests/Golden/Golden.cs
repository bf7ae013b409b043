using Lifeline.Storage.FileSystem;

namespace Lifeline.Lake.Tests.Golden;

/// <summary>Locates the Spark-written golden tables (../shared/testdata/delta-golden) and copies them when a test writes or sets times.</summary>
internal static class GoldenData
{
    public static string Dir
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("LIFELINE_DELTA_GOLDEN");
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }

            for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            {
                foreach (var candidate in new[] { Path.Combine(dir.FullName, "shared", "testdata", "delta-golden"), Path.Combine(dir.FullName, "..", "shared", "testdata", "delta-golden") })
                {
                    if (Directory.Exists(candidate))
                    {
                        return Path.GetFullPath(candidate);
                    }
                }
            }

            throw new InvalidOperationException("golden tables not found: set LIFELINE_DELTA_GOLDEN to shared/testdata/delta-golden");
        }
    }

    public static IEnumerable<string> TableNames() =>
        Directory.GetDirectories(Dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal);

    /// <summary>A read-only table straight from the golden folder.</summary>
    public static DeltaTable Open(string name, string sub = "") => new(new FileSystemObjectStore(Dir), name + (sub.Length > 0 ? "/" + sub : ""));

    /// <summary>Copies a golden table into <paramref name="target"/> (keeping modification times) and opens the copy.</summary>
    public static DeltaTable Copy(string name, string target)
    {
        CopyTree(Path.Combine(Dir, name), target);
        return new DeltaTable(new FileSystemObjectStore(target), "");
    }

    /// <summary>Copies a directory tree keeping modification times (what a backup tool's restore does), writable.</summary>
    public static void CopyTree(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest, overwrite: true);
            File.SetAttributes(dest, FileAttributes.Normal);
            File.SetLastWriteTimeUtc(dest, File.GetLastWriteTimeUtc(file));
        }
    }
}

/// <summary>A temporary directory per test.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lifeline-lake-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
