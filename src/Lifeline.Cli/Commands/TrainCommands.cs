using System.CommandLine;
using System.Globalization;
using Lifeline.Cli.Infrastructure;
using Lifeline.Registry.Client;
using Lifeline.Scoring.Training;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline train</c>: train the lead model, log the run, register a version, promote it if it is better.</summary>
internal static class TrainCommands
{
    public static Command Create()
    {
        var registryUrl = CommonOptions.RegistryUrl($"MLflow-compatible registry (token in ${ScoringCommands.RegistryTokenVariable})");
        var modelDir = CommonOptions.ModelDir("Instead of a registry: a directory model source (versions/<v>/, production.txt)");
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
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var registry = parse.GetValue(registryUrl);
            var directory = parse.GetValue(modelDir);
            if ((registry is null) == (directory is null))
            {
                throw new UsageException("give exactly one of --registry-url URL or --model-dir DIR");
            }

            if (parse.GetValue(rows) < 500 || parse.GetValue(trees) < 1 || parse.GetValue(leaves) < 2)
            {
                throw new UsageException("need --synthetic-rows >= 500, --trees >= 1 and --leaves >= 2, e.g. --synthetic-rows 20000 --trees 100 --leaves 8");
            }

            var work = Path.Combine(Path.GetTempPath(), "lifeline-train-" + Guid.NewGuid().ToString("N"));
            using var http = new HttpClient { BaseAddress = registry ?? new Uri("http://127.0.0.1/"), Timeout = TimeSpan.FromMinutes(2) };
            var client = new MlflowClient(http, Environment.GetEnvironmentVariable(ScoringCommands.RegistryTokenVariable));
            var (data, note) = await DataSourceAsync(parse.GetValue(lakeDir), parse.GetValue(rows), parse.GetValue(seed), ct);
            if (note is not null)
            {
                context.Console.Warning(note);
            }

            var options = new TrainingOptions { Trees = parse.GetValue(trees), Leaves = parse.GetValue(leaves), Seed = parse.GetValue(seed) };
            try
            {
                var outcome = await context.WithActivityAsync("train", () => directory is not null
                    ? TrainingJob.RunLocalAsync(data, new Lifeline.Scoring.Sources.DirectoryModelSource(directory, parse.GetValue(modelName)!),
                        parse.GetValue(modelName)!, options, work, context.Time, ct)
                    : new TrainingJob(client, context.Time).RunAsync(data, parse.GetValue(modelName)!, options, work, ct));
                context.Console.Document(outcome);
                var m = outcome.Metrics;
                context.Console.Line(string.Create(CultureInfo.InvariantCulture,
                    $"trained on {data.Description} ({outcome.TrainingTable} {outcome.TrainingTableVersion}): AUC {m.Auc:0.0000}, F1 {m.F1:0.0000}, precision {m.Precision:0.0000}, recall {m.Recall:0.0000}, log loss {m.LogLoss:0.0000} ({m.Count} held out)"));
                context.Console.Line($"run {(outcome.RunId.Length == 0 ? "(none: directory source)" : outcome.RunId)}; registered {outcome.ModelName} version {outcome.Version}; {outcome.Decision}");
                return ExitCodes.Ok;
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
