using System.Globalization;
using System.Security.Cryptography;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Registry;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;
using Lifeline.Registry.Hosting;
using Lifeline.Registry.Store;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sources;

namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>What booting a restored registry showed.</summary>
/// <param name="Problems">What is wrong, one line each (empty when it served everything).</param>
/// <param name="Models">Registered models it holds.</param>
/// <param name="Served">Production versions it served (the artifact downloaded through its own API).</param>
/// <param name="Scored">Models whose golden-lead scores were compared with the live model's.</param>
/// <param name="Notes">What was seen and is not a problem (a model with no Production version, a version the live
/// registry no longer has).</param>
/// <param name="Detail">One line per model served, for the summary.</param>
internal sealed record RegistryBoot(IReadOnlyList<string> Problems, int Models, int Served, int Scored, IReadOnlyList<string> Notes, IReadOnlyList<string> Detail);

/// <summary>
/// Boots a restored registry: its own server (<see cref="RegistryServer"/>) on the restored data directory at a
/// loopback port, every registered model's Production version asked through MLflow's API and its artifact downloaded,
/// as the scoring service does (<see cref="MlflowModelSource"/>); each lead model is loaded as the scoring service
/// loads it and scores the <see cref="GoldenLeads"/>, compared with the same version of the live registry's model.
/// </summary>
internal static class RegistryProbe
{
    /// <summary>Largest difference between a restored and a live score that still counts as the same.</summary>
    public const double Tolerance = 1e-6;

    public static async Task<RegistryBoot> BootAsync(string restoredDirectory, RegistryComponent? live, IReadOnlyCollection<string> leadModels, string work, CancellationToken ct)
    {
        var problems = new List<string>();
        var notes = new List<string>();
        var detail = new List<string>();
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));
        var options = new RegistryOptions
        {
            DataDirectory = restoredDirectory,
            Tokens = [new RegistryToken { Token = token, Role = RegistryRole.Read }],
        };
        int models = 0, served = 0, scored = 0;
        await using var app = await RegistryServer.StartAsync(options, "http://127.0.0.1:0", cancellationToken: ct);
        using var http = new HttpClient { BaseAddress = app.Address(), Timeout = TimeSpan.FromMinutes(5) };
        var client = new MlflowClient(http, token);
        await foreach (var model in client.ListRegisteredModelsAsync(cancellationToken: ct))
        {
            models++;
            var source = new MlflowModelSource(client, model.Name);
            ModelVersionInfo? production;
            try
            {
                production = await source.GetProductionAsync(ct);
            }
            catch (MlflowException e)
            {
                problems.Add($"model {model.Name}: the restored registry does not answer for its Production version ({e.Message})");
                continue;
            }

            if (production is null)
            {
                notes.Add($"model {model.Name} has no Production version");
                continue;
            }

            var dir = Path.Combine(work, "restored-" + served.ToString(CultureInfo.InvariantCulture));
            try
            {
                await source.DownloadAsync(production, dir, ct);
            }
            catch (Exception e) when (e is MlflowException or InvalidDataException or HttpRequestException or IOException)
            {
                problems.Add($"model {model.Name} v{production.Version}: the restored registry cannot serve its artifact ({ScratchRestore.Line(e)})");
                continue;
            }

            served++;
            var mustScore = leadModels.Contains(model.Name);
            if (!mustScore && !await IsLeadModelAsync(dir, ct))
            {
                detail.Add($"{model.Name} v{production.Version} served");
                continue;
            }

            float[] restoredScores;
            try
            {
                var (restoredModel, _) = await ModelArtifact.LoadAsync(dir, ct);
                restoredScores = GoldenLeads.Score(restoredModel);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                problems.Add($"model {model.Name} v{production.Version}: the restored model does not load or score ({ScratchRestore.Line(e)})");
                continue;
            }

            var liveDir = Path.Combine(work, "live-" + served.ToString(CultureInfo.InvariantCulture));
            string? why;
            try
            {
                why = live is null ? "the live registry is not known here" : await DownloadLiveAsync(live, model.Name, production.Version, liveDir, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                why = "the live registry could not be read (" + ScratchRestore.Line(e) + ")";
            }

            if (why is not null)
            {
                notes.Add($"{model.Name} v{production.Version}: {why}, so its scores were not compared");
                detail.Add($"{model.Name} v{production.Version} served and scored {GoldenLeads.Count} golden leads");
                continue;
            }

            float[] liveScores;
            try
            {
                liveScores = GoldenLeads.Score((await ModelArtifact.LoadAsync(liveDir, ct)).Model);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                notes.Add($"{model.Name} v{production.Version}: the live model does not load ({ScratchRestore.Line(e)}), so its scores were not compared");
                continue;
            }

            scored++;
            var differing = Enumerable.Range(0, GoldenLeads.Count).Where(i => !(Math.Abs(restoredScores[i] - liveScores[i]) <= Tolerance)).ToList();
            if (differing.Count > 0)
            {
                var i = differing[0];
                problems.Add($"model {model.Name} v{production.Version}: {differing.Count} of {GoldenLeads.Count} golden leads score differently restored than live (lead {GoldenLeads.Leads[i].LeadId}: {restoredScores[i].ToString("0.######", CultureInfo.InvariantCulture)} restored, {liveScores[i].ToString("0.######", CultureInfo.InvariantCulture)} live)");
            }
            else
            {
                detail.Add($"{model.Name} v{production.Version} served, {GoldenLeads.Count} golden leads scored as the live model does");
            }
        }

        await app.StopAsync(ct);
        if (models > 0 && served == 0 && problems.Count == 0)
        {
            problems.Add($"none of its {ScratchRestore.Count(models, "model")} has a Production version to serve");
        }

        return new RegistryBoot(problems, models, served, scored, notes, detail);
    }

    /// <summary>A lead model's artifact says so in its signature (the feature mapping the scoring service knows).</summary>
    private static async Task<bool> IsLeadModelAsync(string dir, CancellationToken ct)
    {
        try
        {
            return (await ModelArtifact.ReadSignatureAsync(dir, ct)).FeatureMapping == Scoring.Features.LeadFeatures.MappingVersion;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or InvalidDataException)
        {
            return false;
        }
    }

    /// <summary>Writes the live registry's artifact of <paramref name="model"/> <paramref name="version"/> into
    /// <paramref name="directory"/>; returns why it could not, or null. The live registry is only read: through its
    /// API in API mode, else its store and artifact files directly (the running registry keeps serving).</summary>
    private static async Task<string?> DownloadLiveAsync(RegistryComponent live, string model, string version, string directory, CancellationToken ct)
    {
        if (live.LiveApi.Url is { } url)
        {
            using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromMinutes(5) };
            var client = new MlflowClient(http, live.LiveApi.Token);
            try
            {
                await new MlflowModelSource(client, model).DownloadAsync(new ModelVersionInfo { Name = model, Version = version }, directory, ct);
                return null;
            }
            catch (MlflowException e) when (e.ErrorCode == ErrorCodes.ResourceDoesNotExist)
            {
                return $"the live registry no longer has version {version}";
            }
        }

        var options = live.Live;
        var database = Path.Combine(options.DataDirectory, NativeBackup.DatabaseFile);
        if (string.IsNullOrEmpty(options.PostgresConnectionString) && !File.Exists(database))
        {
            return $"no live registry at {Path.GetFullPath(options.DataDirectory)}";
        }

        MlflowModelVersion found;
        await using (IRegistryStore store = string.IsNullOrEmpty(options.PostgresConnectionString)
            ? new SqliteRegistryStore(database, TimeProvider.System)
            : new PostgresRegistryStore(options.PostgresConnectionString, TimeProvider.System))
        {
            try
            {
                found = await store.GetModelVersionAsync(model, version, ct);
            }
            catch (MlflowException e) when (e.ErrorCode == ErrorCodes.ResourceDoesNotExist)
            {
                return $"the live registry no longer has version {version}";
            }
        }

        if (MlflowClient.ProxyPathOf(found.Source) is not { } path)
        {
            return $"the live version's artifact '{found.Source}' is not in the registry's artifact store";
        }

        Directory.CreateDirectory(directory);
        foreach (var file in new[] { ModelArtifact.ModelFile, ModelArtifact.SignatureFile })
        {
            var from = Path.Combine(options.DataDirectory, "artifacts", "artifacts", path, file);
            if (!File.Exists(from))
            {
                return $"the live registry's artifact {path}/{file} is missing";
            }

            File.Copy(from, Path.Combine(directory, file));
        }

        return null;
    }
}
