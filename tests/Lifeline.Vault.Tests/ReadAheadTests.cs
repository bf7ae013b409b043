namespace Lifeline.Vault.Tests;

/// <summary>Issue 12: the full backup's read-ahead walker across files and directories changes timing, never content.</summary>
public sealed class ReadAheadTests
{
    private static async Task<VaultRepository> CreateSutAsync(TempDir tmp, string name, long readAheadBytes) =>
        await VaultRepository.InitAsync(Vaults.Store(tmp, name), Vaults.Password, Vaults.Small,
            new VaultOpenOptions { Host = "test-host", ReadAheadBytes = readAheadBytes });

    [Fact]
    public async Task BackupAsync_TreeReadAheadWithATinyBudget_RestoresTheSourceAndChecksWithReadData()
    {
        using var tmp = new TempDir();
        var src = tmp.Sub("src");
        Vaults.MakeTree(src);
        Directory.CreateDirectory(Path.Combine(src, "deep", "er"));
        File.WriteAllBytes(Path.Combine(src, "deep", "er", "big.bin"), Vaults.RandomBytes(3 * 1024 * 1024, 5));
        await using var ahead = await CreateSutAsync(tmp, "ahead", readAheadBytes: 1); // the walker waits for the reader at every file
        await using var plain = await CreateSutAsync(tmp, "plain", readAheadBytes: 0);

        var withWalker = await ahead.BackupAsync(new BackupRequest { Paths = [src] });
        var without = await plain.BackupAsync(new BackupRequest { Paths = [src] });

        Assert.Equal(without.TotalFiles, withWalker.TotalFiles);
        Assert.Equal(without.TotalBytes, withWalker.TotalBytes);
        var target = tmp.Sub("restored");
        await ahead.RestoreAsync(new RestoreRequest { Snapshot = withWalker.Snapshot, TargetDirectory = target });
        var restoredRoot = Path.Combine(target, "src");
        var expected = Directory.GetFiles(src, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(src, f)).Order(StringComparer.Ordinal).ToList();
        var restored = Directory.GetFiles(restoredRoot, "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(restoredRoot, f)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected, restored);
        foreach (var file in expected)
        {
            Assert.Equal(File.ReadAllBytes(Path.Combine(src, file)), File.ReadAllBytes(Path.Combine(restoredRoot, file)));
        }

        Assert.True(withWalker.Stages.Read > TimeSpan.Zero);
        var check = await ahead.CheckAsync(new CheckOptions { ReadData = true });
        Assert.True(check.Ok, string.Join("\n", check.Errors));
    }
}
