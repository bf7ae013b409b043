using System.Security.Cryptography;
using System.Text.Json;
using Lifeline.Registry.Store;
using Lifeline.Storage;
using Lifeline.Storage.FileSystem;
using Microsoft.Data.Sqlite;

namespace Lifeline.Registry.Backup;

/// <summary>What a registry backup directory holds; written last, as <c>manifest.json</c>, so a directory without it is incomplete.</summary>
public sealed record RegistryBackupManifest
{
    /// <summary><c>native</c> (database file + artifacts) or <c>api</c> (MLflow REST export).</summary>
    public string Mode { get; init; } = "";
    /// <summary>Format version of the directory layout.</summary>
    public int FormatVersion { get; init; } = 1;
    /// <summary>Where the registry was read from (a data directory or a URL; never a secret).</summary>
    public string Source { get; init; } = "";
    /// <summary>When the backup was taken (UTC).</summary>
    public DateTimeOffset CreatedAt { get; init; }
    /// <summary>Schema version of the database (native mode).</summary>
    public int? SchemaVersion { get; init; }
    /// <summary>Counts of what was copied.</summary>
    public IReadOnlyDictionary<string, long> Counts { get; init; } = new Dictionary<string, long>();
    /// <summary>Each artifact file: path relative to <c>artifacts/</c>, size, SHA-256.</summary>
    public IReadOnlyList<ArtifactEntry> Artifacts { get; init; } = [];
}

/// <summary>One artifact file in a backup directory.</summary>
public sealed record ArtifactEntry(string Path, long Size, string Sha256);

/// <summary>
/// Native backup and restore of an embedded registry: an online, consistent copy of the SQLite database (SQLite's
/// backup API, so the registry keeps serving) plus every artifact object, with a manifest of SHA-256 sums. Restore
/// goes into an empty data directory only and verifies every artifact against the manifest. Every id and timestamp
/// is kept exactly, as the database file is copied page for page.
/// </summary>
internal static class NativeBackup
{
    public const string ManifestFile = "manifest.json";
    public const string DatabaseFile = "registry.db";

    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    /// <summary>Writes a backup of the registry in <paramref name="dataDirectory"/> into the empty <paramref name="stagingDirectory"/>.</summary>
    public static async Task<RegistryBackupManifest> CreateAsync(string dataDirectory, string stagingDirectory, TimeProvider time, CancellationToken ct)
    {
        var databasePath = Path.Combine(dataDirectory, DatabaseFile);
        if (!File.Exists(databasePath))
        {
            throw new FileNotFoundException($"no registry database at {databasePath}: is --data-dir the registry's data directory?", databasePath);
        }

        RequireEmpty(stagingDirectory);
        await using (var store = new SqliteRegistryStore(databasePath, time))
        {
            await store.InitializeAsync(ct); // refuses a corrupt database before copying it
        }

        int schemaVersion;
        var counts = new Dictionary<string, long>();
        using (var source = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
        using (var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(stagingDirectory, DatabaseFile), Pooling = false }.ToString()))
        {
            source.Open();
            target.Open();
            source.BackupDatabase(target);
            using var command = target.CreateCommand();
            command.CommandText = "PRAGMA journal_mode = DELETE";
            command.ExecuteNonQuery();
            command.CommandText = "SELECT MAX(version) FROM schema_migrations";
            schemaVersion = Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            foreach (var table in new[] { "experiments", "runs", "metrics", "registered_models", "model_versions" })
            {
                command.CommandText = $"SELECT COUNT(*) FROM {table}";
                counts[table] = Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
            }
        }

        // Artifacts are written before the version that points at them, so copying after the database snapshot
        // captures every artifact the snapshot references.
        var artifacts = await CopyArtifactsAsync(new FileSystemObjectStore(Path.Combine(dataDirectory, "artifacts")), Path.Combine(stagingDirectory, "artifacts"), ct);
        counts["artifacts"] = artifacts.Count;
        var manifest = new RegistryBackupManifest
        {
            Mode = "native",
            Source = Path.GetFullPath(dataDirectory),
            CreatedAt = time.GetUtcNow(),
            SchemaVersion = schemaVersion,
            Counts = counts,
            Artifacts = artifacts,
        };
        await WriteManifestAsync(stagingDirectory, manifest, ct);
        SqliteConnection.ClearAllPools();
        return manifest;
    }

    /// <summary>Restores a native backup directory into <paramref name="dataDirectory"/>, which must hold no registry yet.</summary>
    public static async Task<RegistryBackupManifest> RestoreAsync(string stagingDirectory, string dataDirectory, TimeProvider time, CancellationToken ct)
    {
        var manifest = await ReadManifestAsync(stagingDirectory, "native", ct);
        var databasePath = Path.Combine(dataDirectory, DatabaseFile);
        if (File.Exists(databasePath) || (Directory.Exists(Path.Combine(dataDirectory, "artifacts")) && Directory.EnumerateFileSystemEntries(Path.Combine(dataDirectory, "artifacts")).Any()))
        {
            throw new InvalidOperationException($"{dataDirectory} already holds a registry; restore goes into an empty data directory (move the old one aside first)");
        }

        Directory.CreateDirectory(dataDirectory);
        var artifactStore = new FileSystemObjectStore(Path.Combine(dataDirectory, "artifacts"));
        foreach (var entry in manifest.Artifacts)
        {
            var bytes = await File.ReadAllBytesAsync(Path.Combine(stagingDirectory, "artifacts", entry.Path), ct);
            VerifySha(entry, bytes);
            await artifactStore.PutAsync(entry.Path, bytes, ct);
        }

        // The database goes in last and through a temporary name, so a half-done restore never looks like a registry.
        var temp = databasePath + ".restoring";
        File.Copy(Path.Combine(stagingDirectory, DatabaseFile), temp, overwrite: true);
        File.Move(temp, databasePath);
        await using var store = new SqliteRegistryStore(databasePath, time);
        await store.InitializeAsync(ct);
        return manifest;
    }

    internal static async Task<List<ArtifactEntry>> CopyArtifactsAsync(IObjectStore source, string targetDirectory, CancellationToken ct)
    {
        var entries = new List<ArtifactEntry>();
        await foreach (var info in source.ListAsync("", ct))
        {
            var bytes = await source.GetAsync(info.Key, cancellationToken: ct);
            var path = Path.Combine(targetDirectory, info.Key.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.WriteAllBytesAsync(path, bytes, ct);
            entries.Add(new ArtifactEntry(info.Key, bytes.Length, Convert.ToHexStringLower(SHA256.HashData(bytes))));
        }

        return entries;
    }

    internal static void VerifySha(ArtifactEntry entry, byte[] bytes)
    {
        if (bytes.Length != entry.Size || Convert.ToHexStringLower(SHA256.HashData(bytes)) != entry.Sha256)
        {
            throw new InvalidDataException($"artifact {entry.Path} in the backup does not match its manifest checksum: the backup is damaged");
        }
    }

    internal static void RequireEmpty(string directory)
    {
        Directory.CreateDirectory(directory);
        if (Directory.EnumerateFileSystemEntries(directory).Any())
        {
            throw new InvalidOperationException($"staging directory {directory} is not empty");
        }
    }

    internal static async Task WriteManifestAsync(string directory, RegistryBackupManifest manifest, CancellationToken ct)
    {
        var temp = Path.Combine(directory, ManifestFile + ".tmp");
        await File.WriteAllTextAsync(temp, JsonSerializer.Serialize(manifest, Json), ct);
        File.Move(temp, Path.Combine(directory, ManifestFile), overwrite: true);
    }

    internal static async Task<RegistryBackupManifest> ReadManifestAsync(string directory, string expectedMode, CancellationToken ct)
    {
        var path = Path.Combine(directory, ManifestFile);
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{directory} has no {ManifestFile}: it is not a complete registry backup");
        }

        var manifest = JsonSerializer.Deserialize<RegistryBackupManifest>(await File.ReadAllTextAsync(path, ct), Json)
            ?? throw new InvalidDataException($"{path} is empty");
        if (manifest.Mode != expectedMode)
        {
            throw new InvalidDataException($"{directory} is a '{manifest.Mode}' registry backup, not '{expectedMode}'");
        }

        return manifest;
    }
}
