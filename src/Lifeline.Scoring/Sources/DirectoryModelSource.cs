using System.Globalization;

namespace Lifeline.Scoring.Sources;

/// <summary>
/// A registry on a plain directory, for tests, demos and air-gapped use: <c>versions/&lt;v&gt;/</c> holds each
/// version's artifact and <c>production.txt</c> the history of Production versions, one a line, newest last.
/// </summary>
internal sealed class DirectoryModelSource(string root, string modelName = "lead-scoring") : IModelSource
{
    private const string ProductionFile = "production.txt";

    public string Description => $"directory {Root}";

    public string Root { get; } = root;

    /// <summary>Copies an artifact directory in as the next version and returns its number.</summary>
    public async Task<string> AddVersionAsync(string artifactDirectory, CancellationToken cancellationToken)
    {
        var versions = Path.Combine(Root, "versions");
        Directory.CreateDirectory(versions);
        var next = Directory.EnumerateDirectories(versions)
            .Select(d => int.TryParse(Path.GetFileName(d), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : 0)
            .DefaultIfEmpty(0).Max() + 1;
        var version = next.ToString(CultureInfo.InvariantCulture);
        await CopyDirectoryAsync(artifactDirectory, Path.Combine(versions, version), cancellationToken);
        return version;
    }

    /// <summary>Makes <paramref name="version"/> the Production version.</summary>
    public Task PromoteAsync(string version, CancellationToken cancellationToken) =>
        File.AppendAllTextAsync(Path.Combine(Root, ProductionFile), version + "\n", cancellationToken);

    public async Task<ModelVersionInfo?> GetProductionAsync(CancellationToken cancellationToken)
    {
        var history = await HistoryAsync(cancellationToken);
        return history.Count == 0 ? null : Info(history[^1], "Production");
    }

    public async Task<ModelVersionInfo?> GetPreviousProductionAsync(string currentVersion, CancellationToken cancellationToken)
    {
        var history = await HistoryAsync(cancellationToken);
        var index = history.LastIndexOf(currentVersion);
        for (var i = index - 1; i >= 0; i--)
        {
            if (history[i] != currentVersion)
            {
                return Info(history[i], "Archived");
            }
        }

        return null;
    }

    public Task DownloadAsync(ModelVersionInfo version, string directory, CancellationToken cancellationToken) =>
        CopyDirectoryAsync(Path.Combine(Root, "versions", version.Version), directory, cancellationToken);

    private ModelVersionInfo Info(string version, string stage) => new()
    {
        Name = modelName,
        Version = version,
        Stage = stage,
        Source = Path.Combine(Root, "versions", version),
    };

    private async Task<List<string>> HistoryAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(Root, ProductionFile);
        if (!File.Exists(path))
        {
            return [];
        }

        var lines = await File.ReadAllLinesAsync(path, cancellationToken);
        return [.. lines.Select(l => l.Trim()).Where(l => l.Length > 0)];
    }

    private static async Task CopyDirectoryAsync(string from, string to, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.EnumerateFiles(from))
        {
            await using var source = File.OpenRead(file);
            await using var target = File.Create(Path.Combine(to, Path.GetFileName(file)));
            await source.CopyToAsync(target, cancellationToken);
        }
    }
}
