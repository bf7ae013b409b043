namespace Lifeline.Scoring.Models;

/// <summary>A loaded lead model: maps the feature vector of one lead to a conversion probability. Thread-safe.</summary>
public interface ILeadModel
{
    /// <summary>The probability that the lead converts; implementations may throw or return NaN when broken (failover counts both).</summary>
    float Score(ReadOnlySpan<float> features);
}
