using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;
using Lifeline.Vault.Backup;
using Lifeline.Vault.Format;
using Lifeline.Vault.Index;

namespace Lifeline.Vault.Restore;

/// <summary>
/// Restores a snapshot into a directory (docs/vault-format.md, "Restore details"): plans every file and validates
/// every name first; then one reader reads the packs that hold the files' blobs, each once and in the order the files
/// first need them, while workers decrypt and decompress the blobs and write each to every place it belongs.
/// A file is written under a partial name in its directory (preallocated), and gets its mode, mtime and real name
/// only when its last blob is in; a failed restore deletes its partial files.
/// </summary>
internal sealed partial class RestoreEngine
{
    private const long MaxRangeRead = 32L * 1024 * 1024;
    private const long MaxGapRead = 256L * 1024;
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
        var cpuStart = Environment.CpuUsage.TotalTime;
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
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
        await WriteFilesAsync(workers, started);
        var finishStarted = System.Diagnostics.Stopwatch.GetTimestamp();

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
        var finish = System.Diagnostics.Stopwatch.GetElapsedTime(finishStarted);
        return new RestoreResult { Files = _files.Count, Dirs = _dirs.Count, Bytes = _bytesDone, Stages = Stages(finish, Environment.CpuUsage.TotalTime - cpuStart) };
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

    internal static void SetMode(string path, int mode)
    {
        if (!OperatingSystem.IsWindows() && mode != 0)
        {
            File.SetUnixFileMode(path, (UnixFileMode)(mode & 0xFFF));
        }
    }
}
