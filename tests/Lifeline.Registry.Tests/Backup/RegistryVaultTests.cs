using Lifeline.Registry.Backup;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Registry.Tests.Backup;

public sealed class RegistryVaultTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task NativeBackups_RestoreAt_PicksNewestAtOrBefore()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, time, Ct);
        await using (var source = await RegistryTestServer.StartAsync(dir.Combine("source")))
        {
            var client = source.Client();
            await RegistrySeed.SeedAsync(client, models: 1, versionsPerModel: 2);
            var first = await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), time, Ct);
            Assert.Contains("mode=native", first.Snapshot.Tags);
            time.Advance(TimeSpan.FromHours(1));
            await client.CreateRegisteredModelAsync("added-later");
            await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), time, Ct);
        }

        var early = await RegistryVault.RestoreAsync(vault, null, DateTimeOffset.Parse("2026-11-26T10:30:00Z", System.Globalization.CultureInfo.InvariantCulture), dir.Combine("early"), null, dir.Combine("work"), time, Ct);
        Assert.Equal("native", early.Manifest.Mode);
        await RegistryVault.RestoreAsync(vault, null, null, dir.Combine("latest"), null, dir.Combine("work"), time, Ct);

        await using (var restored = await RegistryTestServer.StartAsync(dir.Combine("early")))
        {
            Assert.Null(await restored.Client().GetRegisteredModelAsync("added-later"));
            Assert.Equal("2", Assert.Single(await restored.Client().GetLatestVersionsAsync("model-0", ["Production"])).Version);
        }

        await using (var restored = await RegistryTestServer.StartAsync(dir.Combine("latest")))
        {
            Assert.NotNull(await restored.Client().GetRegisteredModelAsync("added-later"));
        }

        await Assert.ThrowsAsync<SnapshotNotFoundException>(() => RegistryVault.RestoreAsync(vault, null, DateTimeOffset.Parse("2026-11-26T09:00:00Z", System.Globalization.CultureInfo.InvariantCulture), dir.Combine("none"), null, dir.Combine("work"), time, Ct));
        Assert.Empty(Directory.EnumerateFileSystemEntries(dir.Combine("work")));
    }

    [Fact]
    public async Task ApiBackup_RestoredIntoEmptyDataDirectory_ServesSameProductionVersion()
    {
        using var dir = new TempDirectory();
        var time = TimeProvider.System;
        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, time, Ct);
        await using (var source = await RegistryTestServer.StartAsync(dir.Combine("source")))
        {
            await RegistrySeed.SeedAsync(source.Client(), models: 1, versionsPerModel: 2);
            var backup = await RegistryVault.BackupViaApiAsync(vault, source.Client(RegistryTestServer.ReaderToken), dir.Combine("work"), time, Ct);
            Assert.Equal(2, backup.Manifest.Counts["runs"]);
        }

        var result = await RegistryVault.RestoreAsync(vault, null, null, dir.Combine("restored"), null, dir.Combine("work"), time, Ct);
        Assert.NotNull(result.Import);
        await using var restored = await RegistryTestServer.StartAsync(dir.Combine("restored"));
        var production = Assert.Single(await restored.Client().GetLatestVersionsAsync("model-0", ["Production"]));
        Assert.Equal("2", production.Version);
        var bytes = await restored.Client().DownloadArtifactAsync(Lifeline.Registry.Client.MlflowClient.ProxyPathOf(await restored.Client().GetModelVersionDownloadUriAsync("model-0", "2"))! + "/model.zip");
        Assert.Equal(RegistrySeed.Payload(0, 1), bytes);
    }
}
