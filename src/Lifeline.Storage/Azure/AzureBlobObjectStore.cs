using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using Lifeline.Storage.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Storage.Azure;

/// <summary>Options of <see cref="AzureBlobObjectStore"/>.</summary>
public sealed record AzureBlobObjectStoreOptions
{
    /// <summary>
    /// The block size of a streaming put, which is also its memory bound. Default 8 MiB. Content shorter than one
    /// block is one Put Blob; longer content is staged block by block and committed with one Put Block List, so the
    /// 50,000 blocks a blob may have hold about 390 GiB at the default.
    /// </summary>
    public int BlockSize { get; init; } = 8 * 1024 * 1024;
}

/// <summary>
/// An <see cref="IObjectStore"/> on an Azure Blob container (block blobs), optionally below a key prefix.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Put uploads the whole blob (one Put Blob, or staged blocks and one Put Block List for large objects):
/// atomic for readers either way.</item>
/// <item>Put-if-absent uploads with <c>If-None-Match: *</c>; the service decides, so it is exact under concurrency.
/// 409 (BlobAlreadyExists) and 412 (ConditionNotMet) mean another writer won and return <c>false</c>.</item>
/// <item>A streaming put reads one block (<see cref="AzureBlobObjectStoreOptions.BlockSize"/>) at a time: content
/// that ends within the first is one Put Blob; longer content is staged (Put Block) and becomes visible only with
/// Put Block List, which carries <c>If-None-Match: *</c> for put-if-absent. A failed or cancelled put never commits,
/// so nothing is visible; the service drops uncommitted blocks (after a week at most, or at the blob's next commit).
/// A concurrent commit of the same key drops this put's staged blocks: the commit then fails (InvalidBlockList), which
/// is a transient <see cref="IOException"/> for a put and <c>false</c> for a put-if-absent when the key now exists.</item>
/// <item>A streaming get is one Get Blob whose body is streamed; the SDK resumes a broken body only with the same ETag,
/// so the stream yields one version.</item>
/// <item>Ranged get sends an HTTP range; 416 (the offset is at or past the end) returns no bytes.</item>
/// <item>List pages through List Blobs, which returns names in UTF-8 byte order (<see cref="KeyOrder"/>); the order is
/// checked, so a misbehaving service fails loudly instead of breaking callers that merge sorted listings.</item>
/// <item>The container is created on the first write if it is missing; reads of a missing container find nothing.</item>
/// <item>404 on get maps to <see cref="ObjectNotFoundException"/>; 5xx, 408 and 429 stay
/// <see cref="RequestFailedException"/>s that <see cref="Resilience.TransientFaults"/> classifies as transient.</item>
/// </list>
/// </remarks>
public sealed class AzureBlobObjectStore : IObjectStore
{
    private readonly BlobContainerClient _container;
    private readonly string _prefix;
    private readonly ILogger _logger;
    private readonly AzureBlobObjectStoreOptions _options;
    private volatile bool _containerKnownToExist;

    /// <summary>Creates a store on <paramref name="container"/>, with every key below <paramref name="prefix"/>.</summary>
    /// <param name="container">The container client (its credentials stay inside it).</param>
    /// <param name="prefix">A key prefix ("" for none); a trailing '/' is added when missing.</param>
    /// <param name="logger">Optional logger.</param>
    /// <param name="options">Options; defaults when null.</param>
    public AzureBlobObjectStore(BlobContainerClient container, string prefix = "", ILogger? logger = null, AzureBlobObjectStoreOptions? options = null)
    {
        _options = options ?? new AzureBlobObjectStoreOptions();
        if (_options.BlockSize < 1)
        {
            throw new ArgumentException($"invalid Azure block size {_options.BlockSize}: use at least 1 byte (a few MiB in practice)", nameof(options));
        }

        ArgumentNullException.ThrowIfNull(container);
        ArgumentNullException.ThrowIfNull(prefix);
        prefix = prefix.Trim('/');
        if (prefix.Length > 0)
        {
            ObjectKeys.Validate(prefix);
            prefix += "/";
        }

        _container = container;
        _prefix = prefix;
        _logger = logger ?? NullLogger.Instance;
        var endpoint = new UriBuilder(container.Uri) { Query = string.Empty }.Uri; // never a SAS token
        Location = $"azure://{container.Name}/{prefix.TrimEnd('/')} ({endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/')})".Replace("/ (", " (", StringComparison.Ordinal);
    }

    /// <inheritdoc />
    public string Location { get; }

    /// <summary>The container client.</summary>
    public BlobContainerClient Container => _container;

    /// <inheritdoc />
    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var blob = BlobOf(key);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await WithContainerAsync(() => blob.UploadAsync(BinaryData.FromBytes(data), new BlobUploadOptions(), cancellationToken), cancellationToken);
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var blob = BlobOf(key);
        cancellationToken.ThrowIfCancellationRequested();
        var options = new BlobUploadOptions { Conditions = new BlobRequestConditions { IfNoneMatch = ETag.All } };
        try
        {
            await WithContainerAsync(() => blob.UploadAsync(BinaryData.FromBytes(data), options, cancellationToken), cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412 && e.ErrorCode is not "ContainerBeingDeleted")
        {
            return false;
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var blob = BlobOf(key);
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await PutStreamCoreAsync(blob, content, conditions: null, cancellationToken);
        }
        catch (RequestFailedException e) when (e.ErrorCode == "InvalidBlockList")
        {
            throw new IOException($"a concurrent put of '{key}' in {Location} dropped this put's staged blocks; retry", e);
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var blob = BlobOf(key);
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await PutStreamCoreAsync(blob, content, new BlobRequestConditions { IfNoneMatch = ETag.All }, cancellationToken);
            return true;
        }
        catch (RequestFailedException e) when (e.Status is 409 or 412 && e.ErrorCode is not "ContainerBeingDeleted")
        {
            return false;
        }
        catch (RequestFailedException e) when (e.ErrorCode == "InvalidBlockList")
        {
            // Another writer committed the key while this put staged its blocks: it won, unless it is gone again.
            return await StatAsync(key, cancellationToken) is null
                ? throw new IOException($"a concurrent put of '{key}' in {Location} dropped this put's staged blocks; retry", e)
                : false;
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    private const int MaxBlocks = 50_000;

    /// <summary>One Put Blob for content shorter than a block, else staged blocks and one conditional Put Block List.</summary>
    private async Task PutStreamCoreAsync(BlobClient blob, Stream content, BlobRequestConditions? conditions, CancellationToken cancellationToken)
    {
        var blockSize = _options.BlockSize;
        var buffer = ArrayPool<byte>.Shared.Rent(blockSize);
        try
        {
            var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, blockSize), blockSize, throwOnEndOfStream: false, cancellationToken);
            if (filled < blockSize)
            {
                var data = BinaryData.FromBytes(buffer.AsMemory(0, filled));
                await WithContainerAsync(() => blob.UploadAsync(data, new BlobUploadOptions { Conditions = conditions }, cancellationToken), cancellationToken);
                return;
            }

            var blocks = _container.GetBlockBlobClient(blob.Name);
            var upload = Guid.NewGuid().ToString("N");
            var ids = new List<string>();
            while (filled > 0)
            {
                if (ids.Count == MaxBlocks)
                {
                    throw new InvalidOperationException($"a streaming put to {Location} needs more than {MaxBlocks} blocks: raise AzureBlobObjectStoreOptions.BlockSize");
                }

                // Ids of one blob must all have the same length; a fresh prefix keeps a concurrent put's blocks apart.
                var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{upload}-{ids.Count:D6}"));
                var length = filled;
                await WithContainerAsync(
                    async () =>
                    {
                        using var block = new MemoryStream(buffer, 0, length, writable: false);
                        await blocks.StageBlockAsync(id, block, new BlockBlobStageBlockOptions(), cancellationToken);
                    },
                    cancellationToken);
                ids.Add(id);
                filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, blockSize), blockSize, throwOnEndOfStream: false, cancellationToken);
            }

            await blocks.CommitBlockListAsync(ids, new CommitBlockListOptions { Conditions = conditions }, cancellationToken);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <inheritdoc />
    public async Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) =>
        (await ReadAsync(key, offset, length, missingIsNull: false, cancellationToken))!;

    /// <inheritdoc />
    /// <remarks>The SDK throws on the 404 itself; that is the answer here, with no exception of this store.</remarks>
    public Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default) =>
        ReadAsync(key, 0, null, missingIsNull: true, cancellationToken);

    private async Task<byte[]?> ReadAsync(string key, long offset, long? length, bool missingIsNull, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "length must not be negative");
        }

        var blob = BlobOf(key);
        if (length == 0)
        {
            // An empty HTTP range cannot be expressed; existence still has to be checked.
            return await StatAsync(key, cancellationToken) is null ? throw new ObjectNotFoundException(key, Location) : [];
        }

        var range = offset == 0 && length is null ? default : new HttpRange(offset, length);
        try
        {
            var response = await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = range }, cancellationToken);
            using var result = response.Value;
            var size = result.Details.ContentLength;
            if (size > Array.MaxLength)
            {
                throw new InvalidOperationException($"object '{key}' in {Location}: {size} bytes do not fit one array; read it with OpenReadAsync or in ranges");
            }

            var buffer = GC.AllocateUninitializedArray<byte>((int)size);
            await result.Content.ReadExactlyAsync(buffer, cancellationToken);
            return buffer;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return missingIsNull ? null : throw new ObjectNotFoundException(key, Location, e);
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            return []; // the blob exists and the range starts at or past its end
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        if (length is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "length must not be negative");
        }

        var blob = BlobOf(key);
        if (length == 0)
        {
            return await StatAsync(key, cancellationToken) is null ? throw new ObjectNotFoundException(key, Location) : ObjectReadStream.Empty();
        }

        var range = offset == 0 && length is null ? default : new HttpRange(offset, length);
        try
        {
            var result = (await blob.DownloadStreamingAsync(new BlobDownloadOptions { Range = range }, cancellationToken)).Value;
            return new ObjectReadStream(result.Content, result.Details.ContentLength, result);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ObjectNotFoundException(key, Location, e);
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            return ObjectReadStream.Empty();
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        var blob = BlobOf(key);
        try
        {
            var properties = (await blob.GetPropertiesAsync(cancellationToken: cancellationToken)).Value;
            return new ObjectInfo(key, properties.ContentLength, properties.LastModified);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var pages = _container.GetBlobsAsync(new GetBlobsOptions { Prefix = _prefix + prefix }, cancellationToken).AsPages().GetAsyncEnumerator(cancellationToken);
        string? previous = null;
        try
        {
            while (true)
            {
                try
                {
                    if (!await pages.MoveNextAsync())
                    {
                        break;
                    }
                }
                catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == "ContainerNotFound")
                {
                    yield break;
                }
                catch (Exception e) when (Translate(e) is { } translated)
                {
                    throw translated;
                }

                foreach (var item in pages.Current.Values)
                {
                    var key = item.Name[_prefix.Length..];
                    if (previous is not null && KeyOrder.Instance.Compare(previous, key) >= 0)
                    {
                        throw new IOException($"{Location} listed '{key}' after '{previous}': the service broke its ordering guarantee");
                    }

                    previous = key;
                    yield return new ObjectInfo(key, item.Properties.ContentLength ?? 0, item.Properties.LastModified ?? DateTimeOffset.MinValue);
                }
            }
        }
        finally
        {
            await pages.DisposeAsync();
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var blob = BlobOf(key);
        try
        {
            await blob.DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: cancellationToken);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // the container is missing: so is the blob
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>
    /// Client options with Lifeline's timeouts: connections through <see cref="StoreHttp"/> (connect and inactivity
    /// timeouts, no overall timeout), and the SDK's retries (3, exponential from 0.8 s) except for an endpoint that
    /// cannot be reached, which fails at once with <see cref="ObjectStoreUnavailableException"/>.
    /// </summary>
    public static BlobClientOptions CreateClientOptions(ObjectStoreTimeouts? timeouts = null)
    {
        (timeouts ?? ObjectStoreTimeouts.Default).Validate();
        var options = new BlobClientOptions
        {
            Transport = new HttpClientTransport(StoreHttp.CreateHandler(timeouts ?? ObjectStoreTimeouts.Default)),
            RetryPolicy = new UnlessUnreachableRetryPolicy(),
        };
        return options;
    }

    /// <summary>
    /// The typed form of a failure the caller can act on (unreachable endpoint, silent connection, refused
    /// credentials); <c>null</c> for everything else.
    /// </summary>
    private Exception? Translate(Exception e) =>
        StoreHttp.Translate(e, Location) ?? (e is RequestFailedException { Status: 403 } forbidden
            ? new ObjectStoreAuthException(Location, $"the service refused the credentials ({forbidden.ErrorCode ?? "403"}): check AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY, and the account's permissions", e)
            : null);

    /// <summary>The SDK's default retries, minus those of a connection that could not be made (already remembered as unreachable).</summary>
    private sealed class UnlessUnreachableRetryPolicy() : RetryPolicy(3, DelayStrategy.CreateExponentialDelayStrategy(TimeSpan.FromSeconds(0.8), TimeSpan.FromMinutes(1)))
    {
        protected override bool ShouldRetry(HttpMessage message, Exception? exception) =>
            (exception is null || StoreHttp.Translate(exception, string.Empty) is not ObjectStoreUnavailableException) && base.ShouldRetry(message, exception);

        protected override ValueTask<bool> ShouldRetryAsync(HttpMessage message, Exception? exception) =>
            exception is not null && StoreHttp.Translate(exception, string.Empty) is ObjectStoreUnavailableException
                ? ValueTask.FromResult(false)
                : base.ShouldRetryAsync(message, exception);
    }

    private BlobClient BlobOf(string key)
    {
        ObjectKeys.Validate(key);
        return _container.GetBlobClient(_prefix + key);
    }

    /// <summary>Runs a write, creating the container once if the service says it is missing.</summary>
    private async Task WithContainerAsync(Func<Task> write, CancellationToken cancellationToken)
    {
        if (_containerKnownToExist)
        {
            await write();
            return;
        }

        try
        {
            await write();
        }
        catch (RequestFailedException e) when (e.Status == 404 && e.ErrorCode == "ContainerNotFound")
        {
            var created = await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken);
            if (created is not null)
            {
                Log.ContainerCreated(_logger, _container.Name, Location);
            }

            await write();
        }

        _containerKnownToExist = true;
    }
}
