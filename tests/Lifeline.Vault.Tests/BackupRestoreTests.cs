using Lifeline.Storage.FileSystem;

namespace Lifeline.Vault.Tests;

public sealed class BackupRestoreTests
{
    [Fact]
    public async Task Restore_AfterBackup_IsByteIdenticalWithMtimesAndModes()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(src, "a", "text.csv"), UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));

        var result = await repo.BackupAsync(new BackupRequest { Paths = [src], Source = "lake", Tags = ["daily"] });
        Assert.Empty(result.Errors);
        Assert.Equal(4, result.TotalFiles);
        Assert.Equal(4, result.FilesNew);
        Assert.True(result.DataAdded > 0);

        var snap = await repo.FindSnapshotAsync("latest");
        Assert.Equal(result.Snapshot.Id, snap.Id);
        Assert.Equal("lake", snap.Source);
        Assert.Equal(["daily"], snap.Tags);

        var target = Path.Combine(tmp.Path, "restored");
        var restored = await repo.RestoreAsync(new RestoreRequest { Snapshot = snap, TargetDirectory = target });
        Assert.Equal(4, restored.Files);
        Assert.Equal(result.TotalBytes, restored.Bytes);
        Vaults.AssertSameTree(src, Path.Combine(target, "src"), checkRootMtime: true);
    }

    [Fact]
    public async Task Restore_BigFileLargerThanMaxChunk_IsByteIdentical()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("big");
        var data = new byte[20 * 1024 * 1024];
        Vaults.RandomBytes(10 * 1024 * 1024, 5).CopyTo(data, 0);
        Vaults.TextBytes(10 * 1024 * 1024, 6).CopyTo(data, 10 * 1024 * 1024);
        File.WriteAllBytes(Path.Combine(src, "model.bin"), data);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp), VaultInitOptions.ForTests);

        var result = await repo.BackupAsync(new BackupRequest { Paths = [src] });
        var nodes = await repo.ListNodesAsync(result.Snapshot).ToListAsync();
        Assert.Contains(nodes, n => n.Path == "/big/model.bin" && n.Size == data.Length);

        var target = Path.Combine(tmp.Path, "out");
        await repo.RestoreAsync(new RestoreRequest { Snapshot = result.Snapshot, TargetDirectory = target });
        Vaults.AssertSameTree(src, Path.Combine(target, "big"));
    }

    [Fact]
    public async Task Backup_Unchanged_AddsAlmostNothingAndReadsNothing()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var first = await repo.BackupAsync(new BackupRequest { Paths = [src] });

        var opened = new List<string>();
        repo.SourceFaultForTests = p =>
        {
            opened.Add(p);
            return null;
        };
        var second = await repo.BackupAsync(new BackupRequest { Paths = [src] });

        Assert.Equal(first.Snapshot.Id, second.Snapshot.ParentId);
        Assert.Equal(4, second.FilesUnmodified);
        Assert.Equal(0, second.DataAdded);
        Assert.Empty(opened);
        Assert.Equal(first.Snapshot.TreeId, second.Snapshot.TreeId);
    }

    [Fact]
    public async Task Backup_SameDataFromAnotherSource_DeduplicatesData()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        var copy = tmp.Sub("copy");
        foreach (var f in Directory.GetFiles(src, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(copy, Path.GetRelativePath(src, f));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(f, dest);
        }

        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var first = await repo.BackupAsync(new BackupRequest { Paths = [src], Source = "one" });
        var second = await repo.BackupAsync(new BackupRequest { Paths = [copy], Source = "two" });

        Assert.Null(second.Snapshot.ParentId);
        Assert.Equal(4, second.FilesNew);
        // Only tree blobs (different mtimes/inodes) are new; file data is deduplicated.
        Assert.True(second.DataAdded < first.DataAdded / 20, $"second backup added {second.DataAdded} bytes, first {first.DataAdded}");
    }

    [Fact]
    public async Task Backup_UnreadableFile_IsReportedAndTheRestBackedUp()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        repo.SourceFaultForTests = p => p.EndsWith("random.bin", StringComparison.Ordinal) ? new UnauthorizedAccessException($"permission denied: '{p}'") : null;

        var result = await repo.BackupAsync(new BackupRequest { Paths = [src] });

        var error = Assert.Single(result.Errors);
        Assert.EndsWith("random.bin", error.Path, StringComparison.Ordinal);
        Assert.Equal(3, result.TotalFiles);
        Assert.Equal(1, result.Snapshot.Summary!.Errors);
        var nodes = await repo.ListNodesAsync(result.Snapshot).ToListAsync();
        Assert.DoesNotContain(nodes, n => n.Path.EndsWith("random.bin", StringComparison.Ordinal));
        Assert.Contains(nodes, n => n.Path == "/src/a/text.csv");
    }

    [Fact]
    public async Task Restore_NonEmptyTarget_IsRefusedUnlessOverwrite()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var result = await repo.BackupAsync(new BackupRequest { Paths = [src] });
        var target = tmp.Sub("target");
        File.WriteAllText(Path.Combine(target, "existing"), "x");

        await Assert.ThrowsAsync<RestoreTargetNotEmptyException>(() => repo.RestoreAsync(new RestoreRequest { Snapshot = result.Snapshot, TargetDirectory = target }));
        Assert.False(Directory.Exists(Path.Combine(target, "src")));

        await repo.RestoreAsync(new RestoreRequest { Snapshot = result.Snapshot, TargetDirectory = target, Overwrite = true });
        Vaults.AssertSameTree(src, Path.Combine(target, "src"));
    }

    [Fact]
    public async Task Restore_Include_RestoresOnlyMatches()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var result = await repo.BackupAsync(new BackupRequest { Paths = [src] });
        var target = Path.Combine(tmp.Path, "target");

        var r = await repo.RestoreAsync(new RestoreRequest { Snapshot = result.Snapshot, TargetDirectory = target, Include = ["*.csv", "/src/a/b/c"] });

        Assert.Equal(2, r.Files);
        Assert.True(File.Exists(Path.Combine(target, "src", "a", "text.csv")));
        Assert.True(File.Exists(Path.Combine(target, "src", "a", "b", "c", "small.txt")));
        Assert.False(File.Exists(Path.Combine(target, "src", "a", "b", "random.bin")));
        Assert.False(Directory.Exists(Path.Combine(target, "src", "empty-dir")));
    }

    [Fact]
    public async Task FindSnapshot_AtTimeAndPrefix_PicksTheRightOne()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp), time: time);
        var s1 = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;
        time.Advance(TimeSpan.FromHours(1));
        File.WriteAllText(Path.Combine(src, "new.txt"), "new");
        var s2 = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;

        Assert.Equal(s2.Id, (await repo.FindSnapshotAsync("latest")).Id);
        Assert.Equal(s1.Id, (await repo.FindSnapshotAsync("latest", at: s1.Time.AddMinutes(30))).Id);
        Assert.Equal(s1.Id, (await repo.FindSnapshotAsync(s1.Id[..10])).Id);
        await Assert.ThrowsAsync<SnapshotNotFoundException>(() => repo.FindSnapshotAsync("latest", at: s1.Time.AddMinutes(-1)));
        await Assert.ThrowsAsync<SnapshotNotFoundException>(() => repo.FindSnapshotAsync("ffffffffff0000"));
        await Assert.ThrowsAsync<SnapshotNotFoundException>(() => repo.FindSnapshotAsync("latest", new SnapshotFilter { Source = "nope" }));

        var diff = await repo.DiffAsync(s1, s2);
        Assert.Equal(["/src/new.txt"], diff.Added);
        Assert.Empty(diff.Removed);
        var list = await repo.ListSnapshotsAsync().ToListAsync();
        Assert.Equal([s1.Id, s2.Id], list.Select(s => s.Id));
    }

    [Fact]
    public async Task Backup_SingleFileAndMissingPath_BacksUpTheFileAndReportsTheMissingOne()
    {
        using var tmp = new TempDir();
        var file = Path.Combine(tmp.Sub("src"), "config.yaml");
        File.WriteAllText(file, "plan: lifeline\n");
        var missing = Path.Combine(tmp.Path, "does-not-exist");
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));

        var result = await repo.BackupAsync(new BackupRequest { Paths = [file, missing], Source = "config" });

        Assert.Equal(missing, Assert.Single(result.Errors).Path);
        Assert.Equal(1, result.TotalFiles);
        var nodes = await repo.ListNodesAsync(result.Snapshot).ToListAsync();
        Assert.Equal(["/config.yaml"], nodes.Select(n => n.Path));
        var target = Path.Combine(tmp.Path, "out");
        await repo.RestoreAsync(new RestoreRequest { Snapshot = result.Snapshot, TargetDirectory = target });
        Assert.Equal("plan: lifeline\n", File.ReadAllText(Path.Combine(target, "config.yaml")));
        Assert.Equal(File.GetLastWriteTimeUtc(file), File.GetLastWriteTimeUtc(Path.Combine(target, "config.yaml")));
    }

    [Fact]
    public async Task ListNodesAndDiff_AfterChanges_ShowPrefixAddedRemovedModified()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var s1 = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;
        File.Delete(Path.Combine(src, "a", "b", "c", "small.txt"));
        File.WriteAllText(Path.Combine(src, "a", "text.csv"), "changed");
        Directory.CreateDirectory(Path.Combine(src, "new-dir"));
        File.WriteAllText(Path.Combine(src, "new-dir", "n.txt"), "12345");
        var s2 = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;

        var below = await repo.ListNodesAsync(s1, "/src/a/b").ToListAsync();
        var diff = await repo.DiffAsync(s1, s2);

        Assert.Equal(["/src/a/b", "/src/a/b/c", "/src/a/b/c/small.txt", "/src/a/b/random.bin"], below.Select(n => n.Path));
        Assert.Equal(NodeType.Dir, below[0].Type);
        Assert.Equal(["/src/new-dir", "/src/new-dir/n.txt"], diff.Added);
        Assert.Equal(["/src/a/b/c/small.txt"], diff.Removed);
        Assert.Contains("/src/a/text.csv", diff.Modified);
        Assert.Equal(5, diff.AddedBytes);
        Assert.Equal(5, diff.RemovedBytes);
    }

    [Fact]
    public async Task Restore_IncludeDoubleStar_MatchesNestedPaths()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var snap = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;
        var target = Path.Combine(tmp.Path, "t");

        var r = await repo.RestoreAsync(new RestoreRequest { Snapshot = snap, TargetDirectory = target, Include = ["/src/a/**/*.txt"] });

        Assert.Equal(1, r.Files);
        Assert.True(File.Exists(Path.Combine(target, "src", "a", "b", "c", "small.txt")));
        Assert.False(File.Exists(Path.Combine(target, "src", "empty.txt")));
    }

    [Fact]
    public async Task Restore_Symlink_IsRecreatedNotFollowed()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        File.WriteAllText(Path.Combine(src, "target.txt"), "t");
        File.CreateSymbolicLink(Path.Combine(src, "link"), "target.txt");
        File.CreateSymbolicLink(Path.Combine(src, "outside"), "/etc/passwd");
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var snap = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;
        var target = Path.Combine(tmp.Path, "out");

        var r = await repo.RestoreAsync(new RestoreRequest { Snapshot = snap, TargetDirectory = target });

        Assert.Equal(1, r.Files);
        Assert.Equal("target.txt", new FileInfo(Path.Combine(target, "src", "link")).LinkTarget);
        Assert.Equal("/etc/passwd", new FileInfo(Path.Combine(target, "src", "outside")).LinkTarget);
        Assert.Equal("t", File.ReadAllText(Path.Combine(target, "src", "link")));
        var nodes = await repo.ListNodesAsync(snap).ToListAsync();
        Assert.Equal(NodeType.Symlink, nodes.Single(n => n.Path == "/src/link").Type);
    }

    [Fact]
    public async Task Backup_PackReadsBackWithAFlippedByte_FailsTheReadBackAndCommitsNothing()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        var faults = new Lifeline.Storage.Faults.FaultInjectingObjectStore(Vaults.Store(tmp));
        await using var repo = await Vaults.CreateAsync(faults);
        // the write is whole and of the right length; only the read-back sees one byte changed
        faults.Add(new Lifeline.Storage.Faults.FaultRule { Kind = Lifeline.Storage.Faults.FaultKind.CorruptRead, KeyPrefix = "data/", MaxHits = 1 });

        var e = await Assert.ThrowsAsync<PackReadBackException>(() => repo.BackupAsync(new BackupRequest { Paths = [src] }));

        Assert.Equal("after-write", e.Phase);
        Assert.Contains("do not hash to its id", e.Message, StringComparison.Ordinal);
        Assert.Empty(await repo.ListSnapshotsAsync().ToListAsync());
    }

    [Theory]
    [InlineData(Lifeline.Storage.Faults.FaultKind.TearWrite, "it reads back as ")]
    [InlineData(Lifeline.Storage.Faults.FaultKind.DropWrite, "it is not there (the write was lost)")]
    public async Task Backup_PackWriteTornOrDropped_FailsTheReadBackSayingHowAndCommitsNothing(Lifeline.Storage.Faults.FaultKind kind, string says)
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        var faults = new Lifeline.Storage.Faults.FaultInjectingObjectStore(Vaults.Store(tmp));
        await using var repo = await Vaults.CreateAsync(faults);
        // the store reports the pack written; what it holds is a prefix of it, or nothing
        faults.Add(new Lifeline.Storage.Faults.FaultRule { Kind = kind, KeyPrefix = "data/", MaxHits = 1 });

        var e = await Assert.ThrowsAsync<PackReadBackException>(() => repo.BackupAsync(new BackupRequest { Paths = [src] }));

        Assert.Equal("after-write", e.Phase);
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        Assert.Empty(await repo.ListSnapshotsAsync().ToListAsync());
    }
}
