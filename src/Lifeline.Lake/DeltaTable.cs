using System.Runtime.CompilerServices;
using Lifeline.Lake.Protocol;
using Lifeline.Lake.Parquet;
using Lifeline.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Lake;

/// <summary>Options of a <see cref="DeltaTable"/>.</summary>
public sealed record DeltaTableOptions
{
    /// <summary>Clock for commit timestamps, vacuum and log retention. Default: <see cref="TimeProvider.System"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    /// <summary>Logger. Default: none.</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>How many times a commit that lost a race without a logical conflict is retried. Default: 10.</summary>
    public int MaxCommitRetries { get; init; } = 10;

    /// <summary>Checkpoint interval used when the table has no <c>delta.checkpointInterval</c> property. Default: 10.</summary>
    public int DefaultCheckpointInterval { get; init; } = 10;

    /// <summary>Engine name written in commitInfo. Default: "Lifeline.Lake/1.0".</summary>
    public string EngineInfo { get; init; } = "Lifeline.Lake/1.0";
}

/// <summary>A Delta Lake table: an <see cref="IObjectStore"/> and a root prefix inside it.</summary>
public sealed partial class DeltaTable
{
    private readonly LogReader _log;

    /// <summary>Opens the table at <paramref name="root"/> of <paramref name="store"/> (no I/O; the table may not exist yet).</summary>
    public DeltaTable(IObjectStore store, string root, DeltaTableOptions? options = null)
    {
        Store = store;
        Root = NormalizeRoot(root);
        Options = options ?? new DeltaTableOptions();
        _log = new LogReader(store, Root, Options.Logger);
    }

    /// <summary>The store holding the table.</summary>
    public IObjectStore Store { get; }

    /// <summary>The root prefix ("" or ending in '/').</summary>
    public string Root { get; }

    /// <summary>The options.</summary>
    public DeltaTableOptions Options { get; }

    /// <summary>A human description of the table's location.</summary>
    public string Location => _log.Location;

    internal LogReader LogReader => _log;

    internal static string NormalizeRoot(string root)
    {
        root = root.Trim('/');
        return root.Length == 0 ? "" : root + "/";
    }

    /// <summary>Whether the location has any commit or checkpoint.</summary>
    public async Task<bool> ExistsAsync(CancellationToken cancellationToken = default) => (await _log.ListAsync(cancellationToken)).Count > 0;

    /// <summary>The snapshot at <paramref name="version"/>, or the latest.</summary>
    public Task<Snapshot> GetSnapshotAsync(long? version = null, CancellationToken cancellationToken = default) => _log.LoadAsync(version, cancellationToken);

    /// <summary>The latest version, or -1 when the table has no commits.</summary>
    public async Task<long> GetLatestVersionAsync(CancellationToken cancellationToken = default)
    {
        var files = await _log.ListAsync(cancellationToken);
        return files.Count == 0 ? -1 : files.Max(f => f.Version);
    }

    /// <summary>
    /// The snapshot as of <paramref name="time"/>: the latest version whose commit timestamp is at or before it
    /// (commit timestamps are file modification times, or in-commit timestamps when enabled).
    /// </summary>
    public async Task<Snapshot> GetSnapshotAtAsync(DateTimeOffset time, CancellationToken cancellationToken = default)
    {
        var history = await GetHistoryAsync(false, cancellationToken);
        if (history.Count == 0)
        {
            throw new DeltaTableNotFoundException($"{Location}: not a Delta table (no commits)");
        }

        if (time < history[0].Timestamp)
        {
            throw new DeltaVersionNotFoundException(
                $"{Location}: timestamp {time:O} is before the earliest available version {history[0].Version} ({history[0].Timestamp:O})");
        }

        var match = history.Last(e => e.Timestamp <= time);
        return await GetSnapshotAsync(match.Version, cancellationToken);
    }

    /// <summary>The commits still in the log, oldest first, with their timestamps (and commitInfo when asked).</summary>
    public async Task<IReadOnlyList<CommitEntry>> GetHistoryAsync(bool withCommitInfo = true, CancellationToken cancellationToken = default)
    {
        var listing = await _log.ListAsync(cancellationToken);
        var commits = listing.Where(f => f.Kind == LogFileKind.Commit).ToList();
        var ict = false;
        if (commits.Count > 0 && !withCommitInfo)
        {
            // in-commit timestamps are a table property: look at the latest metadata
            try
            {
                var latest = await GetSnapshotAsync(null, cancellationToken);
                ict = latest.Property("delta.enableInCommitTimestamps") == "true";
            }
            catch (DeltaProtocolException)
            {
                ict = false;
            }
        }

        return await _log.CommitEntriesAsync(commits, ict, withCommitInfo, cancellationToken);
    }

    /// <summary>
    /// Reads the rows of <paramref name="snapshot"/> file by file, row group by row group; partition columns are filled
    /// from partition values. <paramref name="columns"/> limits the columns read; <paramref name="partitionFilter"/>
    /// (typed partition values by column name) skips whole files, e.g. <c>p =&gt; (DateOnly)p["date"]! &gt;= since</c>.
    /// </summary>
    public async IAsyncEnumerable<ColumnBatch> ReadAsync(Snapshot snapshot, IReadOnlyCollection<string>? columns = null,
        Func<IReadOnlyDictionary<string, object?>, bool>? partitionFilter = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var file in snapshot.Files)
        {
            if (partitionFilter is not null && !partitionFilter(TypedPartitionValues(snapshot, file)))
            {
                continue;
            }

            await foreach (var batch in ReadFileAsync(snapshot, file, columns, cancellationToken))
            {
                yield return batch;
            }
        }
    }

    /// <summary>Reads one data file of <paramref name="snapshot"/>.</summary>
    public async IAsyncEnumerable<ColumnBatch> ReadFileAsync(Snapshot snapshot, DataFile file, IReadOnlyCollection<string>? columns = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        if (file.Add.DeletionVector is not null)
        {
            throw new DeltaUnsupportedFeatureException($"{Location}: version {snapshot.Version}: file {file.RelativePath} has a deletion vector", "deletionVectors");
        }

        if (file.IsExternal)
        {
            throw new DeltaUnsupportedFeatureException($"{Location}: version {snapshot.Version}: data file {file.RelativePath} is outside the table (absolute paths are not supported)", "absolutePath");
        }

        var wanted = columns is null ? null : new HashSet<string>(columns, StringComparer.Ordinal);
        var partitionColumns = snapshot.Metadata.PartitionColumns;
        var dataColumns = wanted is null ? null : new HashSet<string>(wanted.Where(c => !partitionColumns.Contains(c)), StringComparer.Ordinal);
        byte[] data;
        try
        {
            data = await Store.GetAsync(Root + file.RelativePath, cancellationToken: cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            throw new DeltaProtocolException($"{Location}: version {snapshot.Version}: data file {file.RelativePath} is missing");
        }

        var mapping = snapshot.ColumnMapping;
        IAsyncEnumerable<ColumnBatch> batches;
        try
        {
            batches = ParquetFileReader.ReadAsync(data, snapshot.Schema, mapping, dataColumns, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException and not DeltaProtocolException)
        {
            throw new DeltaProtocolException($"{Location}: version {snapshot.Version}: data file {file.RelativePath} is unreadable ({e.Message})", e);
        }

        await using var enumerator = batches.GetAsyncEnumerator(cancellationToken);
        while (true)
        {
            ColumnBatch batch;
            try
            {
                if (!await enumerator.MoveNextAsync())
                {
                    break;
                }

                batch = enumerator.Current;
            }
            catch (Exception e) when (e is not OperationCanceledException and not DeltaProtocolException)
            {
                throw new DeltaProtocolException($"{Location}: version {snapshot.Version}: data file {file.RelativePath} is unreadable ({e.Message})", e);
            }

            var result = new Dictionary<string, System.Collections.IList>(StringComparer.Ordinal);
            foreach (var field in snapshot.Schema.Fields)
            {
                if (wanted is not null && !wanted.Contains(field.Name))
                {
                    continue;
                }

                if (partitionColumns.Contains(field.Name))
                {
                    var physical = field.PhysicalName(mapping);
                    var text = file.Add.PartitionValues.TryGetValue(physical, out var t) ? t
                        : file.Add.PartitionValues.TryGetValue(field.Name, out var t2) ? t2 : null;
                    var value = ValueConverter.ParsePartitionValue(text, field.Type, field.Name);
                    var column = new object?[batch.RowCount];
                    Array.Fill(column, value);
                    result[field.Name] = column;
                }
                else if (batch.Columns.TryGetValue(field.Name, out var values))
                {
                    result[field.Name] = values;
                }
                else
                {
                    result[field.Name] = new object?[batch.RowCount]; // column added after the file was written
                }
            }

            yield return new ColumnBatch(batch.RowCount, result);
        }
    }

    /// <summary>Reads every row of the snapshot as dictionaries (convenient for tests and small tables).</summary>
    public async Task<List<Dictionary<string, object?>>> ReadRowsAsync(Snapshot snapshot, CancellationToken cancellationToken = default)
    {
        var rows = new List<Dictionary<string, object?>>();
        await foreach (var batch in ReadAsync(snapshot, null, null, cancellationToken))
        {
            for (var i = 0; i < batch.RowCount; i++)
            {
                rows.Add(batch.Row(i));
            }
        }

        return rows;
    }

    /// <summary>Counts the rows of the snapshot by reading Parquet footers (not statistics).</summary>
    public async Task<long> CountRowsAsync(Snapshot snapshot, CancellationToken cancellationToken = default)
    {
        long total = 0;
        foreach (var file in snapshot.Files)
        {
            if (file.IsExternal)
            {
                throw new DeltaUnsupportedFeatureException($"{Location}: version {snapshot.Version}: data file {file.RelativePath} is outside the table (absolute paths are not supported)", "absolutePath");
            }

            byte[] data;
            try
            {
                data = await Store.GetAsync(Root + file.RelativePath, cancellationToken: cancellationToken);
            }
            catch (ObjectNotFoundException)
            {
                throw new DeltaProtocolException($"{Location}: version {snapshot.Version}: data file {file.RelativePath} is missing");
            }

            try
            {
                total += (await ParquetFileReader.ReadFooterAsync(data, cancellationToken)).Rows;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                throw new DeltaProtocolException($"{Location}: version {snapshot.Version}: data file {file.RelativePath} is unreadable ({e.Message})", e);
            }
        }

        return total;
    }
}
