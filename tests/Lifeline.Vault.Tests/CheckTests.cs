using Lifeline.Storage.FileSystem;

namespace Lifeline.Vault.Tests;

public sealed class CheckTests
{
    private static async Task<(TempDir Tmp, FileSystemObjectStore Store, VaultRepository Repo, string Src)> CreateSutAsync()
    {
        var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        var repo = await Vaults.CreateAsync(store);
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        await repo.BackupAsync(new BackupRequest { Paths = [src] });
        return (tmp, store, repo, src);
    }

    private static List<string> PackFiles(FileSystemObjectStore store)
        => Directory.GetFiles(Path.Combine(store.Root, "data"), "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal).ToList();

    [Fact]
    public async Task Check_HealthyRepository_IsOkWithAndWithoutReadData()
    {
        var (tmp, _, repo, _) = await CreateSutAsync();
        using var _t = tmp;
        await using var _r = repo;

        var quick = await repo.CheckAsync(new CheckOptions());
        var full = await repo.CheckAsync(new CheckOptions { ReadData = true });

        Assert.True(quick.Ok, string.Join("\n", quick.Errors));
        Assert.True(full.Ok, string.Join("\n", full.Errors));
        Assert.Equal(1, full.Snapshots);
        Assert.Equal(full.Packs, full.PacksRead);
        Assert.Empty(full.Warnings);
    }

    [Fact]
    public async Task Check_ReadData_DetectsAFlippedByteInAPack()
    {
        var (tmp, store, repo, _) = await CreateSutAsync();
        using var _t = tmp;
        await using var _r = repo;
        var pack = PackFiles(store)[0];
        var bytes = File.ReadAllBytes(pack);
        bytes[bytes.Length / 3] ^= 0x40;
        var key = Path.GetRelativePath(store.Root, pack).Replace(Path.DirectorySeparatorChar, '/');
        await store.PutAsync(key, bytes);

        var full = await repo.CheckAsync(new CheckOptions { ReadData = true });

        Assert.False(full.Ok);
        Assert.Contains(full.Errors, e => e.Contains(Path.GetFileName(pack), StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_MissingPack_IsReported()
    {
        var (tmp, store, repo, _) = await CreateSutAsync();
        using var _t = tmp;
        await using var _r = repo;
        var pack = PackFiles(store)[^1];
        File.Delete(pack);

        var result = await repo.CheckAsync(new CheckOptions());

        Assert.False(result.Ok);
        Assert.Contains(result.Errors, e => e.Contains(Path.GetFileName(pack), StringComparison.Ordinal) && e.Contains("does not exist", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(100)]
    public async Task Check_TruncatedPack_IsReportedWithoutReadingData(int bytesCut)
    {
        var (tmp, store, repo, _) = await CreateSutAsync();
        using var _t = tmp;
        await using var _r = repo;
        Assert.True((await repo.CheckAsync(new CheckOptions())).Ok);
        var pack = PackFiles(store).OrderByDescending(p => new FileInfo(p).Length).First();
        await using (var file = new FileStream(pack, FileMode.Open))
        {
            file.SetLength(file.Length - bytesCut);
        }

        var result = await repo.CheckAsync(new CheckOptions());

        Assert.False(result.Ok);
        Assert.Equal(0, result.PacksRead);
        Assert.Contains(result.Errors, e => e.Contains(Path.GetFileName(pack), StringComparison.Ordinal) && e.Contains("is truncated", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_ReadDataSubsets_PartitionThePacks()
    {
        var (tmp, _, repo, _) = await CreateSutAsync();
        using var _t = tmp;
        await using var _r = repo;

        var parts = new List<int>();
        for (var n = 1; n <= 3; n++)
        {
            var r = await repo.CheckAsync(new CheckOptions { ReadDataSubset = (n, 3) });
            Assert.True(r.Ok);
            parts.Add(r.PacksRead);
        }

        var all = await repo.CheckAsync(new CheckOptions { ReadData = true });
        Assert.Equal(all.PacksRead, parts.Sum());
    }

    [Fact]
    public async Task Open_WithACorruptIndexOrSnapshotFile_OpensAndCheckNamesTheFile()
    {
        var (tmp, store, repo, src) = await CreateSutAsync();
        using var _t = tmp;
        await repo.DisposeAsync();
        var index = (await store.ListAsync("index/").ToListAsync())[0].Key;
        var bytes = await store.GetAsync(index);
        bytes[40] ^= 0xFF;
        await store.PutAsync(index, bytes);
        var extra = tmp.Sub("extra");
        File.WriteAllText(Path.Combine(extra, "x.txt"), "x");

        await using var reopened = await VaultRepository.OpenAsync(store, Vaults.Password);
        var check = await reopened.CheckAsync(new CheckOptions());

        Assert.False(check.Ok);
        Assert.Contains(check.Errors, e => e.Contains(index, StringComparison.Ordinal));
        await Assert.ThrowsAsync<VaultCorruptException>(() => reopened.PruneAsync());
        var backup = await reopened.BackupAsync(new BackupRequest { Paths = [src] }); // stores the unindexed data again
        Assert.Empty(backup.Errors);
        await store.DeleteAsync(index); // "repair": drop the damaged file; the new backup indexed everything again
        await using var repaired = await VaultRepository.OpenAsync(store, Vaults.Password);
        var after = await repaired.CheckAsync(new CheckOptions { ReadData = true });
        Assert.True(after.Ok, string.Join("\n", after.Errors));
        var target = Path.Combine(tmp.Path, "out");
        await repaired.RestoreAsync(new RestoreRequest { Snapshot = backup.Snapshot, TargetDirectory = target });
        Vaults.AssertSameTree(src, Path.Combine(target, "src"));

        var snap = (await store.ListAsync("snapshots/").ToListAsync())[0].Key;
        var sb = await store.GetAsync(snap);
        sb[^3] ^= 1;
        await store.PutAsync(snap, sb);
        Assert.Single(await repaired.ListSnapshotsAsync().ToListAsync());
        Assert.Contains((await repaired.CheckAsync(new CheckOptions())).Errors, e => e.Contains(snap, StringComparison.Ordinal));
    }
}
