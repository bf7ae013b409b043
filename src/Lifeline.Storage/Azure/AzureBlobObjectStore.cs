using System.Runtime.CompilerServices;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Storage.Azure;

/// <summary>
/// An <see cref="IObjectStore"/> on an Azure Blob container (block blobs), optionally below a key prefix.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Put uploads the whole blob (one Put Blob, or staged blocks and one Put Block List for large objects):
/// atomic for readers either way.</item>
/// <item>Put-if-absent uploads with <c>If-None-Match: *</c>; the service decides, so it is exact under concurrency.
/// 409 (BlobAlreadyExists) and 412 (ConditionNotMet) mean another writer won and return <c>false</c>.</item>
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
    private volatile bool _containerKnownToExist;

    /// <summary>Creates a store on <paramref name="container"/>, with every key below <paramref name="prefix"/>.</summary>
    /// <param name="container">The container client (its credentials stay inside it).</param>
    /// <param name="prefix">A key prefix ("" for none); a trailing '/' is added when missing.</param>
    /// <param name="logger">Optional logger.</param>
    public AzureBlobObjectStore(BlobContainerClient container, string prefix = "", ILogger? logger = null)
    {
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
        await WithContainerAsync(() => blob.UploadAsync(BinaryData.FromBytes(data), new BlobUploadOptions(), cancellationToken), cancellationToken);
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
    }

    /// <inheritdoc />
    public async Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
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
                throw new InvalidOperationException($"object '{key}' in {Location}: {size} bytes do not fit one read; read it in ranges");
            }

            var buffer = GC.AllocateUninitializedArray<byte>((int)size);
            await result.Content.ReadExactlyAsync(buffer, cancellationToken);
            return buffer;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new ObjectNotFoundException(key, Location, e);
        }
        catch (RequestFailedException e) when (e.Status == 416)
        {
            return []; // the blob exists and the range starts at or past its end
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
