using Lifeline.Lake.Protocol;
using Lifeline.Storage;

namespace Lifeline.Lake.Recovery;

/// <summary>What a staging view of a table holds.</summary>
public sealed record StagingResult(string Directory, long Version, DateTimeOffset VersionTimestamp, int LogFiles, int DataFiles, int FilesCopied, long BytesCopied, int FilesRemoved);

/// <summary>
/// Table-consistent backup and restore around a file-based backup tool (the vault): a backup takes one version of a
/// table as a directory holding exactly the log up to that version (commits, checkpoints, a matching
/// <c>_last_checkpoint</c>) and every data file that log references and the store still has, each with its
/// modification time kept (commit times are file times: time travel by timestamp needs them). The staging directory
/// is kept between backups and updated in place (unchanged files are not copied again), so the backup tool sees
/// only new files. After a restore, <see cref="TrimToVersionAsync"/> cuts the restored table back to an earlier version.
/// </summary>
public static class TableBackupView
{
    /// <summary>Materializes <paramref name="table"/> at <paramref name="version"/> (latest when null) into <paramref name="directory"/>.</summary>
    public static async Task<StagingResult> MaterializeAsync(DeltaTable table, long? version, string directory, CancellationToken cancellationToken = default)
    {
        var snapshot = await table.GetSnapshotAsync(version, cancellationToken);
        var v = snapshot.Version;
        var listing = await table.LogReader.ListAsync(cancellationToken);
        var wanted = new Dictionary<string, ObjectInfo>(StringComparer.Ordinal);

        // the log up to v: commits, and checkpoints not newer than v
        foreach (var f in listing.Where(f => f.Version <= v))
        {
            wanted[LogFiles.LogDir + f.FileName] = f.Info;
        }

        var logFiles = wanted.Count;

        // every data file any retained version references (time travel on the restored table needs them)
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        if (snapshot.CheckpointVersion is { } cp)
        {
            foreach (var f in (await table.GetSnapshotAsync(cp, cancellationToken)).Files)
            {
                referenced.Add(f.RelativePath);
            }
        }

        foreach (var c in listing.Where(f => f.Kind == LogFileKind.Commit && f.Version <= v))
        {
            foreach (var a in await table.LogReader.ReadCommitAsync(c.Version, cancellationToken))
            {
                if (a.Add is { } add)
                {
                    referenced.Add(LogReader.DecodePath(add.Path, table.Location));
                }
            }
        }

        foreach (var f in snapshot.Files)
        {
            referenced.Add(f.RelativePath);
        }

        var dataFiles = 0;
        foreach (var relative in referenced.Where(r => !LogReader.IsExternal(r)))
        {
            if (await table.Store.StatAsync(table.Root + relative, cancellationToken) is { } info)
            {
                wanted[relative] = info;
                dataFiles++;
            }
        }

        Directory.CreateDirectory(directory);
        int copied = 0, removed = 0;
        long bytes = 0;
        foreach (var (relative, info) in wanted)
        {
            var path = Path.Combine(directory, relative.Replace('/', Path.DirectorySeparatorChar));
            var existing = new FileInfo(path);
            if (existing.Exists && existing.Length == info.Size && existing.LastWriteTimeUtc == info.LastModified.UtcDateTime)
            {
                continue;
            }

            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            var data = await table.Store.GetAsync(table.Root + relative, cancellationToken: cancellationToken);
            await File.WriteAllBytesAsync(path, data, cancellationToken);
            File.SetLastWriteTimeUtc(path, info.LastModified.UtcDateTime);
            copied++;
            bytes += data.Length;
        }

        // _last_checkpoint must not point past v: write one for the newest checkpoint kept
        var lastCheckpoint = Path.Combine(directory, "_delta_log", LogFiles.LastCheckpoint);
        var newestCheckpoint = listing.Where(f => f.Kind == LogFileKind.Checkpoint && f.Version <= v).Select(f => f.Version).DefaultIfEmpty(-1).Max();
        var hint = newestCheckpoint < 0 ? null
            : await table.LogReader.ReadLastCheckpointHintAsync(cancellationToken) == newestCheckpoint
                ? System.Text.Encoding.UTF8.GetString(await table.Store.GetAsync(table.LogReader.LogPrefix + LogFiles.LastCheckpoint, cancellationToken: cancellationToken))
                : $"{{\"version\":{newestCheckpoint},\"size\":0}}";
        if (hint is null)
        {
            File.Delete(lastCheckpoint);
        }
        else if (!File.Exists(lastCheckpoint) || await File.ReadAllTextAsync(lastCheckpoint, cancellationToken) != hint)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(lastCheckpoint)!);
            await File.WriteAllTextAsync(lastCheckpoint, hint, cancellationToken);
        }

        // anything else in the staging directory belongs to an older view
        foreach (var file in Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).ToList())
        {
            var relative = Path.GetRelativePath(directory, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!wanted.ContainsKey(relative) && relative != LogFiles.LogDir + LogFiles.LastCheckpoint)
            {
                File.Delete(file);
                removed++;
            }
        }

        return new StagingResult(directory, v, snapshot.Timestamp, logFiles, dataFiles, copied, bytes, removed);
    }

    /// <summary>
    /// Cuts a restored table back to <paramref name="version"/>: later commits and checkpoints are deleted, the
    /// checkpoint hint is fixed, and data files only later versions referenced are deleted. History up to the
    /// version is kept.
    /// </summary>
    public static async Task<int> TrimToVersionAsync(DeltaTable table, long version, CancellationToken cancellationToken = default)
    {
        var listing = await table.LogReader.ListAsync(cancellationToken);
        var latest = listing.Select(f => f.Version).DefaultIfEmpty(-1).Max();
        if (version > latest)
        {
            throw new DeltaVersionNotFoundException($"{table.Location}: version {version} does not exist (latest is {latest})");
        }

        await table.GetSnapshotAsync(version, cancellationToken); // the version must be readable before anything is deleted
        var keep = new HashSet<string>(StringComparer.Ordinal);
        var later = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in listing.Where(f => f.Kind == LogFileKind.Commit))
        {
            foreach (var a in await table.LogReader.ReadCommitAsync(c.Version, cancellationToken))
            {
                if (a.Add is { } add)
                {
                    (c.Version <= version ? keep : later).Add(LogReader.DecodePath(add.Path, table.Location));
                }
            }
        }

        var checkpoint = listing.Where(f => f.Kind == LogFileKind.Checkpoint && f.Version <= version).Select(f => f.Version).DefaultIfEmpty(-1).Max();
        if (checkpoint >= 0)
        {
            foreach (var f in (await table.GetSnapshotAsync(checkpoint, cancellationToken)).Files)
            {
                keep.Add(f.RelativePath);
            }
        }

        var deleted = 0;
        foreach (var relative in later.Where(p => !keep.Contains(p) && !LogReader.IsExternal(p)))
        {
            await table.Store.DeleteAsync(table.Root + relative, cancellationToken);
            deleted++;
        }

        // newest log files first, so a crash part-way leaves a readable (if longer) table
        foreach (var f in listing.Where(f => f.Version > version).OrderByDescending(f => f.Version))
        {
            await table.Store.DeleteAsync(f.Info.Key, cancellationToken);
            deleted++;
        }

        var hintKey = table.LogReader.LogPrefix + LogFiles.LastCheckpoint;
        if (checkpoint >= 0)
        {
            await table.Store.PutAsync(hintKey, System.Text.Encoding.UTF8.GetBytes($"{{\"version\":{checkpoint}}}"), cancellationToken);
        }
        else
        {
            await table.Store.DeleteAsync(hintKey, cancellationToken);
        }

        return deleted;
    }
}
