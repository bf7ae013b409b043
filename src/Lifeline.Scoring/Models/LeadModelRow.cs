using Lifeline.Scoring.Features;
using Microsoft.ML.Data;

namespace Lifeline.Scoring.Models;

/// <summary>The ML.NET input row: the mapped feature vector and the label.</summary>
internal sealed class LeadModelRow
{
    [VectorType(LeadFeatures.Count)]
    [ColumnName("Features")]
    public float[] Features { get; set; } = new float[LeadFeatures.Count];

    [ColumnName("Label")]
    public bool Label { get; set; }
}

/// <summary>The ML.NET output row of a calibrated binary classifier.</summary>
internal sealed class LeadModelPrediction
{
    [ColumnName("Probability")]
    public float Probability { get; set; }

    [ColumnName("Score")]
    public float Score { get; set; }
}
