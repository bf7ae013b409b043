using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Lifeline.Vault.Backup;
using Lifeline.Vault.Format;
using Lifeline.Vault.Index;

namespace Lifeline.Vault.Restore;

/// <summary>Restores a snapshot into a directory (docs/vault-format.md, "Restore details").</summary>
internal sealed class RestoreEngine
{
    private const long MaxRangeRead = 16L * 1024 * 1024;
    private readonly VaultRepository _repo;
    private readonly RestoreRequest _request;
    private readonly IProgress<VaultProgress>? _progress;
    private readonly CancellationToken _ct;
    private readonly List<Regex> _include;
    private readonly List<(string Path, NodeJson Node, int Depth)> _dirs = [];
    private readonly List<(string Path, NodeJson Node)> _files = [];
    private readonly List<(string Path, NodeJson Node)> _links = [];
    private string _target = "";
    private long _filesDone;
    private long _bytesDone;
    private long _bytesTotal;

    public RestoreEngine(VaultRepository repo, RestoreRequest request, IProgress<VaultProgress>? progress, CancellationToken ct)
    {
        _repo = repo;
        _request = request;
        _progress = progress;
        _ct = ct;
        _include = request.Include.Select(GlobToRegex).ToList();
    }

    public static void ValidateName(string name, string dir)
    {
        if (name.Length == 0 || name == "." || name == ".." || name.Contains('/', StringComparison.Ordinal) || name.Contains('\0', StringComparison.Ordinal)
            || (OperatingSystem.IsWindows() && (name.Contains('\\', StringComparison.Ordinal) || name.Contains(':', StringComparison.Ordinal))) || Path.IsPathRooted(name))
        {
            throw new UnsafePathException(name, dir.Length == 0 ? "/" : dir);
        }
    }

    internal static Regex GlobToRegex(string glob)
    {
        var sb = new StringBuilder(glob.StartsWith('/') ? "^" : "^(.*/)?");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                sb.Append(".*");
                i++;
            }
            else if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append("[^/]");
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }

        sb.Append("(/.*)?$");
        return new Regex(sb.ToString(), RegexOptions.CultureInvariant);
    }

    private bool Included(string path) => _include.Count == 0 || _include.Exists(r => r.IsMatch(path));

    private bool MayContainIncluded(string dirPath)
    {
        if (_include.Count == 0)
        {
            return true;
        }

        var d = dirPath + "/";
        foreach (var g in _request.Include)
        {
            if (!g.StartsWith('/'))
            {
                return true;
            }

            var wild = g.IndexOfAny(['*', '?']);
            var literal = wild < 0 ? g : g[..wild];
            if (literal.StartsWith(d, StringComparison.Ordinal) || d.StartsWith(literal, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    public async Task<RestoreResult> RunAsync()
    {
        _target = Path.TrimEndingDirectorySeparator(Path.GetFullPath(_request.TargetDirectory));
        if (Directory.Exists(_target) && Directory.EnumerateFileSystemEntries(_target).Any() && !_request.Overwrite)
        {
            throw new RestoreTargetNotEmptyException(_target);
        }

        if (File.Exists(_target))
        {
            throw new RestoreTargetNotEmptyException(_target);
        }

        // Plan everything (and validate every name) before writing anything.
        await PlanAsync("", BlobId.Parse(_request.Snapshot.TreeId), 0, parentIncluded: false);
        _bytesTotal = _files.Sum(f => f.Node.Size);

        Directory.CreateDirectory(_target);
        foreach (var (path, _, _) in _dirs)
        {
            Directory.CreateDirectory(Local(path));
        }

        var workers = Math.Max(1, _repo.Options.Workers ?? Environment.ProcessorCount);
        await Parallel.ForEachAsync(_files, new ParallelOptions { MaxDegreeOfParallelism = workers, CancellationToken = _ct }, async (f, c) => await RestoreFileAsync(f.Path, f.Node, c));

        foreach (var (path, node) in _links)
        {
            var local = Local(path);
            if (File.Exists(local) || Directory.Exists(local))
            {
                File.Delete(local);
            }

            File.CreateSymbolicLink(local, node.Target ?? "");
            FileStats.SetMtime(local, node.Mtime, isSymlink: true);
        }

        // Directories last, deepest first: their mtimes change whenever something is created inside them.
        foreach (var (path, node, _) in _dirs.OrderByDescending(d => d.Depth))
        {
            var local = Local(path);
            SetMode(local, node.Mode);
            FileStats.SetMtime(local, node.Mtime, isSymlink: false);
        }

        _progress?.Report(new VaultProgress { Phase = "restore", FilesDone = _filesDone, FilesTotal = _files.Count, BytesDone = _bytesDone, BytesTotal = _bytesTotal });
        Log.RestoreDone(_repo.Logger, _request.Snapshot.ShortId, _target, _files.Count, _bytesDone);
        return new RestoreResult { Files = _files.Count, Dirs = _dirs.Count, Bytes = _bytesDone };
    }

    private string Local(string snapshotPath)
    {
        var local = Path.GetFullPath(Path.Join(_target, snapshotPath.TrimStart('/')));
        if (!local.StartsWith(_target + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new UnsafePathException(snapshotPath, _target);
        }

        return local;
    }

    private async Task<bool> PlanAsync(string dir, BlobId treeId, int depth, bool parentIncluded)
    {
        var tree = await _repo.LoadTreeAsync(treeId, _ct);
        var any = false;
        foreach (var n in tree.Nodes)
        {
            ValidateName(n.Name, dir);
        }

        foreach (var n in tree.Nodes)
        {
            var path = dir + "/" + n.Name;
            var included = parentIncluded || Included(path);
            switch (VaultRepository.ParseType(n.Type))
            {
                case NodeType.Dir:
                    if (n.Subtree is null)
                    {
                        throw new VaultCorruptException($"directory {path} in tree {treeId} has no subtree");
                    }

                    if (included || MayContainIncluded(path))
                    {
                        var index = _dirs.Count;
                        _dirs.Add((path, n, depth + 1));
                        var inner = await PlanAsync(path, BlobId.Parse(n.Subtree), depth + 1, included);
                        if (!included && !inner)
                        {
                            _dirs.RemoveAt(index);
                        }
                        else
                        {
                            any = true;
                        }
                    }

                    break;
                case NodeType.File when included:
                    _files.Add((path, n));
                    any = true;
                    break;
                case NodeType.Symlink when included:
                    _links.Add((path, n));
                    any = true;
                    break;
            }
        }

        return any;
    }

    private async Task RestoreFileAsync(string path, NodeJson node, CancellationToken ct)
    {
        var local = Local(path);
        var content = node.Content ?? [];
        var locations = new BlobLocation[content.Count];
        for (var i = 0; i < content.Count; i++)
        {
            if (!BlobId.TryParse(content[i], out var id) || !_repo.Index.TryGet(id, out locations[i]))
            {
                throw new VaultCorruptException($"blob {content[i]} of {path} is not in the index");
            }
        }

        if (File.Exists(local) && new FileInfo(local).LinkTarget is not null)
        {
            File.Delete(local);
        }

        using (var handle = File.OpenHandle(local, FileMode.Create, FileAccess.Write, FileShare.None, FileOptions.None))
        {
            long fileOffset = 0;
            var i = 0;
            while (i < locations.Length)
            {
                // Adjacent blobs of one pack are read with one ranged get.
                var first = locations[i];
                var j = i + 1;
                long end = first.Entry.Offset + first.Entry.Length;
                while (j < locations.Length && locations[j].Pack == first.Pack && locations[j].Entry.Offset == end && end - first.Entry.Offset < MaxRangeRead)
                {
                    end += locations[j].Entry.Length;
                    j++;
                }

                var packName = first.Pack.ToString();
                var data = await _repo.Store.GetAsync(VaultRepository.PackKey(first.Pack), first.Entry.Offset, end - first.Entry.Offset, ct);
                if (data.Length != end - first.Entry.Offset)
                {
                    throw new VaultCorruptException($"pack {packName} is shorter than the index says");
                }

                LargeReads.Add(data.Length);

                for (var k = i; k < j; k++)
                {
                    var e = locations[k].Entry;
                    var raw = VaultBuffers.Pool.Rent((int)e.RawLength);
                    try
                    {
                        BlobDecoder.Decode(data.AsSpan((int)(e.Offset - first.Entry.Offset), (int)e.Length), e, _repo.Key.Data, packName, raw, verifyHash: false);
                        RandomAccess.Write(handle, raw.AsSpan(0, (int)e.RawLength), fileOffset);
                        fileOffset += e.RawLength;
                    }
                    finally
                    {
                        VaultBuffers.Pool.Return(raw);
                    }
                }

                var rawBytes = 0L;
                for (var k = i; k < j; k++)
                {
                    rawBytes += locations[k].Entry.RawLength;
                }

                i = j;
                var done = Interlocked.Add(ref _bytesDone, rawBytes);
                _progress?.Report(new VaultProgress { Phase = "restore", FilesDone = Interlocked.Read(ref _filesDone), FilesTotal = _files.Count, BytesDone = done, BytesTotal = _bytesTotal, Current = path });
            }
        }

        SetMode(local, node.Mode);
        FileStats.SetMtime(local, node.Mtime, isSymlink: false);
        Interlocked.Increment(ref _filesDone);
    }

    private static void SetMode(string path, int mode)
    {
        if (!OperatingSystem.IsWindows() && mode != 0)
        {
            File.SetUnixFileMode(path, (UnixFileMode)(mode & 0xFFF));
        }
    }
}
