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
    public static Task<RegistryBackupManifest> CreateAsync(string dataDirectory, string stagingDirectory, TimeProvider time, CancellationToken ct) =>
        CreateAsync(new RegistryOptions { DataDirectory = dataDirectory }, stagingDirectory, time, ct);

    /// <summary>
    /// Writes a backup of the registry configured by <paramref name="source"/> into the empty <paramref name="stagingDirectory"/>:
    /// SQLite through its online backup API; PostgreSQL by copying every table inside one REPEATABLE READ snapshot into
    /// a SQLite file of the same schema (so both backends back up to, and restore from, the same format).
    /// </summary>
    public static async Task<RegistryBackupManifest> CreateAsync(RegistryOptions source, string stagingDirectory, TimeProvider time, CancellationToken ct) =>
        (await CreateAsync(source, stagingDirectory, time, ct, keepStaging: false)).Manifest;

    /// <summary>
    /// As <see cref="CreateAsync(RegistryOptions, string, TimeProvider, CancellationToken)"/>; with <paramref name="keepStaging"/>
    /// the staging directory may hold what an earlier backup of the same registry staged there: its <c>artifacts/</c>
    /// is updated as a mirror of hard links (<see cref="ArtifactMirror"/>) instead of being rebuilt, so the artifacts
    /// that did not change keep their inode and ctime and are neither hashed nor read again by the vault. The caller
    /// keeps the directory between backups (one backup of it at a time) and removes it when the stats show copies
    /// (<see cref="StagingStats.AllLinked"/> false), which would hold a second copy of the artifacts.
    /// </summary>
    public static async Task<(RegistryBackupManifest Manifest, StagingStats Staging)> CreateAsync(RegistryOptions source, string stagingDirectory, TimeProvider time, CancellationToken ct, bool keepStaging)
    {
        var dataDirectory = source.DataDirectory;
        if (keepStaging)
        {
            ClearAllBut(stagingDirectory, "artifacts");
        }
        else
        {
            RequireEmpty(stagingDirectory);
        }

        var stagedDatabase = Path.Combine(stagingDirectory, DatabaseFile);
        string description;
        if (!string.IsNullOrEmpty(source.PostgresConnectionString))
        {
            await using var postgres = new PostgresRegistryStore(source.PostgresConnectionString, time);
            await postgres.InitializeAsync(ct);
            await using var staged = new SqliteRegistryStore(stagedDatabase, time);
            await staged.InitializeAsync(ct);
            await postgres.CopyToAsync(staged, ct);
            description = postgres.Description;
        }
        else
        {
            var databasePath = Path.Combine(dataDirectory, DatabaseFile);
            if (!File.Exists(databasePath))
            {
                throw new FileNotFoundException($"no registry database at {databasePath}: is --data-dir the registry's data directory?", databasePath);
            }

            await using (var store = new SqliteRegistryStore(databasePath, time))
            {
                await store.InitializeAsync(ct); // refuses a corrupt database before copying it
            }

            using var sourceConnection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            using var targetConnection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = stagedDatabase, Pooling = false }.ToString());
            sourceConnection.Open();
            targetConnection.Open();
            // SQLite's online backup can meet a lock held for a moment by a live writer (SQLITE_BUSY or
            // SQLITE_LOCKED, e.g. during a WAL checkpoint): each try copies the whole database again, so retry
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    sourceConnection.BackupDatabase(targetConnection);
                    break;
                }
                catch (SqliteException e) when (IsTransientLock(e.SqliteErrorCode) && attempt < 20)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(25 * attempt), ct); // real time: a lock held by another process
                }
            }

            description = Path.GetFullPath(dataDirectory);
        }

        SqliteConnection.ClearAllPools();
        int schemaVersion;
        var counts = new Dictionary<string, long>();
        using (var target = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = stagedDatabase, Pooling = false }.ToString()))
        {
            target.Open();
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
        var (artifacts, staging) = await ArtifactMirror.UpdateAsync(Path.Combine(dataDirectory, "artifacts"), Path.Combine(stagingDirectory, "artifacts"), keepStaging ? ArtifactMirror.CacheFileOf(stagingDirectory) : null, ct);
        counts["artifacts"] = artifacts.Count;
        var manifest = new RegistryBackupManifest
        {
            Mode = "native",
            Source = description,
            CreatedAt = time.GetUtcNow(),
            SchemaVersion = schemaVersion,
            Counts = counts,
            Artifacts = artifacts,
        };
        await WriteManifestAsync(stagingDirectory, manifest, ct);
        SqliteConnection.ClearAllPools();
        return (manifest, staging);
    }

    /// <summary>
    /// Whether a result code of SQLite's online backup is a lock held for a moment by a live connection, worth another
    /// try: SQLITE_BUSY (5) or SQLITE_LOCKED (6), and their extended codes, which <c>sqlite3_backup_step</c> returns as
    /// they are (e.g. 261, SQLITE_BUSY_RECOVERY, while another connection recovers the WAL; 517, SQLITE_BUSY_SNAPSHOT).
    /// </summary>
    internal static bool IsTransientLock(int resultCode) => (resultCode & 0xFF) is 5 or 6;

    /// <summary>Removes every entry of <paramref name="directory"/> (creating it) except the one named <paramref name="keep"/>.</summary>
    internal static void ClearAllBut(string directory, string keep)
    {
        Directory.CreateDirectory(directory);
        foreach (var entry in Directory.EnumerateFileSystemEntries(directory).ToList())
        {
            if (Path.GetFileName(entry) == keep && Directory.Exists(entry) && !new DirectoryInfo(entry).Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                continue;
            }

            if (Directory.Exists(entry) && !new DirectoryInfo(entry).Attributes.HasFlag(FileAttributes.ReparsePoint))
            {
                Directory.Delete(entry, recursive: true);
            }
            else
            {
                File.Delete(entry);
            }
        }
    }

    /// <summary>Restores a native backup directory into <paramref name="dataDirectory"/>, which must hold no registry yet.</summary>
    public static Task<RegistryBackupManifest> RestoreAsync(string stagingDirectory, string dataDirectory, TimeProvider time, CancellationToken ct) =>
        RestoreAsync(stagingDirectory, new RegistryOptions { DataDirectory = dataDirectory }, time, ct);

    /// <summary>
    /// Restores a native backup directory into the registry configured by <paramref name="target"/>, which must be empty.
    /// With <paramref name="consumeStaging"/> (a staging directory that is the caller's own temporary copy, e.g. just
    /// restored from the vault) the verified artifact files are moved into place instead of copied, so the restore
    /// needs no second copy of the artifacts on disk. A SQLite restore ends by writing its restore record
    /// (<see cref="RestoreRecord"/>), which a later incremental restore into the same directory builds on.
    /// </summary>
    public static async Task<RegistryBackupManifest> RestoreAsync(string stagingDirectory, RegistryOptions target, TimeProvider time, CancellationToken ct, bool consumeStaging = false, string? pointName = null)
    {
        var manifest = await ReadManifestAsync(stagingDirectory, "native", ct);
        var dataDirectory = target.DataDirectory;
        if (!string.IsNullOrEmpty(target.PostgresConnectionString))
        {
            await using var postgres = new PostgresRegistryStore(target.PostgresConnectionString, time);
            await postgres.InitializeAsync(ct);
            if (!await postgres.IsEmptyAsync(ct))
            {
                throw new InvalidOperationException($"{postgres.Description} already holds a registry; restore goes into an empty one");
            }

            await RestoreArtifactsAsync(stagingDirectory, dataDirectory, manifest, consumeStaging, ct);
            await using var staged = new SqliteRegistryStore(Path.Combine(stagingDirectory, DatabaseFile), time);
            await staged.InitializeAsync(ct);
            await staged.CopyToAsync(postgres, ct);
            SqliteConnection.ClearAllPools();
            return manifest;
        }

        var databasePath = Path.Combine(dataDirectory, DatabaseFile);
        if (File.Exists(databasePath) || (Directory.Exists(Path.Combine(dataDirectory, "artifacts")) && Directory.EnumerateFileSystemEntries(Path.Combine(dataDirectory, "artifacts")).Any()))
        {
            throw new InvalidOperationException($"{dataDirectory} already holds a registry; restore goes into an empty data directory (move the old one aside first)");
        }

        await RestoreArtifactsAsync(stagingDirectory, dataDirectory, manifest, consumeStaging, ct);
        await InstallDatabaseAsync(stagingDirectory, databasePath, time, consumeStaging, ct);
        await RestoreRecord.WriteAsync(dataDirectory, pointName ?? manifest.CreatedAt.ToString("O", System.Globalization.CultureInfo.InvariantCulture), manifest, ct);
        return manifest;
    }

    /// <summary>Puts the staged database in as the registry's, last and through a temporary name, so a half-done restore never looks like a registry.</summary>
    internal static async Task InstallDatabaseAsync(string stagingDirectory, string databasePath, TimeProvider time, bool consumeStaging, CancellationToken ct)
    {
        var temp = databasePath + ".restoring";
        if (consumeStaging)
        {
            File.Move(Path.Combine(stagingDirectory, DatabaseFile), temp, overwrite: true);
        }
        else
        {
            File.Copy(Path.Combine(stagingDirectory, DatabaseFile), temp, overwrite: true);
        }

        File.Move(temp, databasePath);
        await using (var store = new SqliteRegistryStore(databasePath, time))
        {
            await store.InitializeAsync(ct);
        }

        SqliteConnection.ClearAllPools();
    }

    private static async Task RestoreArtifactsAsync(string stagingDirectory, string dataDirectory, RegistryBackupManifest manifest, bool consumeStaging, CancellationToken ct)
    {
        var artifactDirectory = Path.Combine(dataDirectory, "artifacts");
        if (Directory.Exists(artifactDirectory) && Directory.EnumerateFileSystemEntries(artifactDirectory).Any())
        {
            throw new InvalidOperationException($"{artifactDirectory} already holds artifacts; restore goes into an empty data directory");
        }

        Directory.CreateDirectory(dataDirectory);
        foreach (var entry in manifest.Artifacts)
        {
            ArtifactPath(artifactDirectory, entry.Path); // every path checked before anything is written
        }

        var artifactStore = new FileSystemObjectStore(artifactDirectory);
        foreach (var entry in manifest.Artifacts)
        {
            var staged = Path.Combine(stagingDirectory, "artifacts", entry.Path.Replace('/', Path.DirectorySeparatorChar));
            if (consumeStaging)
            {
                await MoveVerifiedAsync(entry, staged, ArtifactPath(artifactDirectory, entry.Path), ct);
                continue;
            }

            var bytes = await File.ReadAllBytesAsync(staged, ct);
            VerifySha(entry, bytes);
            await artifactStore.PutAsync(entry.Path, bytes, ct);
        }
    }

    /// <summary>Checks a staged file against its manifest entry (streamed), then moves it to <paramref name="destination"/>, replacing what is there.</summary>
    internal static async Task MoveVerifiedAsync(ArtifactEntry entry, string staged, string destination, CancellationToken ct)
    {
        var (size, sha) = await HashFileAsync(staged, ct);
        if (size != entry.Size || sha != entry.Sha256)
        {
            throw new InvalidDataException($"artifact {entry.Path} in the backup does not match its manifest checksum: the backup is damaged");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
        // Through a reserved temporary name beside the destination, then rename(2): the destination is never half-written.
        var temp = Path.Combine(Path.GetDirectoryName(destination)!, ".tmp-" + Guid.NewGuid().ToString("N"));
        File.Move(staged, temp);
        File.Move(temp, destination, overwrite: true);
    }

    /// <summary>Size and lower-case hex SHA-256 of a file, read in one pass.</summary>
    internal static async Task<(long Size, string Sha256)> HashFileAsync(string path, CancellationToken ct)
    {
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.Asynchronous | FileOptions.SequentialScan);
        var sha = await SHA256.HashDataAsync(file, ct);
        return (file.Length, Convert.ToHexStringLower(sha));
    }

    /// <summary>The file of artifact <paramref name="path"/> under <paramref name="artifactDirectory"/>; a path that is not a plain relative key, or would land outside, is refused.</summary>
    internal static string ArtifactPath(string artifactDirectory, string path)
    {
        try
        {
            ObjectKeys.Validate(path);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"the backup names artifact '{path}', which is not a safe relative path ({e.Message}): refused, nothing outside the target is written");
        }

        var root = Path.TrimEndingDirectorySeparator(Path.GetFullPath(artifactDirectory)) + Path.DirectorySeparatorChar;
        var full = Path.GetFullPath(Path.Combine(root, path.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(root, StringComparison.Ordinal) || path.Split('/').Any(s => s.StartsWith(".tmp-", StringComparison.Ordinal)))
        {
            throw new InvalidDataException($"the backup names artifact '{path}', which would land outside {root} or on a reserved name: refused");
        }

        return full;
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
