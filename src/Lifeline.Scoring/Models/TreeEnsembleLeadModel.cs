using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Calibrators;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers.FastTree;

namespace Lifeline.Scoring.Models;

/// <summary>
/// A FastTree model compiled out of ML.NET into flat arrays: the same trees, weights, bias and Platt calibration,
/// evaluated without ML.NET's per-call machinery. Immutable, so thread-safe with no pooling; a lead costs one walk
/// per tree (about 3 comparisons each for 8-leaf trees). Tests check it gives ML.NET's probabilities.
/// </summary>
internal sealed class TreeEnsembleLeadModel : ILeadModel
{
    [StructLayout(LayoutKind.Sequential)]
    private readonly record struct Node(int Feature, float Threshold, int Lte, int Gt);

    private readonly Node[] _nodes;
    private readonly int[] _treeNodeStart;
    private readonly int[] _treeLeafStart;
    private readonly bool[] _treeHasNodes;
    private readonly double[] _leafValues;
    private readonly double _bias;
    private readonly double _slope;
    private readonly double _offset;

    private TreeEnsembleLeadModel(Node[] nodes, int[] treeNodeStart, int[] treeLeafStart, double[] leafValues, double bias, double slope, double offset)
    {
        _nodes = nodes;
        _treeNodeStart = treeNodeStart;
        _treeLeafStart = treeLeafStart;
        _treeHasNodes = new bool[treeNodeStart.Length];
        for (var t = 0; t < treeNodeStart.Length; t++)
        {
            var end = t + 1 < treeNodeStart.Length ? treeNodeStart[t + 1] : nodes.Length;
            _treeHasNodes[t] = end > treeNodeStart[t];
        }
        _leafValues = leafValues;
        _bias = bias;
        _slope = slope;
        _offset = offset;
    }

    public int TreeCount => _treeNodeStart.Length;

    /// <summary>Compiles a loaded ML.NET model, or returns <c>null</c> when it is not a calibrated FastTree binary classifier on numeric splits.</summary>
    public static TreeEnsembleLeadModel? TryCompile(ITransformer transformer)
    {
        var last = transformer is TransformerChain<ITransformer> chain ? chain.LastTransformer : transformer;
        if (last is not BinaryPredictionTransformer<CalibratedModelParametersBase<FastTreeBinaryModelParameters, PlattCalibrator>> binary)
        {
            return null;
        }

        var ensemble = binary.Model.SubModel.TrainedTreeEnsemble;
        var calibrator = binary.Model.Calibrator;
        var nodes = new List<Node>();
        var leaves = new List<double>();
        var nodeStart = new int[ensemble.Trees.Count];
        var leafStart = new int[ensemble.Trees.Count];
        for (var t = 0; t < ensemble.Trees.Count; t++)
        {
            var tree = ensemble.Trees[t];
            if (tree.CategoricalSplitFlags.Any(flag => flag))
            {
                return null;
            }

            nodeStart[t] = nodes.Count;
            leafStart[t] = leaves.Count;
            for (var n = 0; n < tree.NumberOfNodes; n++)
            {
                nodes.Add(new Node(tree.NumericalSplitFeatureIndexes[n], tree.NumericalSplitThresholds[n], tree.LeftChild[n], tree.RightChild[n]));
            }

            var weight = ensemble.TreeWeights[t];
            foreach (var leaf in tree.LeafValues)
            {
                leaves.Add(leaf * weight);
            }
        }

        return new TreeEnsembleLeadModel([.. nodes], nodeStart, leafStart, [.. leaves], ensemble.Bias, calibrator.Slope, calibrator.Offset);
    }

    public float Score(ReadOnlySpan<float> features)
    {
        var raw = _bias;
        ref var nodes = ref MemoryMarshal.GetArrayDataReference(_nodes);
        for (var t = 0; t < _treeNodeStart.Length; t++)
        {
            var start = _treeNodeStart[t];
            // A tree of one leaf has no nodes: ~(-1) is leaf 0.
            var next = _treeHasNodes[t] ? 0 : -1;
            while (next >= 0)
            {
                ref readonly var node = ref Unsafe.Add(ref nodes, start + next);
                next = features[node.Feature] <= node.Threshold ? node.Lte : node.Gt;
            }

            raw += _leafValues[_treeLeafStart[t] + ~next];
        }

        return (float)(1 / (1 + Math.Exp((_slope * (float)raw) + _offset)));
    }
}
