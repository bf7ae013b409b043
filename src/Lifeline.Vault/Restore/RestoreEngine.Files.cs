using System.Threading.Channels;
using Lifeline.Vault.Backup;
using Lifeline.Vault.Format;
using Lifeline.Vault.Index;
using Microsoft.Win32.SafeHandles;

namespace Lifeline.Vault.Restore;

/// <summary>Writing the files of a restore: packs read once and in order, blobs decoded and written on workers.</summary>
internal sealed partial class RestoreEngine
{
    /// <summary>One file being restored: its partial name until its last blob is written.</summary>
    private sealed class FileTarget(string local, string partial, NodeJson node, int blobs)
    {
        public string Local { get; } = local;
        public string Partial { get; } = partial;
        public NodeJson Node { get; } = node;
        public int Remaining = blobs;
        public bool Created;
        public bool Done;
        public Lock Gate { get; } = new();
    }

    /// <summary>Where one blob goes: a file and the offset in it.</summary>
    private readonly record struct BlobTarget(FileTarget File, long Offset);

    /// <summary>A blob of a pack and every place it is written.</summary>
    private sealed record PackBlob(PackEntry Entry, List<BlobTarget> Targets);

    /// <summary>One ranged read of a pack: adjacent (or nearly adjacent) blobs read together.</summary>
    private readonly record struct PackRead(BlobId Pack, long Offset, long Length, List<PackBlob> Blobs);

    private readonly List<FileTarget> _targets = [];

    // stage timings in Stopwatch ticks: the reader's are its own; workers' are added with Interlocked
    private long _tPlan, _tRead, _tWaitWorkers, _tDecode, _tWrite, _tComplete;
    private int _packReads;

    private RestoreStageTimes Stages(TimeSpan finish, TimeSpan cpu)
    {
        static TimeSpan T(long ticks) => TimeSpan.FromSeconds(ticks / (double)System.Diagnostics.Stopwatch.Frequency);
        return new RestoreStageTimes
        {
            Plan = T(_tPlan),
            Read = T(_tRead),
            WaitForWorkers = T(_tWaitWorkers),
            Decode = T(Interlocked.Read(ref _tDecode)),
            Write = T(Interlocked.Read(ref _tWrite)),
            Complete = T(Interlocked.Read(ref _tComplete)),
            Finish = finish,
            Cpu = cpu,
            Cores = Environment.ProcessorCount,
            PackReads = _packReads,
        };
    }

    private async Task WriteFilesAsync(int workers, long started)
    {
        var reads = PlanReads();
        _packReads = reads.Count;
        _tPlan = System.Diagnostics.Stopwatch.GetTimestamp() - started;
        try
        {
            // empty files have no blob: they are complete as soon as they exist
            foreach (var t in _targets.Where(t => t.Remaining == 0))
            {
                using (OpenPartial(t))
                {
                }

                Complete(t);
            }

            var loaded = Channel.CreateBounded<(PackRead Read, byte[] Data)>(new BoundedChannelOptions(workers) { SingleWriter = true });
            // reads land in pooled buffers (no large-object garbage per read): those in the channel, one per worker, the reader's
            var pool = System.Buffers.ArrayPool<byte>.Create(64 * 1024 * 1024, (workers * 2) + 2);
            using var cts = CancellationTokenSource.CreateLinkedTokenSource(_ct);
            var reader = Task.Run(async () =>
            {
                try
                {
                    foreach (var r in reads)
                    {
                        var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                        var data = pool.Rent((int)r.Length);
                        int n;
                        await using (var stream = await _repo.Store.OpenReadAsync(VaultRepository.PackKey(r.Pack), r.Offset, r.Length, cts.Token))
                        {
                            n = await stream.ReadAtLeastAsync(data.AsMemory(0, (int)r.Length), (int)r.Length, throwOnEndOfStream: false, cts.Token);
                        }

                        var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                        _tRead += t1 - t0;
                        if (n != r.Length)
                        {
                            throw new VaultCorruptException($"pack {r.Pack} is shorter than the index says");
                        }

                        await loaded.Writer.WriteAsync((r, data), cts.Token);
                        _tWaitWorkers += System.Diagnostics.Stopwatch.GetTimestamp() - t1;
                    }

                    loaded.Writer.TryComplete();
                }
                catch (Exception e)
                {
                    loaded.Writer.TryComplete(e);
                    await cts.CancelAsync();
                    throw;
                }
            });
            var writers = Enumerable.Range(0, workers).Select(_ => Task.Run(async () =>
            {
                try
                {
                    await foreach (var (read, data) in loaded.Reader.ReadAllAsync(cts.Token))
                    {
                        try
                        {
                            WriteBlobs(read, data);
                        }
                        finally
                        {
                            pool.Return(data);
                        }
                    }
                }
                catch
                {
                    await cts.CancelAsync();
                    throw;
                }
            })).ToArray();
            await RethrowFirstRealAsync([reader, .. writers]);
        }
        catch
        {
            DeletePartials();
            throw;
        }
    }

    /// <summary>Awaits all tasks; rethrows the first failure that is not a cancellation it caused itself.</summary>
    private static async Task RethrowFirstRealAsync(Task[] tasks)
    {
        try
        {
            await Task.WhenAll(tasks);
        }
        catch
        {
            var real = tasks.Where(t => t.IsFaulted).Select(t => t.Exception!.InnerException!).FirstOrDefault(e => e is not OperationCanceledException);
            if (real is not null)
            {
                System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(real);
            }

            throw;
        }
    }

    /// <summary>
    /// Finds every blob of every file, the offset it goes to, and groups them into ranged reads: packs in the order the
    /// files first need them, within a pack by offset, neighbours merged when the gap between them is small.
    /// </summary>
    private List<PackRead> PlanReads()
    {
        var runId = Guid.NewGuid().ToString("N")[..8];
        var byPack = new Dictionary<BlobId, Dictionary<uint, PackBlob>>();
        var packOrder = new List<BlobId>();
        for (var f = 0; f < _files.Count; f++)
        {
            var (path, node) = _files[f];
            var local = Local(path);
            var content = node.Content ?? [];
            var partial = Path.Join(Path.GetDirectoryName(local), $".lifeline-restore-{runId}-{f}");
            var target = new FileTarget(local, partial, node, content.Count);
            _targets.Add(target);
            long offset = 0;
            foreach (var c in content)
            {
                if (!BlobId.TryParse(c, out var id) || !_repo.Index.TryGet(id, out BlobLocation loc))
                {
                    throw new VaultCorruptException($"blob {c} of {path} is not in the index");
                }

                if (!byPack.TryGetValue(loc.Pack, out var blobs))
                {
                    blobs = [];
                    byPack.Add(loc.Pack, blobs);
                    packOrder.Add(loc.Pack);
                }

                if (!blobs.TryGetValue(loc.Entry.Offset, out var blob))
                {
                    blob = new PackBlob(loc.Entry, []);
                    blobs.Add(loc.Entry.Offset, blob);
                }

                blob.Targets.Add(new BlobTarget(target, offset));
                offset += loc.Entry.RawLength;
            }
        }

        var reads = new List<PackRead>();
        foreach (var pack in packOrder)
        {
            var sorted = byPack[pack].Values.OrderBy(b => b.Entry.Offset).ToList();
            var i = 0;
            while (i < sorted.Count)
            {
                long start = sorted[i].Entry.Offset;
                long end = start + sorted[i].Entry.Length;
                var j = i + 1;
                while (j < sorted.Count && sorted[j].Entry.Offset - end <= MaxGapRead && sorted[j].Entry.Offset + sorted[j].Entry.Length - start <= MaxRangeRead)
                {
                    end = Math.Max(end, sorted[j].Entry.Offset + sorted[j].Entry.Length);
                    j++;
                }

                reads.Add(new PackRead(pack, start, end - start, sorted.GetRange(i, j - i)));
                i = j;
            }
        }

        return reads;
    }

    /// <summary>Decrypts and decompresses the blobs of one read and writes each wherever it goes.</summary>
    private void WriteBlobs(PackRead read, byte[] data)
    {
        var packName = read.Pack.ToString();
        foreach (var blob in read.Blobs)
        {
            var e = blob.Entry;
            var raw = VaultBuffers.Pool.Rent((int)e.RawLength);
            try
            {
                var t0 = System.Diagnostics.Stopwatch.GetTimestamp();
                BlobDecoder.Decode(data.AsSpan((int)(e.Offset - read.Offset), (int)e.Length), e, _repo.Key.Data, packName, raw, verifyHash: false);
                var t1 = System.Diagnostics.Stopwatch.GetTimestamp();
                Interlocked.Add(ref _tDecode, t1 - t0);
                foreach (var (file, offset) in blob.Targets)
                {
                    var w0 = System.Diagnostics.Stopwatch.GetTimestamp();
                    using (var handle = OpenPartial(file))
                    {
                        RandomAccess.Write(handle, raw.AsSpan(0, (int)e.RawLength), offset);
                    }

                    var w1 = System.Diagnostics.Stopwatch.GetTimestamp();
                    Interlocked.Add(ref _tWrite, w1 - w0);
                    var done = Interlocked.Add(ref _bytesDone, e.RawLength);
                    if (Interlocked.Decrement(ref file.Remaining) == 0)
                    {
                        Complete(file);
                        Interlocked.Add(ref _tComplete, System.Diagnostics.Stopwatch.GetTimestamp() - w1);
                    }

                    _progress?.Report(new VaultProgress { Phase = "restore", FilesDone = Interlocked.Read(ref _filesDone), FilesTotal = _files.Count, BytesDone = done, BytesTotal = _bytesTotal, Current = file.Local });
                }
            }
            finally
            {
                VaultBuffers.Pool.Return(raw);
            }
        }
    }

    /// <summary>Opens a file's partial for writing; the first open creates it with its full size preallocated.</summary>
    private static SafeFileHandle OpenPartial(FileTarget file)
    {
        lock (file.Gate)
        {
            if (!file.Created)
            {
                var handle = File.OpenHandle(file.Partial, FileMode.CreateNew, FileAccess.Write, FileShare.ReadWrite, FileOptions.None, preallocationSize: file.Node.Size);
                file.Created = true;
                return handle;
            }
        }

        return File.OpenHandle(file.Partial, FileMode.Open, FileAccess.Write, FileShare.ReadWrite, FileOptions.None);
    }

    /// <summary>A file's last blob is in: its mode and mtime, then its real name (replacing what was there).</summary>
    private void Complete(FileTarget file)
    {
        SetMode(file.Partial, file.Node.Mode);
        FileStats.SetMtime(file.Partial, file.Node.Mtime, isSymlink: false);
        if (Directory.Exists(file.Local) && new FileInfo(file.Local).LinkTarget is null)
        {
            throw new VaultException($"cannot restore file {file.Local}: a directory of that name is in the target; restore into an empty directory");
        }

        File.Move(file.Partial, file.Local, overwrite: true);
        lock (file.Gate)
        {
            file.Done = true;
        }

        Interlocked.Increment(ref _filesDone);
    }

    /// <summary>After a failure: the files not completed are removed, so none is left looking whole.</summary>
    private void DeletePartials()
    {
        foreach (var t in _targets)
        {
            lock (t.Gate)
            {
                if (!t.Created || t.Done)
                {
                    continue;
                }
            }

            try
            {
                File.Delete(t.Partial);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // best effort: the name says it is partial
            }
        }
    }
}
