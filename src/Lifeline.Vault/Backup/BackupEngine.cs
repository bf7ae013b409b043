using System.Buffers;
using System.Threading.Channels;
using Lifeline.Vault.Format;
using Microsoft.Win32.SafeHandles;

namespace Lifeline.Vault.Backup;

/// <summary>
/// One backup run (docs/vault-format.md, "Backup details"): a reader walks, reads and finds chunk boundaries; workers
/// hash each chunk, claim the new ones (so that no blob is stored twice), compress, encrypt and pack them; a tree
/// writer stores each directory's tree once its chunks are hashed, in the reader's order; packs upload in the
/// background; index files follow their packs; the snapshot is last.
/// </summary>
internal sealed class BackupEngine : IDisposable
{
    // the reader's buffers: chunks are slices of them, so a few are in flight at once (bounded by the job channel)
    private const int ReadBufferSize = 16 * 1024 * 1024;
    private const int PacksPerIndexFile = 8;
    private const int MaxUploadsInFlight = 2;

    private readonly VaultRepository _repo;
    private readonly BackupRequest _request;
    private readonly IProgress<VaultProgress>? _progress;
    private readonly CancellationTokenSource _cts;
    private readonly Channel<BlobJob> _jobs;
    private readonly Channel<PendingTree> _trees = Channel.CreateUnbounded<PendingTree>(new UnboundedChannelOptions { SingleWriter = true, SingleReader = true });
    private readonly HashSet<BlobId> _inflight = [];
    private readonly List<SourceError> _errors = [];
    private readonly SemaphoreSlim _uploadSlots = new(MaxUploadsInFlight, MaxUploadsInFlight);
    private readonly List<Task> _uploads = [];
    private readonly List<(BlobId Pack, IReadOnlyList<PackEntry> Entries)> _pendingIndex = [];
    private readonly int _packCapacity;
    private readonly Locking.VaultLock? _held;
    private readonly System.Buffers.ArrayPool<byte> _pool;
    private ReadSegment? _segment;
    private int _segmentUsed;
    private Task _prefetch = Task.CompletedTask;
    private readonly SemaphoreSlim _readerProgressed = new(0, int.MaxValue);
    private int _walkerWaiting;
    private bool _treeReadAhead;
    private volatile bool _readAheadDone;
    private long _dataAdded;
    private long _blobsAdded;
    private long _rawDataAdded;
    private long _incompressibleAdded;
    private int _packsReadBack;
    private long _filesNew, _filesChanged, _filesUnmodified, _dirsNew, _dirsChanged, _dirsUnmodified, _totalFiles, _totalBytes;
    private long _bytesDone;
    private long _lastReported;

    // stage timings in Stopwatch ticks: the reader's are its own; workers' and uploads' are added with Interlocked
    private long _tRead, _tChunk, _tCopy, _tHash, _tWaitWorkers, _tCompress, _tWaitUpload, _tWrite, _tReader;

    public BackupEngine(VaultRepository repo, BackupRequest request, IProgress<VaultProgress>? progress, Locking.VaultLock? held, CancellationToken ct)
    {
        _held = held;
        _repo = repo;
        _request = request;
        _progress = progress;
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        Workers = Math.Max(1, repo.Options.Workers ?? Environment.ProcessorCount);
        // the reader and the tree writer both hand blobs to the workers
        _jobs = Channel.CreateBounded<BlobJob>(new BoundedChannelOptions(Workers * 4) { SingleWriter = false, SingleReader = false });
        // A pool that can keep every chunk buffer in flight at once (the channel's, one per worker, the reader's next):
        // with fewer per size, chunks beyond it would be fresh large-object garbage. The runs' shared pool, so the next
        // run reuses these buffers (docs/vault.md, "Memory"); a private one when more workers than it holds are asked.
        var perBucket = Math.Max(VaultBuffers.PerBucket, (Workers * 5) + 2);
        _pool = repo.Options.BufferPool ?? (perBucket <= VaultBuffers.RunsPerBucket ? VaultBuffers.Runs : System.Buffers.ArrayPool<byte>.Create(32 * 1024 * 1024, perBucket));
        _packCapacity = repo.Config.PackSize;
    }

    public int Workers { get; }

    /// <summary>Unhooks the run's cancellation from the caller's token (a long-lived one in <c>lifeline up</c>, which would
    /// otherwise keep a registration per run).</summary>
    public void Dispose() => _cts.Dispose();

    private CancellationToken Token => _cts.Token;

    /// <summary>A blob for the workers: a tree (id known and claimed; its own pooled <paramref name="Buffer"/>) or a data
    /// chunk (<paramref name="Chunk"/> set; bytes at <paramref name="Offset"/> of <paramref name="Segment"/>'s buffer: the
    /// worker hashes it, writes the id into it, tells <paramref name="Dir"/>, and stores it if it claims it).</summary>
    private readonly record struct BlobJob(BlobType Type, BlobId Id, byte[] Buffer, int Length, ChunkRef? Chunk = null, PendingTree? Dir = null, ReadSegment? Segment = null, int Offset = 0)
    {
        public ReadOnlySpan<byte> Data => Buffer.AsSpan(Offset, Length);

        /// <summary>Gives the bytes back: the chunk's hold on its segment, or the tree's buffer to the pool.</summary>
        public void Done(System.Buffers.ArrayPool<byte> pool)
        {
            if (Segment is not null)
            {
                Segment.Release();
            }
            else
            {
                pool.Return(Buffer);
            }
        }
    }

    public async Task<BackupResult> RunAsync(SnapshotInfo? parent)
    {
        var started = _repo.Time.GetUtcNow();
        var startTs = _repo.Time.GetTimestamp();
        var paths = _request.Paths.Select(p => Path.TrimEndingDirectorySeparator(Path.GetFullPath(p))).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (paths.Count == 0)
        {
            throw new ArgumentException("nothing to back up: give at least one path");
        }

        var names = paths.Select(NameOf).ToList();
        var dup = names.GroupBy(n => n, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        if (dup is not null)
        {
            throw new VaultException($"two backup paths end in the same name '{dup.Key}': back them up as separate sources or give their common parent");
        }

        TreeJson? parentRoot = null;
        if (parent is not null)
        {
            parentRoot = await TryLoadTreeAsync(parent.TreeId);
        }

        var cpuStart = Environment.CpuUsage.TotalTime;
        var workers = Enumerable.Range(0, Workers).Select(_ => Task.Run(WorkerAsync)).ToArray();
        var treeWriter = Task.Run(WriteTreesAsync);
        Task walker = Task.CompletedTask;
        var budget = _repo.Options.ReadAheadBytes;
        if (parentRoot is null && budget > 0 && OperatingSystem.IsLinux())
        {
            _treeReadAhead = true;
            walker = Task.Factory.StartNew(() => ReadAheadWalk(paths, budget), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        PendingTree? root = null;
        Exception? readerError = null;
        try
        {
            root = await Task.Run(async () =>
            {
                var readerStarted = System.Diagnostics.Stopwatch.GetTimestamp();
                using var _ = new ReaderClock(this, readerStarted);
                var root = new PendingTree(null);
                for (var i = 0; i < paths.Count; i++)
                {
                    var parentNode = parentRoot?.Nodes.Find(n => n.Name == names[i]);
                    if (await BackupEntryAsync(paths[i], names[i], parentNode, root) is { } node)
                    {
                        root.Nodes.Add(node);
                    }
                }

                root.Nodes.Sort(static (a, b) => string.CompareOrdinal(a.Node.Name, b.Node.Name));
                root.Seal();
                await _trees.Writer.WriteAsync(root, Token);
                return root;
            });
        }
        catch (Exception e)
        {
            readerError = e;
            await _cts.CancelAsync();
        }

        // the trees wait for the workers' last hashes; then nothing more goes to the workers
        _trees.Writer.TryComplete();
        try
        {
            await treeWriter;
        }
        catch (Exception e)
        {
            readerError ??= e;
            await _cts.CancelAsync();
        }

        _jobs.Writer.TryComplete();
        _readAheadDone = true; // nothing more to read: the read-ahead walker stops at its next file
        _readerProgressed.Release();
        await walker;
        var failures = new List<Exception>();
        foreach (var w in workers)
        {
            try
            {
                await w;
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        // a failed run leaves jobs in the channel that no worker took: their buffers and holds go back
        while (_jobs.Reader.TryRead(out var left))
        {
            left.Done(_pool);
        }

        Task[] uploads;
        lock (_uploads)
        {
            uploads = [.. _uploads];
        }

        foreach (var u in uploads)
        {
            try
            {
                await u;
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        // the reader's hold on its last segment (every worker has finished: nothing else holds it)
        _segment?.Release();
        _segment = null;

        var real = failures.Find(e => e is not OperationCanceledException);
        if (real is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(real);
        }

        if (readerError is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(readerError);
        }

        if (failures.Count > 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failures[0]);
        }

        if (_pendingIndex.Count > 0)
        {
            await _repo.WriteIndexFileAsync([.. _pendingIndex], Token);
            _pendingIndex.Clear();
        }

        var ended = _repo.Time.GetUtcNow();
        var summary = new SnapshotSummary
        {
            TotalFiles = _totalFiles,
            TotalBytes = _totalBytes,
            FilesNew = _filesNew,
            FilesChanged = _filesChanged,
            FilesUnmodified = _filesUnmodified,
            DataAdded = _dataAdded,
            Errors = _errors.Count,
            BackupStart = started,
            BackupEnd = ended,
        };
        var json = new SnapshotJson
        {
            Time = started,
            Host = _request.Host ?? _repo.Host,
            Source = _request.Source,
            Paths = paths,
            Tags = [.. _request.Tags],
            Parent = parent?.Id,
            Tree = root!.Id.ToString(),
            Summary = summary,
        };
        _held?.ThrowIfExpired();
        var id = await _repo.SaveSnapshotAsync(json, Token);
        var info = new SnapshotInfo
        {
            Id = id,
            Time = json.Time,
            Host = json.Host,
            Source = json.Source,
            Paths = json.Paths,
            Tags = json.Tags,
            ParentId = json.Parent,
            TreeId = json.Tree,
            Summary = summary,
        };
        _progress?.Report(new VaultProgress { Phase = "backup", FilesDone = _totalFiles, FilesTotal = _totalFiles, BytesDone = _bytesDone, BytesTotal = _bytesDone });
        Log.BackupDone(_repo.Logger, json.Source, id[..8], _totalFiles, _dataAdded, _errors.Count);
        return new BackupResult
        {
            Snapshot = info,
            FilesNew = _filesNew,
            FilesChanged = _filesChanged,
            FilesUnmodified = _filesUnmodified,
            DirsNew = _dirsNew,
            DirsChanged = _dirsChanged,
            DirsUnmodified = _dirsUnmodified,
            BlobsAdded = _blobsAdded,
            DataAdded = _dataAdded,
            RawDataAdded = Interlocked.Read(ref _rawDataAdded),
            IncompressibleAdded = Interlocked.Read(ref _incompressibleAdded),
            PacksReadBack = _packsReadBack,
            TotalFiles = _totalFiles,
            TotalBytes = _totalBytes,
            Duration = _repo.Time.GetElapsedTime(startTs),
            Errors = [.. _errors],
            Stages = StageTimes(_repo.Time.GetElapsedTime(startTs), Environment.CpuUsage.TotalTime - cpuStart),
        };
    }

    // Adds the reader's wall time when the reader ends, however it ends.
    private readonly struct ReaderClock(BackupEngine engine, long started) : IDisposable
    {
        public void Dispose() => engine._tReader = System.Diagnostics.Stopwatch.GetTimestamp() - started;
    }

    private BackupStageTimes StageTimes(TimeSpan wall, TimeSpan cpu)
    {
        static TimeSpan T(long ticks) => TimeSpan.FromSeconds(ticks / (double)System.Diagnostics.Stopwatch.Frequency);
        static TimeSpan NonNegative(TimeSpan t) => t > TimeSpan.Zero ? t : TimeSpan.Zero;
        var reader = _tRead + _tChunk + _tCopy + _tWaitWorkers;
        return new BackupStageTimes
        {
            Walk = NonNegative(T(_tReader - reader)),
            Finish = NonNegative(wall - T(_tReader)),
            Read = T(_tRead),
            Chunk = T(_tChunk),
            Copy = T(_tCopy),
            Hash = T(Interlocked.Read(ref _tHash)),
            WaitForWorkers = T(_tWaitWorkers),
            CompressEncrypt = T(Interlocked.Read(ref _tCompress)),
            WaitForUpload = T(Interlocked.Read(ref _tWaitUpload)),
            Write = T(Interlocked.Read(ref _tWrite)),
            Workers = Workers,
            Cpu = cpu,
            Cores = Environment.ProcessorCount,
        };
    }

    private static string NameOf(string fullPath)
    {
        var name = Path.GetFileName(fullPath);
        return name.Length == 0 ? "root" : name;
    }

    private async Task<TreeJson?> TryLoadTreeAsync(string? id)
    {
        if (id is null || !BlobId.TryParse(id, out var blob) || !_repo.Index.Contains(blob))
        {
            return null;
        }

        try
        {
            return await _repo.LoadTreeAsync(blob, Token);
        }
        catch (VaultCorruptException)
        {
            return null;
        }
    }

    private void AddError(string path, Exception e)
    {
        var message = e.Message;
        _errors.Add(new SourceError(path, message));
        Log.SourceError(_repo.Logger, path, message);
    }

    /// <summary>Walks one entry into <paramref name="owner"/>'s tree; null if it is left out (error, special file).</summary>
    private async Task<PendingNode?> BackupEntryAsync(string path, string name, NodeJson? parentNode, PendingTree owner)
    {
        Token.ThrowIfCancellationRequested();
        FileStat st;
        try
        {
            st = FileStats.Lstat(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AddError(path, e);
            return null;
        }

        switch (st.Type)
        {
            case NodeType.Dir:
            {
                var subtree = await BackupDirAsync(path, parentNode);
                return new PendingNode(new NodeJson { Name = name, Type = "dir", Mode = st.Mode, Mtime = st.MtimeNs, Inode = st.Inode, Ctime = st.CtimeNs }, null, subtree);
            }

            case NodeType.File:
            {
                List<string>? content = null;
                List<ChunkRef>? chunks = null;
                var size = st.Size;
                if (IsUnchanged(parentNode, st))
                {
                    content = parentNode!.Content;
                    _filesUnmodified++;
                    _bytesDone += size;
                }
                else
                {
                    (chunks, size) = await ReadFileAsync(path, owner);
                    if (chunks is null)
                    {
                        return null;
                    }

                    if (parentNode is null)
                    {
                        _filesNew++;
                    }
                    else
                    {
                        _filesChanged++;
                    }
                }

                _totalFiles++;
                _totalBytes += size;
                Report(path, force: true);
                return new PendingNode(new NodeJson { Name = name, Type = "file", Mode = st.Mode, Size = size, Mtime = st.MtimeNs, Inode = st.Inode, Ctime = st.CtimeNs, Content = content }, chunks, null);
            }

            case NodeType.Symlink:
            {
                string? target;
                try
                {
                    target = new FileInfo(path).LinkTarget;
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    AddError(path, e);
                    return null;
                }

                return new PendingNode(new NodeJson { Name = name, Type = "symlink", Mode = st.Mode, Mtime = st.MtimeNs, Inode = st.Inode, Ctime = st.CtimeNs, Target = target ?? "" }, null, null);
            }

            default:
                // sockets, fifos and devices are not backed up
                return null;
        }
    }

    /// <summary>Walks a directory; its tree is written by the tree writer once its chunks are hashed.</summary>
    private async Task<PendingTree> BackupDirAsync(string path, NodeJson? parentNode)
    {
        var dir = new PendingTree(parentNode);
        var parentTree = await TryLoadTreeAsync(parentNode?.Type == "dir" ? parentNode.Subtree : null);
        List<string> names;
        try
        {
            names = Directory.EnumerateFileSystemEntries(path).Select(p => Path.GetFileName(p)).ToList();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AddError(path, e);
            names = [];
        }

        names.Sort(StringComparer.Ordinal);
        Dictionary<string, NodeJson>? parentNodes = parentTree?.Nodes.ToDictionary(n => n.Name, StringComparer.Ordinal);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            NodeJson? parentEntry = null;
            parentNodes?.TryGetValue(name, out parentEntry);
            if (i + 1 < names.Count && !_treeReadAhead)
            {
                PrefetchIfRead(Path.Combine(path, names[i + 1]), parentNodes);
            }

            if (await BackupEntryAsync(Path.Combine(path, name), name, parentEntry, dir) is { } node)
            {
                dir.Nodes.Add(node);
            }
        }

        // post-order: every subdirectory is already queued, so the tree writer sets its id before it needs it
        dir.Seal();
        await _trees.Writer.WriteAsync(dir, Token);
        return dir;
    }

    /// <summary>True if a file can keep its parent snapshot's content without being read.</summary>
    private bool IsUnchanged(NodeJson? parentNode, FileStat st)
        => !_request.Force && parentNode is { Type: "file" } p && p.Size == st.Size && p.Mtime == st.MtimeNs && p.Inode == st.Inode
            && p.Ctime == st.CtimeNs && p.Content is not null && p.Content.TrueForAll(c => BlobId.TryParse(c, out var b) && _repo.Index.Contains(b));

    /// <summary>
    /// Starts the kernel reading the next entry into the page cache (one file ahead, in the background) if it is a
    /// regular file that this backup will read, so that its disk reads overlap with chunking and hashing the current
    /// file. The hint task is not awaited: it holds nothing of the engine's and its failures are ignored.
    /// </summary>
    private void PrefetchIfRead(string path, Dictionary<string, NodeJson>? parentNodes)
    {
        FileStat st;
        try
        {
            st = FileStats.Lstat(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }

        NodeJson? parentNode = null;
        parentNodes?.TryGetValue(Path.GetFileName(path), out parentNode);
        if (st.Type != NodeType.File || st.Size <= 0 || IsUnchanged(parentNode, st))
        {
            return;
        }

        _prefetch = _prefetch.ContinueWith(_ => ReadAhead.WillNeed(path, st.Size), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
    }

    /// <summary>
    /// The read-ahead walker of a full backup: walks the same tree in the reader's order (paths, then ordinal names)
    /// and asks the kernel to read each regular file into the page cache, staying at most <paramref name="budget"/>
    /// bytes of file content ahead of the reader, across files and directories, so the disk is kept busy while the
    /// reader chunks and hashes. A hint only: it reads nothing into the process and ignores every error.
    /// </summary>
    private void ReadAheadWalk(List<string> paths, long budget)
    {
        long issued = 0;
        var pending = new Stack<string>(Enumerable.Reverse(paths));
        while (pending.Count > 0 && !_readAheadDone && !Token.IsCancellationRequested)
        {
            var path = pending.Pop();
            FileStat st;
            try
            {
                st = FileStats.Lstat(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }

            if (st.Type == NodeType.Dir)
            {
                List<string> names;
                try
                {
                    names = Directory.EnumerateFileSystemEntries(path).Select(p => Path.GetFileName(p)).ToList();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    continue;
                }

                names.Sort(StringComparer.Ordinal);
                for (var i = names.Count - 1; i >= 0; i--)
                {
                    pending.Push(Path.Combine(path, names[i]));
                }

                continue;
            }

            if (st.Type != NodeType.File || st.Size <= 0)
            {
                continue;
            }

            // wait until the reader is within the budget of what has been asked for (its progress wakes this thread)
            while (issued - Interlocked.Read(ref _bytesDone) > budget && !_readAheadDone && !Token.IsCancellationRequested)
            {
                Volatile.Write(ref _walkerWaiting, 1);
                if (issued - Interlocked.Read(ref _bytesDone) > budget && !_readAheadDone)
                {
                    _readerProgressed.Wait(TimeSpan.FromSeconds(1));
                }
            }

            ReadAhead.WillNeed(path, st.Size);
            issued += st.Size;
        }
    }

    /// <summary>
    /// The tree writer: takes the directories in the reader's post-order, waits until the workers have hashed each
    /// one's chunks, and stores its tree with the nodes in the reader's order.
    /// </summary>
    private async Task WriteTreesAsync()
    {
        await foreach (var dir in _trees.Reader.ReadAllAsync(Token))
        {
            await dir.Hashed.WaitAsync(Token);
            var nodes = new List<NodeJson>(dir.Nodes.Count);
            foreach (var p in dir.Nodes)
            {
                if (p.Chunks is { } chunks)
                {
                    nodes.Add(p.Node with { Content = chunks.ConvertAll(static c => c.Id.ToString()) });
                }
                else if (p.Subtree is { } sub)
                {
                    var subtree = sub.Id.ToString();
                    var parentSubtree = sub.ParentNode?.Type == "dir" ? sub.ParentNode.Subtree : null;
                    if (sub.ParentNode is null)
                    {
                        _dirsNew++;
                    }
                    else if (parentSubtree == subtree)
                    {
                        _dirsUnmodified++;
                    }
                    else
                    {
                        _dirsChanged++;
                    }

                    nodes.Add(p.Node with { Subtree = subtree });
                }
                else
                {
                    nodes.Add(p.Node);
                }
            }

            dir.Id = await StoreTreeAsync(nodes);
        }
    }

    private async Task<BlobId> StoreTreeAsync(List<NodeJson> nodes)
    {
        var bytes = WireJson.Serialize(new TreeJson { Nodes = nodes }, WireJson.Default.TreeJson);
        var id = BlobId.Hash(bytes);
        if (IsNew(id))
        {
            var buffer = _pool.Rent(bytes.Length);
            bytes.CopyTo(buffer, 0);
            try
            {
                await _jobs.Writer.WriteAsync(new BlobJob(BlobType.Tree, id, buffer, bytes.Length), Token);
            }
            catch
            {
                _pool.Return(buffer);
                throw;
            }
        }

        return id;
    }

    /// <summary>Claims a blob for storing: true for exactly one caller per id that is not in the index already
    /// (workers and the tree writer call it at the same time).</summary>
    private bool IsNew(BlobId id)
    {
        lock (_inflight)
        {
            return !_repo.Index.Contains(id) && _inflight.Add(id);
        }
    }

    private async Task<(List<ChunkRef>? Chunks, long Size)> ReadFileAsync(string path, PendingTree owner)
    {
        SafeFileHandle handle;
        try
        {
            if (_repo.SourceFaultForTests?.Invoke(path) is { } fault)
            {
                throw fault;
            }

            handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, FileOptions.SequentialScan);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            AddError(path, e);
            return (null, 0);
        }

        using (handle)
        {
            var max = _repo.Chunker.MaxSize;
            var min = _repo.Chunker.MinSize;
            if (_segment is null)
            {
                _segment = new ReadSegment(_pool.Rent(Math.Max(ReadBufferSize, max * 2)), _pool);
                _segmentUsed = 0;
            }

            var buf = _segment.Buffer;
            var content = new List<ChunkRef>();
            long fileOffset = 0;
            // the file's bytes in the segment are [start, end); the bytes before start may be chunks still in flight
            int start = _segmentUsed, end = _segmentUsed;
            var eof = false;
            try
            {
                while (true)
                {
                    var avail = end - start;
                    var cut = 0;
                    var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                    if (!eof && avail < max)
                    {
                        // A cut found before the end of what is here is the cut the whole file would give (the
                        // chunker looks only forward from the chunk's start), so cut on until none is found, and
                        // only then carry the rest (less than a chunk, not up to a maximum chunk) to more data.
                        if (avail > min && (cut = _repo.Chunker.FindCut(buf.AsSpan(start, avail))) < avail)
                        {
                            _tChunk += System.Diagnostics.Stopwatch.GetTimestamp() - t1;
                        }
                        else
                        {
                            _tChunk += System.Diagnostics.Stopwatch.GetTimestamp() - t1;
                            if (end == buf.Length)
                            {
                                // no room left: the rest moves to the start of a fresh segment; chunks already
                                // handed out keep the old one until they are done
                                var t2 = System.Diagnostics.Stopwatch.GetTimestamp();
                                var next = new ReadSegment(_pool.Rent(buf.Length), _pool);
                                Buffer.BlockCopy(buf, start, next.Buffer, 0, avail);
                                _segment.Release();
                                _segment = next;
                                buf = next.Buffer;
                                start = 0;
                                end = avail;
                                _tCopy += System.Diagnostics.Stopwatch.GetTimestamp() - t2;
                            }

                            while (end < buf.Length)
                            {
                                int n;
                                var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                                try
                                {
                                    n = RandomAccess.Read(handle, buf.AsSpan(end), fileOffset);
                                }
                                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                                {
                                    AddError(path, e);
                                    return (null, 0);
                                }

                                _tRead += System.Diagnostics.Stopwatch.GetTimestamp() - t0;
                                if (n == 0)
                                {
                                    eof = true;
                                    break;
                                }

                                end += n;
                                fileOffset += n;
                            }

                            continue;
                        }
                    }
                    else if (avail == 0)
                    {
                        break;
                    }
                    else
                    {
                        cut = _repo.Chunker.FindCut(buf.AsSpan(start, avail));
                        _tChunk += System.Diagnostics.Stopwatch.GetTimestamp() - t1;
                    }

                    // every chunk goes to the workers: they hash it and keep it only if they claim its id
                    var chunkRef = new ChunkRef();
                    content.Add(chunkRef);
                    owner.ChunkSent();
                    _segment.Retain();
                    var t3 = System.Diagnostics.Stopwatch.GetTimestamp();
                    try
                    {
                        await _jobs.Writer.WriteAsync(new BlobJob(BlobType.Data, default, buf, cut, chunkRef, owner, _segment, start), Token);
                    }
                    catch
                    {
                        _segment.Release(); // the job never reached the workers: its hold goes with it
                        throw;
                    }

                    _tWaitWorkers += System.Diagnostics.Stopwatch.GetTimestamp() - t3;

                    start += cut;
                    _bytesDone += cut;
                    if (_treeReadAhead && Volatile.Read(ref _walkerWaiting) == 1 && Interlocked.Exchange(ref _walkerWaiting, 0) == 1)
                    {
                        _readerProgressed.Release();
                    }

                    Report(path, force: false);
                }
            }
            finally
            {
                // the next file starts after the bytes handed out (a failed file's unread rest is not needed)
                _segmentUsed = start;
            }

            return (content, fileOffset);
        }
    }

    private void Report(string current, bool force)
    {
        if (_progress is null || (!force && _bytesDone - _lastReported < 16 * 1024 * 1024))
        {
            return;
        }

        _lastReported = _bytesDone;
        _progress.Report(new VaultProgress { Phase = "backup", FilesDone = _totalFiles, BytesDone = _bytesDone, Current = current });
    }

    private async Task WorkerAsync()
    {
        try
        {
            using var encoder = new BlobEncoder(_repo.Options.CompressionLevel);
            PackBuilder? pack = null;
            try
            {
                await foreach (var received in _jobs.Reader.ReadAllAsync(Token))
                {
                    var job = received;
                    try
                    {
                        if (job.Chunk is { } chunk)
                        {
                            var h0 = System.Diagnostics.Stopwatch.GetTimestamp();
                            var id = BlobId.Hash(job.Data);
                            Interlocked.Add(ref _tHash, System.Diagnostics.Stopwatch.GetTimestamp() - h0);
                            chunk.Id = id;
                            job.Dir!.ChunkHashed();
                            if (!IsNew(id))
                            {
                                continue; // stored before or claimed by another worker: the buffer goes back in finally
                            }

                            job = job with { Id = id };
                        }

                        // Room for the blob and the grown header, so that a pack never outgrows its pooled buffer.
                        var reserve = job.Length + (2 * Crypto.Sealer.Overhead) + ((pack?.Count ?? 0) + 1) * PackEntry.Size + 4;
                        if (pack is not null && pack.Length + reserve > _packCapacity)
                        {
                            await UploadAsync(pack);
                            pack = null;
                        }

                        pack ??= new PackBuilder(_packCapacity, _pool);
                        var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                        AddToPack(encoder, pack, job);
                        Interlocked.Add(ref _tCompress, System.Diagnostics.Stopwatch.GetTimestamp() - t0);
                    }
                    finally
                    {
                        job.Done(_pool);
                    }

                    if (pack.Length >= _packCapacity - (64 * 1024))
                    {
                        await UploadAsync(pack);
                        pack = null;
                    }
                }

                if (pack is { Count: > 0 })
                {
                    await UploadAsync(pack);
                    pack = null;
                }
            }
            finally
            {
                pack?.Dispose();
            }
        }
        catch
        {
            await _cts.CancelAsync();
            throw;
        }
    }

    private void AddToPack(BlobEncoder encoder, PackBuilder pack, BlobJob job)
    {
        var plain = job.Data;
        var payload = encoder.Encode(plain, out var compressed);
        pack.Add(job.Type, job.Id, payload, compressed, job.Length, _repo.Key.Data);
        if (job.Type == BlobType.Data)
        {
            Interlocked.Add(ref _rawDataAdded, job.Length);
            if (!compressed)
            {
                Interlocked.Add(ref _incompressibleAdded, job.Length);
            }
        }
    }

    private async Task UploadAsync(PackBuilder pack)
    {
        var waited = System.Diagnostics.Stopwatch.GetTimestamp();
        await _uploadSlots.WaitAsync(Token);
        Interlocked.Add(ref _tWaitUpload, System.Diagnostics.Stopwatch.GetTimestamp() - waited);
        var (id, bytes) = pack.Finish(_repo.Key.Data);
        // taken now, over the bytes just hashed into the id: the read-back checks it instead of a second SHA-256
        var digest = _repo.Options.ReadBackPacks ? PackReadBack.Digest(bytes.Span) : default;
        var headerLength = PackReadBack.HeaderLength(bytes.Span);
        var entries = pack.Entries.ToArray();
        var task = Task.Run(async () =>
        {
            try
            {
                var written = System.Diagnostics.Stopwatch.GetTimestamp();
                await _repo.Store.PutIfAbsentAsync(VaultRepository.PackKey(id), bytes, Token);
                if (_repo.Options.ReadBackPacks)
                {
                    // in the upload's own task: the next packs are built and written meanwhile
                    await PackReadBack.VerifyDigestAsync(_repo.Store, id, bytes.Length, digest, headerLength, entries, _repo.Key.Data, "after-write", _pool, Token);
                    Interlocked.Increment(ref _packsReadBack);
                }

                Interlocked.Add(ref _tWrite, System.Diagnostics.Stopwatch.GetTimestamp() - written);
                _repo.Index.AddPack(id, entries);
                Interlocked.Add(ref _dataAdded, bytes.Length);
                Interlocked.Add(ref _blobsAdded, entries.Length);
                List<(BlobId, IReadOnlyList<PackEntry>)>? flush = null;
                lock (_pendingIndex)
                {
                    _pendingIndex.Add((id, entries));
                    if (_pendingIndex.Count >= PacksPerIndexFile)
                    {
                        flush = [.. _pendingIndex];
                        _pendingIndex.Clear();
                    }
                }

                if (flush is not null)
                {
                    await _repo.WriteIndexFileAsync(flush, Token);
                }
            }
            catch
            {
                await _cts.CancelAsync();
                throw;
            }
            finally
            {
                pack.Dispose();
                _uploadSlots.Release();
            }
        });
        lock (_uploads)
        {
            _uploads.Add(task);
        }
    }
}
