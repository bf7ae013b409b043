using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Training;
using Microsoft.ML;

namespace Lifeline.Scoring.Tests.Training;

public class TrainingTests
{
    [Fact]
    public void Generate_SameSeed_SameLeads()
    {
        var a = SyntheticLeads.Generate(500, 3);
        var b = SyntheticLeads.Generate(500, 3);
        Assert.Equal(a, b);
        Assert.NotEqual(a, SyntheticLeads.Generate(500, 4));
        var rate = a.Count(l => l.Converted) / 500.0;
        Assert.InRange(rate, 0.2, 0.8);
    }

    [Fact]
    public async Task TrainAsync_SyntheticLeads_LearnsTheSignal()
    {
        var model = await TestModels.GetAsync();
        Assert.InRange(model.Metrics.Auc, 0.75, 1.0);
        Assert.InRange(model.Metrics.LogLoss, 0.0, 0.6);
        Assert.InRange(model.Metrics.F1, 0.5, 1.0);
        Assert.Equal(1000, model.Metrics.Count);
        Assert.Equal("FastTree", model.Signature.Trainer);
        Assert.Equal(LeadFeatures.Names, model.Signature.Inputs.Select(i => i.Name));
        Assert.Equal("synthetic", model.Signature.TrainingTable);
        Assert.StartsWith("sha256:", model.Signature.ModelId, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CompiledTrees_SameLeads_GiveMlNetProbabilities()
    {
        var trained = await TestModels.GetAsync();
        var context = new MLContext(seed: 0);
        ITransformer transformer;
        await using (var stream = File.OpenRead(Path.Combine(trained.ArtifactDirectory, ModelArtifact.ModelFile)))
        {
            transformer = context.Model.Load(stream, out _);
        }

        var compiled = TreeEnsembleLeadModel.TryCompile(transformer);
        Assert.NotNull(compiled);
        Assert.Equal(100, compiled.TreeCount);
        var reference = new PooledEngineLeadModel(context, transformer);
        var features = new float[LeadFeatures.Count];
        foreach (var lead in SyntheticLeads.Generate(2000, seed: 99))
        {
            lead.MapFeatures(features);
            Assert.Equal(reference.Score(features), compiled.Score(features), 5);
        }
    }

    [Fact]
    public async Task LoadAsync_Artifact_RoundTripsAndScoresLikeTraining()
    {
        var trained = await TestModels.GetAsync();
        var (model, signature) = await ModelArtifact.LoadAsync(trained.ArtifactDirectory, CancellationToken.None);
        Assert.IsType<TreeEnsembleLeadModel>(model);
        Assert.Equal(trained.Signature.ModelId, signature.ModelId);
        var metrics = ModelMetrics.Evaluate(model, trained.Holdout);
        Assert.Equal(trained.Metrics.Auc, metrics.Auc, 9);
    }

    [Fact]
    public async Task LoadAsync_TamperedModelFile_IsRefused()
    {
        using var dir = new TempDir();
        var trained = await TestModels.GetAsync();
        foreach (var file in Directory.EnumerateFiles(trained.ArtifactDirectory))
        {
            File.Copy(file, Path.Combine(dir.Path, Path.GetFileName(file)));
        }

        await using (var stream = File.OpenWrite(Path.Combine(dir.Path, ModelArtifact.ModelFile)))
        {
            stream.Seek(100, SeekOrigin.Begin);
            stream.WriteByte(0x5A);
        }

        var error = await Assert.ThrowsAsync<InvalidDataException>(() => ModelArtifact.LoadAsync(dir.Path, CancellationToken.None));
        Assert.Contains("model_id", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Compute_PerfectAndInvertedRankings_GiveAucOneAndZero()
    {
        (double, bool)[] perfect = [(0.1, false), (0.2, false), (0.8, true), (0.9, true)];
        Assert.Equal(1.0, ModelMetrics.Compute(perfect).Auc);
        Assert.Equal(1.0, ModelMetrics.Compute(perfect).F1);
        (double, bool)[] inverted = [(0.9, false), (0.8, false), (0.2, true), (0.1, true)];
        Assert.Equal(0.0, ModelMetrics.Compute(inverted).Auc);
        (double, bool)[] ties = [(0.5, false), (0.5, true)];
        Assert.Equal(0.5, ModelMetrics.Compute(ties).Auc);
    }
}
