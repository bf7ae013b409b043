using Lifeline.Scoring.Features;

namespace Lifeline.Scoring.Training;

/// <summary>Labelled leads and where they came from (the lineage a run records).</summary>
internal sealed record TrainingData(IReadOnlyList<LeadRecord> Leads, string Table, string TableVersion);

/// <summary>Where training leads come from: the lake's leads joined with conversions, or generated leads.</summary>
internal interface ITrainingDataSource
{
    /// <summary>Describes the source for messages.</summary>
    string Description { get; }

    Task<TrainingData> LoadAsync(CancellationToken cancellationToken);
}

/// <summary>Generated leads (<see cref="SyntheticLeads"/>) for when the lake has none.</summary>
internal sealed class SyntheticTrainingData(int count, int seed) : ITrainingDataSource
{
    public string Description => $"{count} synthetic leads (seed {seed})";

    public Task<TrainingData> LoadAsync(CancellationToken cancellationToken) =>
        Task.FromResult(new TrainingData(SyntheticLeads.Generate(count, seed), "synthetic", $"seed={seed};count={count}"));
}

/// <summary>Data already loaded (e.g. read from the lake to check there is enough of it).</summary>
internal sealed class PreloadedTrainingData(TrainingData data, string description) : ITrainingDataSource
{
    public string Description => description;

    public Task<TrainingData> LoadAsync(CancellationToken cancellationToken) => Task.FromResult(data);
}
