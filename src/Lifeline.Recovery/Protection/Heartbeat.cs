using System.Text.Json;
using Lifeline.Lake;
using Lifeline.Lake.Schema;
using Lifeline.Storage;

namespace Lifeline.Recovery.Protection;

/// <summary>
/// The heartbeat: one row a beat (time, sequence, host) appended to the Lifeline-owned Delta table
/// <c>lifeline_heartbeat</c> in the lake, so it travels the same path as the data (replicated commit by commit to
/// the secondary). Each commit also carries a Delta <c>txn</c> action (app id <see cref="AppId"/>, version = the
/// beat's Unix time in milliseconds), so the beat's time is read from the commit file alone, without Parquet.
/// The table keeps 10 minutes of log and files (its properties) and is compacted by <see cref="CompactAsync"/>.
/// </summary>
public static class Heartbeat
{
    /// <summary>The txn app id of every beat.</summary>
    public const string AppId = "lifeline-heartbeat";

    private static readonly StructType Schema = new(
    [
        new StructField("time", PrimitiveType.Timestamp, Nullable: false),
        new StructField("sequence", PrimitiveType.Long, Nullable: false),
        new StructField("host", PrimitiveType.String),
    ]);

    private static readonly Dictionary<string, string?> Properties = new()
    {
        ["delta.logRetentionDuration"] = "interval 10 minutes",
        ["delta.deletedFileRetentionDuration"] = "interval 10 minutes",
    };

    /// <summary>Creates the table when it does not exist (another process creating it first is fine).</summary>
    public static async Task EnsureAsync(DeltaTable table, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (await table.ExistsAsync(cancellationToken))
        {
            return;
        }

        try
        {
            await table.CreateAsync(Schema, null, Properties, ProtectionLayout.HeartbeatTable, cancellationToken);
        }
        catch (DeltaProtocolException)
        {
            if (!await table.ExistsAsync(cancellationToken))
            {
                throw;
            }

            // created meanwhile by another process
        }
    }

    /// <summary>Writes one beat at <paramref name="time"/>; returns its commit version (or -1 when skipped: a clock that went back).</summary>
    public static async Task<long> BeatAsync(DeltaTable table, DateTimeOffset time, long sequence, string host, bool overwrite, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        var row = new Dictionary<string, object?> { ["time"] = time, ["sequence"] = sequence, ["host"] = host };
        var options = new WriteOptions { AppId = AppId, TxnVersion = time.ToUnixTimeMilliseconds() };
        var result = overwrite ? await table.OverwriteAsync([row], options, cancellationToken) : await table.AppendAsync([row], options, cancellationToken);
        return result.Skipped ? -1 : result.Version;
    }

    /// <summary>Drops the table's old log and files (its 10-minute retention) after an overwrite made the old ones unreferenced.</summary>
    public static async Task CompactAsync(DeltaTable table, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(table);
        await table.VacuumAsync(null, false, false, cancellationToken);
        await table.CleanupLogAsync(cancellationToken);
    }

    /// <summary>The beat time of commit <paramref name="version"/> under <paramref name="root"/>, from its txn action;
    /// null when the commit holds no beat (the create commit) or does not exist.</summary>
    public static async Task<DateTimeOffset?> ReadBeatAsync(IObjectStore store, string root, long version, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (version < 0)
        {
            return null;
        }

        byte[] bytes;
        try
        {
            bytes = await store.GetAsync(ProtectionLayout.CommitKey(root, version), cancellationToken: cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }

        foreach (var line in System.Text.Encoding.UTF8.GetString(bytes).Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("txn", out var txn)
                && txn.TryGetProperty("appId", out var app) && app.GetString() == AppId
                && txn.TryGetProperty("version", out var v) && v.TryGetInt64(out var ms))
            {
                return DateTimeOffset.FromUnixTimeMilliseconds(ms);
            }
        }

        return null;
    }

    /// <summary>The newest beat in the table under <paramref name="root"/> of <paramref name="store"/> (a replica
    /// in the secondary, typically), or null.</summary>
    public static async Task<DateTimeOffset?> NewestAsync(IObjectStore store, string root, CancellationToken cancellationToken)
    {
        var version = await ProtectionLayout.LatestCommitAsync(store, root, cancellationToken);
        return await ReadBeatAsync(store, root, version, cancellationToken);
    }
}
