using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Training;
using Microsoft.ML;

BenchmarkSwitcher.FromAssembly(typeof(ScorerBenchmarks).Assembly).Run(args);

/// <summary>One lead scored by the compiled trees vs ML.NET's pooled PredictionEngine (same 100-tree model).</summary>
[MemoryDiagnoser]
public class ScorerBenchmarks
{
    private TreeEnsembleLeadModel _compiled = null!;
    private PooledEngineLeadModel _pooled = null!;
    private readonly float[] _features = new float[LeadFeatures.Count];
    private string _dir = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "lifeline-scoring-bench-" + Guid.NewGuid().ToString("N"));
        var trained = new LeadModelTrainer(TimeProvider.System)
            .TrainAsync(SyntheticLeads.Generate(20_000, 1), "synthetic", "seed=1", new TrainingOptions(), _dir, CancellationToken.None)
            .GetAwaiter().GetResult();
        var context = new MLContext(seed: 0);
        using var stream = File.OpenRead(Path.Combine(trained.ArtifactDirectory, ModelArtifact.ModelFile));
        var transformer = context.Model.Load(stream, out _);
        _compiled = TreeEnsembleLeadModel.TryCompile(transformer)!;
        _pooled = new PooledEngineLeadModel(context, transformer);
        LeadFeatures.Map("Medium", "Healthcare", 17, 243.8, 20.4, "Social Media", _features);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true)]
    public float PooledPredictionEngine() => _pooled.Score(_features);

    [Benchmark]
    public float CompiledTrees() => _compiled.Score(_features);
}
