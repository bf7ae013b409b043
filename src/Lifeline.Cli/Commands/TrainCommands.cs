using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;
using Lifeline.Scoring;
using Lifeline.Scoring.Training;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline train</c>: train the lead model, log the run, register a version, promote it if it is better.</summary>
internal static class TrainCommands
{
    public static Command Create()
    {
        var registryUrl = new Option<string>("--registry-url") { Description = $"MLflow-compatible registry (token in ${ScoringCommands.RegistryTokenVariable})" };
        var modelDir = new Option<string?>("--model-dir") { Description = "Instead of a registry: a directory model source (versions/<v>/, production.txt)" };
        var modelName = new Option<string>("--model-name") { Description = "Registered model name", DefaultValueFactory = _ => "lead-scoring" };
        var lakeDir = new Option<string?>("--lake") { Description = "Lake directory: train on its leads joined with conversions (generated leads when it has fewer than 500 labelled)" };
        var rows = new Option<int>("--synthetic-rows") { Description = "Generated leads to train on while the lake has none", DefaultValueFactory = _ => 20_000 };
        var seed = new Option<int>("--seed") { Description = "Seed of the data, split and trainer", DefaultValueFactory = _ => 1 };
        var trees = new Option<int>("--trees") { Description = "Boosted trees", DefaultValueFactory = _ => 100 };
        var leaves = new Option<int>("--leaves") { Description = "Leaves per tree", DefaultValueFactory = _ => 8 };
        var command = new Command("train", "Train the lead classifier, log the run with lineage, register a version, promote it only if it beats Production")
        {
            registryUrl, modelDir, lakeDir, modelName, rows, seed, trees, leaves,
        };
        command.SetAction(async (parse, ct) =>
        {
            if ((parse.GetValue(registryUrl) is null) == (parse.GetValue(modelDir) is null))
            {
                await Console.Error.WriteLineAsync("lifeline train: give exactly one of --registry-url URL or --model-dir DIR");
                return ExitCodes.Usage;
            }

            Uri? registry = null;
            if (parse.GetValue(modelDir) is null && !Uri.TryCreate(parse.GetValue(registryUrl), UriKind.Absolute, out registry))
            {
                await Console.Error.WriteLineAsync($"lifeline train: --registry-url '{parse.GetValue(registryUrl)}' is not an absolute URL");
                return ExitCodes.Usage;
            }

            if (parse.GetValue(rows) < 500 || parse.GetValue(trees) < 1 || parse.GetValue(leaves) < 2)
            {
                await Console.Error.WriteLineAsync("lifeline train: need --synthetic-rows ≥ 500, --trees ≥ 1 and --leaves ≥ 2");
                return ExitCodes.Usage;
            }

            var work = Path.Combine(Path.GetTempPath(), "lifeline-train-" + Guid.NewGuid().ToString("N"));
            using var http = new HttpClient { BaseAddress = registry ?? new Uri("http://127.0.0.1/"), Timeout = TimeSpan.FromMinutes(2) };
            var client = new MlflowClient(http, Environment.GetEnvironmentVariable(ScoringCommands.RegistryTokenVariable));
            var (data, note) = await DataSourceAsync(parse.GetValue(lakeDir), parse.GetValue(rows), parse.GetValue(seed), ct);
            if (note is not null)
            {
                await Console.Error.WriteLineAsync($"lifeline train: {note}");
            }

            var options = new TrainingOptions { Trees = parse.GetValue(trees), Leaves = parse.GetValue(leaves), Seed = parse.GetValue(seed) };
            try
            {
                var outcome = parse.GetValue(modelDir) is { } dir
                    ? await TrainingJob.RunLocalAsync(data, new Lifeline.Scoring.Sources.DirectoryModelSource(dir, parse.GetValue(modelName)!),
                        parse.GetValue(modelName)!, options, work, TimeProvider.System, ct)
                    : await new TrainingJob(client, TimeProvider.System).RunAsync(data, parse.GetValue(modelName)!, options, work, ct);
                if (parse.GetValue(LifelineCommand.Json))
                {
                    await Console.Out.WriteLineAsync(JsonSerializer.Serialize(outcome, ScoringJsonContext.Default.TrainingOutcome));
                }
                else
                {
                    var m = outcome.Metrics;
                    await Console.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                        $"trained on {data.Description} ({outcome.TrainingTable} {outcome.TrainingTableVersion}): AUC {m.Auc:0.0000}, F1 {m.F1:0.0000}, precision {m.Precision:0.0000}, recall {m.Recall:0.0000}, log loss {m.LogLoss:0.0000} ({m.Count} held out)"));
                    await Console.Out.WriteLineAsync($"run {(outcome.RunId.Length == 0 ? "(none: directory source)" : outcome.RunId)}; registered {outcome.ModelName} version {outcome.Version}; {outcome.Decision}");
                }

                return ExitCodes.Ok;
            }
            catch (HttpRequestException ex)
            {
                await Console.Error.WriteLineAsync($"lifeline train: cannot reach the registry at {registry}: {ex.Message}");
                return ExitCodes.ServiceUnreachable;
            }
            catch (MlflowException ex) when (ex.HttpStatus is 401 or 403)
            {
                await Console.Error.WriteLineAsync($"lifeline train: the registry refused ({ex.ErrorCode}): set ${ScoringCommands.RegistryTokenVariable} to a token with the write role");
                return ExitCodes.NotAuthorized;
            }
            catch (MlflowException ex)
            {
                await Console.Error.WriteLineAsync($"lifeline train: the registry answered {ex.ErrorCode}: {ex.Message}");
                return ExitCodes.Failure;
            }
            finally
            {
                try
                {
                    Directory.Delete(work, recursive: true);
                }
                catch (IOException)
                {
                }
            }
        });
        return command;
    }

    /// <summary>
    /// The training data: the lake's leads joined with conversions when <paramref name="lakePath"/> is given and has at
    /// least 500 labelled leads, else <paramref name="syntheticRows"/> generated leads (with a note saying why).
    /// </summary>
    internal static async Task<(ITrainingDataSource Data, string? Note)> DataSourceAsync(string? lakePath, int syntheticRows, int seed, CancellationToken ct)
    {
        var synthetic = new SyntheticTrainingData(syntheticRows, seed);
        if (lakePath is null)
        {
            return (synthetic, null);
        }

        var lake = await LakeCommands.OpenLeadScoringLakeAsync(lakePath, ct);
        var fromLake = new LakeTrainingData(lake, $"the lake at {lakePath} (leads joined with conversions)");
        var loaded = await fromLake.LoadAsync(ct);
        return loaded.Leads.Count >= 500
            ? (new PreloadedTrainingData(loaded, fromLake.Description), null)
            : (synthetic, $"the lake has {loaded.Leads.Count} labelled leads (< 500); training on generated leads instead");
    }
}
