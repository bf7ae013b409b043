using System.Runtime.CompilerServices;

namespace Lifeline.Storage.FileSystem;

/// <summary>
/// An <see cref="IObjectStore"/> on a local directory. Keys map to files below the root ('/' becomes a directory).
/// Writes go to a temporary file in the same directory, are flushed to disk, then renamed into place, so readers
/// never see a partial object. Put-if-absent uses a no-replace move (link(2) on Unix), which is exact under
/// concurrency. Temporary files are named <c>.tmp-*</c>, never listed, and left behind only by a crash.
/// </summary>
public sealed class FileSystemObjectStore : IObjectStore
{
    private const string TempPrefix = ".tmp-";
    private readonly string _root;

    /// <summary>Opens (and creates if needed) a store rooted at <paramref name="root"/>.</summary>
    public FileSystemObjectStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    /// <inheritdoc />
    public string Location => new Uri(_root).AbsoluteUri;

    /// <summary>The absolute root directory.</summary>
    public string Root => _root;

    /// <inheritdoc />
    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        var temp = await WriteTempAsync(path, data, cancellationToken);
        try
        {
            File.Move(temp, path, overwrite: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        if (File.Exists(path))
        {
            return false;
        }

        var temp = await WriteTempAsync(path, data, cancellationToken);
        try
        {
            File.Move(temp, path, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(path))
        {
            TryDelete(temp);
            return false;
        }
        catch
        {
            TryDelete(temp);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length));
        }

        var path = PathOf(key);
        FileStream stream;
        try
        {
            stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.Asynchronous);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new ObjectNotFoundException(key, Location, e);
        }

        await using (stream)
        {
            var size = stream.Length;
            var start = Math.Min(offset, size);
            var count = (int)Math.Min(length ?? (size - start), size - start);
            var buffer = GC.AllocateUninitializedArray<byte>(count);
            var read = 0;
            while (read < count)
            {
                var n = await RandomAccess.ReadAsync(stream.SafeFileHandle, buffer.AsMemory(read), start + read, cancellationToken);
                if (n == 0)
                {
                    throw new IOException($"object '{key}' in {Location} shrank while being read");
                }

                read += n;
            }

            return buffer;
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
        var dirKey = slash < 0 ? string.Empty : prefix[..slash];
        var startDir = dirKey.Length == 0 ? _root : Path.Combine(_root, dirKey.Replace('/', Path.DirectorySeparatorChar));
        if (dirKey.Length > 0)
        {
            ObjectKeys.Validate(dirKey);
        }

        if (!Directory.Exists(startDir))
        {
            yield break;
        }

        var results = new List<ObjectInfo>();
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = false, AttributesToSkip = 0, ReturnSpecialDirectories = false };
        foreach (var file in new DirectoryInfo(startDir).EnumerateFiles("*", options))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (file.Name.StartsWith(TempPrefix, StringComparison.Ordinal))
            {
                continue;
            }

            var key = Path.GetRelativePath(_root, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
            if (!key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            try
            {
                results.Add(new ObjectInfo(key, file.Length, file.LastWriteTimeUtc));
            }
            catch (FileNotFoundException)
            {
                // deleted during the listing: allowed to be absent
            }
        }

        results.Sort(static (a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var info in results)
        {
            yield return info;
        }

        await Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var path = PathOf(key);
        try
        {
            File.Delete(path);
        }
        catch (DirectoryNotFoundException)
        {
        }

        return Task.CompletedTask;
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

    private static async Task<string> WriteTempAsync(string path, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        var dir = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, TempPrefix + Guid.NewGuid().ToString("N"));
        try
        {
            await using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.Asynchronous);
            await stream.WriteAsync(data, cancellationToken);
            stream.Flush(flushToDisk: true);
        }
        catch
        {
            TryDelete(temp);
            throw;
        }

        return temp;
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
