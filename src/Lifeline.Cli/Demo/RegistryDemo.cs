using System.Globalization;
using System.Security.Cryptography;
using Lifeline.Cli.Commands;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Registry;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;
using Lifeline.Registry.Hosting;
using Lifeline.Scoring.Demo;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Lifeline.Vault;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Lifeline.Cli.Demo;

/// <summary>What the registry part of the demo proved (the <c>registry</c> object of the demo's JSON document).</summary>
internal sealed record RegistryDemoResult(
    string ModelName,
    string TrainedVersion,
    string RunId,
    string TrainingData,
    double HeldOutAuc,
    string ProductionVersion,
    string ArtifactSha256,
    string BackupSnapshot,
    string RestoredProductionVersion,
    string RestoredArtifactSha256,
    bool Identical);

/// <summary>One scored lead of the demo's batch.</summary>
internal sealed record DemoLeadScore(string LeadId, double Score, string Category);

/// <summary>What the scoring part of the demo did (the <c>scoring</c> object of the demo's JSON document).</summary>
internal sealed record ScoringDemoSummary(string Address, string ModelVersion, int Requested, int Scored, double LatencyMs, IReadOnlyDictionary<string, int> Categories, IReadOnlyList<DemoLeadScore> Scores);

/// <summary>
/// The registry and scoring parts of <c>lifeline demo</c>: start an embedded registry on a free loopback port, train
/// the lead model on the lake's leads joined with conversions (the training job logs the run, registers the version
/// and promotes it to Production), back the registry up into the vault, lose it (server stopped, data directory
/// deleted), restore it into the empty data directory, prove the same Production version with a byte-identical
/// artifact, and score a batch of leads over HTTP with the scoring service serving from the restored registry.
/// </summary>
internal sealed class RegistryDemo
{
    public const string ModelName = "lead-scoring";
    public const int BatchSize = 50;

    private readonly DemoSteps _steps;
    private readonly string _token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));

    public RegistryDemo(DemoSteps steps) => _steps = steps;

    /// <summary>
    /// Runs the story in <paramref name="directory"/>, training on the lake at <paramref name="lakeDirectory"/> (generated
    /// leads when it has too few labelled ones) and backing up into <paramref name="vault"/>.
    /// </summary>
    public async Task<(RegistryDemoResult Registry, ScoringDemoSummary Scoring, int ExitCode)> RunAsync(
        string directory, string? lakeDirectory, VaultRepository vault, CancellationToken ct)
    {
        var dataDir = Path.Combine(directory, "registry", "data");
        var work = Path.Combine(directory, "registry", "work");
        Directory.CreateDirectory(work);
        var time = _steps.Time;

        TrainingOutcome trained;
        (string Version, string Sha256) before;
        var server = await StartAsync("registry: start", directory, dataDir, "MLflow-compatible registry", ct);
        await using (server)
        {
            using var http = new HttpClient { BaseAddress = server.Address(), Timeout = TimeSpan.FromMinutes(2) };
            var client = new MlflowClient(http, _token);
            trained = await _steps.RunAsync("registry: train, register, promote", async () =>
            {
                var (data, note) = await TrainCommands.DataSourceAsync(lakeDirectory, 5000, 1, ct);
                var outcome = await new TrainingJob(client, time).RunAsync(data, ModelName, new TrainingOptions(), Path.Combine(work, "train"), ct);
                return (outcome, string.Create(CultureInfo.InvariantCulture,
                    $"{ModelName} v{outcome.Version} on {outcome.TrainingTable} ({outcome.TrainingTableVersion}){(note is null ? "" : " [" + note + "]")}: held-out AUC {outcome.Metrics.Auc:0.000}; run {outcome.RunId[..8]} logged; {outcome.Decision}"));
            });
            before = await ProductionAsync("registry: Production version", client, Path.Combine(work, "before"), ct);

            await _steps.RunAsync("registry: backup to vault", async () =>
            {
                var r = await RegistryVault.BackupNativeAsync(vault, dataDir, work, time, ct);
                return (r, $"snapshot {r.Snapshot.ShortId} ({r.Manifest.Mode}): {RegistryCommands.Counts(r.Manifest)}");
            });
            await server.StopAsync(ct);
        }

        await _steps.RunAsync("registry: lose it", () =>
        {
            var files = Directory.EnumerateFiles(dataDir, "*", SearchOption.AllDirectories).Count();
            Directory.Delete(dataDir, recursive: true);
            return Task.FromResult((files, $"server stopped, {Path.GetRelativePath(directory, dataDir)} deleted ({files} files): the registry is gone"));
        });

        var backup = await _steps.RunAsync("registry: restore from vault", async () =>
        {
            var r = await RegistryVault.RestoreAsync(vault, Lifeline.Recovery.Tags.RestorePointSpec.Latest, dataDir, null, work, time, ct);
            return (r, $"snapshot {r.Snapshot.ShortId} ({r.Manifest.Mode}) into the empty {Path.GetRelativePath(directory, dataDir)}: {RegistryCommands.Counts(r.Manifest)}");
        });

        var restoredServer = await StartAsync("registry: start restored", directory, dataDir, "restored registry", ct);
        await using (restoredServer)
        {
            using var http = new HttpClient { BaseAddress = restoredServer.Address(), Timeout = TimeSpan.FromMinutes(2) };
            var client = new MlflowClient(http, _token);
            var after = await ProductionAsync("registry: verify restored", client, Path.Combine(work, "after"), ct, before);
            var identical = after.Version == trained.Version && before.Version == trained.Version && after.Sha256 == before.Sha256;
            var registry = new RegistryDemoResult(ModelName, trained.Version, trained.RunId, $"{trained.TrainingTable} ({trained.TrainingTableVersion})", trained.Metrics.Auc,
                before.Version, before.Sha256, backup.Snapshot.Id, after.Version, after.Sha256, identical);

            var scoring = await _steps.RunAsync("scoring: score a batch over HTTP", async () =>
            {
                var source = new MlflowModelSource(client, ModelName);
                var batch = await ScoringDemo.ScoreBatchAsync(source, Path.Combine(directory, "scoring"), BatchSize,
                    _steps.Console.Json ? LogLevel.None : LogLevel.Warning, ct);
                var scores = batch.Response.Predictions.Select(p => new DemoLeadScore(p.LeadId, p.LeadScore, p.ScoreCategory)).ToList();
                var summary = new ScoringDemoSummary(batch.Address, batch.Response.ModelVersion, BatchSize, batch.Response.Count, batch.Response.LatencyMs, batch.Categories, scores);
                return (summary, string.Create(CultureInfo.InvariantCulture,
                    $"service on {batch.Address} serving v{batch.Response.ModelVersion} from the restored registry: {batch.Response.Count} leads in {batch.Response.LatencyMs:0.0} ms, scores {scores.Min(s => s.Score):0.00}-{scores.Max(s => s.Score):0.00} (mean {scores.Average(s => s.Score):0.00}): {batch.Summary}"));
            });
            await restoredServer.StopAsync(ct);

            var ok = identical
                && scoring.ModelVersion == trained.Version
                && scoring.Scored == BatchSize
                && scoring.Scores.Count == BatchSize
                && scoring.Scores.All(s => s.Score is >= 0 and <= 1);
            return (registry, scoring, ok ? ExitCodes.Ok : ExitCodes.CheckFailed);
        }
    }

    private Task<WebApplication> StartAsync(string step, string directory, string dataDir, string what, CancellationToken ct) =>
        _steps.RunAsync(step, async () =>
        {
            var options = new RegistryOptions { DataDirectory = dataDir, Tokens = [new RegistryToken { Token = _token, Role = RegistryRole.Admin }] };
            var app = await RegistryServer.StartAsync(options, "http://127.0.0.1:0", cancellationToken: ct);
            return (app, $"{what} on {app.Address()} (data in {Path.GetRelativePath(directory, dataDir)})");
        });

    /// <summary>The Production version and the SHA-256 of its artifact (model.zip), downloaded through the registry's artifact proxy.</summary>
    private Task<(string Version, string Sha256)> ProductionAsync(string step, MlflowClient client, string directory, CancellationToken ct, (string Version, string Sha256)? expected = null) =>
        _steps.RunAsync(step, async () =>
        {
            var source = new MlflowModelSource(client, ModelName);
            var production = await source.GetProductionAsync(ct)
                ?? throw new CliException(ExitCodes.CheckFailed, $"the registry has no Production version of {ModelName}");
            await source.DownloadAsync(production, directory, ct);
            var artifact = Path.Combine(directory, ModelArtifact.ModelFile);
            await using var stream = File.OpenRead(artifact);
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, ct));
            var text = $"{ModelName} v{production.Version} in Production (run {production.RunId?[..8]}), {ModelArtifact.ModelFile} {CliConsole.Bytes(stream.Length)} sha256 {sha[..16]}…";
            if (expected is { } e)
            {
                text += production.Version == e.Version && sha == e.Sha256 ? "; same version, byte-identical artifact" : $"; DIFFERENT from v{e.Version} sha256 {e.Sha256[..16]}…";
            }

            return ((production.Version, sha), text);
        });
}
