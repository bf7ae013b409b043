using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.IO.Hashing;
using Microsoft.Win32.SafeHandles;

namespace Lifeline.Scoring.Sinks;

/// <summary>Options of one <see cref="Spool"/>.</summary>
internal sealed record SpoolOptions
{
    /// <summary>The spool's own directory (segments, checkpoint, id, dead letters).</summary>
    public required string Directory { get; init; }

    /// <summary>Most bytes not yet drained; an append beyond it is refused (the caller answers 503). Default 1 GiB.</summary>
    public long MaxBytes { get; init; } = 1L << 30;

    /// <summary>A segment is closed and a new one started past this size. Default 64 MiB.</summary>
    public long SegmentBytes { get; init; } = 64L << 20;

    /// <summary>How often written records are fsynced: the most a power loss can lose. Default 100 ms.</summary>
    public TimeSpan FsyncInterval { get; init; } = TimeSpan.FromMilliseconds(100);
}

/// <summary>One record read back from the spool: its payload and the position just after it.</summary>
internal readonly record struct SpoolRecord(ReadOnlyMemory<byte> Payload, long Start, long End);

/// <summary>
/// A durable local append-only log of records (docs/scoring.md, "The spool"). Appends from many concurrent requests
/// are group-committed: callers copy their frames into a pending buffer and the spool's writer thread writes
/// everything pending with one <c>pwrite</c> per round; <see cref="TryAppend"/>'s task completes when the record is in
/// the file (handed to the OS: it survives SIGKILL and SIGTERM). Written data is fsynced at most
/// <see cref="SpoolOptions.FsyncInterval"/> after it was written, which bounds what a power loss can take: the first write
/// after a sync arms a one-shot timer for the interval and the sync thread fsyncs when it fires. An idle spool arms
/// nothing and its threads sleep until a write (no periodic wake-ups: docs/up.md, "Idle").
/// <para>
/// No fsync and no file write runs on a request thread or a thread-pool thread: the periodic fsync, and the fsync of a
/// segment closed by a roll-over, run on the spool's own sync thread; every write round runs on the spool's own writer
/// thread, not the thread pool (whose queue is full of requests under load, so a write round queued there waited
/// behind them and held every record of its round; docs/benchmarks.md) and not the caller's thread.
/// </para>
/// <para>
/// On disk: segments <c>{base:D20}.seg</c>, each an 16-byte header (<c>LLSPOOL1</c>, base position) then frames
/// <c>[u32 length][u32 crc32(payload)][payload]</c>, little-endian. A position is a global byte offset: segment base +
/// offset in the segment; the next segment's base is the previous base + its length. <c>checkpoint</c> holds the
/// consumer's position (8 bytes + crc32), replaced atomically; segments wholly before it are deleted. On open the
/// last segment is scanned and a torn or corrupt tail is cut off.
/// </para>
/// </summary>
internal sealed class Spool : IDisposable
{
    public const int SegmentHeaderSize = 16;
    public const int FrameHeaderSize = 8;
    private static ReadOnlySpan<byte> Magic => "LLSPOOL1"u8;

    private readonly SpoolOptions _options;
    private readonly Lock _gate = new();
    private readonly Lock _segmentsGate = new();
    private readonly List<(long Base, string Path)> _segments = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly Thread _syncThread;
    private readonly Thread _writerThread;
    private readonly SemaphoreSlim _writeSignal = new(0, int.MaxValue);
    private readonly SemaphoreSlim _dataAvailable = new(0, int.MaxValue);
    private readonly AutoResetEvent _syncDue = new(false); // set by the one-shot fsync timer; the sync thread waits on it (no spinning)
    private readonly ITimer _syncTimer;
    private readonly System.Collections.Concurrent.ConcurrentQueue<FileStream> _retired = new(); // rolled-over segments, fsynced and closed by the sync thread

    // pending: frames copied in by callers, not yet written (guarded by _gate)
    private byte[] _pending = new byte[1 << 16];
    private int _pendingLength;
    private TaskCompletionSource? _pendingBatch;
    private bool _writing;
    private long _reserved; // bytes written or pending, as a global position (guarded by _gate)
    private byte[] _spare = new byte[1 << 16];

    // the writer's state (only the writer thread touches these)
    private FileStream _active;
    private long _activeBase;
    private long _activeLength;

    private long _written; // global position of the end of the written data
    private long _synced;
    private long _checkpoint;
    private Exception? _failed;
    private int _waiters;
    private int _syncArmed; // 1 while the fsync timer is armed for written, unsynced data
    private int _disposed;
    private bool _shrink;

    private Spool(SpoolOptions options, TimeProvider timeProvider, string id, FileStream active, long activeBase, long activeLength, long checkpoint)
    {
        _options = options;
        Id = id;
        _active = active;
        _activeBase = activeBase;
        _activeLength = activeLength;
        _written = _synced = _reserved = activeBase + activeLength;
        _checkpoint = checkpoint;
        _syncTimer = timeProvider.CreateTimer(static state => ((Spool)state!).SyncDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _syncThread = new Thread(SyncLoop) { IsBackground = true, Name = "spool sync " + Path.GetFileName(options.Directory) };
        _syncThread.Start();
        _writerThread = new Thread(WriterLoop) { IsBackground = true, Name = "spool writer " + Path.GetFileName(options.Directory) };
        _writerThread.Start();
    }

    /// <summary>The spool's identity (a random id made when it was created), recorded by sinks with each position.</summary>
    public string Id { get; }

    /// <summary>The end of the records written so far (a global position).</summary>
    public long Written => Volatile.Read(ref _written);

    /// <summary>The end of the records fsynced so far (a global position; for tests and the metric).</summary>
    public long Synced => Volatile.Read(ref _synced);

    /// <summary>The consumer's durable position: everything before it is in the sink.</summary>
    public long Checkpoint => Volatile.Read(ref _checkpoint);

    /// <summary>Bytes written or pending and not yet drained.</summary>
    public long Backlog => Volatile.Read(ref _reserved) - Checkpoint;

    /// <summary>The bytes on disk in segments (for the metric).</summary>
    public long MaxBytes => _options.MaxBytes;

    public string Directory => _options.Directory;

    /// <summary>Opens (or creates) the spool in its directory, cutting a torn tail off the last segment.</summary>
    public static Spool Open(SpoolOptions options, TimeProvider timeProvider)
    {
        System.IO.Directory.CreateDirectory(options.Directory);
        var idPath = Path.Combine(options.Directory, "spool.id");
        string id;
        if (File.Exists(idPath) && File.ReadAllText(idPath).Trim() is { Length: > 0 } existing)
        {
            id = existing;
        }
        else
        {
            id = Guid.NewGuid().ToString("N");
            var tmp = idPath + ".tmp";
            File.WriteAllText(tmp, id);
            File.Move(tmp, idPath, overwrite: true);
        }

        var checkpoint = ReadCheckpoint(options.Directory);
        var segments = System.IO.Directory.EnumerateFiles(options.Directory, "*.seg")
            .Select(p => (Base: long.TryParse(Path.GetFileNameWithoutExtension(p), NumberStyles.None, CultureInfo.InvariantCulture, out var b) ? b : -1, Path: p))
            .Where(s => s.Base >= 0)
            .OrderBy(s => s.Base)
            .ToList();

        // Segments wholly before the checkpoint were drained (a crash came between checkpoint and delete).
        while (segments.Count > 1 && segments[1].Base <= checkpoint)
        {
            File.Delete(segments[0].Path);
            segments.RemoveAt(0);
        }

        FileStream active;
        long activeBase, activeLength;
        if (segments.Count == 0)
        {
            activeBase = checkpoint;
            active = CreateSegment(options.Directory, activeBase, out var path);
            segments.Add((activeBase, path));
            activeLength = SegmentHeaderSize;
        }
        else
        {
            (activeBase, var path) = segments[^1];
            active = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, 0);
            activeLength = ValidEnd(active.SafeFileHandle, RandomAccess.GetLength(active.SafeFileHandle));
            if (activeLength < SegmentHeaderSize)
            {
                WriteHeader(active.SafeFileHandle, activeBase);
                activeLength = SegmentHeaderSize;
            }

            if (RandomAccess.GetLength(active.SafeFileHandle) != activeLength)
            {
                active.SetLength(activeLength); // a torn tail (power loss mid-write): those records were never acknowledged
                active.Flush(flushToDisk: true);
            }
        }

        if (checkpoint < segments[0].Base)
        {
            checkpoint = segments[0].Base;
        }

        var spool = new Spool(options, timeProvider, id, active, activeBase, activeLength, checkpoint);
        spool._segments.AddRange(segments);
        return spool;
    }

    /// <summary>
    /// Adds records (their payloads back to back in <paramref name="payloads"/>, their lengths in
    /// <paramref name="lengths"/>), all or none. Returns null when the disk budget has no room (nothing added), else a
    /// task that completes when they are in the spool file, or faults when the write failed. <paramref name="ignoreBudget"/>
    /// for rare records that must never be refused (audit).
    /// </summary>
    public Task? TryAppend(ReadOnlySpan<byte> payloads, ReadOnlySpan<int> lengths, bool ignoreBudget = false)
    {
        var size = (long)payloads.Length + (FrameHeaderSize * (long)lengths.Length);
        // CRCs before the lock: requests contend for it, so only copying happens inside
        Span<uint> crcs = lengths.Length <= 64 ? stackalloc uint[lengths.Length] : new uint[lengths.Length];
        var at = 0;
        for (var i = 0; i < lengths.Length; i++)
        {
            crcs[i] = Crc32.HashToUInt32(payloads.Slice(at, lengths[i]));
            at += lengths[i];
        }

        TaskCompletionSource batch;
        lock (_gate)
        {
            if (_failed is { } failed)
            {
                return Task.FromException(new IOException("the spool cannot be written: " + failed.Message, failed));
            }

            if ((!ignoreBudget && _reserved + size - Volatile.Read(ref _checkpoint) > _options.MaxBytes) || _pendingLength + size > int.MaxValue / 2)
            {
                return null;
            }

            if (_pending.Length < _pendingLength + size)
            {
                var bigger = new byte[(int)Math.Max(_pending.Length * 2L, _pendingLength + size)];
                _pending.AsSpan(0, _pendingLength).CopyTo(bigger);
                _pending = bigger;
            }

            var offset = 0;
            for (var i = 0; i < lengths.Length; i++)
            {
                var length = lengths[i];
                var payload = payloads.Slice(offset, length);
                var frame = _pending.AsSpan(_pendingLength, FrameHeaderSize + length);
                BinaryPrimitives.WriteUInt32LittleEndian(frame, (uint)length);
                BinaryPrimitives.WriteUInt32LittleEndian(frame[4..], crcs[i]);
                payload.CopyTo(frame[FrameHeaderSize..]);
                _pendingLength += frame.Length;
                offset += length;
            }

            _reserved += size;
            batch = _pendingBatch ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_writing)
            {
                return batch.Task;
            }

            _writing = true;
        }

        // The first record after an idle spell wakes the writer thread, which writes rounds until nothing is pending:
        // no pwrite on a request's thread (with inline scheduling that is a socket thread serving other connections).
        _writeSignal.Release();
        return batch.Task;
    }

    // The writer thread: woken by the first append after an idle spell; writes round after round (each round is
    // everything appended while the previous one was being written: group commit) until nothing is pending, then
    // sleeps until the next append wakes it. One TrySetResult per round wakes all of its requests at once. Blocking
    // here holds no thread-pool thread and no request.
    private void WriterLoop()
    {
        try
        {
            while (true)
            {
                _writeSignal.Wait(_stopping.Token);
                while (true)
                {
                    lock (_gate)
                    {
                        if (_pendingLength == 0)
                        {
                            _writing = false;
                            break;
                        }
                    }

                    WriteRound();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // disposing: Dispose writes nothing more (appends fail from now on); a round in progress finished above
        }
    }

    private void WriteRound()
    {
        byte[] buffer;
        int length;
        TaskCompletionSource? batch;
        lock (_gate)
        {
            buffer = _pending;
            length = _pendingLength;
            batch = _pendingBatch;
            _pending = _spare;
            _spare = buffer;
            _pendingLength = 0;
            _pendingBatch = null;
        }

        if (length == 0)
        {
            batch?.TrySetResult();
            return;
        }

        ShrinkSpareLater(buffer);

        try
        {
            if (_activeLength > SegmentHeaderSize && _activeLength + length > _options.SegmentBytes)
            {
                Roll();
            }

            RandomAccess.Write(_active.SafeFileHandle, buffer.AsSpan(0, length), _activeLength);
            _activeLength += length;
            Volatile.Write(ref _written, _activeBase + _activeLength);
            ArmSync(); // a full fence too: the _waiters read below comes after the _written store (WaitForDataAsync's wake-up)
            batch?.TrySetResult();
            if (_shrink)
            {
                _shrink = false;
                lock (_gate)
                {
                    // the spare is the buffer just written (swapped in WriteRound); nobody else holds it
                    if (ReferenceEquals(_spare, buffer))
                    {
                        _spare = new byte[1 << 16];
                    }
                }
            }

            if (Volatile.Read(ref _waiters) > 0)
            {
                _dataAvailable.Release();
            }
        }
        catch (Exception ex)
        {
            // Nothing of this round is acknowledged. The next round writes at the same offset (pwrite), so a partial
            // write is overwritten; on restart a torn frame fails its CRC and is cut off.
            lock (_gate)
            {
                _reserved -= length;
            }

            batch?.TrySetException(new IOException("writing the spool failed: " + ex.Message, ex));
        }
    }

    // A burst can grow the pending buffers; once written, a big one is let go for a small one.
    private void ShrinkSpareLater(byte[] written)
    {
        if (written.Length <= 1 << 20)
        {
            return;
        }

        _shrink = true;
    }

    // Starts the next segment. The old one is fsynced and closed by the sync thread (queued before the new one is
    // published, which Sync relies on); the new one's header reaches the disk with its first periodic fsync.
    private void Roll()
    {
        var old = _active;
        var nextBase = _activeBase + _activeLength;
        var next = CreateSegment(_options.Directory, nextBase, out var path, flush: false);
        lock (_segmentsGate)
        {
            _segments.Add((nextBase, path));
        }

        _retired.Enqueue(old);
        Volatile.Write(ref _active, next);
        _activeBase = nextBase;
        _activeLength = SegmentHeaderSize;
    }

    /// <summary>
    /// Waits until records past <paramref name="position"/> are written (returns at once when they are). The writer
    /// signals a waiter (the waiter's increment and the writer's store are both followed by a full fence, so no wake-up
    /// is missed); the 30 s timeout is only a safety net, not a poll.
    /// </summary>
    public async Task WaitForDataAsync(long position, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _waiters);
        try
        {
            while (Written <= position)
            {
                await _dataAvailable.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _waiters);
        }
    }

    /// <summary>
    /// Reads whole records from <paramref name="position"/> (a record boundary) within one segment, up to what is
    /// written, at most <paramref name="maxRecords"/> and about <paramref name="maxBytes"/>, into <paramref name="records"/>
    /// (payloads point into <paramref name="buffer"/>, replaced by a larger one when needed). Returns the position after
    /// the last record read. A frame that fails its CRC, or runs past the written end, inside written data cannot be
    /// read past: it is reported in <paramref name="corrupt"/> and the rest of that segment is skipped.
    /// </summary>
    public long Read(long position, int maxRecords, int maxBytes, ref byte[] buffer, List<SpoolRecord> records, out string? corrupt)
    {
        corrupt = null;
        records.Clear();
        var written = Written;
        long segmentBase, segmentEnd;
        string? path;
        while (true)
        {
            (segmentBase, path, segmentEnd) = Locate(position, written);
            if (path is null)
            {
                return position;
            }

            if (position < segmentBase + SegmentHeaderSize)
            {
                position = segmentBase + SegmentHeaderSize;
            }

            if (position < segmentEnd)
            {
                break;
            }

            if (segmentEnd >= written)
            {
                return position; // caught up
            }

            position = segmentEnd; // this segment is done: the next one starts here
        }

        var want = (int)Math.Min(segmentEnd - position, Math.Max(maxBytes, 1 << 12));
        using var handle = File.OpenHandle(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        while (true)
        {
            if (buffer.Length < want)
            {
                buffer = new byte[want];
            }

            var read = RandomAccess.Read(handle, buffer.AsSpan(0, want), position - segmentBase);
            var chunk = buffer.AsMemory(0, read);
            var at = 0;
            while (records.Count < maxRecords && at + FrameHeaderSize <= read)
            {
                var length = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Span[at..]);
                var crc = BinaryPrimitives.ReadUInt32LittleEndian(chunk.Span[(at + 4)..]);
                var frameEnd = position + at + FrameHeaderSize + (long)length;
                if (frameEnd > segmentEnd)
                {
                    return Corrupt(position + at, $"the frame at offset {position + at - segmentBase} runs past the written end", out corrupt);
                }

                if (at + FrameHeaderSize + (long)length > read)
                {
                    break; // continues past this chunk
                }

                var payload = chunk.Slice(at + FrameHeaderSize, (int)length);
                if (Crc32.HashToUInt32(payload.Span) != crc)
                {
                    return Corrupt(position + at, $"the frame at offset {position + at - segmentBase} fails its CRC", out corrupt);
                }

                records.Add(new SpoolRecord(payload, position + at, frameEnd));
                at += FrameHeaderSize + (int)length;
            }

            if (records.Count == 0 && at == 0 && read >= FrameHeaderSize)
            {
                // a single frame larger than the chunk: read it whole
                want = FrameHeaderSize + (int)BinaryPrimitives.ReadUInt32LittleEndian(chunk.Span);
                continue;
            }

            return position + at;
        }

        long Corrupt(long at, string what, out string? report)
        {
            if (records.Count > 0)
            {
                report = null; // hand back what came before; the next read reports the bad frame
                return at;
            }

            report = $"spool {Path.GetFileName(_options.Directory)} segment {Path.GetFileName(path)}: {what}; skipping the rest of the segment";
            return segmentEnd;
        }
    }

    private (long Base, string? Path, long End) Locate(long position, long written)
    {
        lock (_segmentsGate)
        {
            for (var i = _segments.Count - 1; i >= 0; i--)
            {
                if (_segments[i].Base <= position)
                {
                    var end = i + 1 < _segments.Count ? _segments[i + 1].Base : written;
                    return (_segments[i].Base, _segments[i].Path, end);
                }
            }

            return _segments.Count > 0 ? (_segments[0].Base, _segments[0].Path, _segments.Count > 1 ? _segments[1].Base : written) : (0, null, 0);
        }
    }

    /// <summary>Records the consumer's position durably (temp file, fsync, rename) and deletes segments wholly before it.</summary>
    public void Commit(long position)
    {
        var path = Path.Combine(_options.Directory, "checkpoint");
        var tmp = path + ".tmp";
        Span<byte> bytes = stackalloc byte[12];
        BinaryPrimitives.WriteInt64LittleEndian(bytes, position);
        BinaryPrimitives.WriteUInt32LittleEndian(bytes[8..], Crc32.HashToUInt32(bytes[..8]));
        using (var file = new FileStream(tmp, FileMode.Create, FileAccess.Write, FileShare.None, 0))
        {
            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(tmp, path, overwrite: true);
        Volatile.Write(ref _checkpoint, position);
        List<string> drained = [];
        lock (_segmentsGate)
        {
            while (_segments.Count > 1 && _segments[1].Base <= position)
            {
                drained.Add(_segments[0].Path);
                _segments.RemoveAt(0);
            }
        }

        foreach (var segment in drained)
        {
            File.Delete(segment);
        }
    }

    /// <summary>The number of segment files (for tests and the metric).</summary>
    public int SegmentCount
    {
        get
        {
            lock (_segmentsGate)
            {
                return _segments.Count;
            }
        }
    }

    /// <summary>Fsyncs what is written now (called by the sync thread, and once more by Dispose after it stopped).</summary>
    public void Sync()
    {
        // Order matters: the position first, then the active segment, then the retired ones. Every byte before
        // `written` is in the segment read as active here or in one retired before it was published (Roll queues
        // the old segment before it swaps), so both flushes below cover it.
        var written = Written;
        var active = Volatile.Read(ref _active);
        if (Volatile.Read(ref _synced) >= written && _retired.IsEmpty)
        {
            return;
        }

        try
        {
            active.Flush(flushToDisk: true);
        }
        catch (ObjectDisposedException)
        {
            // retired and closed meanwhile: its data was fsynced before the close
        }

        while (_retired.TryDequeue(out var old))
        {
            old.Flush(flushToDisk: true);
            old.Dispose();
        }

        Volatile.Write(ref _synced, written);
    }

    // Arms the one-shot fsync timer unless it is armed already: the first write after a sync starts the interval, later
    // writes ride on it. Interlocked, so a write racing the sync thread's disarm either re-arms or is covered by that sync.
    private void ArmSync()
    {
        if (Interlocked.CompareExchange(ref _syncArmed, 1, 0) == 0)
        {
            try
            {
                _syncTimer.Change(_options.FsyncInterval, Timeout.InfiniteTimeSpan);
            }
            catch (ObjectDisposedException)
            {
                // disposing: Dispose fsyncs what is written
            }
        }
    }

    private void SyncDue()
    {
        try
        {
            _syncDue.Set();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    // The sync thread: sleeps on an event until the fsync timer (armed by a write, on the TimeProvider, so tests move it
    // with fake time) fires, then fsyncs. Disarming before the fsync makes a write that lands during it arm the next
    // one. Blocking here holds no thread-pool thread and no request; an idle spool never wakes it.
    private void SyncLoop()
    {
        WaitHandle[] handles = [_syncDue, _stopping.Token.WaitHandle];
        while (WaitHandle.WaitAny(handles) == 0)
        {
            Interlocked.Exchange(ref _syncArmed, 0);
            try
            {
                Sync();
            }
            catch (IOException ex)
            {
                lock (_gate)
                {
                    _failed = ex; // an fsync error means written data may be gone: stop acknowledging
                }
            }
        }
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        lock (_gate)
        {
            _failed ??= new ObjectDisposedException(nameof(Spool)); // no append from now on
        }

        // rounds already accepted are written first (the writer thread is still running: each round is one pwrite)
        var deadline = Environment.TickCount64 + 5000;
        while (Environment.TickCount64 < deadline)
        {
            lock (_gate)
            {
                if (!_writing)
                {
                    break;
                }
            }

            Thread.Yield();
        }

        _stopping.Cancel();
        _syncThread.Join(TimeSpan.FromSeconds(5));
        _writerThread.Join(TimeSpan.FromSeconds(5));

        try
        {
            Sync();
        }
        catch (IOException)
        {
        }

        _syncTimer.Dispose();
        _active.Dispose();
        _stopping.Dispose();
        _syncDue.Dispose();
        _dataAvailable.Dispose();
        _writeSignal.Dispose();
    }

    private static FileStream CreateSegment(string directory, long segmentBase, out string path, bool flush = true)
    {
        path = Path.Combine(directory, segmentBase.ToString("D20", CultureInfo.InvariantCulture) + ".seg");
        var stream = new FileStream(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read | FileShare.Delete, 0);
        WriteHeader(stream.SafeFileHandle, segmentBase);
        if (flush)
        {
            stream.Flush(flushToDisk: true);
        }

        return stream;
    }

    private static void WriteHeader(SafeFileHandle handle, long segmentBase)
    {
        Span<byte> header = stackalloc byte[SegmentHeaderSize];
        Magic.CopyTo(header);
        BinaryPrimitives.WriteInt64LittleEndian(header[8..], segmentBase);
        RandomAccess.Write(handle, header, 0);
    }

    /// <summary>The end of the last whole, CRC-valid frame of a segment (0 when even the header is bad).</summary>
    private static long ValidEnd(SafeFileHandle handle, long length)
    {
        Span<byte> header = stackalloc byte[SegmentHeaderSize];
        if (length < SegmentHeaderSize || RandomAccess.Read(handle, header, 0) != SegmentHeaderSize || !header[..8].SequenceEqual(Magic))
        {
            return 0;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(1 << 20);
        try
        {
            long at = SegmentHeaderSize;
            Span<byte> frame = stackalloc byte[FrameHeaderSize];
            while (at + FrameHeaderSize <= length)
            {
                RandomAccess.Read(handle, frame, at);
                var size = BinaryPrimitives.ReadUInt32LittleEndian(frame);
                var crc = BinaryPrimitives.ReadUInt32LittleEndian(frame[4..]);
                if (at + FrameHeaderSize + (long)size > length)
                {
                    break;
                }

                if (buffer.Length < size)
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = ArrayPool<byte>.Shared.Rent((int)size);
                }

                var payload = buffer.AsSpan(0, (int)size);
                if (RandomAccess.Read(handle, payload, at + FrameHeaderSize) != size || Crc32.HashToUInt32(payload) != crc)
                {
                    break;
                }

                at += FrameHeaderSize + size;
            }

            return at;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static long ReadCheckpoint(string directory)
    {
        var path = Path.Combine(directory, "checkpoint");
        if (!File.Exists(path))
        {
            return 0;
        }

        var bytes = File.ReadAllBytes(path);
        return bytes.Length == 12 && Crc32.HashToUInt32(bytes.AsSpan(0, 8)) == BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(8))
            ? BinaryPrimitives.ReadInt64LittleEndian(bytes)
            : 0; // unreadable: replay from the oldest segment (the sinks skip what they already hold)
    }
}
