using System.Text.Json;

namespace Lifeline.Scoring.Sources;

/// <summary>
/// The local copy of served artifacts: <c>&lt;dir&gt;/&lt;version&gt;/</c> per version (written to a temporary
/// directory and renamed, so a version directory is always complete) and <c>current.json</c>, the version last
/// served, which start-up uses when the registry is unreachable.
/// </summary>
internal sealed class ModelCache(string directory)
{
    private const string CurrentFile = "current.json";

    public string Directory { get; } = directory;

    public string PathOf(string version) => Path.Combine(Directory, Sanitize(version));

    public bool Has(string version) => System.IO.Directory.Exists(PathOf(version));

    /// <summary>Returns the cached artifact directory of the version, downloading it first when missing.</summary>
    public async Task<string> GetOrDownloadAsync(IModelSource source, ModelVersionInfo version, CancellationToken cancellationToken)
    {
        var target = PathOf(version.Version);
        if (System.IO.Directory.Exists(target))
        {
            return target;
        }

        System.IO.Directory.CreateDirectory(Directory);
        var temp = Path.Combine(Directory, $".tmp-{Sanitize(version.Version)}-{Guid.NewGuid():N}");
        try
        {
            await source.DownloadAsync(version, temp, cancellationToken);
            System.IO.Directory.Move(temp, target);
        }
        catch (IOException) when (System.IO.Directory.Exists(target))
        {
            // another process cached it first
        }
        finally
        {
            if (System.IO.Directory.Exists(temp))
            {
                System.IO.Directory.Delete(temp, recursive: true);
            }
        }

        return target;
    }

    public async Task SetCurrentAsync(ModelVersionInfo version, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, CurrentFile);
        var temp = path + ".tmp";
        await File.WriteAllBytesAsync(temp, JsonSerializer.SerializeToUtf8Bytes(version, ScoringJsonContext.Default.ModelVersionInfo), cancellationToken);
        File.Move(temp, path, overwrite: true);
    }

    public async Task<ModelVersionInfo?> GetCurrentAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(Directory, CurrentFile);
        if (!File.Exists(path))
        {
            return null;
        }

        var info = JsonSerializer.Deserialize(await File.ReadAllBytesAsync(path, cancellationToken), ScoringJsonContext.Default.ModelVersionInfo);
        return info is not null && Has(info.Version) ? info : null;
    }

    private static string Sanitize(string version) =>
        string.Concat(version.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
}
