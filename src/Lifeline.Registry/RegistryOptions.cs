namespace Lifeline.Registry;

/// <summary>Configuration of the registry (section <c>Registry</c>). Validated at start-up.</summary>
public sealed record RegistryOptions
{
    /// <summary>Directory holding <c>registry.db</c> and <c>artifacts/</c>. Default: <c>./lifeline-data/registry</c>.</summary>
    public string DataDirectory { get; init; } = Path.Combine("lifeline-data", "registry");

    /// <summary>PostgreSQL connection string; when set the metadata lives there instead of SQLite. Default: none.</summary>
    public string? PostgresConnectionString { get; init; }

    /// <summary>Bearer tokens and their roles. Default: none (then every write is refused unless <see cref="AllowAnonymousWrites"/>).</summary>
    public IReadOnlyList<RegistryToken> Tokens { get; init; } = [];

    /// <summary>When true, reads need a token too (any role). Default: false (reads are open).</summary>
    public bool RequireTokenForReads { get; init; }

    /// <summary>When true and no token is configured, writes are allowed without a token (local demos only). Default: false.</summary>
    public bool AllowAnonymousWrites { get; init; }

    /// <summary>Largest artifact upload (PUT of the artifact proxy) in bytes. Default: 1 GiB.</summary>
    public long MaxArtifactBytes { get; init; } = 1L << 30;

    /// <summary>Largest request body of a JSON endpoint (and of any request no endpoint matches) in bytes. Default: 1 MiB.</summary>
    public long MaxJsonBodyBytes { get; init; } = 1L << 20;

    /// <summary>Largest body of <c>runs/log-batch</c> in bytes (1000 metrics, 100 params, 100 tags with long values). Default: 4 MiB.</summary>
    public long MaxBatchBodyBytes { get; init; } = 4L << 20;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        if (string.IsNullOrWhiteSpace(DataDirectory))
        {
            throw new ArgumentException("Registry:DataDirectory must be set");
        }

        foreach (var token in Tokens)
        {
            if (string.IsNullOrEmpty(token.Token) == string.IsNullOrEmpty(token.Sha256))
            {
                throw new ArgumentException("each Registry:Tokens entry needs exactly one of Token or Sha256");
            }

            if (token.Sha256 is { } hash && (hash.Length != 64 || !hash.All(Uri.IsHexDigit)))
            {
                throw new ArgumentException("Registry:Tokens Sha256 must be 64 hex digits (sha256 of the token)");
            }
        }

        if (MaxArtifactBytes <= 0)
        {
            throw new ArgumentException("Registry:MaxArtifactBytes must be positive");
        }

        if (MaxJsonBodyBytes <= 0 || MaxBatchBodyBytes <= 0)
        {
            throw new ArgumentException("Registry:MaxJsonBodyBytes and Registry:MaxBatchBodyBytes must be positive");
        }
    }
}

/// <summary>What a token may do: read &lt; write &lt; admin.</summary>
public enum RegistryRole
{
    /// <summary>Read only.</summary>
    Read = 1,
    /// <summary>Read and write (log runs, register and promote versions).</summary>
    Write = 2,
    /// <summary>Everything, including deleting experiments, models and versions.</summary>
    Admin = 3,
}

/// <summary>One accepted bearer token: either its value or (better) its SHA-256 in hex.</summary>
public sealed record RegistryToken
{
    /// <summary>The token itself (avoid in files; prefer <see cref="Sha256"/>).</summary>
    public string? Token { get; init; }
    /// <summary>Lower- or upper-case hex SHA-256 of the token.</summary>
    public string? Sha256 { get; init; }
    /// <summary>Role granted. Default: Read.</summary>
    public RegistryRole Role { get; init; } = RegistryRole.Read;
}
