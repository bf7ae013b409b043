namespace Lifeline.Fuzzing.Http;

/// <summary>A valid request of a surface, the starting point of mutations.</summary>
public sealed record HttpTemplate
{
    public required string Name { get; init; }

    public required string Method { get; init; }

    /// <summary>The path, without the query.</summary>
    public required string Path { get; init; }

    /// <summary>Query parameters in order (repeated names allowed).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Query { get; init; } = [];

    /// <summary>The JSON body, or null for none.</summary>
    public string? Json { get; init; }

    /// <summary>A raw (non-JSON) body, e.g. an artifact upload.</summary>
    public byte[]? RawBody { get; init; }

    public string? ContentType { get; init; }

    /// <summary>The token label the valid request is sent with (a key of the surface's token table).</summary>
    public string Token { get; init; } = "none";

    /// <summary>Relative weight when templates are drawn.</summary>
    public int Weight { get; init; } = 1;
}
