namespace Lifeline.Registry.Backup;

/// <summary>What an incremental restore did: files kept as they were, fetched from the backup, removed.</summary>
/// <param name="ReusedFiles">Artifacts already in the target with the backup's size and SHA-256 (left untouched).</param>
/// <param name="ReusedBytes">Their bytes.</param>
/// <param name="HashedFiles">Existing files whose content had to be read to decide (not covered by the restore record).</param>
/// <param name="FetchedFiles">Artifacts restored from the backup (new or changed).</param>
/// <param name="FetchedBytes">Their bytes.</param>
/// <param name="RemovedFiles">Artifact files in the target that the restored point does not hold.</param>
public sealed record IncrementalRestoreStats(long ReusedFiles, long ReusedBytes, long HashedFiles, long FetchedFiles, long FetchedBytes, long RemovedFiles);

/// <summary>Why an incremental restore was refused (before anything was written).</summary>
public enum IncrementalRefusal
{
    /// <summary>The target carries no restore record: it was not made by a registry restore.</summary>
    NotARestoreTarget,

    /// <summary>The target's database is not as its restore left it (a registry that has served since), and replacing it was not asked.</summary>
    ChangedSinceRestore,

    /// <summary>The point is an API export, which restores only into an empty registry.</summary>
    NotNative,
}

/// <summary>An incremental restore refused before anything was written; <see cref="Reason"/> says why.</summary>
public sealed class IncrementalRestoreRefusedException(IncrementalRefusal reason, string message) : InvalidOperationException(message)
{
    /// <summary>Why it was refused.</summary>
    public IncrementalRefusal Reason { get; } = reason;
}

/// <summary>The files an incremental restore must fetch and remove, decided before anything is written.</summary>
internal sealed record IncrementalPlan(RegistryBackupManifest Manifest, IReadOnlyList<ArtifactEntry> Fetch, IReadOnlyList<string> Remove, long ReusedFiles, long ReusedBytes, long HashedFiles, RestoreRecord Record);

/// <summary>
/// Restore of a native registry point into a data directory that an earlier restore made (restic's restore into an
/// existing folder): artifacts whose size and SHA-256 already match the point are kept, only new and changed ones
/// are fetched, artifacts the point does not hold are removed, and the database is replaced. The target must carry
/// the earlier restore's record (<see cref="RestoreRecord"/>) with its database as the restore left it (otherwise it
/// may be a live registry: refused unless <c>replaceChanged</c>). While it runs the directory holds no database and
/// its record says incomplete, so an interrupted incremental restore is never taken for a registry; running it again
/// finishes it.
/// </summary>
internal static class IncrementalRestore
{
    public static async Task<IncrementalPlan> PlanAsync(RegistryBackupManifest manifest, string dataDirectory, bool replaceChanged, bool rehashAll, CancellationToken ct)
    {
        var record = await RestoreRecord.ReadAsync(dataDirectory, ct)
            ?? throw new IncrementalRestoreRefusedException(IncrementalRefusal.NotARestoreTarget, $"{dataDirectory} is not the target of an earlier restore (no {RestoreRecord.FileName}): an incremental restore goes only into a directory a registry restore made; restore into an empty directory instead");
        var database = new FileInfo(Path.Combine(dataDirectory, NativeBackup.DatabaseFile));
        var inUse = File.Exists(database.FullName + "-wal") || File.Exists(database.FullName + "-shm");
        var changed = record.Complete
            ? !database.Exists || database.Length != record.DatabaseSize || database.LastWriteTimeUtc.Ticks != record.DatabaseModifiedTicks || inUse
            : database.Exists;
        if (changed && !replaceChanged)
        {
            throw new IncrementalRestoreRefusedException(IncrementalRefusal.ChangedSinceRestore, $"{dataDirectory} has changed since restore {record.Point} left it ({NativeBackup.DatabaseFile} is not as the restore wrote it{(inUse ? ", and it is open" : "")}): it may be a live registry. Stop it and ask to replace it, or restore into an empty directory");
        }

        var artifactDirectory = Path.Combine(dataDirectory, "artifacts");
        var recorded = record.Artifacts.ToDictionary(a => a.Path, StringComparer.Ordinal);
        var fetch = new List<ArtifactEntry>();
        long reused = 0, reusedBytes = 0, hashed = 0;
        foreach (var entry in manifest.Artifacts)
        {
            var file = new FileInfo(NativeBackup.ArtifactPath(artifactDirectory, entry.Path)); // refuses a path that escapes the target
            if (!file.Exists || file.Length != entry.Size)
            {
                fetch.Add(entry);
                continue;
            }

            var same = !rehashAll && recorded.TryGetValue(entry.Path, out var r) && r.Size == entry.Size && r.ModifiedTicks == file.LastWriteTimeUtc.Ticks
                && string.Equals(r.Sha256, entry.Sha256, StringComparison.OrdinalIgnoreCase);
            if (!same)
            {
                hashed++;
                same = string.Equals((await NativeBackup.HashFileAsync(file.FullName, ct)).Sha256, entry.Sha256, StringComparison.OrdinalIgnoreCase);
            }

            if (same)
            {
                reused++;
                reusedBytes += entry.Size;
            }
            else
            {
                fetch.Add(entry);
            }
        }

        var keep = manifest.Artifacts.Select(a => a.Path).ToHashSet(StringComparer.Ordinal);
        var remove = new List<string>();
        if (Directory.Exists(artifactDirectory))
        {
            foreach (var path in Directory.EnumerateFiles(artifactDirectory, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
            {
                var key = Path.GetRelativePath(artifactDirectory, path).Replace(Path.DirectorySeparatorChar, '/');
                if (!keep.Contains(key))
                {
                    remove.Add(path);
                }
            }
        }

        return new IncrementalPlan(manifest, fetch, remove, reused, reusedBytes, hashed, record);
    }

    /// <summary>Applies <paramref name="plan"/>: <paramref name="stagingDirectory"/> holds the point's database and the fetched artifacts (and is consumed).</summary>
    public static async Task<IncrementalRestoreStats> ApplyAsync(IncrementalPlan plan, string stagingDirectory, string dataDirectory, string pointName, TimeProvider time, CancellationToken ct)
    {
        var artifactDirectory = Path.Combine(dataDirectory, "artifacts");
        var staged = new List<(string From, string To)>();
        foreach (var entry in plan.Fetch)
        {
            // Every fetched file is checked against the manifest before the target is touched.
            var from = Path.Combine(stagingDirectory, "artifacts", entry.Path.Replace('/', Path.DirectorySeparatorChar));
            var (size, sha) = File.Exists(from) ? await NativeBackup.HashFileAsync(from, ct) : (-1, "");
            if (size != entry.Size || !string.Equals(sha, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidDataException($"artifact {entry.Path} in the backup does not match its manifest checksum: the backup is damaged; {dataDirectory} is left as it was");
            }

            staged.Add((from, NativeBackup.ArtifactPath(artifactDirectory, entry.Path)));
        }

        if (!File.Exists(Path.Combine(stagingDirectory, NativeBackup.DatabaseFile)))
        {
            throw new InvalidDataException($"the backup holds no {NativeBackup.DatabaseFile}; {dataDirectory} is left as it was");
        }

        // From here the directory is not a registry (no database, record incomplete) until the database goes in last.
        await RestoreRecord.SaveAsync(dataDirectory, plan.Record with { Complete = false }, ct);
        var databasePath = Path.Combine(dataDirectory, NativeBackup.DatabaseFile);
        foreach (var path in new[] { databasePath, databasePath + "-wal", databasePath + "-shm" })
        {
            File.Delete(path);
        }

        foreach (var (from, to) in staged)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            var temp = Path.Combine(Path.GetDirectoryName(to)!, ".tmp-" + Guid.NewGuid().ToString("N"));
            File.Move(from, temp);
            File.Move(temp, to, overwrite: true);
        }

        foreach (var path in plan.Remove)
        {
            File.Delete(path);
        }

        await NativeBackup.InstallDatabaseAsync(stagingDirectory, databasePath, time, consumeStaging: true, ct);
        await RestoreRecord.WriteAsync(dataDirectory, pointName, plan.Manifest, ct);
        return new IncrementalRestoreStats(plan.ReusedFiles, plan.ReusedBytes, plan.HashedFiles, plan.Fetch.Count, plan.Fetch.Sum(e => e.Size), plan.Remove.Count);
    }
}
