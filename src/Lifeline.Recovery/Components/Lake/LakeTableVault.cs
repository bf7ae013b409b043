using System.Security.Cryptography;
using System.Text;
using Lifeline.Lake;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Tags;
using Lifeline.Storage;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Recovery.Components.Lake;

/// <summary>What a table backup stored.</summary>
public sealed record LakeBackupResult(string Snapshot, string Table, long Version, DateTimeOffset VersionTimestamp, int LogFiles, int DataFiles, long FilesNew, long FilesUnmodified, long DataAdded);

/// <summary>What a table restore did.</summary>
public sealed record LakeRestoreResult(string Snapshot, long SnapshotVersion, long Version, string Target, int Files, long Rows);

/// <summary>
/// Table backup into the vault at one consistent version, and restore as of a version or a time (the lake-table
/// adapter's, and <c>lifeline lake backup|restore</c>'s). The table, at any object-store location (a path,
/// <c>s3://</c>, <c>azure://</c>), is materialized into a stable staging directory (the log up to the version and the
/// files it references, with modification times kept); the vault stores it, and its dedup and parent snapshot make
/// the next backup store only what is new. Snapshots carry the codec's tags: <c>lifeline:component=NAME</c> (also the
/// vault source), <c>lifeline:table=LOCATION</c>, <c>lifeline:version=N</c> and <c>lifeline:time=...</c> (the version's
/// commit time); snapshots with the old tags (<c>lake</c>, <c>lake-table:PATH</c>, ...) are still read.
/// </summary>
public static class LakeTableVault
{
    /// <summary>The directory inside a point that holds the table.</summary>
    public const string StageName = "table";

    /// <summary>The table's location as tags and listings name it: a full path without a trailing separator, or the URL without a trailing '/'.</summary>
    public static string NormalizeLocation(string location)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        location = location.Trim();
        return IsUrl(location) ? location.TrimEnd('/') : Path.TrimEndingDirectorySeparator(Path.GetFullPath(location));
    }

    /// <summary>The component name a table backed up outside a plan gets: the last segment of its location (<c>…/leads</c> → <c>leads</c>).</summary>
    public static string ComponentNameOf(string location)
    {
        var normalized = NormalizeLocation(location);
        var name = normalized[(normalized.LastIndexOfAny(['/', '\\']) + 1)..];
        return name.Length == 0 || name.Contains(':', StringComparison.Ordinal) ? "lake" : name;
    }

    /// <summary>Opens the table at <paramref name="location"/> (any object-store location); a missing local directory is
    /// reported as "not a Delta table" without creating it.</summary>
    public static DeltaTable OpenTable(string location, IReadOnlyDictionary<string, string?>? env = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(location);
        if (IsUrl(location) && !location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            return new DeltaTable(ObjectStores.Open(location, env), "");
        }

        var full = IsUrl(location) ? new Uri(location).LocalPath : Path.GetFullPath(location);
        if (!Directory.Exists(full))
        {
            throw new DeltaTableNotFoundException($"{new Uri(full).AbsoluteUri}: not a Delta table (the directory does not exist)");
        }

        return new DeltaTable(new FileSystemObjectStore(full), "");
    }

    /// <summary>The staging directory kept between backups of <paramref name="location"/> by default.</summary>
    public static string DefaultStaging(string location)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(NormalizeLocation(location))))[..16].ToLowerInvariant();
        return Path.Combine(Path.GetTempPath(), "lifeline-lake-staging", hash);
    }

    /// <summary>The codec's tags of <paramref name="view"/> of the table at <paramref name="location"/>.</summary>
    public static RecoveryPointTags Tags(string component, string location, StagingResult view)
    {
        ArgumentNullException.ThrowIfNull(view);
        return new RecoveryPointTags { Component = component, Table = NormalizeLocation(location), Version = view.Version, Time = view.VersionTimestamp };
    }

    /// <summary>Backs up the table at <paramref name="location"/> as of <paramref name="version"/> (latest when null) as component <paramref name="component"/> (default its name).</summary>
    public static async Task<LakeBackupResult> BackupAsync(VaultRepository vault, string location, long? version, string? stagingRoot, CancellationToken ct, string? component = null)
    {
        ArgumentNullException.ThrowIfNull(vault);
        var table = OpenTable(location);
        component ??= ComponentNameOf(location);
        var staging = Path.Combine(stagingRoot ?? DefaultStaging(location), StageName);
        var view = await TableBackupView.MaterializeAsync(table, version, staging, ct);
        var result = await vault.BackupAsync(new BackupRequest { Paths = [staging], Source = component, Tags = Tags(component, location, view).Encode() }, null, ct);
        return new LakeBackupResult(result.Snapshot.Id, table.Location, view.Version, view.VersionTimestamp, view.LogFiles, view.DataFiles,
            result.FilesNew + result.FilesChanged, result.FilesUnmodified, result.DataAdded);
    }

    /// <summary>The lake points of <paramref name="vault"/>, oldest version first: every table's, or only those of the table at <paramref name="fromTable"/>.</summary>
    public static async Task<(IReadOnlyList<VaultPoint> Points, SnapshotListing Listing)> ListAsync(VaultRepository vault, string? fromTable, CancellationToken ct)
    {
        var table = fromTable is null ? null : NormalizeLocation(fromTable);
        var (points, listing) = await VaultPoints.ListAsync(vault, null, t => t.Table is not null && t.Version is not null && (table is null || t.Table == table), ct);
        return (points.OrderBy(p => p.Point.Tags.Version).ThenBy(p => p.Snapshot.Time).ToList(), listing);
    }

    /// <summary>
    /// Restores the table backed up from <paramref name="fromTable"/> (or the point <paramref name="snapshotId"/>) into
    /// <paramref name="target"/>, a new directory or an empty object-store location: as of <paramref name="version"/>
    /// (the oldest backup holding it, cut back to it), as of <paramref name="at"/> (the oldest backup holding the version
    /// current then, cut back to it), or the newest backup.
    /// </summary>
    public static async Task<LakeRestoreResult> RestoreAsync(VaultRepository vault, string? fromTable, string? snapshotId, string target, long? version, DateTimeOffset? at, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(vault);
        target = NormalizeLocation(target);
        await RequireEmptyAsync(target, ct);
        if (snapshotId is null && fromTable is null)
        {
            throw new ArgumentException("give the backed-up table (--from LOCATION) or a snapshot id (--snapshot ID)");
        }

        var (points, listing) = await ListAsync(vault, snapshotId is null ? fromTable : null, ct);
        VaultPoint chosen;
        if (snapshotId is not null)
        {
            chosen = VaultPoints.Choose(points, listing, RestorePointSpec.ById(snapshotId), "a lake table backup");
        }
        else if (points.Count == 0)
        {
            chosen = VaultPoints.Choose(points, listing, RestorePointSpec.Latest, $"a lake backup of {NormalizeLocation(fromTable!)}");
        }
        else if (version is { } wanted)
        {
            chosen = points.FirstOrDefault(p => p.Point.Tags.Version >= wanted) ?? throw new DeltaVersionNotFoundException(
                $"{fromTable}: version {wanted} is newer than the newest backup (version {points[^1].Point.Tags.Version})");
        }
        else if (at is { } time)
        {
            // the oldest backup whose version was committed at or after the time holds the version current then
            chosen = points.FirstOrDefault(p => p.Point.Time >= time) ?? VaultPoints.Choose(points, listing, RestorePointSpec.Latest, "a lake table backup");
        }
        else
        {
            chosen = VaultPoints.Choose(points, listing, RestorePointSpec.Latest, "a lake table backup");
        }

        var table = await ReinstateAsync(vault, chosen.Snapshot, target, ct);
        var snapshotVersion = (await table.GetSnapshotAsync(null, ct)).Version;
        var cut = version ?? (at is { } when ? (await table.GetSnapshotAtAsync(when, ct)).Version : null);
        if (cut is { } c && c < snapshotVersion)
        {
            await TableBackupView.TrimToVersionAsync(table, c, ct);
        }

        var restored = await table.GetSnapshotAsync(null, ct);
        var rows = restored.RowCountFromStats ?? await table.CountRowsAsync(restored, ct);
        return new LakeRestoreResult(chosen.Snapshot.Id, snapshotVersion, restored.Version, target, restored.Files.Count, rows);
    }

    /// <summary>Refuses a restore target that holds anything (the same rule and message as every restore).</summary>
    public static async Task RequireEmptyAsync(string target, CancellationToken ct)
    {
        if (!IsUrl(target))
        {
            if ((File.Exists(target) || (Directory.Exists(target) && Directory.EnumerateFileSystemEntries(target).Any())))
            {
                throw new InvalidOperationException($"restore target '{target}' given by TARGET is not empty: choose an empty or new directory (move the old data aside first)");
            }

            return;
        }

        var store = ObjectStores.Open(target);
        await foreach (var _ in store.ListAsync("", ct))
        {
            throw new InvalidOperationException($"restore target '{target}' given by TARGET is not empty: choose an empty or new location (move the old data aside first)");
        }
    }

    /// <summary>Restores <paramref name="snapshot"/> out of the vault into <paramref name="target"/> (empty) and opens the table there.</summary>
    internal static async Task<DeltaTable> ReinstateAsync(VaultRepository vault, SnapshotInfo snapshot, string target, CancellationToken ct)
    {
        var local = !IsUrl(target);
        var scratch = local ? target + ".restoring-" + Guid.NewGuid().ToString("N")[..8] : Path.Combine(Path.GetTempPath(), "lifeline-lake-restore-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            await vault.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = scratch }, null, ct);
            var restoredDir = FindTableDirectory(scratch) ?? throw new DeltaTableNotFoundException($"snapshot {snapshot.ShortId} does not hold a lake table backup");
            if (local)
            {
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                if (Directory.Exists(target))
                {
                    Directory.Delete(target);
                }

                Directory.Move(restoredDir, target);
                return new DeltaTable(new FileSystemObjectStore(target), "");
            }

            var store = ObjectStores.Open(target);
            await UploadAsync(restoredDir, store, ct);
            return new DeltaTable(store, "");
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, true);
            }
        }
    }

    /// <summary>Copies a table directory into a store: data files first, then the log in version order, the checkpoint
    /// hint last, so a reader never sees a commit whose files are not there yet.</summary>
    internal static async Task UploadAsync(string directory, IObjectStore store, CancellationToken ct)
    {
        var files = Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(directory, f).Replace(Path.DirectorySeparatorChar, '/'))
            .OrderBy(r => r.StartsWith("_delta_log/", StringComparison.Ordinal) ? 1 : 0)
            .ThenBy(r => r.EndsWith("_last_checkpoint", StringComparison.Ordinal) ? 1 : 0)
            .ThenBy(r => r, StringComparer.Ordinal)
            .ToList();
        foreach (var relative in files)
        {
            await using var stream = File.OpenRead(Path.Combine(directory, relative));
            await store.PutStreamAsync(relative, stream, ct);
        }
    }

    /// <summary>The directory of a restored point that holds the table (<c>table/_delta_log</c>), wherever the vault put it.</summary>
    internal static string? FindTableDirectory(string restored)
    {
        var direct = Path.Combine(restored, StageName);
        if (Directory.Exists(Path.Combine(direct, "_delta_log")))
        {
            return direct;
        }

        return Directory.Exists(restored)
            ? Directory.EnumerateDirectories(restored, "_delta_log", SearchOption.AllDirectories).Select(Path.GetDirectoryName).OrderBy(d => d!.Length).FirstOrDefault()
            : null;
    }

    internal static bool IsUrl(string location) => location.Contains("://", StringComparison.Ordinal) && !(location.Length > 2 && location[1] == ':' && char.IsLetter(location[0]));
}
