using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Tags;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;
using Lifeline.Registry.Tests;
using Lifeline.Registry.Tests.Backup;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tests.Components.Registry;

/// <summary>Incremental restore of a newer registry point into the directory an earlier restore made (issue 12).</summary>
public sealed class RegistryIncrementalRestoreTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;
    private static readonly TimeProvider Time = TimeProvider.System;

    private sealed record Points(VaultRepository Vault, string First, string Second, byte[] NewPayload) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Vault.DisposeAsync();
    }

    /// <summary>2 models x 2 versions (8 artifacts) at the first point; the second adds version 3 of model-0 (2 new artifacts).</summary>
    private static async Task<Points> TwoPointsAsync(TempDirectory dir)
    {
        var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(dir.Combine("vault")), "pw", VaultInitOptions.ForTests, Time, Ct);
        await using var source = await RegistryTestServer.StartAsync(dir.Combine("source"));
        var client = source.Client();
        await RegistrySeed.SeedAsync(client, models: 2, versionsPerModel: 2);
        var first = await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), Time, Ct);
        var payload = RegistrySeed.Payload(0, 7);
        var experiment = await client.GetOrCreateExperimentAsync("lead-scoring");
        var run = await client.CreateRunAsync(experiment, "train-0-new");
        var root = MlflowClient.ProxyPathOf(run.Info.ArtifactUri)!;
        await client.UploadArtifactAsync($"{root}/model/model.zip", payload);
        await client.UploadArtifactAsync($"{root}/model/signature.json", "{}"u8.ToArray());
        var version = await client.CreateModelVersionAsync("model-0", run.Info.ArtifactUri + "/model", run.Info.RunId);
        await client.TransitionModelVersionStageAsync("model-0", version.Version, "Production", archiveExistingVersions: true);
        var second = await RegistryVault.BackupNativeAsync(vault, source.DataDirectory, dir.Combine("work"), Time, Ct);
        return new Points(vault, first.Snapshot.Id, second.Snapshot.Id, payload);
    }

    private static async Task<(string Version, byte[] Bytes)> ProductionAsync(string dataDirectory, string model)
    {
        await using var server = await RegistryTestServer.StartAsync(dataDirectory);
        var production = Assert.Single(await server.Client().GetLatestVersionsAsync(model, ["Production"]));
        return (production.Version, await server.Client().DownloadArtifactAsync(MlflowClient.ProxyPathOf(production.Source)! + "/model.zip"));
    }

    [Fact]
    public async Task RestoreIncremental_IntoEarlierRestore_FetchesOnlyTheNewArtifactsAndServesTheNewPoint()
    {
        using var dir = new TempDirectory();
        await using var points = await TwoPointsAsync(dir);
        var target = dir.Combine("R");
        await RegistryVault.RestoreAsync(points.Vault, RestorePointSpec.ById(points.First), target, null, dir.Combine("work"), Time, Ct);
        Assert.Equal("2", (await ProductionAsync(target, "model-0")).Version);

        var result = await RegistryVault.RestoreIncrementalAsync(points.Vault, RestorePointSpec.ById(points.Second), target, dir.Combine("work"), Time, Ct);

        Assert.Equal(new IncrementalRestoreStats(8, result.Incremental!.ReusedBytes, 0, 2, points.NewPayload.Length + 2, 0), result.Incremental);
        var (version, bytes) = await ProductionAsync(target, "model-0");
        Assert.Equal("3", version);
        Assert.Equal(points.NewPayload, bytes);
        // only the native backups' kept staging (hard links and their hash cache) stays in the work directory
        Assert.All(Directory.EnumerateFileSystemEntries(dir.Combine("work")), e => Assert.StartsWith(RegistryVault.KeptPrefix, Path.GetFileName(e), StringComparison.Ordinal));

        // Back to the first point: the two artifacts it does not hold are removed, nothing is fetched.
        var back = await RegistryVault.RestoreIncrementalAsync(points.Vault, RestorePointSpec.ById(points.First), target, dir.Combine("work"), Time, Ct);
        Assert.Equal((0L, 2L), (back.Incremental!.FetchedFiles, back.Incremental.RemovedFiles));
        Assert.Equal("2", (await ProductionAsync(target, "model-0")).Version);
    }

    [Fact]
    public async Task RestoreIncremental_ArtifactChangedInTarget_HashedAndFetchedAgain()
    {
        using var dir = new TempDirectory();
        await using var points = await TwoPointsAsync(dir);
        var target = dir.Combine("R");
        await RegistryVault.RestoreAsync(points.Vault, RestorePointSpec.ById(points.First), target, null, dir.Combine("work"), Time, Ct);
        var artifact = Directory.EnumerateFiles(Path.Combine(target, "artifacts"), "model.zip", SearchOption.AllDirectories).First();
        var original = await File.ReadAllBytesAsync(artifact);
        var damaged = (byte[])original.Clone();
        damaged[100] ^= 0xff; // same size, other content, a later modification time
        await File.WriteAllBytesAsync(artifact, damaged);
        File.SetLastWriteTimeUtc(artifact, DateTime.UtcNow.AddMinutes(1));

        var result = await RegistryVault.RestoreIncrementalAsync(points.Vault, RestorePointSpec.ById(points.First), target, dir.Combine("work"), Time, Ct);

        Assert.Equal((1L, 1L, 7L), (result.Incremental!.HashedFiles, result.Incremental.FetchedFiles, result.Incremental.ReusedFiles));
        Assert.Equal(original, await File.ReadAllBytesAsync(artifact));
    }

    [Fact]
    public async Task RestoreIncremental_TargetNotMadeByARestore_RefusedAndLeftAsItWas()
    {
        using var dir = new TempDirectory();
        await using var points = await TwoPointsAsync(dir);
        var live = dir.Combine("source");
        var before = Directory.EnumerateFiles(live, "*", SearchOption.AllDirectories).Order().ToList();

        var e = await Assert.ThrowsAsync<IncrementalRestoreRefusedException>(() => RegistryVault.RestoreIncrementalAsync(points.Vault, RestorePointSpec.ById(points.First), live, dir.Combine("work"), Time, Ct));

        Assert.Contains("not the target of an earlier restore", e.Message, StringComparison.Ordinal);
        Assert.Equal(before, Directory.EnumerateFiles(live, "*", SearchOption.AllDirectories).Order().ToList());
        Assert.Equal("3", (await ProductionAsync(live, "model-0")).Version);
    }

    [Fact]
    public async Task RestoreIncremental_RegistryUsedSinceRestore_RefusedUnlessAsked()
    {
        using var dir = new TempDirectory();
        await using var points = await TwoPointsAsync(dir);
        var target = dir.Combine("R");
        await RegistryVault.RestoreAsync(points.Vault, RestorePointSpec.ById(points.First), target, null, dir.Combine("work"), Time, Ct);
        await using (var server = await RegistryTestServer.StartAsync(target))
        {
            await server.Client().CreateRegisteredModelAsync("written-after-the-restore");
        }

        var e = await Assert.ThrowsAsync<IncrementalRestoreRefusedException>(() => RegistryVault.RestoreIncrementalAsync(points.Vault, RestorePointSpec.ById(points.Second), target, dir.Combine("work"), Time, Ct));
        Assert.Contains("may be a live registry", e.Message, StringComparison.Ordinal);
        Assert.Equal("2", (await ProductionAsync(target, "model-0")).Version);

        await RegistryVault.RestoreIncrementalAsync(points.Vault, RestorePointSpec.ById(points.Second), target, dir.Combine("work"), Time, Ct, replaceChanged: true);
        Assert.Equal("3", (await ProductionAsync(target, "model-0")).Version);
        await using var restored = await RegistryTestServer.StartAsync(target);
        Assert.Null(await restored.Client().GetRegisteredModelAsync("written-after-the-restore"));
    }

    [Fact]
    public async Task RestoreIncremental_InterruptedMidway_NoRegistryUntilARerunCompletesIt()
    {
        using var dir = new TempDirectory();
        await using var points = await TwoPointsAsync(dir);
        var target = dir.Combine("R");
        await RegistryVault.RestoreAsync(points.Vault, RestorePointSpec.ById(points.First), target, null, dir.Combine("work"), Time, Ct);

        // The state a kill during the apply step leaves: record marked incomplete, database gone, one artifact half-written.
        var record = (await RestoreRecord.ReadAsync(target, Ct))!;
        await RestoreRecord.SaveAsync(target, record with { Complete = false }, Ct);
        File.Delete(Path.Combine(target, NativeBackup.DatabaseFile));
        var artifact = Directory.EnumerateFiles(Path.Combine(target, "artifacts"), "model.zip", SearchOption.AllDirectories).First();
        var original = await File.ReadAllBytesAsync(artifact);
        await File.WriteAllBytesAsync(artifact, original.AsMemory(0, original.Length / 2).ToArray());

        // Not a registry: a full restore refuses the non-empty directory, and there is no database to serve.
        await Assert.ThrowsAsync<InvalidOperationException>(() => RegistryVault.RestoreAsync(points.Vault, RestorePointSpec.ById(points.Second), target, null, dir.Combine("work"), Time, Ct));
        Assert.False(File.Exists(Path.Combine(target, NativeBackup.DatabaseFile)));

        var result = await RegistryVault.RestoreIncrementalAsync(points.Vault, RestorePointSpec.ById(points.Second), target, dir.Combine("work"), Time, Ct);

        Assert.Equal(3L, result.Incremental!.FetchedFiles); // the two new ones and the half-written one
        Assert.Equal(original, await File.ReadAllBytesAsync(artifact));
        var (version, bytes) = await ProductionAsync(target, "model-0");
        Assert.Equal("3", version);
        Assert.Equal(points.NewPayload, bytes);
        Assert.True((await RestoreRecord.ReadAsync(target, Ct))!.Complete);
    }

    [Fact]
    public async Task PlanIncremental_ArtifactPathEscapingTarget_RefusedBeforeAnythingIsWritten()
    {
        using var dir = new TempDirectory();
        await using var points = await TwoPointsAsync(dir);
        var target = dir.Combine("R");
        await RegistryVault.RestoreAsync(points.Vault, RestorePointSpec.ById(points.First), target, null, dir.Combine("work"), Time, Ct);
        var manifest = new RegistryBackupManifest { Mode = "native", Artifacts = [new ArtifactEntry("../../outside.bin", 4, "00")] };

        var e = await Assert.ThrowsAsync<InvalidDataException>(() => IncrementalRestore.PlanAsync(manifest, target, replaceChanged: false, rehashAll: false, Ct));

        Assert.Contains("../../outside.bin", e.Message, StringComparison.Ordinal);
        Assert.True((await RestoreRecord.ReadAsync(target, Ct))!.Complete);
        Assert.False(File.Exists(dir.Combine("outside.bin")));
    }
}
