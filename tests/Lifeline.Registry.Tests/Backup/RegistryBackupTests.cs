using System.Text.Json;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Registry.Tests.Backup;

public sealed class RegistryBackupTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    [Fact]
    public async Task NativeBackup_IdleServingRegistry_RestoresIdenticalRegistry()
    {
        using var dir = new TempDirectory();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-11-26T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        string before;
        await using (var source = await RegistryTestServer.StartAsync(dir.Combine("source")))
        {
            await RegistrySeed.SeedAsync(source.Client());
            var manifest = await NativeBackup.CreateAsync(source.DataDirectory, dir.Combine("staging"), time, Ct);
            Assert.Equal(2, manifest.Counts["registered_models"]);
            Assert.Equal(12, manifest.Artifacts.Count);
            before = await DescribeAsync(source.Client());
        }

        await NativeBackup.RestoreAsync(dir.Combine("staging"), dir.Combine("restored"), time, Ct);
        await using var restored = await RegistryTestServer.StartAsync(dir.Combine("restored"));
        Assert.Equal(before, await DescribeAsync(restored.Client()));
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => NativeBackup.RestoreAsync(dir.Combine("staging"), dir.Combine("restored"), time, Ct));
        Assert.Contains("empty data directory", again.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(5, true)] // SQLITE_BUSY
    [InlineData(6, true)] // SQLITE_LOCKED
    [InlineData(261, true)] // SQLITE_BUSY_RECOVERY: what the online backup returned once in this class's test below
    [InlineData(517, true)] // SQLITE_BUSY_SNAPSHOT
    [InlineData(262, true)] // SQLITE_LOCKED_SHAREDCACHE
    [InlineData(11, false)] // SQLITE_CORRUPT
    [InlineData(26, false)] // SQLITE_NOTADB
    [InlineData(14, false)] // SQLITE_CANTOPEN
    [InlineData(1, false)] // SQLITE_ERROR
    public void IsTransientLock_BusyAndLockedWithTheirExtendedCodes_RetriedAndNothingElse(int resultCode, bool retried) =>
        Assert.Equal(retried, NativeBackup.IsTransientLock(resultCode));

    [Fact]
    public async Task NativeBackup_WhileWritesRunThroughHttp_EachBackupIsAConsistentPoint()
    {
        using var dir = new TempDirectory();
        var time = TimeProvider.System;
        await using var source = await RegistryTestServer.StartAsync(dir.Combine("source"));
        var setup = source.Client();
        await RegistrySeed.SeedAsync(setup, models: 1, versionsPerModel: 2);
        var experiment = await setup.CreateExperimentAsync("live");
        await setup.CreateRegisteredModelAsync("live");

        // Three sequential writers through the HTTP API, each counting what it started and what was acknowledged:
        // two log a metric sequence 0, 1, 2, ... into their own run; one trains "versions": run, artifact upload,
        // then the model version pointing at it.
        const int MetricWriters = 2;
        const int VersionWriter = MetricWriters;
        var started = new int[MetricWriters + 1];
        var acked = new int[MetricWriters + 1];
        var runs = new string[MetricWriters];
        for (var w = 0; w < MetricWriters; w++)
        {
            runs[w] = (await setup.CreateRunAsync(experiment, $"metrics-{w}")).Info.RunId;
        }

        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, MetricWriters + 1).Select(w => Task.Run(async () =>
        {
            var client = source.Client();
            for (var i = 0; !stop.IsCancellationRequested; i++)
            {
                Volatile.Write(ref started[w], i + 1);
                if (w < MetricWriters)
                {
                    await client.LogMetricAsync(runs[w], "seq", i, 1_700_000_000_000 + i, step: i);
                }
                else
                {
                    var run = await client.CreateRunAsync(experiment, $"live-{i}");
                    await client.UploadArtifactAsync($"{MlflowClient.ProxyPathOf(run.Info.ArtifactUri)}/model/model.zip", RegistrySeed.Payload(9, i));
                    await client.CreateModelVersionAsync("live", run.Info.ArtifactUri + "/model", run.Info.RunId);
                }

                Volatile.Write(ref acked[w], i + 1);
            }
        })).ToList();

        var backups = new List<(string Staging, int[] AckedBefore, int[] StartedAfter)>();
        var ackedDuringBackups = 0;
        for (var b = 0; b < 3; b++)
        {
            var atLeast = acked.Sum() + 5;
            await WaitUntilAsync(() => acked.Sum() >= atLeast || writers.Any(t => t.IsCompleted), "writes to go on between backups");
            var ackedBefore = acked.ToArray();
            var staging = dir.Combine($"staging-{b}");
            await NativeBackup.CreateAsync(source.DataDirectory, staging, time, Ct);
            var startedAfter = started.ToArray();
            ackedDuringBackups += acked.Sum() - ackedBefore.Sum();
            backups.Add((staging, ackedBefore, startedAfter));
        }

        await stop.CancelAsync();
        await Task.WhenAll(writers); // a writer that failed fails the test here
        Assert.True(ackedDuringBackups > 0, "no write was acknowledged while a backup ran: the backups did not overlap the writes");

        foreach (var (staging, ackedBefore, startedAfter) in backups)
        {
            using (var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(staging, NativeBackup.DatabaseFile)};Mode=ReadOnly;Pooling=False"))
            {
                db.Open();
                using var integrity = db.CreateCommand();
                integrity.CommandText = "PRAGMA integrity_check";
                Assert.Equal("ok", integrity.ExecuteScalar());
            }

            var restoredDir = dir.Combine("restored-" + Path.GetFileName(staging));
            await NativeBackup.RestoreAsync(staging, restoredDir, time, Ct); // verifies every artifact's SHA-256
            await using var restored = await RegistryTestServer.StartAsync(restoredDir);
            var client = restored.Client(RegistryTestServer.ReaderToken);
            var what = $"{Path.GetFileName(staging)}: acked before [{string.Join(',', ackedBefore)}], started by its end [{string.Join(',', startedAfter)}]";

            // A prefix of each writer's writes: no gaps, everything acknowledged before the backup started, nothing
            // that had not been started by the time it ended.
            for (var w = 0; w < MetricWriters; w++)
            {
                var history = await client.GetMetricHistoryAsync(runs[w], "seq");
                var steps = history.OrderBy(m => m.Step).Select(m => (int)m.Step).ToList();
                Assert.Equal(Enumerable.Range(0, steps.Count), steps);
                Assert.All(history, m => Assert.Equal(m.Step, (long)m.Value));
                Assert.True(steps.Count >= ackedBefore[w] && steps.Count <= startedAfter[w], $"{what}: metric writer {w} has {steps.Count}");
            }

            var versions = await client.ListModelVersionsAsync("name='live'").ToListAsync();
            var numbers = versions.Select(v => int.Parse(v.Version, System.Globalization.CultureInfo.InvariantCulture)).Order().ToList();
            Assert.Equal(Enumerable.Range(1, numbers.Count), numbers);
            Assert.True(numbers.Count >= ackedBefore[VersionWriter] && numbers.Count <= startedAfter[VersionWriter], $"{what}: {numbers.Count} versions");
            foreach (var version in versions)
            {
                // every version in the backup has its run and the very bytes uploaded for it
                var run = await client.GetRunAsync(version.RunId!);
                var i = int.Parse(run.Info.RunName!["live-".Length..], System.Globalization.CultureInfo.InvariantCulture);
                Assert.Equal(RegistrySeed.Payload(9, i), await client.DownloadArtifactAsync($"{MlflowClient.ProxyPathOf(run.Info.ArtifactUri)}/model/model.zip"));
            }

            // what was there before the writes began is whole
            Assert.Equal("2", Assert.Single(await client.GetLatestVersionsAsync("model-0", ["Production"])).Version);
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(5);
        }
    }

    [Fact]
    public async Task NativeRestore_DamagedArtifact_Refused()
    {
        using var dir = new TempDirectory();
        var time = TimeProvider.System;
        await using (var source = await RegistryTestServer.StartAsync(dir.Combine("source")))
        {
            await RegistrySeed.SeedAsync(source.Client(), models: 1, versionsPerModel: 1);
            await NativeBackup.CreateAsync(source.DataDirectory, dir.Combine("staging"), time, Ct);
        }

        var file = Directory.EnumerateFiles(dir.Combine("staging", "artifacts"), "model.zip", SearchOption.AllDirectories).First();
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[10] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);
        await Assert.ThrowsAsync<InvalidDataException>(() => NativeBackup.RestoreAsync(dir.Combine("staging"), dir.Combine("restored"), time, Ct));
        Assert.False(File.Exists(dir.Combine("restored", "registry.db")));
    }

    [Fact]
    public async Task ApiExportImport_IntoEmptyRegistry_SameStagesArtifactsAndIdempotent()
    {
        using var dir = new TempDirectory();
        await using var source = await RegistryTestServer.StartAsync(dir.Combine("source"));
        await using var target = await RegistryTestServer.StartAsync(dir.Combine("target"));
        var from = source.Client();
        var to = target.Client(RegistryTestServer.WriterToken);
        await RegistrySeed.SeedAsync(from);
        var orphanRun = await from.CreateRunAsync("0", "deleted-later");
        await from.DeleteRunAsync(orphanRun.Info.RunId);

        var manifest = await ApiExport.ExportAsync(from, dir.Combine("export"), TimeProvider.System, Ct);
        Assert.Equal(7, manifest.Counts["runs"]);
        Assert.Equal(6, manifest.Counts["model_versions"]);

        var first = await ApiImport.ImportAsync(to, dir.Combine("export"), Ct);
        Assert.True(first.Created >= 1 + 7 + 2 + 6, $"created {first.Created}");

        foreach (var name in new[] { "model-0", "model-1" })
        {
            foreach (var stage in new[] { "Production", "Staging" })
            {
                var a = Assert.Single(await from.GetLatestVersionsAsync(name, [stage]));
                var b = Assert.Single(await to.GetLatestVersionsAsync(name, [stage]));
                Assert.Equal(a.Version, b.Version);
                Assert.Equal(a.Version, b.Tags.Single(t => t.Key == ApiImport.OriginalVersion).Value);
                Assert.Equal(a.RunId, b.Tags.Single(t => t.Key == ApiImport.OriginalRunId).Value);
                Assert.NotEqual(a.RunId, b.RunId);
                var oldBytes = await from.DownloadArtifactAsync(MlflowClient.ProxyPathOf(await from.GetModelVersionDownloadUriAsync(name, a.Version))! + "/model.zip");
                var newBytes = await to.DownloadArtifactAsync(MlflowClient.ProxyPathOf(await to.GetModelVersionDownloadUriAsync(name, b.Version))! + "/model.zip");
                Assert.Equal(oldBytes, newBytes);
                var run = await to.GetRunAsync(b.RunId!);
                Assert.Equal(20, (await to.GetMetricHistoryAsync(run.Info.RunId, "loss")).Count);
                Assert.Equal(("FINISHED", 1_700_000_100_000L), (run.Info.Status, run.Info.EndTime));
                Assert.Equal((await from.GetRunAsync(a.RunId!)).Info.StartTime, run.Info.StartTime);
            }

            Assert.Equal("3", (await to.GetModelVersionByAliasAsync(name, "champion")).Version);
            Assert.Equal("model number 0".Length, (await to.GetRegisteredModelAsync(name))!.Description!.Length);
        }

        var countsBefore = await CountAsync(to);
        var second = await ApiImport.ImportAsync(to, dir.Combine("export"), Ct);
        Assert.Equal(0, second.Created);
        Assert.Equal(countsBefore, await CountAsync(to));
        Assert.Single(await to.ListRunsAsync(["0"], runViewType: "DELETED_ONLY").ToListAsync());
    }

    [Fact]
    public async Task ApiImport_CutShortRun_IsRedoneNotDuplicated()
    {
        using var dir = new TempDirectory();
        await using var source = await RegistryTestServer.StartAsync(dir.Combine("source"));
        await using var target = await RegistryTestServer.StartAsync(dir.Combine("target"));
        await RegistrySeed.SeedAsync(source.Client(), models: 1, versionsPerModel: 1);
        await ApiExport.ExportAsync(source.Client(), dir.Combine("export"), TimeProvider.System, Ct);
        var runFile = Directory.EnumerateFiles(dir.Combine("export", "runs")).Single();
        var originalId = Path.GetFileNameWithoutExtension(runFile);
        var to = target.Client();
        var experimentId = await to.CreateExperimentAsync("lead-scoring");
        await to.CreateRunAsync(experimentId, "half", tags: [new MlflowTag(ApiImport.OriginalRunId, originalId)]);

        await ApiImport.ImportAsync(to, dir.Combine("export"), Ct);
        var active = await to.ListRunsAsync([experimentId]).ToListAsync();
        var imported = Assert.Single(active);
        Assert.Contains(imported.Data.Tags, t => t.Key == ApiImport.ImportComplete);
        Assert.Equal(21, imported.Data.Metrics.Count + (await to.GetMetricHistoryAsync(imported.Info.RunId, "loss")).Count - 1);
    }

    private static async Task<string> CountAsync(MlflowClient client)
    {
        var runs = 0;
        await foreach (var e in client.ListExperimentsAsync("ALL"))
        {
            runs += await client.ListRunsAsync([e.ExperimentId], runViewType: "ALL").CountAsync();
        }

        var versions = await client.ListModelVersionsAsync().CountAsync();
        var experiments = await client.ListExperimentsAsync("ALL").CountAsync();
        return $"experiments={experiments} runs={runs} versions={versions}";
    }

    /// <summary>Everything a client can see, as one canonical JSON text (ids, timestamps, stages, aliases, histories, artifact bytes).</summary>
    internal static async Task<string> DescribeAsync(MlflowClient client)
    {
        var parts = new List<object>();
        await foreach (var e in client.ListExperimentsAsync("ALL"))
        {
            parts.Add(e);
            await foreach (var run in client.ListRunsAsync([e.ExperimentId], runViewType: "ALL"))
            {
                parts.Add(run);
                foreach (var key in run.Data.Metrics.Select(m => m.Key))
                {
                    parts.Add(await client.GetMetricHistoryAsync(run.Info.RunId, key));
                }

                await foreach (var file in client.ListArtifactsRecursiveAsync(MlflowClient.ProxyPathOf(run.Info.ArtifactUri)!))
                {
                    parts.Add(file.Path + ":" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(await client.DownloadArtifactAsync(file.Path))));
                }
            }
        }

        await foreach (var m in client.ListRegisteredModelsAsync())
        {
            parts.Add(m);
            parts.Add(await client.ListModelVersionsAsync($"name='{m.Name}'").ToListAsync());
        }

        return JsonSerializer.Serialize(parts, MlflowJson.Options);
    }
}
