using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Lifeline.Lake;
using Lifeline.Lake.Recovery;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Cli.Commands;

/// <summary>What a table backup stored.</summary>
internal sealed record LakeBackupResult(string Snapshot, string Table, long Version, DateTimeOffset VersionTimestamp, int LogFiles, int DataFiles, long FilesNew, long FilesUnmodified, long DataAdded);

/// <summary>What a table restore did.</summary>
internal sealed record LakeRestoreResult(string Snapshot, long SnapshotVersion, long Version, string Target, int Files, long Rows);

/// <summary>
/// Table backup into the vault at one consistent version, and restore as of a version or a time. The table is
/// materialized into a stable staging directory (the log up to the version and the files it references, with
/// modification times kept); the vault stores it, and its dedup and parent snapshot make the next backup store only
/// what is new. Snapshots carry the tags <c>lake</c>, <c>lake-table:PATH</c>, <c>lake-version:N</c> and
/// <c>lake-time:UNIXMS</c> (the version's commit time).
/// </summary>
internal static class LakeBackup
{
    public const string Source = "lake";

    public static string TableTag(string tablePath) => "lake-table:" + Path.TrimEndingDirectorySeparator(Path.GetFullPath(tablePath));

    public static string DefaultStaging(string tablePath)
    {
        var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(tablePath))))[..16].ToLowerInvariant();
        return Path.Combine(Path.GetTempPath(), "lifeline-lake-staging", hash);
    }

    public static async Task<LakeBackupResult> BackupAsync(VaultRepository vault, string tablePath, long? version, string? stagingRoot, CancellationToken ct)
    {
        var table = LakeCommands.OpenTable(tablePath);
        var staging = Path.Combine(stagingRoot ?? DefaultStaging(tablePath), "table");
        var view = await TableBackupView.MaterializeAsync(table, version, staging, ct);
        var result = await vault.BackupAsync(new BackupRequest
        {
            Paths = [staging],
            Source = Source,
            Tags = ["lake", TableTag(tablePath), $"lake-version:{view.Version}", $"lake-time:{view.VersionTimestamp.ToUnixTimeMilliseconds()}"],
        }, null, ct);
        return new LakeBackupResult(result.Snapshot.Id, table.Location, view.Version, view.VersionTimestamp, view.LogFiles, view.DataFiles,
            result.FilesNew + result.FilesChanged, result.FilesUnmodified, result.DataAdded);
    }

    /// <summary>Refuses a restore target that holds anything (the same rule and message as every restore).</summary>
    public static void RequireEmptyTarget(string target) => Infrastructure.RestoreTargets.RequireEmpty(target, "TARGET");

    private static long? TagValue(SnapshotInfo s, string prefix) =>
        s.Tags.FirstOrDefault(t => t.StartsWith(prefix, StringComparison.Ordinal)) is { } tag
        && long.TryParse(tag.AsSpan(prefix.Length), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>
    /// Restores the table backed up from <paramref name="fromTable"/> into the new directory <paramref name="target"/>:
    /// as of <paramref name="version"/> (the oldest backup holding it, cut back to it), as of <paramref name="at"/>
    /// (the version current then), or the newest backup.
    /// </summary>
    public static async Task<LakeRestoreResult> RestoreAsync(VaultRepository vault, string? fromTable, string? snapshotId, string target, long? version, DateTimeOffset? at, CancellationToken ct)
    {
        target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target));
        RequireEmptyTarget(target);

        SnapshotInfo snapshot;
        if (snapshotId is not null)
        {
            snapshot = await vault.FindSnapshotAsync(snapshotId, new SnapshotFilter { Source = Source }, null, ct);
        }
        else
        {
            var filter = new SnapshotFilter { Source = Source, Tags = ["lake", TableTag(fromTable ?? throw new Infrastructure.UsageException("give the backed-up table (--from DIR) or a snapshot id (--snapshot ID)"))] };
            var backups = new List<(SnapshotInfo Snapshot, long Version, long Time)>();
            var listing = await vault.ScanSnapshotsAsync(filter, ct);
            foreach (var s in listing.Snapshots)
            {
                if (TagValue(s, "lake-version:") is { } v && TagValue(s, "lake-time:") is { } t)
                {
                    backups.Add((s, v, t));
                }
            }

            // The newest backup is what "no version" means; a corrupt snapshot that may be newer is never skipped silently.
            void RefuseIfNewerCorrupt(SnapshotInfo? newest)
            {
                if (listing.MaybeNewerThan(newest) is { Count: > 0 } corrupt)
                {
                    throw new SnapshotCorruptException(corrupt[^1], asLatest: true, newest);
                }
            }

            if (backups.Count == 0)
            {
                RefuseIfNewerCorrupt(null);
                throw new SnapshotNotFoundException($"a lake backup of {Path.GetFullPath(fromTable)} (tag {TableTag(fromTable)})");
            }

            backups.Sort((a, b) => a.Version.CompareTo(b.Version));
            if (version is { } wanted)
            {
                var holding = backups.FirstOrDefault(b => b.Version >= wanted);
                snapshot = holding.Snapshot ?? throw new DeltaVersionNotFoundException(
                    $"{fromTable}: version {wanted} is newer than the newest backup (version {backups[^1].Version})");
            }
            else if (at is { } time)
            {
                // the oldest backup whose version was committed at or after the time holds the version current then
                var holding = backups.FirstOrDefault(b => b.Time >= time.ToUnixTimeMilliseconds());
                if (holding.Snapshot is null)
                {
                    RefuseIfNewerCorrupt(backups[^1].Snapshot);
                }

                snapshot = holding.Snapshot ?? backups[^1].Snapshot;
            }
            else
            {
                RefuseIfNewerCorrupt(backups[^1].Snapshot);
                snapshot = backups[^1].Snapshot;
            }
        }

        var scratch = target + ".restoring-" + Guid.NewGuid().ToString("N")[..8];
        try
        {
            await vault.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = scratch }, null, ct);
            var restoredDir = Path.Combine(scratch, "table");
            if (!Directory.Exists(Path.Combine(restoredDir, "_delta_log")))
            {
                throw new DeltaTableNotFoundException($"snapshot {snapshot.ShortId} does not hold a lake table backup");
            }

            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            if (Directory.Exists(target))
            {
                Directory.Delete(target);
            }

            Directory.Move(restoredDir, target);
        }
        finally
        {
            if (Directory.Exists(scratch))
            {
                Directory.Delete(scratch, true);
            }
        }

        var table = new DeltaTable(new FileSystemObjectStore(target), "");
        var snapshotVersion = (await table.GetSnapshotAsync(null, ct)).Version;
        long? cut = version;
        if (version is null && at is { } when)
        {
            cut = (await table.GetSnapshotAtAsync(when, ct)).Version;
        }

        if (cut is { } c && c < snapshotVersion)
        {
            await TableBackupView.TrimToVersionAsync(table, c, ct);
        }

        var restored = await table.GetSnapshotAsync(null, ct);
        var rows = restored.RowCountFromStats ?? await table.CountRowsAsync(restored, ct);
        return new LakeRestoreResult(snapshot.Id, snapshotVersion, restored.Version, target, restored.Files.Count, rows);
    }
}
