using System.Security.Cryptography;
using Lifeline.Recovery.Tags;
using Lifeline.Registry;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;
using Lifeline.Registry.Hosting;
using Lifeline.Vault;

namespace Lifeline.Recovery.Components.Registry;

/// <summary>The outcome of a registry backup into the vault.</summary>
public sealed record RegistryBackupResult(SnapshotInfo Snapshot, RegistryBackupManifest Manifest, TimeSpan Duration)
{
    /// <summary>The vault's own figures of the backup (files unchanged since the parent, bytes added, ...).</summary>
    public BackupResult? Vault { get; init; }

    /// <summary>What updating the kept staging did (native backups): artifacts kept, linked anew, removed, hashed.</summary>
    public StagingStats? Staging { get; init; }
}

/// <summary>The outcome of a registry restore from the vault.</summary>
public sealed record RegistryRestoreResult(SnapshotInfo Snapshot, RegistryBackupManifest Manifest, ImportResult? Import, TimeSpan Duration, IncrementalRestoreStats? Incremental = null);

/// <summary>
/// The vault step of registry backup and restore (the registry adapter's, and <c>lifeline registry backup|restore</c>'s):
/// a backup is first written to a staging directory (native or API export), which becomes one vault snapshot with
/// source <c>registry</c> and the codec's tags (<c>lifeline:component=registry</c>, <c>lifeline:time=...</c>,
/// <c>lifeline:mode=native|api</c>); a restore chooses the point with <see cref="RestorePointSpec"/> (snapshots with
/// the old tags <c>registry</c>, <c>mode=...</c> included), restores it to a work directory, then reinstates it:
/// natively into an empty data directory, or through the API into any MLflow server or into an empty embedded registry.
/// </summary>
public static class RegistryVault
{
    /// <summary>The component's name, and its snapshots' vault source.</summary>
    public const string SourceName = "registry";

    /// <summary>The codec's tags of a registry point taken at <paramref name="time"/> in <paramref name="mode"/>.</summary>
    public static RecoveryPointTags Tags(string mode, DateTimeOffset time, string component = SourceName) =>
        new() { Component = component, Mode = mode, Time = time };

    /// <summary>Native backup of the registry whose data directory is <paramref name="dataDirectory"/>.</summary>

    public static Task<RegistryBackupResult> BackupNativeAsync(VaultRepository vault, string dataDirectory, string workDirectory, TimeProvider time, CancellationToken ct) =>
        BackupNativeAsync(vault, new RegistryOptions { DataDirectory = dataDirectory }, workDirectory, time, ct);

    /// <summary>Native backup of the registry <paramref name="source"/> configures (SQLite or PostgreSQL metadata, artifacts in its data directory).</summary>
    public static async Task<RegistryBackupResult> BackupNativeAsync(VaultRepository vault, RegistryOptions source, string workDirectory, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(source);
        var start = time.GetTimestamp();
        var staging = KeptStaging(workDirectory, source.DataDirectory);
        using var held = HoldStaging(staging);
        var kept = true; // a failed run leaves the links for the next backup, which updates them
        try
        {
            var (manifest, stats) = await NativeBackup.CreateAsync(source, staging, time, ct, keepStaging: true);
            var result = await vault.BackupAsync(new BackupRequest { Paths = [staging], Source = SourceName, Tags = Tags("native", manifest.CreatedAt).Encode() }, ct: ct);
            // The artifacts' links stay for the next backup; the database copy and the manifest are written anew each time.
            NativeBackup.ClearAllBut(staging, "artifacts");
            kept = stats.AllLinked;
            return new RegistryBackupResult(result.Snapshot, manifest, time.GetElapsedTime(start)) { Vault = result, Staging = stats };
        }
        finally
        {
            if (!kept)
            {
                // copies (no hard links here) would hold a second copy of the artifacts: not kept
                TryDeleteKept(staging);
            }
        }
    }

    /// <summary>
    /// The staging directory kept between native backups of the registry in <paramref name="dataDirectory"/>: one
    /// stable path per data directory under <paramref name="workDirectory"/>, so the vault finds the previous
    /// snapshot of the same path as parent and the kept hard links let it skip every unchanged artifact.
    /// </summary>
    internal static string KeptStaging(string workDirectory, string dataDirectory)
    {
        var id = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataDirectory)))))[..16];
        return Path.Combine(workDirectory, KeptPrefix + id);
    }

    /// <summary>The name prefix of the kept staging directories in a work directory.</summary>
    internal const string KeptPrefix = "registry-native-";

    private static FileStream HoldStaging(string staging)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(staging)!);
        try
        {
            return new FileStream(staging + ".lock", FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new InvalidOperationException($"another native backup of this registry is running with the work directory {Path.GetDirectoryName(staging)} ({staging}.lock is held): wait for it to finish", e);
        }
    }

    private static void TryDeleteKept(string staging)
    {
        try
        {
            ArtifactMirror.Delete(staging);
        }
        catch (IOException)
        {
            // left for the next backup, which updates it
        }
        catch (UnauthorizedAccessException)
        {
            // left for the next backup, which updates it
        }
    }

    /// <summary>Backup of any MLflow-compatible server through its REST API.</summary>
    public static async Task<RegistryBackupResult> BackupViaApiAsync(VaultRepository vault, MlflowClient client, string workDirectory, TimeProvider time, CancellationToken ct)
    {
        var start = time.GetTimestamp();
        var staging = Staging(workDirectory);
        try
        {
            var manifest = await ApiExport.ExportAsync(client, staging, time, ct);
            var result = await vault.BackupAsync(new BackupRequest { Paths = [staging], Source = SourceName, Tags = Tags("api", manifest.CreatedAt).Encode() }, ct: ct);
            return new RegistryBackupResult(result.Snapshot, manifest, time.GetElapsedTime(start));
        }
        finally
        {
            TryDelete(staging);
        }
    }

    /// <summary>
    /// Restores the registry point <paramref name="point"/> chooses (<see cref="RestorePointSpec"/>: latest, at or before a time, an id).
    /// With <paramref name="targetApi"/> the export is imported through the API (a native snapshot cannot be); otherwise
    /// into the registry <paramref name="target"/> configures, which must be empty (an API snapshot is imported through an
    /// embedded server).
    /// </summary>
    public static Task<RegistryRestoreResult> RestoreAsync(
        VaultRepository vault, RestorePointSpec point, string? dataDirectory, MlflowClient? targetApi, string workDirectory, TimeProvider time, CancellationToken ct) =>
        RestoreAsync(vault, point, dataDirectory is null ? null : new RegistryOptions { DataDirectory = dataDirectory }, targetApi, workDirectory, time, ct);

    /// <inheritdoc cref="RestoreAsync(VaultRepository, RestorePointSpec, string?, MlflowClient?, string, TimeProvider, CancellationToken)"/>
    public static async Task<RegistryRestoreResult> RestoreAsync(
        VaultRepository vault, RestorePointSpec point, RegistryOptions? target, MlflowClient? targetApi, string workDirectory, TimeProvider time, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(point);
        var start = time.GetTimestamp();
        var (points, listing) = await VaultPoints.ListAsync(vault, RecoveryPointTags.FilterFor(SourceName), t => t.Component == SourceName, ct);
        var snapshot = VaultPoints.Choose(points, listing, point, $"a registry backup (source {SourceName})").Snapshot;
        var restored = Staging(workDirectory);
        try
        {
            await vault.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = restored }, ct: ct);
            var directory = FindBackupDirectory(restored);
            var (manifest, import) = await ReinstateAsync(directory, target, targetApi, snapshot.ShortId, time, ct, consumeStaging: true);
            return new RegistryRestoreResult(snapshot, manifest, import, time.GetElapsedTime(start));
        }
        finally
        {
            TryDelete(restored);
        }
    }

    /// <summary>
    /// Incremental restore of a native registry point into <paramref name="dataDirectory"/>, a SQLite registry directory
    /// an earlier restore made (its <c>.lifeline-restore.json</c> record): only the point's manifest and database and
    /// the artifacts that are missing or differ (by size and SHA-256) are read from the vault; artifacts the point does
    /// not hold are removed; the database is replaced last. A target whose database changed since that restore (a
    /// registry that has served since) is refused unless <paramref name="replaceChanged"/>; <paramref name="rehashAll"/>
    /// reads every existing artifact instead of trusting the record's size, time and hash. Artifact paths that would
    /// escape the target are refused before anything is written.
    /// </summary>
    public static async Task<RegistryRestoreResult> RestoreIncrementalAsync(
        VaultRepository vault, RestorePointSpec point, string dataDirectory, string workDirectory, TimeProvider time, CancellationToken ct, bool replaceChanged = false, bool rehashAll = false)
    {
        ArgumentNullException.ThrowIfNull(vault);
        ArgumentNullException.ThrowIfNull(point);
        var start = time.GetTimestamp();
        var (points, listing) = await VaultPoints.ListAsync(vault, RecoveryPointTags.FilterFor(SourceName), t => t.Component == SourceName, ct);
        var snapshot = VaultPoints.Choose(points, listing, point, $"a registry backup (source {SourceName})").Snapshot;
        string? manifestPath = null;
        await foreach (var node in vault.ListNodesAsync(snapshot, null, ct))
        {
            if (node.Type == NodeType.File && node.Path.EndsWith("/" + NativeBackup.ManifestFile, StringComparison.Ordinal) && (manifestPath is null || node.Path.Length < manifestPath.Length))
            {
                manifestPath = node.Path;
            }
        }

        var root = manifestPath?[..manifestPath.LastIndexOf('/')] ?? throw new InvalidDataException($"snapshot {snapshot.ShortId} holds no registry backup (no {NativeBackup.ManifestFile})");
        var restored = Staging(workDirectory);
        try
        {
            await vault.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = restored, Include = [Glob(root + "/" + NativeBackup.ManifestFile), Glob(root + "/" + NativeBackup.DatabaseFile)] }, ct: ct);
            var directory = FindBackupDirectory(restored);
            if (ModeOf(directory) != "native")
            {
                throw new IncrementalRestoreRefusedException(IncrementalRefusal.NotNative, $"snapshot {snapshot.ShortId} is an API registry backup: an incremental restore takes native points; restore it into an empty directory");
            }

            var manifest = await NativeBackup.ReadManifestAsync(directory, "native", ct);
            var plan = await IncrementalRestore.PlanAsync(manifest, dataDirectory, replaceChanged, rehashAll, ct);
            if (plan.Fetch.Count > 0)
            {
                await vault.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = restored, Overwrite = true, Include = plan.Fetch.Select(e => Glob(root + "/artifacts/" + e.Path)).ToList() }, ct: ct);
            }

            var stats = await IncrementalRestore.ApplyAsync(plan, directory, dataDirectory, snapshot.ShortId, time, ct);
            return new RegistryRestoreResult(snapshot, manifest, null, time.GetElapsedTime(start), stats);
        }
        finally
        {
            TryDelete(restored);
        }
    }

    /// <summary>An exact snapshot path as an include pattern (the vault's globs give '*' and '?' a meaning: they match themselves and more, never less).</summary>
    private static string Glob(string path) => path;

    /// <summary>Reinstates a restored backup directory (holding <c>manifest.json</c>) into <paramref name="target"/> or through <paramref name="targetApi"/>.</summary>
    internal static async Task<(RegistryBackupManifest Manifest, ImportResult? Import)> ReinstateAsync(
        string directory, RegistryOptions? target, MlflowClient? targetApi, string pointName, TimeProvider time, CancellationToken ct, bool consumeStaging = false)
    {
        var manifest = await NativeBackup.ReadManifestAsync(directory, ModeOf(directory), ct);
        ImportResult? import = null;
        if (targetApi is not null)
        {
            if (manifest.Mode != "api")
            {
                throw new InvalidOperationException($"snapshot {pointName} is a native registry backup: restore it with --data-dir, not through the API");
            }

            import = await ApiImport.ImportAsync(targetApi, directory, ct);
        }
        else if (target is null)
        {
            throw new ArgumentException("a restore needs a target: a data directory or an API URL");
        }
        else if (manifest.Mode == "native")
        {
            await NativeBackup.RestoreAsync(directory, target, time, ct, consumeStaging, pointName);
        }
        else
        {
            import = await ImportIntoEmbeddedAsync(directory, target, ct);
        }

        return (manifest, import);
    }

    /// <summary>Imports an API export into an empty embedded registry through a private server on a loopback port.</summary>
    public static Task<ImportResult> ImportIntoEmbeddedAsync(string exportDirectory, string dataDirectory, CancellationToken ct) =>
        ImportIntoEmbeddedAsync(exportDirectory, new RegistryOptions { DataDirectory = dataDirectory }, ct);

    /// <summary>Imports an API export into the empty registry <paramref name="target"/> configures, through a private loopback server.</summary>
    public static async Task<ImportResult> ImportIntoEmbeddedAsync(string exportDirectory, RegistryOptions target, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(target.PostgresConnectionString) && File.Exists(Path.Combine(target.DataDirectory, NativeBackup.DatabaseFile)))
        {
            throw new InvalidOperationException($"{target.DataDirectory} already holds a registry; restore goes into an empty data directory (move the old one aside first)");
        }

        var token = Convert.ToHexString(RandomNumberGenerator.GetBytes(32));
        var options = target with { Tokens = [new RegistryToken { Token = token, Role = RegistryRole.Admin }], RequireTokenForReads = false };
        await using var app = await RegistryServer.StartAsync(options, "http://127.0.0.1:0", cancellationToken: ct);
        using var http = new HttpClient { BaseAddress = app.Address(), Timeout = TimeSpan.FromMinutes(10) };
        var result = await ApiImport.ImportAsync(new MlflowClient(http, token), exportDirectory, ct);
        await app.StopAsync(ct);
        return result;
    }

    internal static string ModeOf(string directory) =>
        File.Exists(Path.Combine(directory, NativeBackup.DatabaseFile)) ? "native" : "api";

    /// <summary>The directory in a restored tree that holds <c>manifest.json</c> (the vault may keep the staging path's parents).</summary>
    internal static string FindBackupDirectory(string restored) =>
        Directory.EnumerateFiles(restored, NativeBackup.ManifestFile, SearchOption.AllDirectories)
            .Select(Path.GetDirectoryName)
            .OrderBy(d => d!.Length)
            .FirstOrDefault() ?? throw new InvalidDataException("the snapshot holds no registry backup (no manifest.json)");

    internal static string Staging(string workDirectory)
    {
        var path = Path.Combine(workDirectory, "registry-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(path);
        return path;
    }

    internal static void TryDelete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (IOException)
        {
            // left for the temp cleaner
        }
        catch (UnauthorizedAccessException)
        {
            // left for the temp cleaner
        }
    }
}
