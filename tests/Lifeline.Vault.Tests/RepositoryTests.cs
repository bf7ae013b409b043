using Lifeline.Storage.FileSystem;

namespace Lifeline.Vault.Tests;

public sealed class RepositoryTests
{
    [Fact]
    public async Task Open_WrongPassword_ThrowsWrongPassword()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        await (await Vaults.CreateAsync(store)).DisposeAsync();

        var e = await Assert.ThrowsAsync<WrongPasswordException>(() => VaultRepository.OpenAsync(store, "not the password"));
        Assert.Contains("wrong password", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
    }

    [Fact]
    public async Task Open_ForeignOrMissingDirectory_ThrowsRepositoryNotFoundNamingIt()
    {
        using var tmp = new TempDir();
        var foreign = tmp.Sub("foreign");
        File.WriteAllText(Path.Combine(foreign, "notes.txt"), "not a vault");

        var e = await Assert.ThrowsAsync<RepositoryNotFoundException>(() => VaultRepository.OpenAsync(new FileSystemObjectStore(foreign), Vaults.Password));
        Assert.Contains(new FileSystemObjectStore(foreign).Location, e.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<RepositoryNotFoundException>(() => VaultRepository.OpenAsync(new FileSystemObjectStore(Path.Combine(tmp.Path, "missing")), Vaults.Password));
    }

    [Fact]
    public async Task Init_Twice_ThrowsAlreadyExists()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        await (await Vaults.CreateAsync(store)).DisposeAsync();

        await Assert.ThrowsAsync<RepositoryAlreadyExistsException>(() => Vaults.CreateAsync(store));
    }

    [Fact]
    public async Task Keys_AddListRemove_EachPasswordOpensAndCurrentKeyIsProtected()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        await using var repo = await Vaults.CreateAsync(store);
        var added = await repo.AddKeyAsync("second password", VaultInitOptions.ForTests);

        var keys = await repo.ListKeysAsync().ToListAsync();
        Assert.Equal(2, keys.Count);
        Assert.Single(keys, k => k.Current);

        await using (var other = await VaultRepository.OpenAsync(store, "second password"))
        {
            Assert.Equal(repo.Id, other.Id);
            await Assert.ThrowsAsync<VaultException>(() => other.RemoveKeyAsync(added.Id[..10]));
            await other.RemoveKeyAsync(keys.Single(k => k.Current).Id);
        }

        await Assert.ThrowsAsync<WrongPasswordException>(() => VaultRepository.OpenAsync(store, Vaults.Password));
        await using var again = await VaultRepository.OpenAsync(store, "second password");
        Assert.Single(await again.ListKeysAsync().ToListAsync());
    }

    [Fact]
    public async Task Restore_TreeWithEscapingName_ThrowsUnsafePathAndWritesNothing()
    {
        foreach (var bad in new[] { "..", "a/../../etc", "/etc", "." })
        {
            using var tmp = new TempDir();
            await using var repo = await Vaults.CreateAsync(Vaults.Store(tmp));
            var src = tmp.Sub("src");
            File.WriteAllText(Path.Combine(src, "ok.txt"), "fine");
            var good = await repo.BackupAsync(new BackupRequest { Paths = [src] });
            var snapshot = await Crafted.SnapshotWithEntryAsync(repo, good.Snapshot, bad);
            var target = Path.Combine(tmp.Path, "target");

            var e = await Assert.ThrowsAsync<UnsafePathException>(() => repo.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = target }));
            Assert.Contains(bad, e.Message, StringComparison.Ordinal);
            Assert.False(Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any(), $"something was written for '{bad}'");
        }
    }

    [Fact]
    public async Task Init_AfterAnInitInterruptedBeforeConfig_OpensWithTheSamePassword()
    {
        using var tmp = new TempDir();
        var store = Vaults.Store(tmp);
        await (await Vaults.CreateAsync(store)).DisposeAsync();
        await store.DeleteAsync("config"); // as if the first init died after writing its key file

        await using (var repo = await Vaults.CreateAsync(store))
        {
            Assert.Equal(2, (await store.ListAsync("keys/").ToListAsync()).Count);
        }

        await using var opened = await VaultRepository.OpenAsync(store, Vaults.Password);
        Assert.NotEmpty(opened.Id);
    }
}
