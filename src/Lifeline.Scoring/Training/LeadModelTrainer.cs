using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;
using Microsoft.ML;
using Microsoft.ML.Trainers.FastTree;

namespace Lifeline.Scoring.Training;

/// <summary>Options of a training run; every default is what <c>lifeline train</c> uses.</summary>
public sealed record TrainingOptions
{
    /// <summary>Number of boosted trees (the original used 100). Default 100.</summary>
    public int Trees { get; init; } = 100;

    /// <summary>Leaves per tree (8 ≈ the original's depth 3). Default 8.</summary>
    public int Leaves { get; init; } = 8;

    /// <summary>Minimum examples per leaf. Default 20.</summary>
    public int MinimumExamplesPerLeaf { get; init; } = 20;

    /// <summary>Learning rate (the original's scikit-learn default 0.1). Default 0.1.</summary>
    public double LearningRate { get; init; } = 0.1;

    /// <summary>Share of rows held out for evaluation and the promotion decision. Default 0.2.</summary>
    public double HoldoutFraction { get; init; } = 0.2;

    /// <summary>Seed of the split and the trainer. Default 1.</summary>
    public int Seed { get; init; } = 1;

    public IReadOnlyDictionary<string, string> ToParameters() => new Dictionary<string, string>
    {
        ["trainer"] = "FastTree",
        ["trees"] = Trees.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["leaves"] = Leaves.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["min_examples_per_leaf"] = MinimumExamplesPerLeaf.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["learning_rate"] = LearningRate.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["holdout_fraction"] = HoldoutFraction.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["seed"] = Seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["feature_mapping"] = LeadFeatures.MappingVersion,
    };
}

/// <summary>The outcome of <see cref="LeadModelTrainer.TrainAsync"/>: the artifact directory, the model and its held-out metrics.</summary>
internal sealed record TrainedModel(string ArtifactDirectory, ILeadModel Model, ModelSignature Signature, ModelMetrics Metrics, IReadOnlyList<LeadRecord> Holdout);

/// <summary>Trains the FastTree lead classifier and writes its artifact (model.zip + signature.json).</summary>
internal sealed class LeadModelTrainer(TimeProvider timeProvider)
{
    /// <summary>Splits rows deterministically by seed into training and held-out sets.</summary>
    public static (List<LeadRecord> Train, List<LeadRecord> Holdout) Split(IReadOnlyList<LeadRecord> rows, double holdoutFraction, int seed)
    {
        var order = Enumerable.Range(0, rows.Count).ToArray();
        new Random(seed).Shuffle(order);
        var holdoutCount = (int)Math.Round(rows.Count * holdoutFraction);
        var holdout = order.Take(holdoutCount).Select(i => rows[i]).ToList();
        var train = order.Skip(holdoutCount).Select(i => rows[i]).ToList();
        return (train, holdout);
    }

    public async Task<TrainedModel> TrainAsync(
        IReadOnlyList<LeadRecord> rows, string trainingTable, string trainingTableVersion, TrainingOptions options,
        string artifactDirectory, CancellationToken cancellationToken)
    {
        if (rows.Count < 100)
        {
            throw new ArgumentException($"training needs at least 100 leads, got {rows.Count}", nameof(rows));
        }

        var (train, holdout) = Split(rows, options.HoldoutFraction, options.Seed);
        if (holdout.Select(r => r.Converted).Distinct().Count() < 2 || train.Select(r => r.Converted).Distinct().Count() < 2)
        {
            throw new ArgumentException("training and held-out sets each need converted and unconverted leads", nameof(rows));
        }

        var context = new MLContext(seed: options.Seed);
        var data = context.Data.LoadFromEnumerable(train.Select(ToRow));
        var trainer = context.BinaryClassification.Trainers.FastTree(new FastTreeBinaryTrainer.Options
        {
            NumberOfTrees = options.Trees,
            NumberOfLeaves = options.Leaves,
            MinimumExampleCountPerLeaf = options.MinimumExamplesPerLeaf,
            LearningRate = options.LearningRate,
            NumberOfThreads = 1,
            Seed = options.Seed,
        });
        cancellationToken.ThrowIfCancellationRequested();
        var transformer = trainer.Fit(data);

        Directory.CreateDirectory(artifactDirectory);
        var modelPath = Path.Combine(artifactDirectory, ModelArtifact.ModelFile);
        await using (var stream = File.Create(modelPath))
        {
            context.Model.Save(transformer, data.Schema, stream);
        }

        ILeadModel model = (ILeadModel?)TreeEnsembleLeadModel.TryCompile(transformer) ?? new PooledEngineLeadModel(context, transformer);
        var metrics = ModelMetrics.Evaluate(model, holdout);
        var signature = new ModelSignature
        {
            ModelId = ModelArtifact.ContentId(modelPath),
            Trainer = "FastTree",
            FeatureMapping = LeadFeatures.MappingVersion,
            Inputs = [.. LeadFeatures.Names.Select((name, i) => new ModelInput(name, LeadFeatures.Types[i]))],
            TrainingTable = trainingTable,
            TrainingTableVersion = trainingTableVersion,
            Metrics = metrics.ToDictionary(),
            CreatedAt = timeProvider.GetUtcNow(),
        };
        await ModelArtifact.WriteSignatureAsync(artifactDirectory, signature, cancellationToken);
        return new TrainedModel(artifactDirectory, model, signature, metrics, holdout);
    }

    internal static LeadModelRow ToRow(LeadRecord lead)
    {
        var row = new LeadModelRow { Label = lead.Converted };
        lead.MapFeatures(row.Features);
        return row;
    }
}
