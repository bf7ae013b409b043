namespace Lifeline.Vault.Tests;

/// <summary>Issue 12: chunks are hashed on the workers, in any order; what is stored and the trees must not change.</summary>
public sealed class ParallelHashTests
{
    [Fact]
    public async Task BackupAsync_IdenticalFilesInDifferentDirectoriesWithFourWorkers_StoresEachBlobOnceAndKeepsTreeOrder()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        // 3 directories × 6 files, each file one of 4 contents of several chunks: every chunk exists 4–5 times
        var contents = Enumerable.Range(0, 4).Select(i => Vaults.RandomBytes(700 * 1024 + (i * 1000), 100 + i)).ToArray();
        var expected = new List<string>();
        foreach (var dir in new[] { "c", "a", "b" })
        {
            Directory.CreateDirectory(Path.Combine(src, dir));
            expected.Add("/src/" + dir);
            foreach (var f in new[] { "z.bin", "m.bin", "B.bin", "a.bin", "y.bin", "_.bin" })
            {
                File.WriteAllBytes(Path.Combine(src, dir, f), contents[(dir[0] + f[0]) % contents.Length]);
                expected.Add($"/src/{dir}/{f}");
            }
        }

        expected = [.. expected.Order(StringComparer.Ordinal)];
        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp), workers: 4);

        var result = await repo.BackupAsync(new BackupRequest { Paths = [src] });

        // a blob written twice would be counted twice in the packs but once in the index
        Assert.Equal(repo.Index.BlobCount, result.BlobsAdded);
        Assert.True(result.RawDataAdded < contents.Sum(c => (long)c.Length) + 1024, $"stored {result.RawDataAdded} raw bytes of data for 4 distinct contents");
        var listed = await repo.ListNodesAsync(result.Snapshot).Select(n => n.Path).ToListAsync();
        Assert.Equal(["/src", .. expected], listed);
        var target = tmp.Sub("restored");
        await repo.RestoreAsync(new RestoreRequest { Snapshot = result.Snapshot, TargetDirectory = target });
        foreach (var file in Directory.GetFiles(src, "*", SearchOption.AllDirectories))
        {
            Assert.Equal(File.ReadAllBytes(file), File.ReadAllBytes(Path.Combine(target, "src", Path.GetRelativePath(src, file))));
        }

        Assert.True(result.Stages.Hash > TimeSpan.Zero);
        Assert.True(result.Stages.Cpu > TimeSpan.Zero);
    }

    [Fact]
    public async Task BackupAsync_FilesSpanningSeveralReadBuffers_CutsEveryFileAsTheWholeFileWould()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        // 40 MiB over files of odd sizes (text and random, an empty one): the reader's 16 MiB buffers end inside files
        // and inside chunks, so chunks are cut from buffer tails and carried over to fresh buffers
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (var i = 0; i < 7; i++)
        {
            var n = (5 * 1024 * 1024) + (i * 333_333);
            files[$"f{i}.bin"] = i % 2 == 0 ? Vaults.TextBytes(n, 40 + i) : Vaults.RandomBytes(n, 40 + i);
        }

        files["empty"] = [];
        files["small"] = Vaults.RandomBytes(1000, 9);
        foreach (var (name, bytes) in files)
        {
            File.WriteAllBytes(Path.Combine(src, name), bytes);
        }

        await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp), workers: 2);

        var result = await repo.BackupAsync(new BackupRequest { Paths = [src] });

        var root = await repo.LoadTreeAsync(Format.BlobId.Parse(result.Snapshot.TreeId), CancellationToken.None);
        var dir = await repo.LoadTreeAsync(Format.BlobId.Parse(Assert.Single(root.Nodes).Subtree!), CancellationToken.None);
        foreach (var node in dir.Nodes)
        {
            var data = files[node.Name];
            var expected = new List<string>();
            for (var pos = 0; pos < data.Length;)
            {
                var cut = repo.Chunker.FindCut(data.AsSpan(pos));
                expected.Add(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(data.AsSpan(pos, cut))));
                pos += cut;
            }

            Assert.Equal(expected, node.Content ?? []);
        }

        Assert.Equal(files.Count, dir.Nodes.Count);
    }
}

/// <summary>Issue 12: restore reads packs in order and writes files on workers; a failed restore leaves no file looking whole.</summary>
public sealed class PackOrderedRestoreTests
{
    [Fact]
    public async Task RestoreAsync_PackReadFailsMidway_LeavesOnlyCompleteFilesAndNoPartials()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        for (var i = 0; i < 12; i++)
        {
            File.WriteAllBytes(Path.Combine(src, $"f{i:D2}.bin"), Vaults.RandomBytes(400 * 1024, 300 + i));
        }

        var storeDir = tmp.Sub("repo");
        SnapshotInfo snapshot;
        await using (var repo = await Vaults.CreateAsync(new Lifeline.Storage.FileSystem.FileSystemObjectStore(storeDir)))
        {
            snapshot = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;
        }

        var faulty = new FaultStore(new Lifeline.Storage.FileSystem.FileSystemObjectStore(storeDir)) { FailPackGetFrom = 3 };
        await using var reopened = await VaultRepository.OpenAsync(faulty, Vaults.Password, new VaultOpenOptions { Host = "test-host", Workers = 2 });
        var target = tmp.Sub("restored");

        await Assert.ThrowsAsync<IOException>(() => reopened.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = target }));

        var left = Directory.GetFiles(target, "*", SearchOption.AllDirectories);
        Assert.DoesNotContain(left, f => Path.GetFileName(f).StartsWith(".lifeline-restore-", StringComparison.Ordinal));
        Assert.True(left.Length < 12, "the fault came before the last pack: some files cannot be there");
        foreach (var file in left)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(src, Path.GetFileName(file))), File.ReadAllBytes(file));
        }
    }
}
