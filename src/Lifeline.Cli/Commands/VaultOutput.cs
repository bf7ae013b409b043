using Lifeline.Vault;

namespace Lifeline.Cli.Commands;

// The JSON documents of `lifeline vault ...`. Field names are part of the command line's contract (docs/cli.md):
// add fields, never rename or remove them. They are separate from the vault's types on purpose.

internal sealed record SnapshotJson(
    string Id,
    string ShortId,
    DateTimeOffset? Time,
    string? Host,
    string? Source,
    IReadOnlyList<string> Paths,
    IReadOnlyList<string> Tags,
    string? ParentId,
    string? OriginalId,
    SnapshotSummaryJson? Summary,
    bool Corrupt = false,
    string? Error = null)
{
    public static SnapshotJson From(SnapshotInfo s) => new(
        s.Id, s.ShortId, s.Time, s.Host, s.Source, s.Paths, s.Tags, s.ParentId, s.OriginalId,
        s.Summary is null ? null : new SnapshotSummaryJson(
            s.Summary.TotalFiles, s.Summary.TotalBytes, s.Summary.FilesNew, s.Summary.FilesChanged, s.Summary.FilesUnmodified,
            s.Summary.DataAdded, s.Summary.Errors, s.Summary.BackupStart, s.Summary.BackupEnd));

    /// <summary>A corrupt snapshot: only its id is known (<c>corrupt: true</c>, <c>error</c> says why).</summary>
    public static SnapshotJson FromCorrupt(CorruptSnapshotInfo c) => new(c.Id, c.ShortId, null, null, null, [], [], null, null, null, true, c.Reason);
}

internal sealed record SnapshotSummaryJson(
    long TotalFiles, long TotalBytes, long FilesNew, long FilesChanged, long FilesUnmodified, long DataAdded, int Errors,
    DateTimeOffset BackupStart, DateTimeOffset BackupEnd);

internal sealed record InitJson(string Id, string Location);

internal sealed record SourceErrorJson(string Path, string Message);

internal sealed record BackupJson(
    SnapshotJson Snapshot, long FilesNew, long FilesChanged, long FilesUnmodified, long DirsNew, long DirsChanged, long DirsUnmodified,
    long BlobsAdded, long DataAdded, long TotalFiles, long TotalBytes, double DurationSeconds, IReadOnlyList<SourceErrorJson> Errors);

internal sealed record NodeJson(string Path, string Type, long Size, string Mode, DateTimeOffset ModTime, string? LinkTarget)
{
    public static NodeJson From(NodeInfo n) => new(n.Path, TypeName(n.Type), n.Size, Convert.ToString(n.Mode & 0xFFF, 8).PadLeft(4, '0'), n.ModTime, n.LinkTarget);

    public static string TypeName(NodeType type) => type switch
    {
        NodeType.File => "file",
        NodeType.Dir => "dir",
        NodeType.Symlink => "symlink",
        _ => type.ToString().ToLowerInvariant(),
    };
}

internal sealed record LsJson(SnapshotJson Snapshot, IReadOnlyList<NodeJson> Nodes);

internal sealed record DiffJson(
    SnapshotJson From, SnapshotJson To, IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<string> Modified,
    long AddedBytes, long RemovedBytes);

internal sealed record RestoreJson(SnapshotJson Snapshot, string Target, long Files, long Dirs, long Bytes, double DurationSeconds);

internal sealed record CheckJson(
    bool Ok, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings, int Snapshots, long Trees, int Packs, long Blobs,
    int PacksRead, long BytesRead, bool ReadData, string? ReadDataSubset);

internal sealed record KeptJson(SnapshotJson Snapshot, IReadOnlyList<string> Reasons);

internal sealed record PruneJson(
    bool DryRun, int PacksDeleted, int PacksRewritten, int PacksWritten, long BlobsRemoved, long BytesFreed, int IndexFilesReplaced)
{
    public static PruneJson From(PruneResult r) =>
        new(r.DryRun, r.PacksDeleted, r.PacksRewritten, r.PacksWritten, r.BlobsRemoved, r.BytesFreed, r.IndexFilesReplaced);
}

internal sealed record ForgetJson(bool DryRun, IReadOnlyList<KeptJson> Keep, IReadOnlyList<SnapshotJson> Remove, PruneJson? Prune);

internal sealed record CopyJson(string Destination, int SnapshotsCopied, int SnapshotsSkipped, long BlobsCopied, long BytesCopied, int PacksCopiedWhole = 0, bool SharedMasterKey = false, bool PlaintextVerified = false);

internal sealed record KeyJson(string Id, string ShortId, DateTimeOffset Created, string Host, bool Current)
{
    public static KeyJson From(KeyInfo k) => new(k.Id, k.ShortId, k.Created, k.Host, k.Current);
}

internal sealed record KeyRemovedJson(string Removed);

internal sealed record UnlockJson(int Removed);
