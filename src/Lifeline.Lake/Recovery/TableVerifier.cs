using Lifeline.Lake.Parquet;
using Lifeline.Lake.Protocol;
using Lifeline.Storage;

namespace Lifeline.Lake.Recovery;

/// <summary>One problem found by verification.</summary>
public sealed record VerifyProblem(string Kind, long? Version, string? File, string Message);

/// <summary>The result of verifying a table.</summary>
public sealed record VerifyReport(string Table, long? Version, int FilesChecked, long RowsRead, IReadOnlyList<VerifyProblem> Problems)
{
    /// <summary>True when no problem was found.</summary>
    public bool Ok => Problems.Count == 0;
}

/// <summary>Checks a table: log contiguous and replayable, every referenced file present with its logged size, every Parquet footer readable, optionally every row.</summary>
public static class TableVerifier
{
    /// <summary>Verifies <paramref name="table"/> at its latest version (or <paramref name="version"/>).</summary>
    public static async Task<VerifyReport> VerifyAsync(DeltaTable table, bool fullRead = false, long? version = null, CancellationToken cancellationToken = default)
    {
        var problems = new List<VerifyProblem>();
        var listing = await table.LogReader.ListAsync(cancellationToken);
        var commits = listing.Where(f => f.Kind == LogFileKind.Commit).Select(f => f.Version).Order().ToList();
        for (var i = 1; i < commits.Count; i++)
        {
            if (commits[i] != commits[i - 1] + 1)
            {
                problems.Add(new VerifyProblem("log-gap", commits[i - 1] + 1, "_delta_log/" + LogFiles.CommitName(commits[i - 1] + 1),
                    $"commit {commits[i - 1] + 1} is missing between {commits[i - 1]} and {commits[i]}"));
            }
        }

        Snapshot snapshot;
        try
        {
            snapshot = await table.GetSnapshotAsync(version, cancellationToken);
        }
        catch (DeltaProtocolException e)
        {
            problems.Add(new VerifyProblem("log", version, null, e.Message));
            return new VerifyReport(table.Location, version, 0, 0, problems);
        }

        long rows = 0;
        foreach (var file in snapshot.Files)
        {
            if (file.IsExternal)
            {
                problems.Add(new VerifyProblem("external", snapshot.Version, file.RelativePath, $"data file {file.RelativePath} is outside the table and cannot be checked"));
                continue;
            }

            var key = table.Root + file.RelativePath;
            var info = await table.Store.StatAsync(key, cancellationToken);
            if (info is null)
            {
                problems.Add(new VerifyProblem("missing", snapshot.Version, file.RelativePath, $"data file {file.RelativePath} is missing"));
                continue;
            }

            if (info.Size != file.Add.Size)
            {
                problems.Add(new VerifyProblem("size", snapshot.Version, file.RelativePath, $"data file {file.RelativePath} has {info.Size} bytes, the log says {file.Add.Size}"));
                continue;
            }

            try
            {
                var data = await table.Store.GetAsync(key, cancellationToken: cancellationToken);
                var (_, footerRows) = await ParquetFileReader.ReadFooterAsync(data, cancellationToken);
                if (file.NumRecords is { } n && n != footerRows)
                {
                    problems.Add(new VerifyProblem("stats", snapshot.Version, file.RelativePath, $"data file {file.RelativePath} has {footerRows} rows, its statistics say {n}"));
                }

                if (fullRead)
                {
                    await foreach (var batch in table.ReadFileAsync(snapshot, file, null, cancellationToken))
                    {
                        rows += batch.RowCount;
                    }
                }
                else
                {
                    rows += footerRows;
                }
            }
            catch (Exception e) when (e is not OperationCanceledException and not ObjectNotFoundException)
            {
                problems.Add(new VerifyProblem("corrupt", snapshot.Version, file.RelativePath, $"data file {file.RelativePath} is unreadable: {e.Message}"));
            }
        }

        return new VerifyReport(table.Location, snapshot.Version, snapshot.Files.Count, rows, problems);
    }
}
