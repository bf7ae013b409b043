using System.Runtime.CompilerServices;

namespace Lifeline.Storage.FileSystem;

/// <summary>
/// An <see cref="IObjectStore"/> on a local directory. Keys map to files below the root ('/' becomes a directory).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Writes go to a temporary file in the target directory, which is flushed to disk and then renamed into place;
/// the directory is flushed after the rename (and after creating new directories), so readers never see a partial
/// object and a returned put survives a power loss.</item>
/// <item>Put-if-absent publishes the temporary file with <c>renameat2(RENAME_NOREPLACE)</c> on Linux (falling back to
/// <c>link(2)</c> where the file system lacks it, and to a no-replace <c>MoveFileEx</c> on Windows): exact under
/// concurrency, and atomic for readers.</item>
/// <item>Temporary files are named <c>.tmp-*</c>; such names are reserved (rejected as keys), never listed, and left
/// behind only by a crash.</item>
/// <item>A file cannot also be a directory, so a key that is a folder of another key ("a/b" and "a/b/c") cannot
/// exist in this store: writing the second one throws <see cref="InvalidOperationException"/>, and reading "a/b"
/// when only "a/b/c" exists reports it missing.</item>
/// <item>Streaming puts copy into the temporary file through one 80 KiB buffer; a stream that fails or a cancelled
/// token deletes the temporary file, so nothing is visible. Streaming reads keep the file open: a replace or a delete
/// while reading does not change what the stream yields.</item>
/// <item>Listing walks the tree depth-first in ordinal key order and streams; memory is bounded by the largest
/// directory, not the store.</item>
/// </list>
/// </remarks>
public sealed class FileSystemObjectStore : IObjectStore
{
    private const string TempPrefix = ".tmp-";
    private const int CopyBufferSize = 81920;
    private readonly string _root;

    /// <summary>Opens (and creates if needed) a store rooted at <paramref name="root"/>.</summary>
    public FileSystemObjectStore(string root)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(root);
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    /// <inheritdoc />
    public string Location => new Uri(_root).AbsoluteUri;

    /// <summary>The absolute root directory.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        ReplaceAsync(key, (stream, ct) => stream.WriteAsync(data, ct).AsTask(), cancellationToken);

    /// <inheritdoc />
    public Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) =>
        CreateAsync(key, (stream, ct) => stream.WriteAsync(data, ct).AsTask(), cancellationToken);

    /// <inheritdoc />
    /// <remarks>The stream is copied into the temporary file through one 80 KiB buffer.</remarks>
    public Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return ReplaceAsync(key, (stream, ct) => content.CopyToAsync(stream, CopyBufferSize, ct), cancellationToken);
    }

    /// <inheritdoc />
    public Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        return CreateAsync(key, (stream, ct) => content.CopyToAsync(stream, CopyBufferSize, ct), cancellationToken);
    }

    private async Task ReplaceAsync(string key, Func<FileStream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        var temp = await WriteTempAsync(key, path, write, cancellationToken);
        try
        {
            if (Directory.Exists(path))
            {
                throw FolderConflict(key);
            }

            File.Move(temp, path, overwrite: true); // rename(2): atomic replace
        }
        catch (IOException) when (Directory.Exists(path))
        {
            // a concurrent write made the key a folder after the check above: the same conflict
            TryDelete(temp);
            throw FolderConflict(key);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        NativeFileOps.FsyncDirectory(Path.GetDirectoryName(path)!);
    }

    private async Task<bool> CreateAsync(string key, Func<FileStream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var path = PathOf(key);
        if (File.Exists(path))
        {
            return false; // someone already won; the exact decision below is only needed when it looks free
        }

        var temp = await WriteTempAsync(key, path, write, cancellationToken);
        bool moved;
        try
        {
            if (Directory.Exists(path))
            {
                throw FolderConflict(key);
            }

            moved = NativeFileOps.TryMoveNoReplace(temp, path);
        }
        catch (IOException) when (Directory.Exists(path))
        {
            TryDelete(temp);
            throw FolderConflict(key);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        if (!moved)
        {
            TryDelete(temp);
            if (Directory.Exists(path))
            {
                throw FolderConflict(key);
            }

            return false;
        }

        NativeFileOps.FsyncDirectory(Path.GetDirectoryName(path)!);
        return true;
    }

    /// <inheritdoc />
    public async Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "length must not be negative");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var stream = OpenFile(key, bufferSize: 1);
        await using (stream)
        {
            var size = stream.Length;
            var start = Math.Min(offset, size);
            var count = Math.Min(length ?? (size - start), size - start);
            if (count > Array.MaxLength)
            {
                throw new InvalidOperationException($"object '{key}' in {Location}: {count} bytes do not fit one array; read it with OpenReadAsync or in ranges");
            }

            var buffer = GC.AllocateUninitializedArray<byte>((int)count);
            var read = 0;
            while (read < count)
            {
                var n = await RandomAccess.ReadAsync(stream.SafeFileHandle, buffer.AsMemory(read), start + read, cancellationToken);
                if (n == 0)
                {
                    // Objects are replaced by rename, never truncated in place: only outside interference gets here.
                    throw new IOException($"object '{key}' in {Location} shrank while being read");
                }

                read += n;
            }

            return buffer;
        }
    }

    /// <inheritdoc />
    /// <remarks>.NET opens no file without throwing when it is missing: the common absence is seen by a look first, and
    /// only an object deleted between the look and the open costs the exception.</remarks>
    public async Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default)
    {
        if (!File.Exists(PathOf(key)))
        {
            return null; // missing, or a directory (a folder of other keys)
        }

        try
        {
            return await GetAsync(key, cancellationToken: cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }

    /// <inheritdoc />
    /// <remarks>The open file handle keeps the version it opened: a replace (a rename over it) or a delete does not affect it.</remarks>
    public Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "length must not be negative");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var stream = OpenFile(key, CopyBufferSize);
        try
        {
            var size = stream.Length;
            var start = Math.Min(offset, size);
            var count = Math.Min(length ?? (size - start), size - start);
            stream.Seek(start, SeekOrigin.Begin);
            return Task.FromResult(new ObjectReadStream(stream, count));
        }
        catch
        {
            stream.Dispose();
            throw;
        }
    }

    private FileStream OpenFile(string key, int bufferSize)
    {
        var path = PathOf(key);
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, bufferSize, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException
                                   || (e is UnauthorizedAccessException or IOException && !File.Exists(path)))
        {
            // Missing, or a directory (a folder of other keys), or below a file: no object has this key.
            throw new ObjectNotFoundException(key, Location, e);
        }
    }

    /// <inheritdoc />
    public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        var info = new FileInfo(PathOf(key));
        return Task.FromResult(info.Exists ? new ObjectInfo(key, info.Length, info.LastWriteTimeUtc) : null);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        // Start from the deepest directory the prefix fully names, then filter by the plain string prefix.
        var slash = prefix.LastIndexOf('/');
        var startKey = slash < 0 ? string.Empty : prefix[..(slash + 1)];
        if (startKey.Length > 0)
        {
            ObjectKeys.Validate(startKey[..^1]);
        }

        var startDir = startKey.Length == 0 ? _root : Path.Combine(_root, startKey[..^1].Replace('/', Path.DirectorySeparatorChar));

        foreach (var info in Walk(startKey, startDir, prefix, cancellationToken))
        {
            yield return info;
        }

        await Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        cancellationToken.ThrowIfCancellationRequested();
        if (!File.Exists(path))
        {
            return Task.CompletedTask; // missing (or a folder of other keys): nothing to delete
        }

        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Depth-first walk in ordinal key order. Within one directory a sub-directory sorts as its name plus '/', which
    /// is exactly where its keys fall among its siblings' keys (names never contain '/'), so walking the sorted entries
    /// and descending in place yields every key in ordinal order while holding one directory listing per level.
    /// </summary>
    private static IEnumerable<ObjectInfo> Walk(string keyPrefix, string directory, string prefix, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var entries = ReadDirectory(directory);
        entries.Sort(static (a, b) => KeyOrder.Instance.Compare(a.SortName, b.SortName));
        foreach (var (sortName, entry) in entries)
        {
            var key = keyPrefix + sortName;
            if (entry is DirectoryInfo)
            {
                if (key.StartsWith(prefix, StringComparison.Ordinal) || prefix.StartsWith(key, StringComparison.Ordinal))
                {
                    foreach (var info in Walk(key, entry.FullName, prefix, cancellationToken))
                    {
                        yield return info;
                    }
                }

                continue;
            }

            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            ObjectInfo found;
            try
            {
                var file = (FileInfo)entry;
                found = new ObjectInfo(key, file.Length, file.LastWriteTimeUtc);
            }
            catch (FileNotFoundException)
            {
                continue; // deleted during the listing: allowed to be absent
            }

            yield return found;
        }
    }

    /// <summary>The grace period of <see cref="RemoveStaleTemporaryFiles"/> callers use: a temporary file untouched for
    /// this long belongs to a writer that was killed (one hour).</summary>
    public static readonly TimeSpan StaleTemporaryAge = TimeSpan.FromHours(1);

    /// <summary>
    /// Deletes the <c>.tmp-*</c> files a killed writer left (a crash between creating the temporary file and renaming
    /// it into place): only those last written before <paramref name="now"/> − <paramref name="olderThan"/>, and never
    /// one a live writer still has open (writers hold it with <see cref="FileShare.None"/>, an exclusive lock this
    /// method must get before deleting). Returns how many were deleted. Safe to run while others write.
    /// </summary>
    public int RemoveStaleTemporaryFiles(TimeSpan olderThan, DateTimeOffset now)
    {
        var cutoff = now.UtcDateTime - olderThan;
        var removed = 0;
        IEnumerable<string> temps;
        try
        {
            temps = Directory.EnumerateFiles(_root, TempPrefix + "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 }).ToList(); // ".tmp-*" counts as hidden
        }
        catch (IOException)
        {
            return 0;
        }

        foreach (var temp in temps)
        {
            try
            {
                if (File.GetLastWriteTimeUtc(temp) >= cutoff)
                {
                    continue;
                }

                using (new FileStream(temp, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
                {
                    File.Delete(temp); // under our exclusive lock: no writer can hold it
                }

                removed++;
            }
            catch (IOException)
            {
                // held by a live writer, or already gone
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return removed;
    }

    private static List<(string SortName, FileSystemInfo Info)> ReadDirectory(string directory)
    {
        var entries = new List<(string, FileSystemInfo)>();
        try
        {
            foreach (var info in new DirectoryInfo(directory).EnumerateFileSystemInfos())
            {
                if (info.Name.StartsWith(TempPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                entries.Add(info is DirectoryInfo ? (info.Name + "/", info) : (info.Name, info));
            }
        }
        catch (DirectoryNotFoundException)
        {
            // missing, or deleted during the listing
        }
        catch (IOException) when (File.Exists(directory))
        {
            // the prefix names a file, not a directory: no keys below it
        }

        return entries;
    }

    private string PathOf(string key)
    {
        ObjectKeys.Validate(key);
        var last = key.LastIndexOf('/');
        if (key[(last + 1)..].StartsWith(TempPrefix, StringComparison.Ordinal))
        {
            throw new ArgumentException($"invalid object key '{key}': names starting with '{TempPrefix}' are reserved", nameof(key));
        }

        return Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    private InvalidOperationException InsideObject(string key, string file) =>
        new($"object key '{key}' would put an object inside object '{Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/')}'; the file-system store cannot hold both 'a/b' and 'a/b/c'");

    /// <summary>The file at <paramref name="dir"/> or above it (under the root), if one is there: what makes a folder impossible.</summary>
    private string? FileAbove(string dir)
    {
        for (var d = dir; d.Length > _root.Length; d = Path.GetDirectoryName(d)!)
        {
            if (File.Exists(d))
            {
                return d;
            }
        }

        return null;
    }

    private static InvalidOperationException FolderConflict(string key) =>
        new($"object key '{key}' is already a folder of other keys; the file-system store cannot hold both 'a/b' and 'a/b/c'");

    private async Task<string> WriteTempAsync(string key, string path, Func<FileStream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var dir = Path.GetDirectoryName(path)!;
        EnsureDirectory(key, dir);
        var temp = Path.Combine(dir, TempPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            await using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await write(stream, cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        catch (IOException) when (FileAbove(dir) is { } file)
        {
            TryDelete(temp);
            throw InsideObject(key, file);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return temp;
    }

    /// <summary>Creates the directory and its missing parents, flushing each parent that gained an entry.</summary>
    private void EnsureDirectory(string key, string dir)
    {
        if (Directory.Exists(dir))
        {
            return;
        }

        var missing = new Stack<string>();
        for (var d = dir; d.Length > _root.Length && !Directory.Exists(d); d = Path.GetDirectoryName(d)!)
        {
            if (File.Exists(d))
            {
                throw InsideObject(key, d);
            }

            missing.Push(d);
        }

        try
        {
            Directory.CreateDirectory(dir);
        }
        catch (IOException) when (FileAbove(dir) is { } file)
        {
            // a concurrent write put an object where a folder of this key goes, after the check above
            throw InsideObject(key, file);
        }

        foreach (var created in missing)
        {
            NativeFileOps.FsyncDirectory(Path.GetDirectoryName(created)!);
        }
    }

    private static void TryDelete(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
