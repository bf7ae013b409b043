namespace Lifeline.Vault.Tests;

/// <summary>A corrupt snapshot or key file is reported by id, never silently skipped or taken for a wrong password.</summary>
public sealed class CorruptFileReportTests
{
    [Fact]
    public async Task FindSnapshot_NewestSnapshotCorrupt_LatestThrowsNamingItAndThePreviousOne()
    {
        using var tmp = new TempDir();
        var (repo, first, second) = await TwoSnapshotsAsync(tmp);
        await using var _ = repo;
        FlipByte(Path.Combine(tmp.Path, "repo", "snapshots", second.Id));
        await using var reopened = await VaultRepository.OpenAsync(Vaults.Store(tmp), Vaults.Password);

        var e = await Assert.ThrowsAsync<SnapshotCorruptException>(() => reopened.FindSnapshotAsync("latest"));

        Assert.True(e.AsLatest);
        Assert.Equal(second.Id, e.Corrupt.Id);
        Assert.Equal(first.Id, e.Previous?.Id);
        Assert.Contains(second.ShortId, e.Message, StringComparison.Ordinal);
        Assert.Contains(first.ShortId, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.Equal(first.Id, (await reopened.FindSnapshotAsync(first.ShortId)).Id);
    }

    [Fact]
    public async Task FindSnapshot_IdOfCorruptSnapshot_ThrowsCorruptNotNotFound()
    {
        using var tmp = new TempDir();
        var (repo, _, second) = await TwoSnapshotsAsync(tmp);
        await using var __ = repo;
        FlipByte(Path.Combine(tmp.Path, "repo", "snapshots", second.Id));
        await using var reopened = await VaultRepository.OpenAsync(Vaults.Store(tmp), Vaults.Password);

        var e = await Assert.ThrowsAsync<SnapshotCorruptException>(() => reopened.FindSnapshotAsync(second.ShortId));

        Assert.False(e.AsLatest);
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ScanSnapshots_CorruptSnapshot_ListsItWithTheReadableOnes()
    {
        using var tmp = new TempDir();
        var (repo, first, second) = await TwoSnapshotsAsync(tmp);
        await using var _ = repo;
        FlipByte(Path.Combine(tmp.Path, "repo", "snapshots", second.Id));
        await using var reopened = await VaultRepository.OpenAsync(Vaults.Store(tmp), Vaults.Password);

        var listing = await reopened.ScanSnapshotsAsync(new SnapshotFilter { Source = "other-source" });

        Assert.Empty(listing.Snapshots);
        var corrupt = Assert.Single(listing.Corrupt);
        Assert.Equal(second.Id, corrupt.Id);
        Assert.False(string.IsNullOrWhiteSpace(corrupt.Reason));
        Assert.Equal([first.Id], (await reopened.ScanSnapshotsAsync()).Snapshots.Select(s => s.Id));
    }

    [Fact]
    public async Task FindSnapshot_OldSnapshotCorrupt_LatestStillPicksTheNewest()
    {
        using var tmp = new TempDir();
        var (repo, first, second) = await TwoSnapshotsAsync(tmp);
        await using var _ = repo;
        var file = Path.Combine(tmp.Path, "repo", "snapshots", first.Id);
        FlipByte(file);
        File.SetLastWriteTimeUtc(file, first.Time.UtcDateTime); // stored before the newest was taken
        await using var reopened = await VaultRepository.OpenAsync(Vaults.Store(tmp), Vaults.Password);

        Assert.Equal(second.Id, (await reopened.FindSnapshotAsync("latest")).Id);
    }

    [Fact]
    public async Task Prune_CorruptSnapshot_RefusesAndDeletesNothing()
    {
        using var tmp = new TempDir();
        var (repo, _, second) = await TwoSnapshotsAsync(tmp);
        await using var _ = repo;
        FlipByte(Path.Combine(tmp.Path, "repo", "snapshots", second.Id));
        var packs = Directory.GetFiles(Path.Combine(tmp.Path, "repo", "data"), "*", SearchOption.AllDirectories).Order().ToList();
        await using var reopened = await VaultRepository.OpenAsync(Vaults.Store(tmp), Vaults.Password);

        var e = await Assert.ThrowsAsync<VaultCorruptException>(() => reopened.PruneAsync());

        Assert.Contains(second.ShortId, e.Message, StringComparison.Ordinal);
        Assert.Equal(packs, Directory.GetFiles(Path.Combine(tmp.Path, "repo", "data"), "*", SearchOption.AllDirectories).Order().ToList());
    }

    [Fact]
    public async Task Open_OnlyKeyFileCorrupt_ThrowsKeyFileCorruptNotWrongPassword()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        await (await Vaults.CreateAsync(store)).DisposeAsync();
        var key = Directory.GetFiles(Path.Combine(tmp.Path, "repo", "keys")).Single();
        var json = File.ReadAllText(key);
        // change one character of the base64 wrapped key: still a well-formed JSON key file, but not the one its id names
        var at = json.IndexOf("\"wrappedKey\":\"", StringComparison.OrdinalIgnoreCase) + 20;
        File.WriteAllText(key, json[..at] + (json[at] == 'A' ? 'B' : 'A') + json[(at + 1)..]);

        var e = await Assert.ThrowsAsync<KeyFileCorruptException>(() => VaultRepository.OpenAsync(store, Vaults.Password));

        Assert.Equal(Path.GetFileName(key), e.KeyId);
        Assert.Contains("corrupt", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong password", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Open_KeyFileNotJson_ThrowsKeyFileCorrupt()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        await (await Vaults.CreateAsync(store)).DisposeAsync();
        var key = Directory.GetFiles(Path.Combine(tmp.Path, "repo", "keys")).Single();
        File.WriteAllBytes(key, File.ReadAllBytes(key)[..20]);

        await Assert.ThrowsAsync<KeyFileCorruptException>(() => VaultRepository.OpenAsync(store, Vaults.Password));
    }

    [Fact]
    public async Task Open_IntactKeysAndWrongPassword_StillThrowsWrongPassword()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        await using (var repo = await Vaults.CreateAsync(store))
        {
            await repo.AddKeyAsync("second password", VaultInitOptions.ForTests);
        }

        await Assert.ThrowsAsync<WrongPasswordException>(() => VaultRepository.OpenAsync(store, "neither"));
    }

    [Fact]
    public async Task Open_OneKeyCorruptAnotherOpens_Opens()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        KeyInfo added;
        await using (var repo = await Vaults.CreateAsync(store))
        {
            added = await repo.AddKeyAsync("second password", VaultInitOptions.ForTests);
        }

        File.WriteAllText(Path.Combine(tmp.Path, "repo", "keys", added.Id), "{");

        await using var opened = await VaultRepository.OpenAsync(store, Vaults.Password);
        Assert.NotNull(opened.Id);
    }

    private static async Task<(VaultRepository Repo, SnapshotInfo First, SnapshotInfo Second)> TwoSnapshotsAsync(TempDir tmp)
    {
        var src = tmp.Sub("src");
        File.WriteAllText(Path.Combine(src, "a.txt"), "first");
        var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
        var first = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;
        File.WriteAllText(Path.Combine(src, "b.txt"), "second");
        var second = (await repo.BackupAsync(new BackupRequest { Paths = [src] })).Snapshot;
        return (repo, first, second);
    }

    private static void FlipByte(string path)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[bytes.Length / 2] ^= 0x40;
        File.WriteAllBytes(path, bytes);
    }
}
