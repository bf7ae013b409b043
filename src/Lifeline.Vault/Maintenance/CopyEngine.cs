using System.Buffers;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Security.Cryptography;
using System.Threading.Channels;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault.Backup;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Maintenance;

/// <summary>
/// Copies snapshots to another repository (docs/vault-format.md, ordering 5; docs/vault.md, "Copy"): only blobs the
/// destination lacks. A plan walks the snapshots' trees and groups the missing blobs by source pack; one reader then
/// reads each source pack once, as one sequential range, ahead of the workers; the workers verify every blob
/// (authenticated decryption; with CopyOptions.VerifyPlaintext also decompression and SHA-256 against its id) in parallel and pack the verified blobs for the destination
/// (re-encrypted with its key, or, when both share the master key, as stored; a source pack whose every blob is needed
/// and verified, and whose bytes hash to its id, is written as it is); a bounded number of uploads write, read back
/// and index the packs. Ordering: packs → index → snapshots, so a copy stopped anywhere leaves a checkable destination.
/// </summary>
internal sealed class CopyEngine(VaultRepository src, VaultRepository dest, CopyOptions options, IProgress<VaultProgress>? progress, Locking.VaultLock destLock, CancellationToken ct)
{
    private const int PacksPerIndexFile = 8;
    private readonly VaultRepository _src = src;
    private readonly VaultRepository _dest = dest;
    private readonly Dictionary<BlobId, SourcePack> _plan = [];
    private readonly List<SourcePack> _order = [];
    private readonly HashSet<BlobId> _visited = [];
    private readonly ArrayPool<byte> _pool = dest.Options.BufferPool ?? VaultBuffers.Runs;
    private readonly Lock _gate = new();
    private readonly List<(BlobId Pack, IReadOnlyList<PackEntry> Entries)> _pendingIndex = [];
    private readonly List<Task> _uploads = [];
    private readonly SemaphoreSlim _indexWrites = new(1, 1);
    private readonly bool _sameKey = CryptographicOperations.FixedTimeEquals(src.Key.Material, dest.Key.Material);
    private readonly bool _verifyPlaintext = options.VerifyPlaintext;
    private SemaphoreSlim _uploadSlots = null!;
    private CancellationTokenSource _cts = null!;
    private Exception? _failure;
    private long _blobs;
    private long _bytes;
    private int _readBack;
    private int _packsRead;
    private int _packsWhole;
    private int _packsDone;
    private long _read, _waitWorkers, _verify, _pack, _waitUpload, _write, _readBackTicks, _indexWrite;

    public async Task<CopyResult> RunAsync()
    {
        var wall = Stopwatch.StartNew();
        var sources = await _src.LoadSnapshotsAsync(options.Filter, ct);
        var present = (await _dest.LoadSnapshotsAsync(null, ct)).Select(s => s.OriginalId ?? s.Id).ToHashSet(StringComparer.Ordinal);
        var todo = sources.Where(s => !present.Contains(s.OriginalId ?? s.Id)).ToList();
        var skipped = sources.Count - todo.Count;
        await PlanAsync(todo.Select(s => BlobId.Parse(s.TreeId)));

        var plan = wall.Elapsed;
        var workers = Math.Max(1, _dest.Options.Workers ?? Environment.ProcessorCount);
        // the file system store fsyncs each pack: two at once keep the disk busy; object stores get more round trips in flight
        var uploads = _dest.Store is FileSystemObjectStore ? 2 : 4;
        if (_order.Count > 0)
        {
            await PipelineAsync(workers, uploads);
        }

        destLock.ThrowIfExpired();
        var snapshots = Stopwatch.StartNew();
        foreach (var s in todo)
        {
            var json = VaultRepository.ToJson(s) with { OriginalId = s.OriginalId ?? s.Id, Parent = null };
            var id = await _dest.SaveSnapshotAsync(json, ct);
            Log.SnapshotCopied(_src.Logger, s.ShortId, _dest.Store.Location, id[..8]);
        }

        return new CopyResult
        {
            SnapshotsCopied = todo.Count,
            SnapshotsSkipped = skipped,
            BlobsCopied = _blobs,
            BytesCopied = _bytes,
            PacksReadBack = _readBack,
            PacksRead = _packsRead,
            PacksCopiedWhole = _packsWhole,
            PlaintextVerified = _verifyPlaintext,
            SharedMasterKey = _sameKey,
            Stages = new CopyStageTimes
            {
                Plan = plan,
                Read = Ticks(_read),
                WaitForWorkers = Ticks(_waitWorkers),
                Verify = Ticks(_verify),
                Pack = Ticks(_pack),
                WaitForUpload = Ticks(_waitUpload),
                Write = Ticks(_write),
                ReadBack = Ticks(_readBackTicks),
                IndexWrite = Ticks(_indexWrite),
                Snapshots = snapshots.Elapsed,
                Workers = workers,
                Uploads = uploads,
            },
        };
    }

    private static TimeSpan Ticks(long stopwatchTicks) => Stopwatch.GetElapsedTime(0, stopwatchTicks);

    // ---- plan ---------------------------------------------------------------------------------------------------

    /// <summary>
    /// Walks the trees level by level, loading each level's trees in parallel (a few round trips in flight, for object
    /// stores), and records every blob the destination lacks.
    /// </summary>
    private async Task PlanAsync(IEnumerable<BlobId> roots)
    {
        // Every tree is walked even when the destination has it: a tree there does not prove that all its content
        // is (an interrupted copy or backup may have stored the tree's pack before a content pack). Trees are small,
        // and each is loaded verified (authenticated and hashed) before it is trusted for the walk.
        var level = roots.Where(_visited.Add).ToList();
        while (level.Count > 0)
        {
            var trees = new TreeJson[level.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, level.Count), new ParallelOptions { MaxDegreeOfParallelism = 8, CancellationToken = ct },
                async (i, c) => trees[i] = await _src.LoadTreeAsync(level[i], c));
            var next = new List<BlobId>();
            for (var i = 0; i < level.Count; i++)
            {
                Need(level[i]);
                foreach (var n in trees[i].Nodes)
                {
                    foreach (var c in n.Content ?? [])
                    {
                        Need(BlobId.Parse(c));
                    }

                    if (n.Subtree is not null && _visited.Add(BlobId.Parse(n.Subtree)))
                    {
                        next.Add(BlobId.Parse(n.Subtree));
                    }
                }
            }

            level = next;
        }
    }

    private void Need(BlobId id)
    {
        if (_dest.Index.Contains(id))
        {
            return;
        }

        if (!_src.Index.TryGet(id, out var loc))
        {
            throw new VaultCorruptException($"blob {id} is not in the source index");
        }

        if (!_plan.TryGetValue(loc.Pack, out var pack))
        {
            pack = new SourcePack(loc.Pack);
            _plan.Add(loc.Pack, pack);
            _order.Add(pack);
        }

        if (pack.Ids.Add(id))
        {
            pack.Needed.Add(loc.Entry);
        }
    }

    // ---- pipeline -------------------------------------------------------------------------------------------------

    private async Task PipelineAsync(int workers, int uploads)
    {
        _uploadSlots = new SemaphoreSlim(uploads, uploads);
        _cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var channel = Channel.CreateBounded<PackRead>(new BoundedChannelOptions(workers) { SingleWriter = true, SingleReader = false });
        try
        {
            var tasks = new List<Task> { Guard(() => ReadAsync(channel.Writer)) };
            for (var i = 0; i < workers; i++)
            {
                tasks.Add(Guard(() => WorkAsync(channel.Reader)));
            }

            await WhenAllQuietly(tasks);
            Task[] started;
            lock (_gate)
            {
                started = [.. _uploads];
            }

            await WhenAllQuietly(started);
            if (_failure is null)
            {
                await FlushIndexAsync(force: true);
            }
        }
        finally
        {
            // a failed run leaves buffers in the channel: return them
            while (channel.Reader.TryRead(out var left))
            {
                _pool.Return(left.Buffer);
            }

            _cts.Dispose();
            _uploadSlots.Dispose();
            _indexWrites.Dispose();
        }

        if (_failure is not null)
        {
            ExceptionDispatchInfo.Throw(_failure);
        }

        ct.ThrowIfCancellationRequested();
    }

    /// <summary>Runs a pipeline task on the thread pool; its first failure cancels the others and is the run's error.</summary>
    private Task Guard(Func<Task> body) => Task.Run(async () =>
    {
        try
        {
            await body();
        }
        catch (Exception e)
        {
            Fail(e);
        }
    });

    private void Fail(Exception e)
    {
        lock (_gate)
        {
            // the cancellations that follow the first failure are not failures of their own
            if (_failure is null && !(e is OperationCanceledException && _cts.IsCancellationRequested && !ct.IsCancellationRequested))
            {
                _failure = e;
            }
        }

        _cts.Cancel();
    }

    private static async Task WhenAllQuietly(IEnumerable<Task> tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch (Exception)
        {
            // Guard recorded it
        }
    }

    private async Task ReadAsync(ChannelWriter<PackRead> writer)
    {
        var token = _cts.Token;
        try
        {
            for (var i = 0; i < _order.Count; i++)
            {
                var pack = _order[i];
                pack.Needed.Sort((a, b) => a.Offset.CompareTo(b.Offset));
                if (i + 1 < _order.Count)
                {
                    HintNext(_order[i + 1]);
                }

                var t0 = Stopwatch.GetTimestamp();
                var read = await ReadPackAsync(pack, token);
                Interlocked.Add(ref _read, Stopwatch.GetTimestamp() - t0);
                t0 = Stopwatch.GetTimestamp();
                try
                {
                    await writer.WriteAsync(read, token);
                }
                catch
                {
                    _pool.Return(read.Buffer);
                    throw;
                }

                Interlocked.Add(ref _waitWorkers, Stopwatch.GetTimestamp() - t0);
                Interlocked.Increment(ref _packsRead);
            }
        }
        finally
        {
            writer.TryComplete();
        }
    }

    /// <summary>A kernel read-ahead hint for the next pack of a file-system source, so its disk read overlaps this one's.</summary>
    private void HintNext(SourcePack next)
    {
        if (_src.Store is FileSystemObjectStore files)
        {
            var path = Path.Combine(files.Root, VaultRepository.PackKey(next.Id).Replace('/', Path.DirectorySeparatorChar));
            ReadAhead.WillNeed(path, long.MaxValue);
        }
    }

    private async Task<PackRead> ReadPackAsync(SourcePack pack, CancellationToken token)
    {
        // With a shared key, read the whole pack (its header tells whether it can be written as it is); otherwise the
        // range that holds the needed blobs.
        var first = pack.Needed[0].Offset;
        var end = pack.Needed.Max(e => (long)e.Offset + e.Length);
        var key = VaultRepository.PackKey(pack.Id);
        await using var stream = _sameKey
            ? await _src.Store.OpenReadAsync(key, 0, null, token)
            : await _src.Store.OpenReadAsync(key, first, end - first, token);
        var start = _sameKey ? 0 : first;
        var length = stream.Length;
        if (start + length < end)
        {
            throw new VaultCorruptException($"pack {pack.Id} is shorter than the index says ({start + length} bytes, blobs up to {end})");
        }

        if (length > Array.MaxLength)
        {
            throw new VaultCorruptException($"pack {pack.Id} is {length} bytes, larger than any pack can be");
        }

        var buffer = _pool.Rent((int)length);
        try
        {
            await stream.ReadExactlyAsync(buffer.AsMemory(0, (int)length), token);
        }
        catch
        {
            _pool.Return(buffer);
            throw;
        }

        return new PackRead(pack, buffer, start, (int)length);
    }

    private async Task WorkAsync(ChannelReader<PackRead> reader)
    {
        var token = _cts.Token;
        using var worker = new Worker(this);
        try
        {
            await foreach (var read in reader.ReadAllAsync(token))
            {
                var taken = false;
                try
                {
                    taken = await worker.CopyAsync(read, token);
                }
                finally
                {
                    if (!taken)
                    {
                        _pool.Return(read.Buffer);
                    }
                }

                var done = Interlocked.Increment(ref _packsDone);
                progress?.Report(new VaultProgress { Phase = "copy", FilesDone = done, FilesTotal = _order.Count, BytesDone = Interlocked.Read(ref _bytes), Current = read.Pack.Id.ToString()[..8] });
            }

            await worker.FlushAsync(token);
        }
        finally
        {
            worker.ReturnPending();
        }
    }

    /// <summary>Waits for a free upload slot; <see cref="StartUpload"/> then takes it. When the wait throws (the run
    /// was cancelled), nothing was handed over: the caller still owns its bytes.</summary>
    private async Task WaitForUploadSlotAsync(CancellationToken token)
    {
        var t0 = Stopwatch.GetTimestamp();
        await _uploadSlots.WaitAsync(token);
        Interlocked.Add(ref _waitUpload, Stopwatch.GetTimestamp() - t0);
    }

    /// <summary>Starts one upload in the slot <see cref="WaitForUploadSlotAsync"/> took; from here the upload owns
    /// <paramref name="bytes"/> and calls <paramref name="release"/> once when done, whatever happens (it does not throw).
    /// Handing over at one point, after the only wait, is what keeps a buffer from being returned twice: it was, when a
    /// cancelled wait released the bytes and the caller, seeing the wait throw, returned them again. The copy's pool is
    /// shared by every run of the process, so the same array was lent twice later and corrupted a later backup's packs
    /// (caught by the read-back).</summary>
    private void StartUpload(BlobId id, ReadOnlyMemory<byte> bytes, IReadOnlyList<PackEntry> entries, Action release)
    {
        var upload = Guard(async () =>
        {
            try
            {
                await UploadAsync(id, bytes, entries, _cts.Token);
            }
            finally
            {
                release();
                _uploadSlots.Release();
            }
        });
        lock (_gate)
        {
            _uploads.Add(upload);
        }
    }

    private async Task UploadAsync(BlobId id, ReadOnlyMemory<byte> bytes, IReadOnlyList<PackEntry> entries, CancellationToken token)
    {
        var t0 = Stopwatch.GetTimestamp();
        await _dest.Store.PutIfAbsentAsync(VaultRepository.PackKey(id), bytes, token);
        Interlocked.Add(ref _write, Stopwatch.GetTimestamp() - t0);
        if (_dest.Options.ReadBackPacks)
        {
            t0 = Stopwatch.GetTimestamp();
            await PackReadBack.VerifySameBytesAsync(_dest.Store, id, bytes, "after-copy", _pool, token);
            Interlocked.Add(ref _readBackTicks, Stopwatch.GetTimestamp() - t0);
            Interlocked.Increment(ref _readBack);
        }

        // durable (and read back): only now may an index file name it
        _dest.Index.AddPack(id, entries);
        lock (_gate)
        {
            _pendingIndex.Add((id, entries));
        }

        await FlushIndexAsync(force: false);
    }

    private async Task FlushIndexAsync(bool force)
    {
        await _indexWrites.WaitAsync(ct);
        try
        {
            (BlobId, IReadOnlyList<PackEntry>)[] batch;
            lock (_gate)
            {
                if (_pendingIndex.Count == 0 || (!force && _pendingIndex.Count < PacksPerIndexFile))
                {
                    return;
                }

                batch = [.. _pendingIndex];
                _pendingIndex.Clear();
            }

            var t0 = Stopwatch.GetTimestamp();
            await _dest.WriteIndexFileAsync(batch, ct);
            Interlocked.Add(ref _indexWrite, Stopwatch.GetTimestamp() - t0);
        }
        finally
        {
            _indexWrites.Release();
        }
    }

    private sealed record SourcePack(BlobId Id)
    {
        public List<PackEntry> Needed { get; } = [];

        public HashSet<BlobId> Ids { get; } = [];
    }

    private readonly record struct PackRead(SourcePack Pack, byte[] Buffer, long Start, int Length);

    /// <summary>One verify worker: its decompressor, scratch buffers and the destination pack it is filling.</summary>
    private sealed class Worker(CopyEngine engine) : IDisposable
    {
        private readonly NativeZstd.Decompressor _zstd = NativeZstd.RentDecompressor();
        private byte[] _payload = [];
        private byte[] _raw = [];
        private PackBuilder? _builder;

        /// <summary>Verifies and packs the needed blobs of one source pack; true when the read's buffer went to an upload.</summary>
        public async Task<bool> CopyAsync(PackRead read, CancellationToken token)
        {
            var pack = read.Pack;
            var name = pack.Id.ToString();
            var bytes = read.Buffer.AsMemory(0, read.Length);
            if (engine._sameKey && read.Start == 0 && WholePack(read) is { } header)
            {
                var t = Stopwatch.GetTimestamp();
                foreach (var e in header)
                {
                    Verify(bytes.Span.Slice((int)e.Offset, (int)e.Length), e, name);
                }

                Interlocked.Add(ref engine._verify, Stopwatch.GetTimestamp() - t);
                t = Stopwatch.GetTimestamp();
                if (BlobId.Hash(bytes.Span) != pack.Id)
                {
                    throw new VaultCorruptException($"pack {name} does not hash to its id, though each of its blobs verifies");
                }

                Interlocked.Add(ref engine._pack, Stopwatch.GetTimestamp() - t);
                Count(header);
                Interlocked.Increment(ref engine._packsWhole);
                // the buffer is still ours (the caller returns it) until the upload starts with it
                await engine.WaitForUploadSlotAsync(token);
                var buffer = read.Buffer;
                engine.StartUpload(pack.Id, bytes, header, () => engine._pool.Return(buffer));
                return true;
            }

            foreach (var e in pack.Needed)
            {
                token.ThrowIfCancellationRequested();
                var stored = bytes.Span.Slice((int)(e.Offset - read.Start), (int)e.Length);
                var t = Stopwatch.GetTimestamp();
                var payload = Verify(stored, e, name);
                Interlocked.Add(ref engine._verify, Stopwatch.GetTimestamp() - t);
                if (_builder is not null && _builder.Length + e.Length + ((_builder.Count + 1) * PackEntry.Size) + 128 > engine._dest.Config.PackSize)
                {
                    await FlushAsync(token);
                }

                t = Stopwatch.GetTimestamp();
                _builder ??= new PackBuilder(engine._dest.Config.PackSize, engine._pool);
                if (engine._sameKey)
                {
                    _builder.AddSealed(e, read.Buffer.AsSpan((int)(e.Offset - read.Start), (int)e.Length));
                }
                else
                {
                    _builder.Add(e.Type, e.Id, _payload.AsSpan(0, payload), e.Compressed, (int)e.RawLength, engine._dest.Key.Data);
                }

                Interlocked.Add(ref engine._pack, Stopwatch.GetTimestamp() - t);
                Count([e]);
            }

            return false;
        }

        private void Count(IReadOnlyList<PackEntry> entries)
        {
            foreach (var e in entries)
            {
                Interlocked.Increment(ref engine._blobs);
                Interlocked.Add(ref engine._bytes, e.RawLength);
            }
        }

        /// <summary>The pack's header when the whole pack was read and every blob it lists is needed from it, else null.</summary>
        private List<PackEntry>? WholePack(PackRead read)
        {
            List<PackEntry> header;
            try
            {
                header = PackBuilder.ReadHeader(read.Buffer.AsSpan(0, read.Length), engine._src.Key.Data, read.Pack.Id.ToString());
            }
            catch (VaultCorruptException)
            {
                return null; // the blobs are still verified one by one below, and that names what is wrong
            }

            if (header.Count != read.Pack.Needed.Count)
            {
                return null;
            }

            var sorted = header.OrderBy(e => e.Offset).ToList();
            return sorted.SequenceEqual(read.Pack.Needed) ? header : null;
        }

        /// <summary>
        /// Authenticates one stored blob (AES-GCM under the source's data key, the blob's id as associated data) into
        /// <see cref="_payload"/> and returns the payload length; with <see cref="CopyOptions.VerifyPlaintext"/> also
        /// decompresses it and hashes the plaintext against its id. Throws on any failure: such a blob is never copied.
        /// </summary>
        private int Verify(ReadOnlySpan<byte> stored, PackEntry e, string pack)
        {
            var payloadLen = stored.Length - Sealer.Overhead;
            if (payloadLen < 0)
            {
                throw new VaultCorruptException($"blob {e.Id} in pack {pack} is truncated");
            }

            Ensure(ref _payload, payloadLen);
            Span<byte> ad = stackalloc byte[Roles.BlobAdSize];
            Roles.BlobAd(e.Id, ad);
            if (!engine._src.Key.Data.TryOpen(stored, ad, _payload))
            {
                throw new VaultCorruptException($"blob {e.Id} in pack {pack} fails authentication");
            }

            if (!e.Compressed && payloadLen != e.RawLength)
            {
                throw new VaultCorruptException($"blob {e.Id} in pack {pack} fails authentication");
            }

            if (!engine._verifyPlaintext)
            {
                return payloadLen;
            }

            ReadOnlySpan<byte> raw;
            if (e.Compressed)
            {
                Ensure(ref _raw, (int)e.RawLength);
                var n = _zstd.Unwrap(_payload.AsSpan(0, payloadLen), _raw.AsSpan(0, (int)e.RawLength));
                if (n < 0)
                {
                    throw new VaultCorruptException($"blob {e.Id} in pack {pack} does not decompress");
                }

                if (n != e.RawLength)
                {
                    throw new VaultCorruptException($"blob {e.Id} in pack {pack} decompresses to {n} bytes, expected {e.RawLength}");
                }

                raw = _raw.AsSpan(0, n);
            }
            else
            {
                raw = _payload.AsSpan(0, payloadLen);
            }

            if (BlobId.Hash(raw) != e.Id)
            {
                throw new VaultCorruptException($"blob {e.Id} in pack {pack} has the wrong content (hash mismatch)");
            }

            return payloadLen;
        }

        private void Ensure(ref byte[] buffer, int length)
        {
            if (buffer.Length < length)
            {
                if (buffer.Length > 0)
                {
                    engine._pool.Return(buffer);
                }

                buffer = engine._pool.Rent(length);
            }
        }

        public async Task FlushAsync(CancellationToken token)
        {
            if (_builder is not { Count: > 0 } builder)
            {
                return;
            }

            var t = Stopwatch.GetTimestamp();
            var (id, bytes) = builder.Finish(engine._dest.Key.Data);
            Interlocked.Add(ref engine._pack, Stopwatch.GetTimestamp() - t);
            await engine.WaitForUploadSlotAsync(token); // until it starts, the builder is ours (ReturnPending disposes it)
            _builder = null;
            engine.StartUpload(id, bytes, [.. builder.Entries], builder.Dispose);
        }

        public void ReturnPending()
        {
            _builder?.Dispose();
            _builder = null;
        }

        public void Dispose()
        {
            NativeZstd.Return(_zstd);
            if (_payload.Length > 0)
            {
                engine._pool.Return(_payload);
            }

            if (_raw.Length > 0)
            {
                engine._pool.Return(_raw);
            }
        }
    }
}
