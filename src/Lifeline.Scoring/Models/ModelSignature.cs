using System.Text.Json.Serialization;

namespace Lifeline.Scoring.Models;

/// <summary>
/// The descriptor stored beside every model artifact (<c>signature.json</c>): what the model takes, how it was made,
/// and from what data. The service refuses an artifact whose feature mapping it does not know.
/// </summary>
public sealed record ModelSignature
{
    /// <summary>Format of this descriptor; currently <c>lifeline-lead-model/1</c>.</summary>
    public string Format { get; init; } = CurrentFormat;

    /// <summary>Content id of the model file (<c>sha256:</c> of model.zip).</summary>
    public string ModelId { get; init; } = "";

    /// <summary>The registered model version, once the registry assigned one; <c>null</c> before registration.</summary>
    public string? ModelVersion { get; init; }

    /// <summary>The trainer, e.g. <c>FastTree</c>.</summary>
    public string Trainer { get; init; } = "";

    /// <summary>The feature mapping version the model was trained with.</summary>
    public string FeatureMapping { get; init; } = "";

    /// <summary>The request fields the model reads, with their types, in feature order.</summary>
    public IReadOnlyList<ModelInput> Inputs { get; init; } = [];

    /// <summary>The training data: a lake table (e.g. <c>leads</c>) or <c>synthetic</c>.</summary>
    public string TrainingTable { get; init; } = "";

    /// <summary>The version of the training table (a Delta version), or the seed for synthetic data.</summary>
    public string TrainingTableVersion { get; init; } = "";

    /// <summary>Held-out metrics measured at training time.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>When the model was trained.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>The descriptor format this code writes.</summary>
    public const string CurrentFormat = "lifeline-lead-model/1";
}

/// <summary>One model input: the request field and its type (<c>category</c>, <c>int</c> or <c>float</c>).</summary>
public sealed record ModelInput(
    [property: JsonPropertyName("name")] string Name,
    [property: JsonPropertyName("type")] string Type);
