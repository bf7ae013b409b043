namespace Lifeline.Vault;

/// <summary>Options for creating a new repository. Every property has a documented default.</summary>
public sealed record VaultInitOptions
{
    /// <summary>Argon2id memory in KiB. Default 65536 (64 MiB); tests use <see cref="ForTests"/>.</summary>
    public int KdfMemoryKiB { get; init; } = 64 * 1024;

    /// <summary>
    /// Argon2id iterations (time cost). Default 1: with 64 MiB this is above OWASP's minimum (46 MiB, 1 iteration)
    /// and keeps every open of the vault (every CLI command) at a few hundred milliseconds.
    /// </summary>
    public int KdfIterations { get; init; } = 1;

    /// <summary>Argon2id parallelism (lanes). Default 2.</summary>
    public int KdfParallelism { get; init; } = 2;

    /// <summary>Minimum chunk size in bytes. Default 512 KiB.</summary>
    public int ChunkMinSize { get; init; } = 512 * 1024;

    /// <summary>Average (target) chunk size in bytes, a power of two. Default 1 MiB.</summary>
    public int ChunkAverageSize { get; init; } = 1024 * 1024;

    /// <summary>Maximum chunk size in bytes. Default 8 MiB.</summary>
    public int ChunkMaxSize { get; init; } = 8 * 1024 * 1024;

    /// <summary>Target pack size in bytes. Default 16 MiB.</summary>
    public int PackSize { get; init; } = 16 * 1024 * 1024;

    /// <summary>
    /// Take the chunker parameters and secret gear seed from this open repository (restic's
    /// <c>--copy-chunker-params</c>), so that data backed up directly into the new one deduplicates against data
    /// copied from it. Default null: fresh random parameters.
    /// </summary>
    public VaultRepository? CopyChunkerParamsFrom { get; init; }

    /// <summary>
    /// Also take the master key from this open repository (a second location of the same data; new key files wrap it
    /// with this repository's own password). A copy between two repositories that share the master key and the chunker
    /// parameters writes a fully needed, verified source pack as its own bytes instead of re-encrypting it blob by blob
    /// (docs/vault.md, "Copy"). Default null: a fresh random master key. Who holds a password of either repository can
    /// read both.
    /// </summary>
    public VaultRepository? CopyMasterKeyFrom { get; init; }

    /// <summary>Small KDF parameters (8 MiB, 1 iteration, 1 lane) for tests; never use for real data.</summary>
    public static VaultInitOptions ForTests { get; } = new() { KdfMemoryKiB = 8 * 1024, KdfIterations = 1, KdfParallelism = 1 };
}

/// <summary>Options that apply to an opened repository (not stored in it).</summary>
public sealed record VaultOpenOptions
{
    /// <summary>Lock lease time-to-live. Default 60 s; the lease is renewed every TTL/3 while work runs.</summary>
    public TimeSpan LockTtl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long to wait for a conflicting lock to be released before giving up with
    /// <see cref="RepositoryLockedException"/> (restic's <c>--retry-lock</c>): a backup waits out a prune, a prune
    /// waits for the running backups to finish. Polled with a growing delay (250 ms to 5 s) on the vault's clock.
    /// Default zero: fail at once.
    /// </summary>
    public TimeSpan LockWait { get; init; }

    /// <summary>Host name recorded in snapshots, keys and locks. Default <see cref="Environment.MachineName"/>.</summary>
    public string? Host { get; init; }

    /// <summary>Number of compress+encrypt workers during backup. Default <see cref="Environment.ProcessorCount"/>.</summary>
    public int? Workers { get; init; }

    /// <summary>
    /// zstd level for new blobs (1-19; not part of the format). Default 1: on the benchmark data set it was 25-40 %
    /// faster than level 3 for a repository no larger (docs/benchmarks.md); raise it for very redundant text.
    /// </summary>
    public int CompressionLevel { get; init; } = 1;

    /// <summary>
    /// Full backups (no parent snapshot): how far ahead of the reader, in bytes of file content, a read-ahead walker
    /// asks the kernel to read files into the page cache, across files and directories. Default 64 MiB; 0 = only the
    /// next file of the same directory (what re-backups with a parent always do).
    /// </summary>
    public long ReadAheadBytes { get; init; } = 64L << 20;

    /// <summary>Where the vault logs its events. Default none.</summary>
    public Microsoft.Extensions.Logging.ILogger? Logger { get; init; }

    /// <summary>
    /// Read every pack back from the store right after writing it (backup) or copying it (copy), and fail the run with
    /// <see cref="PackReadBackException"/> when it is not what was written. Default true (docs/verification.md).
    /// </summary>
    public bool ReadBackPacks { get; init; } = true;

    /// <summary>The pool of the backup's and the copy's large buffers; default the process's shared one
    /// (<c>VaultBuffers.Runs</c>). Tests pass a pool that checks each buffer goes back once.</summary>
    internal System.Buffers.ArrayPool<byte>? BufferPool { get; init; }
}

/// <summary>What to back up.</summary>
public sealed record BackupRequest
{
    /// <summary>Files or directories to back up (absolute or relative to the current directory).</summary>
    public required IReadOnlyList<string> Paths { get; init; }

    /// <summary>The source name (which protected component this is), e.g. "registry". Default "default".</summary>
    public string Source { get; init; } = "default";

    /// <summary>Tags stored with the snapshot.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>Host name stored with the snapshot; default the repository's host.</summary>
    public string? Host { get; init; }

    /// <summary>Parent snapshot id (prefix) to compare against; default the newest with the same source, host and paths.</summary>
    public string? ParentId { get; init; }

    /// <summary>When true, every file is read and chunked even if unchanged since the parent. Default false.</summary>
    public bool Force { get; init; }
}

/// <summary>The outcome of a backup.</summary>
public sealed record BackupResult
{
    /// <summary>The snapshot written.</summary>
    public required SnapshotInfo Snapshot { get; init; }

    /// <summary>Files not in the parent.</summary>
    public long FilesNew { get; init; }

    /// <summary>Files in the parent but changed.</summary>
    public long FilesChanged { get; init; }

    /// <summary>Files unchanged since the parent.</summary>
    public long FilesUnmodified { get; init; }

    /// <summary>Directories not in the parent.</summary>
    public long DirsNew { get; init; }

    /// <summary>Directories in the parent whose tree changed.</summary>
    public long DirsChanged { get; init; }

    /// <summary>Directories whose tree is unchanged.</summary>
    public long DirsUnmodified { get; init; }

    /// <summary>Blobs newly stored.</summary>
    public long BlobsAdded { get; init; }

    /// <summary>Bytes newly stored in packs (after compression and encryption).</summary>
    public long DataAdded { get; init; }

    /// <summary>Plaintext bytes of the new data blobs (content not already in the vault), before compression.</summary>
    public long RawDataAdded { get; init; }

    /// <summary>Of <see cref="RawDataAdded"/>, the bytes that did not compress (stored as they were): encrypted or
    /// already compressed content. A sudden spike of it is what ransomware encrypting the source looks like.</summary>
    public long IncompressibleAdded { get; init; }

    /// <summary>Packs read back and verified after they were written (<see cref="VaultOpenOptions.ReadBackPacks"/>).</summary>
    public int PacksReadBack { get; init; }

    /// <summary>Total files in the snapshot.</summary>
    public long TotalFiles { get; init; }

    /// <summary>Total bytes of file content in the snapshot.</summary>
    public long TotalBytes { get; init; }

    /// <summary>Wall time of the backup.</summary>
    public TimeSpan Duration { get; init; }

    /// <summary>Source paths that could not be read; non-empty means "partly backed up".</summary>
    public IReadOnlyList<SourceError> Errors { get; init; } = [];

    /// <summary>Where the time went, per stage (for benchmarks and a stats flag; not stored in the snapshot).</summary>
    public BackupStageTimes Stages { get; init; } = new();
}

/// <summary>
/// Time spent per stage of one backup. The reader's stages (walk, read, chunk, copy, waiting for the workers) are on
/// one thread and add up to about the wall time; the workers' stages (hash, compress+encrypt, waiting for uploads)
/// are summed over all workers (compare with workers × wall time to see how busy they were); write is the store's
/// time, summed over uploads. <see cref="Cpu"/> is the process's CPU time during the run: divided by the cores it is
/// the shortest wall time the machine allows for that work (<see cref="CoreLimit"/>).
/// </summary>
public sealed record BackupStageTimes
{
    /// <summary>Before the engine starts: the shared lock, refreshing the index, finding the parent snapshot.</summary>
    public TimeSpan Prepare { get; init; }

    /// <summary>Reader: stat, list directories, open files, trees (the reader's time not in its other stages).</summary>
    public TimeSpan Walk { get; init; }

    /// <summary>After the reader is done: the workers' last packs, their uploads, the last index file, the snapshot.</summary>
    public TimeSpan Finish { get; init; }

    /// <summary>Reader: read calls (cold cache: mostly the disk).</summary>
    public TimeSpan Read { get; init; }

    /// <summary>Reader: finding chunk boundaries (FastCDC).</summary>
    public TimeSpan Chunk { get; init; }

    /// <summary>Reader: copying each chunk out of the read buffer for the workers.</summary>
    public TimeSpan Copy { get; init; }

    /// <summary>Workers, summed: SHA-256 of every chunk (the reader only finds the boundaries).</summary>
    public TimeSpan Hash { get; init; }

    /// <summary>Reader: blocked handing chunks to the workers (they are behind).</summary>
    public TimeSpan WaitForWorkers { get; init; }

    /// <summary>Workers, summed: compression decision, zstd, AES-GCM, packing.</summary>
    public TimeSpan CompressEncrypt { get; init; }

    /// <summary>Workers, summed: blocked waiting for an upload slot.</summary>
    public TimeSpan WaitForUpload { get; init; }

    /// <summary>Uploads, summed: writing packs and index files to the store.</summary>
    public TimeSpan Write { get; init; }

    /// <summary>Number of workers.</summary>
    public int Workers { get; init; }

    /// <summary>CPU time (user + system) of the whole process while the engine ran, all threads.</summary>
    public TimeSpan Cpu { get; init; }

    /// <summary>Cores the process could use (<see cref="Environment.ProcessorCount"/>).</summary>
    public int Cores { get; init; }

    /// <summary>The wall time if every core were busy all the time with this run's CPU work: <see cref="Cpu"/> / <see cref="Cores"/>.</summary>
    public TimeSpan CoreLimit => Cores > 0 ? Cpu / Cores : TimeSpan.Zero;
}

/// <summary>A source path that could not be backed up, and why.</summary>
public sealed record SourceError(string Path, string Message);

/// <summary>Statistics stored in a snapshot.</summary>
public sealed record SnapshotSummary
{
    /// <summary>Files in the snapshot.</summary>
    public long TotalFiles { get; init; }

    /// <summary>Bytes of file content in the snapshot.</summary>
    public long TotalBytes { get; init; }

    /// <summary>Files not in the parent.</summary>
    public long FilesNew { get; init; }

    /// <summary>Files changed since the parent.</summary>
    public long FilesChanged { get; init; }

    /// <summary>Files unchanged since the parent.</summary>
    public long FilesUnmodified { get; init; }

    /// <summary>Bytes newly stored (after compression and encryption).</summary>
    public long DataAdded { get; init; }

    /// <summary>Number of source errors (files not backed up).</summary>
    public int Errors { get; init; }

    /// <summary>When the backup started.</summary>
    public DateTimeOffset BackupStart { get; init; }

    /// <summary>When the backup ended.</summary>
    public DateTimeOffset BackupEnd { get; init; }
}

/// <summary>A snapshot as stored in the repository.</summary>
public sealed record SnapshotInfo
{
    /// <summary>Full id (64 hex characters).</summary>
    public required string Id { get; init; }

    /// <summary>The first 8 characters of <see cref="Id"/>.</summary>
    public string ShortId => Id.Length > 8 ? Id[..8] : Id;

    /// <summary>When the snapshot was taken.</summary>
    public DateTimeOffset Time { get; init; }

    /// <summary>Host name.</summary>
    public string Host { get; init; } = "";

    /// <summary>Source name.</summary>
    public string Source { get; init; } = "";

    /// <summary>Backed-up paths (absolute).</summary>
    public IReadOnlyList<string> Paths { get; init; } = [];

    /// <summary>Tags.</summary>
    public IReadOnlyList<string> Tags { get; init; } = [];

    /// <summary>The parent snapshot id, if any.</summary>
    public string? ParentId { get; init; }

    /// <summary>The root tree blob id.</summary>
    public string TreeId { get; init; } = "";

    /// <summary>When copied from another repository, the id of the snapshot there.</summary>
    public string? OriginalId { get; init; }

    /// <summary>Statistics of the backup.</summary>
    public SnapshotSummary? Summary { get; init; }
}

/// <summary>A snapshot file that cannot be read: its content hash, authentication or decoding fails.</summary>
public sealed record CorruptSnapshotInfo
{
    /// <summary>Full id (the file name, 64 hex characters).</summary>
    public required string Id { get; init; }

    /// <summary>The first 8 characters of <see cref="Id"/>.</summary>
    public string ShortId => Id.Length > 8 ? Id[..8] : Id;

    /// <summary>What is wrong, e.g. "fails authentication".</summary>
    public required string Reason { get; init; }

    /// <summary>When the store last wrote the file (an upper bound of the snapshot's time, which cannot be read).</summary>
    public DateTimeOffset StoredAt { get; init; }
}

/// <summary>The snapshots of a repository: the readable ones matching a filter, and every corrupt one (which no filter can select).</summary>
public sealed record SnapshotListing
{
    /// <summary>Readable snapshots matching the filter, oldest first.</summary>
    public required IReadOnlyList<SnapshotInfo> Snapshots { get; init; }

    /// <summary>Snapshot files that cannot be read, by id.</summary>
    public required IReadOnlyList<CorruptSnapshotInfo> Corrupt { get; init; }

    /// <summary>
    /// The corrupt snapshots that may be newer than <paramref name="chosen"/> (stored after its time: a snapshot's file
    /// is written after the time it records), so that picking <paramref name="chosen"/> as "latest" could be wrong.
    /// </summary>
    public IReadOnlyList<CorruptSnapshotInfo> MaybeNewerThan(SnapshotInfo? chosen) =>
        chosen is null ? Corrupt : Corrupt.Where(c => c.StoredAt >= chosen.Time).ToList();
}

/// <summary>Selects snapshots; null properties match everything.</summary>
public sealed record SnapshotFilter
{
    /// <summary>Only this source.</summary>
    public string? Source { get; init; }

    /// <summary>Only snapshots carrying all of these tags.</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    /// <summary>Only this host.</summary>
    public string? Host { get; init; }

    /// <summary>Only snapshots taken at or after this time.</summary>
    public DateTimeOffset? Since { get; init; }

    /// <summary>Only snapshots taken at or before this time.</summary>
    public DateTimeOffset? Until { get; init; }
}

/// <summary>The kind of a tree entry.</summary>
public enum NodeType
{
    /// <summary>A regular file.</summary>
    File,

    /// <summary>A directory.</summary>
    Dir,

    /// <summary>A symbolic link.</summary>
    Symlink,
}

/// <summary>One entry of a snapshot's tree.</summary>
public sealed record NodeInfo
{
    /// <summary>Path inside the snapshot, '/'-separated, starting with '/'.</summary>
    public required string Path { get; init; }

    /// <summary>File, directory or symlink.</summary>
    public NodeType Type { get; init; }

    /// <summary>Size in bytes (files).</summary>
    public long Size { get; init; }

    /// <summary>Unix mode bits (permissions).</summary>
    public int Mode { get; init; }

    /// <summary>Modification time.</summary>
    public DateTimeOffset ModTime { get; init; }

    /// <summary>Symlink target (symlinks).</summary>
    public string? LinkTarget { get; init; }
}

/// <summary>Differences between two snapshots (paths).</summary>
public sealed record DiffResult
{
    /// <summary>Paths only in the newer snapshot.</summary>
    public IReadOnlyList<string> Added { get; init; } = [];

    /// <summary>Paths only in the older snapshot.</summary>
    public IReadOnlyList<string> Removed { get; init; } = [];

    /// <summary>Paths in both whose content, type or metadata differ.</summary>
    public IReadOnlyList<string> Modified { get; init; } = [];

    /// <summary>Bytes of added files.</summary>
    public long AddedBytes { get; init; }

    /// <summary>Bytes of removed files.</summary>
    public long RemovedBytes { get; init; }
}

/// <summary>What to restore, and where.</summary>
public sealed record RestoreRequest
{
    /// <summary>The snapshot to restore.</summary>
    public required SnapshotInfo Snapshot { get; init; }

    /// <summary>The directory to restore into (created if missing).</summary>
    public required string TargetDirectory { get; init; }

    /// <summary>Glob patterns ('*', '?', '**') on snapshot paths; empty means everything.</summary>
    public IReadOnlyList<string> Include { get; init; } = [];

    /// <summary>Allow a non-empty target; existing files are replaced. Default false.</summary>
    public bool Overwrite { get; init; }
}

/// <summary>The outcome of a restore.</summary>
public sealed record RestoreResult
{
    /// <summary>Files written.</summary>
    public long Files { get; init; }

    /// <summary>Directories created.</summary>
    public long Dirs { get; init; }

    /// <summary>Bytes written.</summary>
    public long Bytes { get; init; }

    /// <summary>Where the restore's time went.</summary>
    public RestoreStageTimes Stages { get; init; } = new();
}

/// <summary>
/// Time spent per stage of one restore. Read is the pack reader's (one thread); decode and write are summed over the
/// workers; <see cref="Cpu"/> is the process's CPU time during the restore (divide by <see cref="Cores"/> for the
/// shortest wall time the machine allows).
/// </summary>
public sealed record RestoreStageTimes
{
    /// <summary>Loading the trees, validating names, planning the reads, creating directories.</summary>
    public TimeSpan Plan { get; init; }

    /// <summary>Pack reader: the store's ranged reads of the packs.</summary>
    public TimeSpan Read { get; init; }

    /// <summary>Pack reader: blocked handing packs to the workers (they are behind).</summary>
    public TimeSpan WaitForWorkers { get; init; }

    /// <summary>Workers, summed: AES-GCM and zstd of every blob.</summary>
    public TimeSpan Decode { get; init; }

    /// <summary>Workers, summed: opening (and preallocating) files and writing blobs into them.</summary>
    public TimeSpan Write { get; init; }

    /// <summary>Workers, summed: modes, mtimes and the rename of each completed file.</summary>
    public TimeSpan Complete { get; init; }

    /// <summary>After the files: symlinks and directory modes and mtimes.</summary>
    public TimeSpan Finish { get; init; }

    /// <summary>CPU time (user + system) of the whole process during the restore.</summary>
    public TimeSpan Cpu { get; init; }

    /// <summary>Cores the process could use.</summary>
    public int Cores { get; init; }

    /// <summary>Number of ranged pack reads.</summary>
    public int PackReads { get; init; }
}

/// <summary>What a check verifies.</summary>
public sealed record CheckOptions
{
    /// <summary>Decrypt and verify the hash of every blob in every pack. Default false.</summary>
    public bool ReadData { get; init; }

    /// <summary>Read only subset N of T (1-based) of the packs, a deterministic partition by pack id.</summary>
    public (int N, int T)? ReadDataSubset { get; init; }
}

/// <summary>The outcome of a check.</summary>
public sealed record CheckResult
{
    /// <summary>Every problem found, one line each.</summary>
    public IReadOnlyList<string> Errors { get; init; } = [];

    /// <summary>Harmless findings (e.g. packs not referenced by the index, left by an interrupted backup).</summary>
    public IReadOnlyList<string> Warnings { get; init; } = [];

    /// <summary>Snapshots checked.</summary>
    public int Snapshots { get; init; }

    /// <summary>Trees checked.</summary>
    public long Trees { get; init; }

    /// <summary>Packs in the store.</summary>
    public int Packs { get; init; }

    /// <summary>Blobs in the index.</summary>
    public long Blobs { get; init; }

    /// <summary>Packs whose data was read.</summary>
    public int PacksRead { get; init; }

    /// <summary>Bytes of pack data read.</summary>
    public long BytesRead { get; init; }

    /// <summary>True when no errors were found.</summary>
    public bool Ok => Errors.Count == 0;
}

/// <summary>Which snapshots to keep, with restic's semantics. Null means "not used".</summary>
public sealed record RetentionPolicy
{
    /// <summary>Keep the newest N snapshots.</summary>
    public int? KeepLast { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N hours that have one.</summary>
    public int? KeepHourly { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N days that have one.</summary>
    public int? KeepDaily { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N ISO weeks that have one.</summary>
    public int? KeepWeekly { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N months that have one.</summary>
    public int? KeepMonthly { get; init; }

    /// <summary>Keep the newest snapshot of each of the last N years that have one.</summary>
    public int? KeepYearly { get; init; }

    /// <summary>Keep every snapshot taken within this duration before the newest snapshot of its group.</summary>
    public TimeSpan? KeepWithin { get; init; }

    /// <summary>Keep every snapshot carrying any of these tags.</summary>
    public IReadOnlyList<string>? KeepTags { get; init; }

    /// <summary>True when no rule is set (forget would remove everything; refused).</summary>
    public bool IsEmpty => KeepLast is null && KeepHourly is null && KeepDaily is null && KeepWeekly is null
        && KeepMonthly is null && KeepYearly is null && KeepWithin is null && (KeepTags is null || KeepTags.Count == 0);
}

/// <summary>A snapshot kept by forget, and the rules that kept it (e.g. "last", "daily", "within 30.00:00:00").</summary>
public sealed record KeptSnapshot(SnapshotInfo Snapshot, IReadOnlyList<string> Reasons);

/// <summary>The outcome of forget.</summary>
public sealed record ForgetResult
{
    /// <summary>Snapshots kept, with reasons.</summary>
    public IReadOnlyList<KeptSnapshot> Keep { get; init; } = [];

    /// <summary>Snapshots removed (or that would be, on a dry run).</summary>
    public IReadOnlyList<SnapshotInfo> Remove { get; init; } = [];

    /// <summary>True when nothing was changed.</summary>
    public bool DryRun { get; init; }
}

/// <summary>The outcome of prune.</summary>
public sealed record PruneResult
{
    /// <summary>Packs deleted (entirely unused, or replaced by a rewrite).</summary>
    public int PacksDeleted { get; init; }

    /// <summary>Partly used packs whose used blobs were rewritten into new packs.</summary>
    public int PacksRewritten { get; init; }

    /// <summary>New packs written by the rewrite.</summary>
    public int PacksWritten { get; init; }

    /// <summary>Blobs no longer used by any snapshot that were removed.</summary>
    public long BlobsRemoved { get; init; }

    /// <summary>Bytes of packs deleted minus bytes of packs written.</summary>
    public long BytesFreed { get; init; }

    /// <summary>Index files replaced.</summary>
    public int IndexFilesReplaced { get; init; }

    /// <summary>True when nothing was changed.</summary>
    public bool DryRun { get; init; }
}

/// <summary>How a copy verifies what it sends (docs/vault.md, "Copy: what is verified").</summary>
public sealed record CopyOptions
{
    /// <summary>Which snapshots to copy; null copies every snapshot.</summary>
    public SnapshotFilter? Filter { get; init; }

    /// <summary>
    /// Also decompress every blob and check the SHA-256 of its plaintext against its id (what
    /// <c>check --read-data</c> does). Default false: each blob is authenticated (its AES-GCM tag, whose associated
    /// data is the blob's id, so a blob that opens is the blob of that id as a holder of the key sealed it, the same
    /// proof a restore relies on), and a source pack copied whole must also hash to its id. No blob that fails is
    /// ever copied.
    /// </summary>
    public bool VerifyPlaintext { get; init; }
}

/// <summary>The outcome of copying snapshots to another repository.</summary>
public sealed record CopyResult
{
    /// <summary>Snapshots written to the destination.</summary>
    public int SnapshotsCopied { get; init; }

    /// <summary>Snapshots already in the destination.</summary>
    public int SnapshotsSkipped { get; init; }

    /// <summary>Blobs transferred (the destination lacked them).</summary>
    public long BlobsCopied { get; init; }

    /// <summary>Plaintext bytes of the blobs transferred.</summary>
    public long BytesCopied { get; init; }

    /// <summary>Packs written to the destination and read back verified (<see cref="VaultOpenOptions.ReadBackPacks"/>).</summary>
    public int PacksReadBack { get; init; }

    /// <summary>Source packs read (each once, as one sequential range).</summary>
    public int PacksRead { get; init; }

    /// <summary>
    /// Destination packs written as the source pack's own bytes (same master key, every blob of the pack needed and
    /// verified): no re-encryption. The rest are built from the verified blobs.
    /// </summary>
    public int PacksCopiedWhole { get; init; }

    /// <summary>True when every blob's plaintext was also hashed against its id (<see cref="CopyOptions.VerifyPlaintext"/>).</summary>
    public bool PlaintextVerified { get; init; }

    /// <summary>True when the destination shares the source's master key (blobs are copied as stored, not re-encrypted).</summary>
    public bool SharedMasterKey { get; init; }

    /// <summary>Where the copy's time went (docs/vault.md, "Running it well").</summary>
    public CopyStageTimes Stages { get; init; } = new();
}

/// <summary>
/// Per-stage times of one copy. Plan, snapshots and the whole run are wall time; the others are summed over the
/// threads doing them (the reader, the verify workers, the uploads), so on N cores they can add up to N times the wall.
/// </summary>
public sealed record CopyStageTimes
{
    /// <summary>Listing snapshots on both sides and walking the trees to find the blobs the destination lacks (wall).</summary>
    public TimeSpan Plan { get; init; }

    /// <summary>Reader: reading source pack ranges.</summary>
    public TimeSpan Read { get; init; }

    /// <summary>Reader: blocked handing packs to the workers (they are behind).</summary>
    public TimeSpan WaitForWorkers { get; init; }

    /// <summary>Workers, summed: authenticating (decrypting) every blob, and with <see cref="CopyOptions.VerifyPlaintext"/> decompressing and hashing it against its id.</summary>
    public TimeSpan Verify { get; init; }

    /// <summary>Workers, summed: re-encrypting (or copying) blobs into destination packs and sealing the headers, pack hash.</summary>
    public TimeSpan Pack { get; init; }

    /// <summary>Workers, summed: blocked waiting for an upload slot.</summary>
    public TimeSpan WaitForUpload { get; init; }

    /// <summary>Uploads, summed: writing packs to the destination (the file system store fsyncs each).</summary>
    public TimeSpan Write { get; init; }

    /// <summary>Uploads, summed: reading each written pack back and comparing it with what was written.</summary>
    public TimeSpan ReadBack { get; init; }

    /// <summary>Writing index files (summed) once their packs are durable.</summary>
    public TimeSpan IndexWrite { get; init; }

    /// <summary>Writing the snapshots after every index file (wall).</summary>
    public TimeSpan Snapshots { get; init; }

    /// <summary>Verify workers used.</summary>
    public int Workers { get; init; }

    /// <summary>Most uploads allowed at once.</summary>
    public int Uploads { get; init; }
}

/// <summary>A key (password) that opens the repository.</summary>
public sealed record KeyInfo
{
    /// <summary>Key id (64 hex characters).</summary>
    public required string Id { get; init; }

    /// <summary>The first 8 characters of <see cref="Id"/>.</summary>
    public string ShortId => Id.Length > 8 ? Id[..8] : Id;

    /// <summary>When the key was added.</summary>
    public DateTimeOffset Created { get; init; }

    /// <summary>Host that added it.</summary>
    public string Host { get; init; } = "";

    /// <summary>True for the key that opened this repository.</summary>
    public bool Current { get; init; }
}

/// <summary>Progress of long-running work.</summary>
public sealed record VaultProgress
{
    /// <summary>Phase name, e.g. "scan", "backup", "restore", "check", "read-data", "prune", "copy".</summary>
    public required string Phase { get; init; }

    /// <summary>Files (or items) done.</summary>
    public long FilesDone { get; init; }

    /// <summary>Files (or items) in total, when known.</summary>
    public long? FilesTotal { get; init; }

    /// <summary>Bytes done.</summary>
    public long BytesDone { get; init; }

    /// <summary>Bytes in total, when known.</summary>
    public long? BytesTotal { get; init; }

    /// <summary>The item being worked on, when useful.</summary>
    public string? Current { get; init; }
}
