using Lifeline.Cli.Demo;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Unit;

/// <summary>
/// The restore checks (demo, end-to-end and crash tests) trust <see cref="TreeComparer"/>: each kind of difference it
/// claims to find is made on a faithful copy of a tree, and must be reported, alone and by name.
/// </summary>
public sealed class TreeComparerTests
{
    private static readonly DateTime Base = new(2026, 3, 1, 12, 0, 0, DateTimeKind.Utc);

    public static TheoryData<string, string[]> Changes => new()
    {
        { "content", ["content differs: a/data.bin"] },
        { "size", ["size differs: a/data.bin (4096 vs 4095 bytes)"] },
        { "mtime", ["modification time differs: a/data.bin (2026-03-01T12:00:02.0000000Z vs 2026-03-01T12:00:03.0000000Z)"] },
        { "mode", ["mode differs: run.sh (0700 vs 0600)"] },
        { "missing file", ["missing: a/b/notes.txt"] },
        { "extra file", ["unexpected: a/b/extra.txt"] },
        { "missing directory", ["missing: empty/"] },
        { "extra directory", ["unexpected: a/new/"] },
        { "directory mtime", ["modification time differs: a/b/ (2026-03-01T12:00:10.0000000Z vs 2026-03-01T12:00:11.0000000Z)"] },
        { "directory mode", ["mode differs: a/ (0700 vs 0500)"] },
        { "file became directory", ["missing: a/b/notes.txt", "unexpected: a/b/notes.txt/"] },
    };

    [Fact]
    public async Task Compare_FaithfulCopy_ReportsNothing()
    {
        using var dir = new TestDirectory("tree");
        var (source, copy) = SourceAndCopy(dir);

        var differences = TreeComparer.Compare(await TreeComparer.FingerprintAsync(source, default), await TreeComparer.FingerprintAsync(copy, default));

        Assert.Empty(differences);
        var fingerprint = await TreeComparer.FingerprintAsync(source, default);
        Assert.Equal(["a/", "a/b/", "a/b/notes.txt", "a/data.bin", "empty/", "run.sh"], fingerprint.Select(f => f.Path));
    }

    [Theory]
    [MemberData(nameof(Changes))]
    public async Task Compare_OneChangeInTheCopy_ReportsExactlyThatDifference(string change, string[] expected)
    {
        using var dir = new TestDirectory("tree");
        var (source, copy) = SourceAndCopy(dir);
        var path = (string p) => Path.Combine(copy, p);
        switch (change)
        {
            case "content":
                var bytes = File.ReadAllBytes(path("a/data.bin"));
                bytes[100] ^= 1; // same size, one bit
                File.WriteAllBytes(path("a/data.bin"), bytes);
                File.SetLastWriteTimeUtc(path("a/data.bin"), Base.AddSeconds(2));
                break;
            case "size":
                using (var f = File.OpenWrite(path("a/data.bin")))
                {
                    f.SetLength(4095);
                }

                File.SetLastWriteTimeUtc(path("a/data.bin"), Base.AddSeconds(2));
                break;
            case "mtime":
                File.SetLastWriteTimeUtc(path("a/data.bin"), Base.AddSeconds(3));
                break;
            case "mode":
                File.SetUnixFileMode(path("run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
                break;
            case "missing file":
                File.Delete(path("a/b/notes.txt"));
                break;
            case "extra file":
                File.WriteAllText(path("a/b/extra.txt"), "x");
                break;
            case "missing directory":
                Directory.Delete(path("empty"));
                break;
            case "extra directory":
                Directory.CreateDirectory(path("a/new"));
                break;
            case "directory mtime":
                Directory.SetLastWriteTimeUtc(path("a/b"), Base.AddSeconds(11));
                break;
            case "directory mode":
                File.SetUnixFileMode(path("a"), UnixFileMode.UserRead | UnixFileMode.UserExecute);
                break;
            case "file became directory":
                File.Delete(path("a/b/notes.txt"));
                Directory.CreateDirectory(path("a/b/notes.txt"));
                break;
        }

        // directories touched by the change get their original times back: only the change itself differs
        if (change is not ("directory mtime" or "directory mode"))
        {
            RestoreDirectoryTimes(copy);
        }

        var differences = TreeComparer.Compare(await TreeComparer.FingerprintAsync(source, default), await TreeComparer.FingerprintAsync(copy, default));

        Assert.Equal(expected, differences);
    }

    /// <summary>A small tree with fixed times and modes, and a copy of it made like a restore (bytes, then times and modes).</summary>
    private static (string Source, string Copy) SourceAndCopy(TestDirectory dir)
    {
        var source = dir.Combine("source");
        Directory.CreateDirectory(Path.Combine(source, "a", "b"));
        Directory.CreateDirectory(Path.Combine(source, "empty"));
        var data = new byte[4096];
        new Random(5).NextBytes(data);
        File.WriteAllBytes(Path.Combine(source, "a", "data.bin"), data);
        File.WriteAllText(Path.Combine(source, "a", "b", "notes.txt"), "notes\n");
        File.WriteAllText(Path.Combine(source, "run.sh"), "#!/bin/sh\n");
        File.SetUnixFileMode(Path.Combine(source, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(Path.Combine(source, "a"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetLastWriteTimeUtc(Path.Combine(source, "a", "data.bin"), Base.AddSeconds(2));
        File.SetLastWriteTimeUtc(Path.Combine(source, "a", "b", "notes.txt"), Base.AddSeconds(4));
        File.SetLastWriteTimeUtc(Path.Combine(source, "run.sh"), Base.AddSeconds(6));
        SetDirectoryTimes(source);

        var copy = dir.Combine("copy");
        foreach (var d in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            Directory.CreateDirectory(Path.Combine(copy, Path.GetRelativePath(source, d)));
        }

        foreach (var f in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var to = Path.Combine(copy, Path.GetRelativePath(source, f));
            File.Copy(f, to);
            File.SetUnixFileMode(to, File.GetUnixFileMode(f));
            File.SetLastWriteTimeUtc(to, File.GetLastWriteTimeUtc(f));
        }

        foreach (var d in Directory.EnumerateDirectories(source, "*", SearchOption.AllDirectories))
        {
            File.SetUnixFileMode(Path.Combine(copy, Path.GetRelativePath(source, d)), File.GetUnixFileMode(d));
        }

        SetDirectoryTimes(copy);
        return (source, copy);
    }

    private static void SetDirectoryTimes(string root)
    {
        Directory.SetLastWriteTimeUtc(Path.Combine(root, "a", "b"), Base.AddSeconds(10));
        Directory.SetLastWriteTimeUtc(Path.Combine(root, "a"), Base.AddSeconds(12));
        Directory.SetLastWriteTimeUtc(Path.Combine(root, "empty"), Base.AddSeconds(14));
    }

    private static void RestoreDirectoryTimes(string root)
    {
        foreach (var (sub, seconds) in new[] { ("a/b", 10), ("a", 12), ("empty", 14) })
        {
            if (Directory.Exists(Path.Combine(root, sub)))
            {
                Directory.SetLastWriteTimeUtc(Path.Combine(root, sub), Base.AddSeconds(seconds));
            }
        }
    }
}
