namespace Lifeline.Recovery.Plan;

/// <summary>
/// Where each component of a plan lives, from the plan alone (docs/plan.md, "sources"): the data directory
/// (<c>sources.data</c>, default <c>lifeline-data</c> beside the plan file), the registry in <c>DATA/registry</c>,
/// the lake in <c>DATA/lake</c> (or <c>sources.lake</c>) with each table at <c>LAKE/TABLE</c>, the scheduler's job
/// store at <c>DATA/scheduler/jobs.db</c>; a component's own fields override them. Relative paths are taken from the
/// plan file's directory; <c>${VAR}</c> references are expanded from the environment here, when asked.
/// <c>lifeline up</c> lays out the same directories.
/// </summary>
public sealed class ComponentSources
{
    /// <summary>The registry's directory under the data directory.</summary>
    public const string RegistryDirectory = "registry";

    /// <summary>The lake's directory under the data directory.</summary>
    public const string LakeDirectory = "lake";

    /// <summary>The scheduler's job store under the data directory.</summary>
    public static readonly string JobStoreFile = Path.Combine("scheduler", "jobs.db");

    private readonly LifelinePlan _plan;
    private readonly IReadOnlyDictionary<string, string?>? _environment;

    /// <summary>The sources of <paramref name="plan"/>, relative paths taken from <paramref name="baseDirectory"/>
    /// (the plan file's directory; default that of <see cref="PlanSource.File"/>).</summary>
    public ComponentSources(LifelinePlan plan, string? baseDirectory = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        _plan = plan;
        _environment = environment;
        BaseDirectory = Path.GetFullPath(baseDirectory ?? Path.GetDirectoryName(Path.GetFullPath(plan.Source.File)) ?? Directory.GetCurrentDirectory());
    }

    /// <summary>The directory relative paths are taken from.</summary>
    public string BaseDirectory { get; }

    /// <summary>The plan file's full path.</summary>
    public string PlanFile => Path.Combine(BaseDirectory, Path.GetFileName(_plan.Source.File));

    /// <summary>The data directory (full path).</summary>
    public string DataDirectory => FullPath(Expand(_plan.Sources.Data, "sources.data") ?? PlanSources.DefaultData);

    /// <summary>The lake root: a full path, or an object-store URL.</summary>
    public string LakeRoot => FullPath(Expand(_plan.Sources.Lake, "sources.lake") ?? Path.Combine(DataDirectory, LakeDirectory));

    /// <summary>The registry component's data directory (full path).</summary>
    public string RegistryData(PlanComponent component) =>
        FullPath(Expand(component.Data, $"components.{component.Name}.data") ?? Path.Combine(DataDirectory, RegistryDirectory));

    /// <summary>The registry's PostgreSQL connection string, expanded (a secret: never print it), or null.</summary>
    public string? RegistryPostgres(PlanComponent component) => Expand(component.Postgres, $"components.{component.Name}.postgres");

    /// <summary>The MLflow server the registry is backed up through, or null for native.</summary>
    public Uri? RegistryApi(PlanComponent component) =>
        Expand(component.Api, $"components.{component.Name}.api") is { } api
            ? Uri.TryCreate(api, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri
                : throw new RecoveryException($"the plan's components.{component.Name}.api is not an http:// or https:// URL once expanded: fix it, or the variables it names")
            : null;

    /// <summary>The API token from the variable <see cref="PlanComponent.TokenEnv"/> names, or null.</summary>
    public string? RegistryToken(PlanComponent component) =>
        component.TokenEnv is { } name ? Expand("${" + name + "}", $"components.{component.Name}.token-env") : null;

    /// <summary>A lake table's location: a full path or an object-store URL.</summary>
    public string TableLocation(PlanComponent component) =>
        FullPath(Expand(component.Location, $"components.{component.Name}.location") ?? Join(LakeRoot, component.Table ?? component.Name));

    /// <summary>The jobs component's SQLite job store (full path; backed up when it exists).</summary>
    public string JobStore(PlanComponent component) =>
        FullPath(Expand(component.Store, $"components.{component.Name}.store") ?? Path.Combine(DataDirectory, JobStoreFile));

    /// <summary>True when <paramref name="value"/> is an object-store URL rather than a path.</summary>
    public static bool IsUrl(string value) => value.Contains("://", StringComparison.Ordinal) && !value.StartsWith("file://", StringComparison.OrdinalIgnoreCase);

    private string? Expand(string? text, string where) => SourceText.ExpandOrNull(text, where, _environment);

    private string FullPath(string value) =>
        IsUrl(value) ? value
        : value.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(value).LocalPath
        : Path.GetFullPath(Path.Combine(BaseDirectory, value));

    /// <summary><paramref name="root"/>/<paramref name="name"/> for a path or an object-store URL (its query kept at the end).</summary>
    internal static string Join(string root, string name) => IsUrl(root) ? root.Split('?') switch
    {
        [var path] => path.TrimEnd('/') + "/" + name,
        [var path, var query] => path.TrimEnd('/') + "/" + name + "?" + query,
        _ => root.TrimEnd('/') + "/" + name,
    } : Path.Combine(root, name);
}
