using System.Text.Json;

namespace Lifeline.Registry.Backup;

/// <summary>
/// What a native restore left in a data directory, as <c>.lifeline-restore.json</c>: the point restored, whether the
/// restore completed, the database's size and modification time as the restore left it, and each artifact's path,
/// size, SHA-256 and modification time. An incremental restore into the directory trusts a file whose size and time
/// still match its record (its content is the recorded hash) and reads every other one; a database that no longer
/// matches means the registry has been used since, and is not overwritten unless asked.
/// </summary>
internal sealed record RestoreRecord
{
    public const string FileName = ".lifeline-restore.json";

    public string Point { get; init; } = "";
    public bool Complete { get; init; }
    public long DatabaseSize { get; init; }
    public long DatabaseModifiedTicks { get; init; }
    public IReadOnlyList<RecordedArtifact> Artifacts { get; init; } = [];

    internal sealed record RecordedArtifact(string Path, long Size, string Sha256, long ModifiedTicks);

    public static async Task<RestoreRecord?> ReadAsync(string dataDirectory, CancellationToken ct)
    {
        var path = Path.Combine(dataDirectory, FileName);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize<RestoreRecord>(await File.ReadAllTextAsync(path, ct), NativeBackup.Json);
        }
        catch (JsonException)
        {
            return null; // a damaged record is no record: every file is hashed
        }
    }

    /// <summary>Writes the record of a completed restore of <paramref name="manifest"/> (through a temporary name and rename).</summary>
    public static Task WriteAsync(string dataDirectory, string point, RegistryBackupManifest manifest, CancellationToken ct)
    {
        var artifactDirectory = Path.Combine(dataDirectory, "artifacts");
        var database = new FileInfo(Path.Combine(dataDirectory, NativeBackup.DatabaseFile));
        var record = new RestoreRecord
        {
            Point = point,
            Complete = true,
            DatabaseSize = database.Length,
            DatabaseModifiedTicks = database.LastWriteTimeUtc.Ticks,
            Artifacts = manifest.Artifacts.Select(a =>
            {
                var file = new FileInfo(NativeBackup.ArtifactPath(artifactDirectory, a.Path));
                return new RecordedArtifact(a.Path, a.Size, a.Sha256, file.LastWriteTimeUtc.Ticks);
            }).ToList(),
        };
        return SaveAsync(dataDirectory, record, ct);
    }

    public static async Task SaveAsync(string dataDirectory, RestoreRecord record, CancellationToken ct)
    {
        var path = Path.Combine(dataDirectory, FileName);
        var temp = path + ".tmp";
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(record, NativeBackup.Json), ct);
        File.Move(temp, path, overwrite: true);
    }
}
