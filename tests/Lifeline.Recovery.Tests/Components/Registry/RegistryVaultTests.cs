using System.Globalization;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Tags;
using Lifeline.Registry.Backup;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;
using Lifeline.Registry.Tests;
using Lifeline.Registry.Tests.Backup;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Components.Registry;

// Moved from tests/Lifeline.Registry.Tests/Backup when the vault step moved into the registry adapter.
public sealed class RegistryVaultTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    private static DateTimeOffset T(string s) => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture);

    [Fact]
    public async Task NativeBackups_RestoreAt_PicksNewestAtOrBefore()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(T("2026-11-26T10:00:00Z"));
        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, time, Ct);
        await using (var source = await RegistryTestServer.StartAsync(dir.Combine("source")))
        {
            var client = source.Client();
            await RegistrySeed.SeedAsync(client, models: 1, versionsPerModel: 2);
            var first = await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), time, Ct);
            var tags = RecoveryPointTags.Of(first.Snapshot)!;
            Assert.Equal(new RecoveryPointTags { Component = "registry", Mode = "native", Time = T("2026-11-26T10:00:00Z") }, tags);
            Assert.Equal("registry", first.Snapshot.Source);
            time.Advance(TimeSpan.FromHours(1));
            await client.CreateRegisteredModelAsync("added-later");
            await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), time, Ct);
        }

        var early = await RegistryVault.RestoreAsync(vault, RestorePointSpec.AtOrBefore(T("2026-11-26T10:30:00Z")), dir.Combine("early"), null, dir.Combine("work"), time, Ct);
        Assert.Equal("native", early.Manifest.Mode);
        await RegistryVault.RestoreAsync(vault, RestorePointSpec.Latest, dir.Combine("latest"), null, dir.Combine("work"), time, Ct);

        await using (var restored = await RegistryTestServer.StartAsync(dir.Combine("early")))
        {
            Assert.Null(await restored.Client().GetRegisteredModelAsync("added-later"));
            Assert.Equal("2", Assert.Single(await restored.Client().GetLatestVersionsAsync("model-0", ["Production"])).Version);
        }

        await using (var restored = await RegistryTestServer.StartAsync(dir.Combine("latest")))
        {
            Assert.NotNull(await restored.Client().GetRegisteredModelAsync("added-later"));
        }

        await Assert.ThrowsAsync<SnapshotNotFoundException>(() => RegistryVault.RestoreAsync(vault, RestorePointSpec.AtOrBefore(T("2026-11-26T09:00:00Z")), dir.Combine("none"), null, dir.Combine("work"), time, Ct));
        // only the native backups' kept staging (hard links and their hash cache) stays in the work directory
        Assert.All(Directory.EnumerateFileSystemEntries(dir.Combine("work")), e => Assert.StartsWith(RegistryVault.KeptPrefix, Path.GetFileName(e), StringComparison.Ordinal));
    }

    [Fact]
    public async Task BackupNative_SecondBackupUnchanged_ReadsNoArtifactAgainAndPicksUpChangedAndRemovedOnes()
    {
        using var dir = new TempDirectory();
        var time = TimeProvider.System;
        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, time, Ct);
        await using var source = await RegistryTestServer.StartAsync(dir.Combine("source"));
        await RegistrySeed.SeedAsync(source.Client(), models: 2, versionsPerModel: 2);
        var first = await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), time, Ct);
        var artifacts = first.Manifest.Artifacts.Count;
        Assert.Equal((0L, (long)artifacts, (long)artifacts), (first.Staging!.Kept, first.Staging.Linked, first.Staging.Hashed));

        var second = await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), time, Ct);

        // nothing hashed, and the vault found every artifact unchanged (only the database and manifest are read again)
        Assert.Equal(((long)artifacts, 0L, 0L, 0L), (second.Staging!.Kept, second.Staging.Linked, second.Staging.Hashed, second.Staging.HashedBytes));
        Assert.Equal(first.Snapshot.Id, second.Snapshot.ParentId);
        Assert.Equal((long)artifacts, second.Vault!.FilesUnmodified);
        Assert.Equal(first.Manifest.Artifacts, second.Manifest.Artifacts);

        // one artifact changed in place (same inode, as a writer that ignores the store's rename would do), one removed
        var root = Path.Combine(source.DataDirectory, "artifacts");
        var changed = first.Manifest.Artifacts.First(a => a.Path.EndsWith("model.zip", StringComparison.Ordinal));
        var removed = first.Manifest.Artifacts.First(a => a.Path.EndsWith("signature.json", StringComparison.Ordinal));
        await using (var file = new FileStream(Path.Combine(root, changed.Path), FileMode.Open, FileAccess.ReadWrite))
        {
            var b = file.ReadByte();
            file.Position = 0;
            file.WriteByte((byte)(b ^ 0xFF));
        }

        File.Delete(Path.Combine(root, removed.Path));
        var third = await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), time, Ct);

        Assert.Equal(((long)artifacts - 1, 0L, 1L, 1L), (third.Staging!.Kept, third.Staging.Linked, third.Staging.Removed, third.Staging.Hashed));
        var entry = Assert.Single(third.Manifest.Artifacts, a => a.Path == changed.Path);
        Assert.Equal(Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(Path.Combine(root, changed.Path)))), entry.Sha256);
        Assert.NotEqual(changed.Sha256, entry.Sha256);
        Assert.DoesNotContain(third.Manifest.Artifacts, a => a.Path == removed.Path);
        Assert.Equal((long)artifacts - 2, third.Vault!.FilesUnmodified);
        Assert.Equal(1, third.Vault.FilesChanged - second.Vault.FilesChanged); // the changed artifact read again, besides the database and manifest
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
            Assert.Equal("api", RecoveryPointTags.Of(backup.Snapshot)!.Mode);
        }

        var result = await RegistryVault.RestoreAsync(vault, RestorePointSpec.Latest, dir.Combine("restored"), null, dir.Combine("work"), time, Ct);
        Assert.NotNull(result.Import);
        await using var restored = await RegistryTestServer.StartAsync(dir.Combine("restored"));
        var production = Assert.Single(await restored.Client().GetLatestVersionsAsync("model-0", ["Production"]));
        Assert.Equal("2", production.Version);
        var bytes = await restored.Client().DownloadArtifactAsync(Lifeline.Registry.Client.MlflowClient.ProxyPathOf(await restored.Client().GetModelVersionDownloadUriAsync("model-0", "2"))! + "/model.zip");
        Assert.Equal(RegistrySeed.Payload(0, 1), bytes);
    }

    [Fact]
    public async Task Restore_SnapshotWithOldTags_RestoresTheSameRegistry()
    {
        using var dir = new TempDirectory();
        var time = TimeProvider.System;
        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, time, Ct);
        var staging = dir.Combine("staging");
        await using (var source = await RegistryTestServer.StartAsync(dir.Combine("source")))
        {
            await RegistrySeed.SeedAsync(source.Client(), models: 1, versionsPerModel: 2);
            await NativeBackup.CreateAsync(source.DataDirectory, staging, time, Ct);
        }

        // exactly what Lifeline.Registry/Backup/RegistryVault wrote before the codec
        var old = await vault.BackupAsync(new BackupRequest { Paths = [staging], Source = "registry", Tags = ["registry", "mode=native"] }, ct: Ct);
        var point = RecoveryPoint.From(old.Snapshot)!;
        Assert.Equal(("registry", "native"), (point.Component, point.Tags.Mode));

        var restored = await RegistryVault.RestoreAsync(vault, RestorePointSpec.ById(old.Snapshot.ShortId), dir.Combine("restored"), null, dir.Combine("work"), time, Ct);

        Assert.Equal(old.Snapshot.Id, restored.Snapshot.Id);
        await using var server = await RegistryTestServer.StartAsync(dir.Combine("restored"));
        Assert.Equal("2", Assert.Single(await server.Client().GetLatestVersionsAsync("model-0", ["Production"])).Version);
    }

    [Fact]
    public async Task RegistryAdapter_BackupThroughServiceThenRestoreAs_VerifiedAndServedBeside()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await using (var source = await RegistryTestServer.StartAsync(f.Dir.Combine("registry")))
        {
            await RegistrySeed.SeedAsync(source.Client(), models: 1, versionsPerModel: 2);
        }

        var backup = await f.Service.BackupComponentAsync("registry");

        Assert.Equal(AuditOutcomes.Ok, backup.Outcome);
        Assert.Equal(["a", "b", "c"], backup.Locations.Where(l => l.Ok).Select(l => l.Location));
        Assert.Equal("native", backup.Point!.Tags.Mode);
        var live = await Assert.ThrowsAsync<LiveDataProtectedException>(() => f.Service.RestoreAsync("registry"));
        Assert.DoesNotContain('\n', live.Message);

        var restored = await f.Service.RestoreAsync("registry", new RestoreRunOptions { As = "registry-copy" });

        Assert.Equal(f.Dir.Combine("restored", "registry-copy"), restored.Target.Directory);
        Assert.Contains("2 model versions", restored.Reinstated!.Summary, StringComparison.Ordinal);
        await using var server = await RegistryTestServer.StartAsync(restored.Target.Directory);
        Assert.Equal("2", Assert.Single(await server.Client().GetLatestVersionsAsync("model-0", ["Production"])).Version);
    }

    [Fact]
    public async Task RegistryAdapter_ThroughTheApiOfAnyServer_BacksUpAndRestoresAsBeside()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await using var source = await RegistryTestServer.StartAsync(f.Dir.Combine("remote"));
        await RegistrySeed.SeedAsync(source.Client(), models: 1, versionsPerModel: 2);
        var component = f.Plan.Components.Single(c => c.Name == "registry");
        var adapter = new RegistryComponent(component, new RegistryAdapterOptions { ApiUrl = source.Address, ApiToken = RegistryTestServer.ReaderToken, RestoreRoot = f.Dir.Combine("restored") });
        var service = new RecoveryService(f.Plan, f.Locations, [adapter], new RecoveryServiceOptions { Time = f.Time, WorkDirectory = f.Dir.Combine("work-api") });
        Assert.True((await adapter.ProbeAsync(Ct)).Healthy);

        var backup = await service.BackupComponentAsync("registry");
        var restored = await service.RestoreAsync("registry", new RestoreRunOptions { As = "from-api" });

        Assert.Equal("api", backup.Point!.Tags.Mode);
        Assert.Contains("created", restored.Reinstated!.Summary, StringComparison.Ordinal);
        await using var server = await RegistryTestServer.StartAsync(restored.Target.Directory);
        Assert.Equal("2", Assert.Single(await server.Client().GetLatestVersionsAsync("model-0", ["Production"])).Version);
    }
}
