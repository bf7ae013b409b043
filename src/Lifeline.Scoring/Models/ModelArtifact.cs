using System.Security.Cryptography;
using System.Text.Json;
using Lifeline.Scoring.Features;
using Microsoft.ML;

namespace Lifeline.Scoring.Models;

/// <summary>
/// A model artifact on disk: a directory with <c>model.zip</c> (ML.NET) and <c>signature.json</c>
/// (<see cref="ModelSignature"/>). This is exactly what is logged to the registry under the run's <c>model/</c> path.
/// </summary>
internal static class ModelArtifact
{
    public const string ModelFile = "model.zip";
    public const string SignatureFile = "signature.json";

    public static async Task WriteSignatureAsync(string directory, ModelSignature signature, CancellationToken cancellationToken)
    {
        var path = Path.Combine(directory, SignatureFile);
        var temp = path + ".tmp";
        await using (var stream = File.Create(temp))
        {
            await JsonSerializer.SerializeAsync(stream, signature, ScoringJsonContext.Default.ModelSignature, cancellationToken);
        }

        File.Move(temp, path, overwrite: true);
    }

    public static async Task<ModelSignature> ReadSignatureAsync(string directory, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(Path.Combine(directory, SignatureFile));
        return await JsonSerializer.DeserializeAsync(stream, ScoringJsonContext.Default.ModelSignature, cancellationToken)
            ?? throw new InvalidDataException($"{SignatureFile} in {directory} is empty");
    }

    public static string ContentId(string modelFile)
    {
        using var stream = File.OpenRead(modelFile);
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Loads the artifact in <paramref name="directory"/>: compiled trees when possible, else pooled ML.NET engines.</summary>
    public static async Task<(ILeadModel Model, ModelSignature Signature)> LoadAsync(string directory, CancellationToken cancellationToken)
    {
        var signature = await ReadSignatureAsync(directory, cancellationToken);
        if (signature.FeatureMapping != LeadFeatures.MappingVersion)
        {
            throw new InvalidDataException(
                $"model in {directory} uses feature mapping '{signature.FeatureMapping}', this service knows '{LeadFeatures.MappingVersion}'");
        }

        var modelPath = Path.Combine(directory, ModelFile);
        if (!string.IsNullOrEmpty(signature.ModelId) && ContentId(modelPath) != signature.ModelId)
        {
            throw new InvalidDataException($"{ModelFile} in {directory} does not match its signature's model_id (corrupt or tampered)");
        }

        var context = new MLContext(seed: 0);
        ITransformer transformer;
        await using (var stream = File.OpenRead(modelPath))
        {
            transformer = context.Model.Load(stream, out _);
        }

        ILeadModel model = (ILeadModel?)TreeEnsembleLeadModel.TryCompile(transformer) ?? new PooledEngineLeadModel(context, transformer);
        return (model, signature);
    }
}
