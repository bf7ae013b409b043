using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;

namespace Lifeline.Scoring.Training;

/// <summary>Held-out metrics of a lead model; F1, precision and recall at the 0.5 threshold.</summary>
public sealed record ModelMetrics(double Auc, double F1, double Precision, double Recall, double LogLoss, int Count)
{
    public IReadOnlyDictionary<string, double> ToDictionary() => new Dictionary<string, double>
    {
        ["auc"] = Auc,
        ["f1"] = F1,
        ["precision"] = Precision,
        ["recall"] = Recall,
        ["log_loss"] = LogLoss,
        ["holdout_count"] = Count,
    };

    /// <summary>Scores every row with <paramref name="model"/> and computes the metrics (AUC by ranks, ties averaged).</summary>
    internal static ModelMetrics Evaluate(ILeadModel model, IReadOnlyList<LeadRecord> rows)
    {
        Span<float> features = stackalloc float[LeadFeatures.Count];
        var scored = new (double Score, bool Label)[rows.Count];
        for (var i = 0; i < rows.Count; i++)
        {
            rows[i].MapFeatures(features);
            scored[i] = (model.Score(features), rows[i].Converted);
        }

        return Compute(scored);
    }

    internal static ModelMetrics Compute((double Score, bool Label)[] scored)
    {
        int tp = 0, fp = 0, fn = 0, positives = 0;
        double logLoss = 0;
        foreach (var (score, label) in scored)
        {
            var p = Math.Clamp(score, 1e-15, 1 - 1e-15);
            logLoss -= label ? Math.Log(p) : Math.Log(1 - p);
            var predicted = score >= 0.5;
            if (label)
            {
                positives++;
            }

            if (predicted && label)
            {
                tp++;
            }
            else if (predicted)
            {
                fp++;
            }
            else if (label)
            {
                fn++;
            }
        }

        var negatives = scored.Length - positives;
        var order = scored.Select((s, i) => (s.Score, s.Label)).OrderBy(s => s.Score).ToArray();
        double rankSumPositives = 0;
        for (var i = 0; i < order.Length;)
        {
            var j = i;
            while (j < order.Length && order[j].Score == order[i].Score)
            {
                j++;
            }

            var averageRank = (i + 1 + j) / 2.0;
            for (var k = i; k < j; k++)
            {
                if (order[k].Label)
                {
                    rankSumPositives += averageRank;
                }
            }

            i = j;
        }

        var auc = positives == 0 || negatives == 0
            ? 0.5
            : (rankSumPositives - (positives * (positives + 1) / 2.0)) / ((double)positives * negatives);
        var precision = tp + fp == 0 ? 0 : (double)tp / (tp + fp);
        var recall = tp + fn == 0 ? 0 : (double)tp / (tp + fn);
        var f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
        return new ModelMetrics(auc, f1, precision, recall, scored.Length == 0 ? 0 : logLoss / scored.Length, scored.Length);
    }
}
