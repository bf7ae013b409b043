using System.Diagnostics;

namespace Lifeline.Cli.Tests.Infrastructure;

/// <summary>Deterministic test files and directory listings.</summary>
internal static class TestData
{
    /// <summary>Writes <paramref name="count"/> files of <paramref name="size"/> pseudo-random (incompressible) bytes.</summary>
    public static void WriteRandomFiles(string dir, int count, int size, int seed, string prefix = "file")
    {
        Directory.CreateDirectory(dir);
        var rng = new Random(seed);
        var buffer = new byte[size];
        for (var i = 0; i < count; i++)
        {
            rng.NextBytes(buffer);
            File.WriteAllBytes(System.IO.Path.Combine(dir, $"{prefix}-{i:D3}.bin"), buffer);
        }
    }

    /// <summary>A small tree: text, binary, nested directories, an old modification time, an executable mode.</summary>
    public static void WriteSmallTree(string root, int seed = 1)
    {
        var rng = new Random(seed);
        Directory.CreateDirectory(System.IO.Path.Combine(root, "lake", "leads"));
        Directory.CreateDirectory(System.IO.Path.Combine(root, "registry", "models", "1"));
        File.WriteAllText(System.IO.Path.Combine(root, "lake", "leads", "part-0.csv"),
            string.Concat(Enumerable.Range(0, 5000).Select(i => $"L{i:D8},Small,Retail,{rng.Next(40)},{rng.Next(900)}\n")));
        var model = new byte[700_000];
        rng.NextBytes(model);
        File.WriteAllBytes(System.IO.Path.Combine(root, "registry", "models", "1", "model.bin"), model);
        var script = System.IO.Path.Combine(root, "run.sh");
        File.WriteAllText(script, "#!/bin/sh\necho scoring\n");
        File.SetUnixFileMode(script, (UnixFileMode)0b111_101_101);
        File.SetLastWriteTimeUtc(script, new DateTime(2020, 2, 29, 12, 34, 56, DateTimeKind.Utc));
        File.WriteAllText(System.IO.Path.Combine(root, "empty.txt"), "");
    }

    /// <summary>Every file and directory below <paramref name="root"/> with size and mtime, to prove nothing was written.</summary>
    public static string Listing(string root)
    {
        if (!Directory.Exists(root))
        {
            return "<missing>";
        }

        var entries = Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 })
            .Select(e =>
            {
                var info = new FileInfo(e);
                var size = info.Exists ? info.Length : -1;
                return $"{System.IO.Path.GetRelativePath(root, e)} {size} {File.GetLastWriteTimeUtc(e):O}";
            })
            .Order(StringComparer.Ordinal);
        return string.Join('\n', entries);
    }

    /// <summary>Files (not temporary ones) below <paramref name="dir"/>.</summary>
    public static int CountObjects(string dir) =>
        Directory.Exists(dir)
            ? Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).Count(f => !System.IO.Path.GetFileName(f).StartsWith(".tmp-", StringComparison.Ordinal))
            : 0;

    /// <summary>The object keys (relative paths) of packs below a repository's data/ directory.</summary>
    public static HashSet<string> Packs(string repo) =>
        Directory.Exists(System.IO.Path.Combine(repo, "data"))
            ? Directory.EnumerateFiles(System.IO.Path.Combine(repo, "data"), "*", SearchOption.AllDirectories)
                .Where(f => !System.IO.Path.GetFileName(f).StartsWith(".tmp-", StringComparison.Ordinal))
                .Select(f => System.IO.Path.GetRelativePath(repo, f))
                .ToHashSet(StringComparer.Ordinal)
            : [];

    /// <summary>Polls <paramref name="condition"/> (no sleeping as synchronisation: a tight poll with a deadline).</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, TimeSpan deadline, Func<bool>? giveUp = null)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < deadline)
        {
            if (condition())
            {
                return true;
            }

            if (giveUp?.Invoke() == true)
            {
                return condition();
            }

            await Task.Yield();
            Thread.SpinWait(2000);
        }

        return false;
    }
}
