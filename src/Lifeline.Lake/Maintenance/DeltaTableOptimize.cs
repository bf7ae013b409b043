using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Lifeline.Lake.Parquet;
using Lifeline.Lake.Protocol;
using Lifeline.Lake.Schema;

namespace Lifeline.Lake;

/// <summary>Options of <see cref="DeltaTable.OptimizeAsync(OptimizeOptions?, CancellationToken)"/> (Delta's bin-packing OPTIMIZE).</summary>
public sealed record OptimizeOptions
{
    /// <summary>128 MiB.</summary>
    public const long DefaultTargetFileSize = 128L * 1024 * 1024;

    /// <summary>The size the compacted files aim for (the sum of the input files' sizes per output file, as Delta bins them). Default 128 MiB.</summary>
    public long TargetFileSize { get; init; } = DefaultTargetFileSize;

    /// <summary>Only files smaller than this are compacted. Default: <see cref="TargetFileSize"/>.</summary>
    public long? MinFileSize { get; init; }

    /// <summary>Only files whose typed partition values pass are compacted (e.g. <c>p =&gt; (DateOnly)p["date"]! &lt; today</c>). Default: all.</summary>
    public Func<IReadOnlyDictionary<string, object?>, bool>? PartitionFilter { get; init; }

    /// <summary>
    /// At most this many rows per compacted file (from the input files' statistics; a file without statistics counts
    /// as 0). Default: 1,000,000, the writer's own limit. Memory does not depend on it: the rows are streamed from the
    /// input files into the output's row groups, one input row group decoded at a time.
    /// </summary>
    public long MaxRowsPerFile { get; init; } = 1_000_000;

    /// <summary>Called after the compacted files are written and before the commit (tests interleave a concurrent writer here).</summary>
    public Func<IReadOnlyList<string>, Task>? BeforeCommit { get; init; }
}

/// <summary>What an OPTIMIZE did. <see cref="Version"/> is null when there was nothing to compact (no commit).</summary>
public sealed record OptimizeResult(long? Version, int FilesAdded, int FilesRemoved, long BytesAdded, long BytesRemoved,
    int PartitionsOptimized, long CandidateFiles, int Attempts)
{
    /// <summary>One line for a human.</summary>
    public string Describe(string table) => Version is { } v
        ? $"{table}: OPTIMIZE committed version {v}: {FilesRemoved} files ({BytesRemoved:N0} bytes) compacted into {FilesAdded} ({BytesAdded:N0} bytes) in {PartitionsOptimized} partition(s)"
        : $"{table}: OPTIMIZE: nothing to compact ({CandidateFiles} small file(s), none in a partition with two or more)";
}

/// <summary>OPTIMIZE: bin-packing compaction of small files, as Delta defines it.</summary>
public sealed partial class DeltaTable
{
    /// <summary>
    /// Compacts the small files of each partition into as few files as fit <see cref="OptimizeOptions.TargetFileSize"/>
    /// and commits, in one commit with operation <c>OPTIMIZE</c>, the new files' <c>add</c>s and the old files'
    /// <c>remove</c>s, all with <c>dataChange=false</c> (the rows are the same: streaming and change-data readers skip
    /// the commit). The old files stay on disk until VACUUM's retention passes, so time travel to an earlier version
    /// still reads. A concurrent append is kept (the commit is retried at the next version); a concurrent commit that
    /// removed one of the input files, or changed the metadata, makes it fail with
    /// <see cref="DeltaConcurrentModificationException"/> (its new files are deleted; rerun it).
    /// </summary>
    public async Task<OptimizeResult> OptimizeAsync(OptimizeOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new OptimizeOptions();
        if (options.TargetFileSize <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.TargetFileSize, "the target file size must be positive");
        }

        var minFileSize = options.MinFileSize ?? options.TargetFileSize;
        var read = await GetSnapshotAsync(null, cancellationToken);
        CheckWritable(read, WriteKind.Append); // OPTIMIZE changes no data: allowed on append-only tables, as in Delta
        var partitionColumns = read.Metadata.PartitionColumns;

        // 1. candidates: small files, per partition, oldest first (keeps the rows in arrival order)
        var candidates = read.Files
            .Where(f => !f.IsExternal && f.Add.DeletionVector is null && f.Add.Size < minFileSize)
            .Where(f => options.PartitionFilter is null || options.PartitionFilter(TypedPartitionValues(read, f)))
            .ToList();
        var bins = new List<List<DataFile>>();
        foreach (var partition in candidates.GroupBy(f => PartitionText(f, partitionColumns), StringComparer.Ordinal))
        {
            var bin = new List<DataFile>();
            long binSize = 0, binRows = 0;
            foreach (var file in partition.OrderBy(f => f.Add.ModificationTime).ThenBy(f => f.RelativePath, StringComparer.Ordinal))
            {
                var rows = file.NumRecords ?? 0;
                if (bin.Count > 0 && (binSize + file.Add.Size > options.TargetFileSize || binRows + rows > options.MaxRowsPerFile))
                {
                    bins.Add(bin);
                    bin = [];
                    binSize = binRows = 0;
                }

                bin.Add(file);
                binSize += file.Add.Size;
                binRows += rows;
            }

            bins.Add(bin);
        }

        bins.RemoveAll(b => b.Count < 2); // a single file is already as compact as it gets
        if (bins.Count == 0)
        {
            return new OptimizeResult(null, 0, 0, 0, 0, 0, candidates.Count, 0);
        }

        // 2. the compacted files, written before the commit (a crash leaves only orphans that VACUUM removes)
        var dataSchema = new StructType([.. read.Schema.Fields.Where(f => !partitionColumns.Contains(f.Name))]);
        var dataColumns = dataSchema.Fields.Select(f => f.Name).ToList();
        var adds = new List<AddAction>();
        var written = new List<string>();
        var committing = false; // once a commit put was tried, an error may hide a commit that landed: keep the files
        try
        {
            foreach (var bin in bins)
            {
                // streamed: one input row group is decoded at a time and its rows go straight into the output's
                // current row group (a bin's rows held as dictionaries took over 1 GB under lifeline up)
                async IAsyncEnumerable<IReadOnlyDictionary<string, object?>> Rows()
                {
                    foreach (var file in bin)
                    {
                        await foreach (var batch in ReadFileAsync(read, file, dataColumns, cancellationToken))
                        {
                            for (var i = 0; i < batch.RowCount; i++)
                            {
                                yield return batch.Row(i);
                            }
                        }
                    }
                }

                var add = await WriteCompactedFileAsync(dataSchema, partitionColumns, bin[0].Add.PartitionValues, Rows(), cancellationToken);
                written.Add(Uri.UnescapeDataString(add.Path));
                adds.Add(add);
            }

            if (options.BeforeCommit is { } hook)
            {
                await hook(written);
            }

            // 3. one commit: adds and removes, dataChange=false
            var removed = bins.SelectMany(b => b).ToList();
            var now = Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds();
            var body = new List<JsonObject>();
            body.AddRange(adds.Select(a => new JsonObject { ["add"] = a.ToJson() }));
            body.AddRange(removed.Select(f => new JsonObject
            {
                ["remove"] = new RemoveAction
                {
                    Path = f.Add.Path,
                    DeletionTimestamp = now,
                    DataChange = false,
                    ExtendedFileMetadata = true,
                    PartitionValues = f.Add.PartitionValues,
                    Size = f.Add.Size,
                }.ToJson(),
            }));
            var parameters = new JsonObject
            {
                ["predicate"] = options.PartitionFilter is null ? "[]" : "[\"partition predicate\"]",
                ["zOrderBy"] = "[]",
                ["clusterBy"] = "[]",
                ["auto"] = false,
            };
            var metrics = OptimizeMetrics(adds, removed);
            var removedPaths = removed.Select(f => f.RelativePath).ToHashSet(StringComparer.Ordinal);
            var version = read.Version + 1;
            committing = true;
            for (var attempt = 1; ; attempt++)
            {
                var actions = new List<JsonObject> { OptimizeCommitInfo(parameters, metrics, read.Version) };
                actions.AddRange(body);
                if (await Store.PutIfAbsentAsync(_log.LogPrefix + LogFiles.CommitName(version), Encode(actions), cancellationToken))
                {
                    var result = new OptimizeResult(version, adds.Count, removed.Count, adds.Sum(a => a.Size), removed.Sum(f => f.Add.Size),
                        bins.Select(b => PartitionText(b[0], partitionColumns)).Distinct(StringComparer.Ordinal).Count(), candidates.Count, attempt);
                    Log.Committed(Options.Logger, Location, version, "OPTIMIZE");
                    Log.Optimized(Options.Logger, Location, version, removed.Count, adds.Count);
                    await MaybeCheckpointAsync(version, cancellationToken);
                    return result;
                }

                if (attempt > Options.MaxCommitRetries)
                {
                    await DeleteUncommittedAsync(written);
                    throw new DeltaConcurrentModificationException($"{Location}: OPTIMIZE of version {read.Version}: gave up after {attempt} attempts lost to concurrent commits; run it again");
                }

                // lost the race: appends only add files and never conflict; a commit that removed an input file does
                var (next, conflict) = await CatchUpAsync(version, (v, winner) =>
                {
                    foreach (var a in winner)
                    {
                        if (a.Metadata is not null || a.Protocol is not null)
                        {
                            return $"{Location}: OPTIMIZE: version {v}, a concurrent commit, changed the table's metadata or protocol; run it again";
                        }

                        if (a.Remove is { } rm && removedPaths.Contains(LogReader.DecodePath(rm.Path, Location)))
                        {
                            return $"{Location}: OPTIMIZE: version {v}, a concurrent commit, removed file {rm.Path} that this OPTIMIZE compacts; run it again";
                        }
                    }

                    return null;
                }, cancellationToken);
                if (conflict is not null)
                {
                    await DeleteUncommittedAsync(written);
                    throw new DeltaConcurrentModificationException(conflict);
                }

                Log.CommitRetry(Options.Logger, Location, version, next);
                version = next;
            }
        }
        catch (Exception) when (!committing)
        {
            // failed before any commit was tried (a read, a write, cancellation): the new files are nobody's
            await DeleteUncommittedAsync(written);
            throw;
        }
    }

    private async Task DeleteUncommittedAsync(List<string> written)
    {
        foreach (var path in written)
        {
            try
            {
                await Store.DeleteAsync(Root + path, CancellationToken.None);
            }
            catch (Exception e) when (e is IOException or TimeoutException or UnauthorizedAccessException or Storage.ObjectStoreAuthException)
            {
                // left as an orphan: VACUUM removes it after the retention
            }
        }
    }

    /// <summary>How many active files are smaller than <paramref name="minFileSize"/> (default 128 MiB), from the latest snapshot.</summary>
    public async Task<int> CountSmallFilesAsync(long minFileSize = OptimizeOptions.DefaultTargetFileSize, CancellationToken cancellationToken = default)
    {
        var snapshot = await GetSnapshotAsync(null, cancellationToken);
        return snapshot.FilesByKey.Values.Count(f => !f.IsExternal && f.Add.Size < minFileSize);
    }

    private static string PartitionText(DataFile file, IReadOnlyList<string> partitionColumns) =>
        string.Join('\u0001', partitionColumns.Select(c => file.Add.PartitionValues.TryGetValue(c, out var v) ? v ?? "\u0000" : "\u0000"));

    private Task<AddAction> WriteCompactedFileAsync(StructType dataSchema, IReadOnlyList<string> partitionColumns,
        IReadOnlyDictionary<string, string?> sourcePartitionValues, IAsyncEnumerable<IReadOnlyDictionary<string, object?>> rows, CancellationToken ct)
    {
        // the partition values are the input files' own text (not re-formatted), so the file lands in the same partition
        var partitionValues = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (var c in partitionColumns)
        {
            sourcePartitionValues.TryGetValue(c, out var text);
            partitionValues[c] = text;
        }

        return WriteFileAsync(dataSchema, partitionColumns, partitionValues, rows, dataChange: false, spool: true, ct);
    }

    /// <summary>Spark's OPTIMIZE operationMetrics (all values strings, as Spark writes them).</summary>
    private static JsonObject OptimizeMetrics(List<AddAction> adds, List<DataFile> removed)
    {
        var sizes = adds.Select(a => a.Size).Order().ToArray();
        long Percentile(double p) => sizes[(int)Math.Min(sizes.Length - 1, Math.Floor(p * sizes.Length))];
        string S(long v) => v.ToString(CultureInfo.InvariantCulture);
        return new JsonObject
        {
            ["numRemovedFiles"] = S(removed.Count),
            ["numRemovedBytes"] = S(removed.Sum(f => f.Add.Size)),
            ["p25FileSize"] = S(Percentile(0.25)),
            ["numDeletionVectorsRemoved"] = "0",
            ["minFileSize"] = S(sizes[0]),
            ["numAddedFiles"] = S(adds.Count),
            ["maxFileSize"] = S(sizes[^1]),
            ["p75FileSize"] = S(Percentile(0.75)),
            ["p50FileSize"] = S(Percentile(0.5)),
            ["numAddedBytes"] = S(sizes.Sum()),
        };
    }

    private JsonObject OptimizeCommitInfo(JsonObject parameters, JsonObject metrics, long readVersion) => new()
    {
        ["commitInfo"] = new JsonObject
        {
            ["timestamp"] = Options.TimeProvider.GetUtcNow().ToUnixTimeMilliseconds(),
            ["operation"] = "OPTIMIZE",
            ["operationParameters"] = parameters.DeepClone(),
            ["readVersion"] = readVersion,
            ["isolationLevel"] = "SnapshotIsolation",
            ["isBlindAppend"] = false,
            ["operationMetrics"] = metrics.DeepClone(),
            ["engineInfo"] = Options.EngineInfo,
            ["txnId"] = Guid.NewGuid().ToString(),
        },
    };
}
