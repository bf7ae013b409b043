// Registry recovery benchmark at the plan's size (issue 12): seeds a registry S with MODELS x VERSIONS model versions,
// each with its own run and an artifact of ARTIFACT_KB incompressible bytes (xoshiro256** from System.Random with a
// seed: fast, not a crypto RNG), then, in an order that keeps the disk peak near twice the registry's size:
//   1. native backup of S while it serves (point 1)
//   2. a few models change (new versions with new artifacts, stage transitions of existing versions), backup (point 2)
//   3. the checks' expectations are recorded from S at both points (Production version and its artifact's SHA-256 of
//      every sampled and every changed model), then S is DELETED
//   4. point 1 restored into an empty R (timed, checked against point 1's expectations)
//   5. point 2 restored INCREMENTALLY into R (only what changed is read from the vault; timed, checked against point 2)
// Usage: dotnet run -c Release -- WORKDIR [MODELS=100] [VERSIONS=20] [ARTIFACT_KB=1024] [MIN_FREE_GB=8]
// Refuses to start unless about 3x the registry's size is free; aborts (work directory removed) if free space falls
// under MIN_FREE_GB during any phase.
using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Tags;
using Lifeline.Registry;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;
using Lifeline.Registry.Hosting;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

var work = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "lifeline-registry-bench"));
var models = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100;
var versions = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20;
var artifactKb = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 1024;
var minFree = (long)((args.Length > 4 ? double.Parse(args[4], CultureInfo.InvariantCulture) : 8.0) * 1e9);
const double GB = 1e9;

var size = (long)models * versions * artifactKb * 1024;
var probe = work;
while (!Directory.Exists(probe))
{
    probe = Path.GetDirectoryName(probe)!;
}

var free = new DriveInfo(probe).AvailableFreeSpace;
if (free < 3 * size)
{
    Console.Error.WriteLine($"lifeline-registry-bench: refused: a {size / GB:F1} GB registry needs about {3 * size / GB:F1} GB free (3x its size) on {probe}; {free / GB:F1} GB are free");
    return 2;
}

if (Directory.Exists(work))
{
    Directory.Delete(work, recursive: true);
}

Directory.CreateDirectory(work);
var drive = new DriveInfo(work);
string Load() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "?";
Console.WriteLine($"start {DateTimeOffset.UtcNow:yyyy-MM-dd HH:mm:ss} UTC, load average {Load()}, {free / GB:F1} GB free; registry {models} models x {versions} versions x {artifactKb} KiB = {size / GB:F2} GB");

// Free-space watch: every phase runs under this token; under MIN_FREE_GB it is cancelled and the run ends cleanly.
using var abort = new CancellationTokenSource();
var phase = "start";
long lowest = free;
using var watch = new Timer(_ =>
{
    var now = drive.AvailableFreeSpace;
    lowest = Math.Min(lowest, now);
    if (now < minFree)
    {
        abort.Cancel();
    }
}, null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
var ct = abort.Token;
var total = Stopwatch.StartNew();
var phases = new List<(string Name, TimeSpan Time)>();
async Task<T> Phase<T>(string name, Func<Task<T>> body)
{
    phase = name;
    var sw = Stopwatch.StartNew();
    var result = await body();
    phases.Add((name, sw.Elapsed));
    Console.WriteLine($"{name}: {sw.Elapsed.TotalSeconds:F1} s (free {drive.AvailableFreeSpace / GB:F1} GB, load {Load()})");
    return result;
}

try
{
    await RunAsync();
}
catch (OperationCanceledException) when (abort.IsCancellationRequested)
{
    Directory.Delete(work, recursive: true);
    Console.Error.WriteLine($"lifeline-registry-bench: aborted during '{phase}': free space fell under {minFree / GB:F0} GB ({drive.AvailableFreeSpace / GB:F1} GB now); work directory {work} removed");
    return 3;
}
catch
{
    Console.Error.WriteLine($"lifeline-registry-bench: failed during '{phase}'; work directory {work} removed");
    Directory.Delete(work, recursive: true);
    throw;
}

Directory.Delete(work, recursive: true);
Console.WriteLine($"total {total.Elapsed.TotalMinutes:F1} min; lowest free space {lowest / GB:F1} GB; end {DateTimeOffset.UtcNow:HH:mm:ss} UTC, load average {Load()}; work directory removed");
return 0;

async Task RunAsync()
{
    const string token = "bench-admin-token";
    var time = TimeProvider.System;
    var source = new RegistryOptions { DataDirectory = Path.Combine(work, "S"), Tokens = [new RegistryToken { Token = token, Role = RegistryRole.Admin }] };
    var restoredDir = Path.Combine(work, "R");
    var tmp = Path.Combine(work, "tmp");
    var step = Math.Max(1, models / 10);
    var changed = Enumerable.Range(0, Math.Max(1, models / 20)).Select(i => Math.Min(models - 1, (i * 20) + 1)).Distinct().ToList();
    var transitioned = Enumerable.Range(0, Math.Max(1, models / 30)).Select(i => Math.Min(models - 1, (i * 30) + 3)).Except(changed).Distinct().ToList();
    var sampled = Enumerable.Range(0, models).Where(m => m % step == 0).Concat(changed).Concat(transitioned).Distinct().Order().ToList();
    await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(Path.Combine(work, "vault")), "bench-password", new VaultInitOptions(), time);
    Dictionary<string, (string Version, string Sha)> atPoint1, atPoint2;
    string point1, point2;
    long changedBytes = 0;

    await using (var app = await RegistryServer.StartAsync(source, "http://127.0.0.1:0"))
    {
        var client = new MlflowClient(new HttpClient { BaseAddress = app.Address(), Timeout = TimeSpan.FromMinutes(5) }, token);
        var experiment = await client.CreateExperimentAsync("bench", cancellationToken: ct);
        async Task AddVersionAsync(string name, int v, CancellationToken c)
        {
            var run = await client.CreateRunAsync(experiment, $"{name}-{v}", cancellationToken: c);
            await client.LogBatchAsync(run.Info.RunId, Enumerable.Range(0, 10).Select(i => new MlflowMetric { Key = "auc", Value = 0.5 + (i / 100.0), Timestamp = i, Step = i }).ToList(), [new("trees", "100")], [], c);
            var bytes = new byte[artifactKb * 1024];
            new Random(HashCode.Combine(name, v)).NextBytes(bytes);
            await client.UploadArtifactAsync(MlflowClient.ProxyPathOf(run.Info.ArtifactUri) + "/model/model.zip", bytes, c);
            await client.UpdateRunAsync(run.Info.RunId, "FINISHED", 1, cancellationToken: c);
            var version = await client.CreateModelVersionAsync(name, run.Info.ArtifactUri + "/model", run.Info.RunId, cancellationToken: c);
            await client.TransitionModelVersionStageAsync(name, version.Version, v % 2 == 0 ? "Production" : "Staging", true, c);
        }

        async Task<Dictionary<string, (string, string)>> ExpectAsync(MlflowClient c)
        {
            var expected = new Dictionary<string, (string, string)>();
            foreach (var m in sampled)
            {
                var name = $"model-{m:D3}";
                var production = (await c.GetLatestVersionsAsync(name, ["Production"], ct)).Single();
                var bytes = await c.DownloadArtifactAsync(MlflowClient.ProxyPathOf(production.Source)! + "/model.zip", ct);
                expected[name] = (production.Version, Convert.ToHexStringLower(SHA256.HashData(bytes)));
            }

            return expected;
        }

        await Phase("seed S through the API", async () =>
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, models), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (m, c) =>
            {
                var name = $"model-{m:D3}";
                await client.CreateRegisteredModelAsync(name, cancellationToken: c);
                for (var v = 0; v < versions; v++)
                {
                    await AddVersionAsync(name, v, c);
                }
            });
            return 0;
        });
        var full = await Phase("native backup, point 1 (S serving)", () => RegistryVault.BackupNativeAsync(vault, source, tmp, time, ct));
        point1 = full.Snapshot.Id;
        atPoint1 = await ExpectAsync(client);

        await Phase($"change {changed.Count} models (2 new versions each) and {transitioned.Count} stage transitions", async () =>
        {
            foreach (var m in changed)
            {
                await AddVersionAsync($"model-{m:D3}", versions, ct);
                await AddVersionAsync($"model-{m:D3}", versions + 2, ct); // even: the new Production
                changedBytes += 2L * artifactKb * 1024;
            }

            foreach (var m in transitioned)
            {
                await client.TransitionModelVersionStageAsync($"model-{m:D3}", "2", "Production", true, ct); // an old Staging version back to Production
            }

            return 0;
        });
        Console.WriteLine($"  changed: {changed.Count * 2} new versions, {changedBytes / GB * 1000:F0} MB of new artifacts, {transitioned.Count} transitions (models {string.Join(',', changed.Concat(transitioned))})");
        var incremental = await Phase("native backup, point 2 (S serving)", () => RegistryVault.BackupNativeAsync(vault, source, tmp, time, ct));
        point2 = incremental.Snapshot.Id;
        atPoint2 = await ExpectAsync(client);
        await app.StopAsync(ct);
    }

    await Phase("delete S", () =>
    {
        Directory.Delete(source.DataDirectory, recursive: true);
        return Task.FromResult(0);
    });
    var restore = await Phase("full restore of point 1 into an empty R", () => RegistryVault.RestoreAsync(vault, RestorePointSpec.ById(point1), restoredDir, null, tmp, time, ct));
    await CheckAsync(restoredDir, atPoint1, "point 1");
    var again = await Phase("incremental restore of point 2 into R", () => RegistryVault.RestoreIncrementalAsync(vault, RestorePointSpec.ById(point2), restoredDir, tmp, time, ct));
    var s = again.Incremental!;
    Console.WriteLine($"  incremental: {s.FetchedFiles} artifacts fetched ({s.FetchedBytes / GB * 1000:F0} MB), {s.ReusedFiles} reused ({s.ReusedBytes / GB:F2} GB, {s.HashedFiles} of them hashed), {s.RemovedFiles} removed; database replaced");
    await CheckAsync(restoredDir, atPoint2, "point 2");
    _ = restore;

    async Task CheckAsync(string dir, Dictionary<string, (string Version, string Sha)> expected, string label)
    {
        await using var restored = await RegistryServer.StartAsync(new RegistryOptions { DataDirectory = dir }, "http://127.0.0.1:0");
        var check = new MlflowClient(new HttpClient { BaseAddress = restored.Address(), Timeout = TimeSpan.FromMinutes(5) });
        foreach (var (name, (version, sha)) in expected)
        {
            var production = (await check.GetLatestVersionsAsync(name, ["Production"], ct)).Single();
            var bytes = await check.DownloadArtifactAsync(MlflowClient.ProxyPathOf(production.Source)! + "/model.zip", ct);
            if (production.Version != version || Convert.ToHexStringLower(SHA256.HashData(bytes)) != sha)
            {
                throw new InvalidOperationException($"R after restoring {label}: {name} Production is version {production.Version}, expected {version} (or its artifact differs)");
            }
        }

        var count = await check.ListRegisteredModelsAsync(cancellationToken: ct).CountAsync(ct);
        if (count != models)
        {
            throw new InvalidOperationException($"R after restoring {label}: {count} registered models, expected {models}");
        }

        await restored.StopAsync(ct);
        Console.WriteLine($"  R = {label}: {expected.Count} models checked (Production version and artifact SHA-256: every {step}th model, the changed and the transitioned ones), {count} models");
    }
}
