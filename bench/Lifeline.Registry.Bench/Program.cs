// Registry recovery benchmark: seeds a registry with MODELS x VERSIONS model versions, each with its own run and an
// artifact of ARTIFACT_KB random (incompressible) kilobytes, then times native and API-mode backup into a vault and
// restore into an empty registry, and checks that the restored registry serves the same Production versions and
// byte-identical artifacts. Usage: dotnet run -c Release -- WORKDIR [MODELS] [VERSIONS] [ARTIFACT_KB]
using System.Diagnostics;
using System.Globalization;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Tags;
using Lifeline.Registry;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;
using Lifeline.Registry.Hosting;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

var work = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "lifeline-registry-bench"));
var models = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
var versions = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
var artifactKb = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1024;
if (Directory.Exists(work))
{
    Directory.Delete(work, recursive: true);
}

Directory.CreateDirectory(work);
const string token = "bench-admin-token";
var time = TimeProvider.System;
var options = new RegistryOptions { DataDirectory = Path.Combine(work, "source"), Tokens = [new RegistryToken { Token = token, Role = RegistryRole.Admin }] };

var sw = Stopwatch.StartNew();
await using (var app = await RegistryServer.StartAsync(options, "http://127.0.0.1:5162"))
{
    var client = new MlflowClient(new HttpClient { BaseAddress = app.Address(), Timeout = TimeSpan.FromMinutes(5) }, token);
    var experiment = await client.CreateExperimentAsync("bench");
    await Parallel.ForEachAsync(Enumerable.Range(0, models), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (m, ct) =>
    {
        var name = $"model-{m:D3}";
        await client.CreateRegisteredModelAsync(name, cancellationToken: ct);
        for (var v = 0; v < versions; v++)
        {
            var run = await client.CreateRunAsync(experiment, $"{name}-{v}", cancellationToken: ct);
            await client.LogBatchAsync(run.Info.RunId, Enumerable.Range(0, 10).Select(i => new Lifeline.Registry.Contracts.MlflowMetric { Key = "auc", Value = 0.5 + (i / 100.0), Timestamp = i, Step = i }).ToList(), [new("trees", "100")], [], ct);
            var bytes = new byte[artifactKb * 1024];
            Random.Shared.NextBytes(bytes);
            await client.UploadArtifactAsync(MlflowClient.ProxyPathOf(run.Info.ArtifactUri) + "/model/model.zip", bytes, ct);
            await client.UpdateRunAsync(run.Info.RunId, "FINISHED", 1, cancellationToken: ct);
            var version = await client.CreateModelVersionAsync(name, run.Info.ArtifactUri + "/model", run.Info.RunId, cancellationToken: ct);
            await client.TransitionModelVersionStageAsync(name, version.Version, v % 2 == 0 ? "Production" : "Staging", true, ct);
        }
    });
    var seed = sw.Elapsed;
    Console.WriteLine($"seeded {models} models x {versions} versions x {artifactKb} KiB = {(long)models * versions * artifactKb / 1024} MiB in {seed.TotalSeconds:F1}s");

    await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(Path.Combine(work, "vault")), "bench-password", new VaultInitOptions(), time);
    var native = await RegistryVault.BackupNativeAsync(vault, options.DataDirectory, Path.Combine(work, "tmp"), time, default);
    Console.WriteLine($"native backup (registry serving): {native.Duration.TotalSeconds:F1}s, snapshot {native.Snapshot.ShortId}");
    var api = await RegistryVault.BackupViaApiAsync(vault, client, Path.Combine(work, "tmp"), time, default);
    Console.WriteLine($"api backup (export page by page + vault): {api.Duration.TotalSeconds:F1}s, snapshot {api.Snapshot.ShortId}");

    var nativeRestore = await RegistryVault.RestoreAsync(vault, RestorePointSpec.ById(native.Snapshot.Id), Path.Combine(work, "restored-native"), null, Path.Combine(work, "tmp"), time, default);
    Console.WriteLine($"native restore into empty registry: {nativeRestore.Duration.TotalSeconds:F1}s");
    var apiRestore = await RegistryVault.RestoreAsync(vault, RestorePointSpec.ById(api.Snapshot.Id), Path.Combine(work, "restored-api"), null, Path.Combine(work, "tmp"), time, default);
    Console.WriteLine($"api restore into empty registry (import via REST): {apiRestore.Duration.TotalSeconds:F1}s, {apiRestore.Import!.Created} objects created");

    foreach (var dir in new[] { "restored-native", "restored-api" })
    {
        await using var restored = await RegistryServer.StartAsync(new RegistryOptions { DataDirectory = Path.Combine(work, dir) }, "http://127.0.0.1:0");
        var check = new MlflowClient(new HttpClient { BaseAddress = restored.Address() });
        for (var m = 0; m < models; m += Math.Max(1, models / 10))
        {
            var name = $"model-{m:D3}";
            var a = (await client.GetLatestVersionsAsync(name, ["Production"])).Single();
            var b = (await check.GetLatestVersionsAsync(name, ["Production"])).Single();
            var before = await client.DownloadArtifactAsync(MlflowClient.ProxyPathOf(a.Source)! + "/model.zip");
            var after = await check.DownloadArtifactAsync(MlflowClient.ProxyPathOf(b.Source)! + "/model.zip");
            var same = a.Version == b.Version && before.AsSpan().SequenceEqual(after);
            if (!same)
            {
                throw new InvalidOperationException($"{dir}: {name} Production differs after restore");
            }
        }

        Console.WriteLine($"{dir}: Production versions and artifacts identical (sampled every {Math.Max(1, models / 10)}th model)");
    }
}

Directory.Delete(work, recursive: true);
