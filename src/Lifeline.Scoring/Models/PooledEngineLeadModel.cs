using Lifeline.Scoring.Features;
using Microsoft.Extensions.ObjectPool;
using Microsoft.ML;

namespace Lifeline.Scoring.Models;

/// <summary>
/// Any ML.NET binary classifier behind a pool of <see cref="PredictionEngine{TSrc,TDst}"/> (which is not
/// thread-safe). The fallback for models <see cref="TreeEnsembleLeadModel"/> cannot compile, and the reference
/// the compiled model is tested and benchmarked against.
/// </summary>
internal sealed class PooledEngineLeadModel : ILeadModel
{
    private readonly ObjectPool<Lease> _pool;

    public PooledEngineLeadModel(MLContext context, ITransformer transformer)
    {
        _pool = new DefaultObjectPool<Lease>(new LeasePolicy(context, transformer), Environment.ProcessorCount * 2);
    }

    public float Score(ReadOnlySpan<float> features)
    {
        var lease = _pool.Get();
        try
        {
            features.CopyTo(lease.Row.Features);
            return lease.Engine.Predict(lease.Row).Probability;
        }
        finally
        {
            _pool.Return(lease);
        }
    }

    private sealed class Lease(PredictionEngine<LeadModelRow, LeadModelPrediction> engine)
    {
        public PredictionEngine<LeadModelRow, LeadModelPrediction> Engine { get; } = engine;

        public LeadModelRow Row { get; } = new() { Features = new float[LeadFeatures.Count] };
    }

    private sealed class LeasePolicy(MLContext context, ITransformer transformer) : PooledObjectPolicy<Lease>
    {
        public override Lease Create() => new(context.Model.CreatePredictionEngine<LeadModelRow, LeadModelPrediction>(transformer));

        public override bool Return(Lease obj) => true;
    }
}
