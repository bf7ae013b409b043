using System.Globalization;
using Lifeline.Storage;

namespace Lifeline.Recovery.Protection;

/// <summary>
/// Where continuous protection keeps its objects in a location's store, beside the vault (whose keys are
/// <c>config</c>, <c>data/</c>, <c>index/</c>, <c>keys/</c>, <c>snapshots/</c>, <c>locks/</c>):
/// <c>lifeline/replica/lake/COMPONENT/</c> (a Delta replica of the table, commit by commit) and
/// <c>lifeline/protection/cuts/</c> (one JSON record per protection round). See docs/protection.md.
/// </summary>
public static class ProtectionLayout
{
    /// <summary>The prefix of every table replica.</summary>
    public const string ReplicaPrefix = "lifeline/replica/lake/";

    /// <summary>The prefix of the cut records.</summary>
    public const string CutPrefix = "lifeline/protection/cuts/";

    /// <summary>The Lifeline-owned heartbeat table (in the lake, and replicated as every table).</summary>
    public const string HeartbeatTable = "lifeline_heartbeat";

    /// <summary>The replica root of <paramref name="component"/> in a location's store.</summary>
    public static string ReplicaRoot(string component) => ReplicaPrefix + component + "/";

    /// <summary>The key of commit <paramref name="version"/> under a table root ("" or ending in '/').</summary>
    public static string CommitKey(string root, long version) =>
        root + "_delta_log/" + version.ToString("D20", CultureInfo.InvariantCulture) + ".json";

    /// <summary>The newest commit version under <paramref name="root"/> (one listing of its log), or -1.</summary>
    public static async Task<long> LatestCommitAsync(IObjectStore store, string root, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var newest = -1L;
        var prefix = root + "_delta_log/";
        await foreach (var o in store.ListAsync(prefix, cancellationToken))
        {
            var name = o.Key[prefix.Length..];
            if (name.Length == 25 && name.EndsWith(".json", StringComparison.Ordinal)
                && long.TryParse(name.AsSpan(0, 20), NumberStyles.None, CultureInfo.InvariantCulture, out var v) && v > newest)
            {
                newest = v;
            }
        }

        return newest;
    }

    /// <summary>The newest commit at or after <paramref name="known"/>: one stat per new commit (the cheap poll; a
    /// listing only when nothing is known yet, <paramref name="known"/> &lt; 0).</summary>
    public static async Task<long> AdvanceAsync(IObjectStore store, string root, long known, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (known < 0)
        {
            return await LatestCommitAsync(store, root, cancellationToken);
        }

        while (await store.StatAsync(CommitKey(root, known + 1), cancellationToken) is not null)
        {
            known++;
        }

        return known;
    }
}
