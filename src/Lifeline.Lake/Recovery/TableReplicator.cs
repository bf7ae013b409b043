using Lifeline.Lake.Protocol;
using Lifeline.Storage;

namespace Lifeline.Lake.Recovery;

/// <summary>The outcome of one replication run.</summary>
public sealed record ReplicationResult(long SourceVersion, long TargetVersionBefore, long TargetVersion, int VersionsCopied, int FilesCopied, long BytesCopied, long LagVersions, double LagSeconds);

/// <summary>How far a replica is behind its source.</summary>
public sealed record ReplicaLag(long SourceVersion, long TargetVersion, long LagVersions, double LagSeconds);

/// <summary>
/// Replicates a table to another location, version by version in commit order: for each version its new data files
/// first, then its commit file (byte-identical, put-if-absent); checkpoints and <c>_last_checkpoint</c> after. A run
/// that crashes resumes at the first commit the target lacks; re-running is a no-op (files already present with the
/// same size are not copied again). Memory is bounded by the largest file.
/// </summary>
public static class TableReplicator
{
    /// <summary>Brings <paramref name="target"/> up to <paramref name="source"/>'s latest version (or <paramref name="upToVersion"/>).</summary>
    public static async Task<ReplicationResult> ReplicateAsync(DeltaTable source, DeltaTable target, long? upToVersion = null, CancellationToken cancellationToken = default)
    {
        var sourceListing = await source.LogReader.ListAsync(cancellationToken);
        var sourceCommits = sourceListing.Where(f => f.Kind == LogFileKind.Commit).ToDictionary(f => f.Version);
        if (sourceCommits.Count == 0)
        {
            throw new DeltaTableNotFoundException($"{source.Location}: not a Delta table (no commits to replicate)");
        }

        var last = Math.Min(upToVersion ?? sourceCommits.Keys.Max(), sourceCommits.Keys.Max());
        var before = await LatestCommitAsync(target, cancellationToken);
        var next = before + 1;
        int versions = 0, files = 0;
        long bytes = 0;

        // a target behind the source's oldest retained commit starts from a checkpoint (with that snapshot's files)
        var earliest = sourceCommits.Keys.Min();
        if (next < earliest)
        {
            var start = sourceListing.Where(f => f.Kind is LogFileKind.Checkpoint or LogFileKind.MultiPartCheckpoint && f.Version >= earliest - 1 && f.Version <= last)
                .Select(f => f.Version).DefaultIfEmpty(-1).Min();
            if (start < 0)
            {
                throw new DeltaProtocolException($"{source.Location}: cannot replicate from version {next}: commits before {earliest} are gone and no checkpoint bridges the gap");
            }

            var snapshot = await source.GetSnapshotAsync(start, cancellationToken);
            foreach (var f in snapshot.Files)
            {
                (files, bytes) = await CopyIfNeededAsync(source, target, f.RelativePath, files, bytes, cancellationToken);
            }

            foreach (var cp in sourceListing.Where(f => f.Version == start && f.Kind != LogFileKind.Commit))
            {
                (files, bytes) = await CopyIfNeededAsync(source, target, LogFiles.LogDir + cp.FileName, files, bytes, cancellationToken);
            }

            next = sourceCommits.ContainsKey(start) ? start : start + 1;
        }

        for (var v = next; v <= last; v++)
        {
            (files, bytes) = await CopyCommitAsync(source, target, v, files, bytes, cancellationToken);
            versions++;
        }

        // checkpoints of replicated versions, then the hint
        foreach (var cp in sourceListing.Where(f => f.Kind is LogFileKind.Checkpoint or LogFileKind.MultiPartCheckpoint && f.Version <= last))
        {
            (files, bytes) = await CopyIfNeededAsync(source, target, LogFiles.LogDir + cp.FileName, files, bytes, cancellationToken);
        }

        var hint = await source.LogReader.ReadLastCheckpointHintAsync(cancellationToken);
        if (hint is { } h && h <= last)
        {
            var data = await source.Store.GetAsync(source.LogReader.LogPrefix + LogFiles.LastCheckpoint, cancellationToken: cancellationToken);
            await target.Store.PutAsync(target.LogReader.LogPrefix + LogFiles.LastCheckpoint, data, cancellationToken);
        }

        // the lag against the listing this run started from (a second listing of both logs cost as much as the first)
        var lag = Lag(sourceCommits, Math.Max(before, last));
        return new ReplicationResult(lag.SourceVersion, before, last, versions, files, bytes, lag.LagVersions, lag.LagSeconds);
    }

    /// <summary>
    /// The incremental path of continuous replication (docs/protection.md): brings a replica that the caller knows holds
    /// <paramref name="replicatedVersion"/> (from an earlier run) up to <paramref name="upToVersion"/> without listing either
    /// log. Costs one stat (the replica still has that commit), per new version one GET of its commit and the copy of its
    /// new data files, and two GETs of <c>_last_checkpoint</c> (source and replica); the checkpoint the source's hint names
    /// is copied (a listing of that one version's checkpoint files) when the replica's hint differs. Falls back to the
    /// whole-log <see cref="ReplicateAsync"/> when the caller knows nothing (<paramref name="replicatedVersion"/> &lt; 0),
    /// when the replica lacks that commit (it was reset), or when a source commit is gone (log cleanup). The result's
    /// lag is against <paramref name="upToVersion"/>, which the caller found (zero on success).
    /// </summary>
    public static async Task<ReplicationResult> ReplicateFromAsync(DeltaTable source, DeltaTable target, long replicatedVersion, long upToVersion,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(target);
        if (replicatedVersion < 0 || upToVersion < replicatedVersion
            || await target.Store.StatAsync(target.LogReader.LogPrefix + LogFiles.CommitName(replicatedVersion), cancellationToken) is null)
        {
            return await ReplicateAsync(source, target, upToVersion, cancellationToken);
        }

        int versions = 0, files = 0;
        long bytes = 0;
        for (var v = replicatedVersion + 1; v <= upToVersion; v++)
        {
            try
            {
                (files, bytes) = await CopyCommitAsync(source, target, v, files, bytes, cancellationToken);
            }
            catch (DeltaVersionNotFoundException) when (versions == 0)
            {
                return await ReplicateAsync(source, target, upToVersion, cancellationToken); // the source's log moved on (cleanup): start over from a checkpoint
            }

            versions++;
        }

        var hint = await source.LogReader.ReadLastCheckpointHintAsync(cancellationToken);
        if (hint is { } h && h <= upToVersion && await target.LogReader.ReadLastCheckpointHintAsync(cancellationToken) != h)
        {
            var prefix = source.LogReader.LogPrefix + LogFiles.CommitName(h)[..20] + ".checkpoint.";
            await foreach (var info in source.Store.ListAsync(prefix, cancellationToken))
            {
                if (LogFiles.Parse(info) is { Kind: LogFileKind.Checkpoint or LogFileKind.MultiPartCheckpoint } cp)
                {
                    (files, bytes) = await CopyIfNeededAsync(source, target, LogFiles.LogDir + cp.FileName, files, bytes, cancellationToken);
                }
            }

            var data = await source.Store.GetAsync(source.LogReader.LogPrefix + LogFiles.LastCheckpoint, cancellationToken: cancellationToken);
            await target.Store.PutAsync(target.LogReader.LogPrefix + LogFiles.LastCheckpoint, data, cancellationToken);
        }

        return new ReplicationResult(upToVersion, replicatedVersion, upToVersion, versions, files, bytes, 0, 0);
    }

    // One version: its new data files first, then its commit file, byte-identical and put-if-absent (read once: the
    // bytes parsed are the bytes copied).
    private static async Task<(int Files, long Bytes)> CopyCommitAsync(DeltaTable source, DeltaTable target, long v, int files, long bytes, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var commitKey = LogFiles.LogDir + LogFiles.CommitName(v);
        byte[] commit;
        try
        {
            commit = await source.Store.GetAsync(source.Root + commitKey, cancellationToken: cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            throw new DeltaVersionNotFoundException($"{source.Location}: version {v}: commit file {commitKey} is missing");
        }

        foreach (var add in source.LogReader.ParseCommit(commit, v).Where(a => a.Add is not null).Select(a => a.Add!))
        {
            (files, bytes) = await CopyIfNeededAsync(source, target, LogReader.DecodePath(add.Path, source.Location), files, bytes, cancellationToken);
        }

        if (!await target.Store.PutIfAbsentAsync(target.Root + commitKey, commit, cancellationToken))
        {
            var existing = await target.Store.GetAsync(target.Root + commitKey, cancellationToken: cancellationToken);
            if (!existing.AsSpan().SequenceEqual(commit))
            {
                throw new DeltaProtocolException($"{target.Location}: version {v}: the replica's commit differs from the source's (the replica was written to); refusing to continue");
            }
        }
        else
        {
            bytes += commit.Length;
        }

        Log.Replicated(source.Options.Logger, source.Location, v, target.Location);
        return (files, bytes);
    }

    /// <summary>The replica's lag: versions behind, and seconds between the source's latest commit and the newest commit the replica has.</summary>
    public static async Task<ReplicaLag> GetLagAsync(DeltaTable source, DeltaTable target, CancellationToken cancellationToken = default)
    {
        var sourceCommits = (await source.LogReader.ListAsync(cancellationToken)).Where(f => f.Kind == LogFileKind.Commit).ToDictionary(f => f.Version);
        return Lag(sourceCommits, await LatestCommitAsync(target, cancellationToken));
    }

    private static ReplicaLag Lag(Dictionary<long, LogFile> sourceCommits, long targetVersion)
    {
        var sourceVersion = sourceCommits.Count == 0 ? -1 : sourceCommits.Keys.Max();
        if (targetVersion >= sourceVersion)
        {
            return new ReplicaLag(sourceVersion, targetVersion, 0, 0);
        }

        var newest = sourceCommits[sourceVersion].Info.LastModified;
        var replicated = sourceCommits.TryGetValue(targetVersion, out var t) ? t.Info.LastModified
            : sourceCommits.Values.Where(c => c.Version > targetVersion).Min(c => c.Info.LastModified);
        return new ReplicaLag(sourceVersion, targetVersion, sourceVersion - targetVersion, Math.Max(0, (newest - replicated).TotalSeconds));
    }

    private static async Task<long> LatestCommitAsync(DeltaTable table, CancellationToken ct)
    {
        var listing = await table.LogReader.ListAsync(ct);
        return listing.Where(f => f.Kind == LogFileKind.Commit).Select(f => f.Version).DefaultIfEmpty(-1).Max();
    }

    private static async Task<(int Files, long Bytes)> CopyIfNeededAsync(DeltaTable source, DeltaTable target, string relative, int files, long bytes, CancellationToken ct)
    {
        if (LogReader.IsExternal(relative))
        {
            return (files, bytes); // outside the table: not part of what a table copy carries
        }

        var sourceKey = source.Root + relative;
        var info = await source.Store.StatAsync(sourceKey, ct);
        if (info is null)
        {
            // a log-only table may name files that never existed; the replica is as complete as the source
            return (files, bytes);
        }

        var existing = await target.Store.StatAsync(target.Root + relative, ct);
        if (existing is not null && existing.Size == info.Size)
        {
            return (files, bytes);
        }

        var data = await source.Store.GetAsync(sourceKey, cancellationToken: ct);
        await target.Store.PutAsync(target.Root + relative, data, ct);
        return (files + 1, bytes + data.Length);
    }
}
