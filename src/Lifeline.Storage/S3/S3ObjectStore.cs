using System.Buffers;
using System.Net;
using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Lifeline.Storage.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Storage.S3;

/// <summary>Options of <see cref="S3ObjectStore"/>.</summary>
public sealed record S3ObjectStoreOptions
{
    /// <summary>
    /// Whether the server honours conditional writes (<c>If-None-Match: *</c> on PUT). Default <c>true</c>: AWS S3
    /// (since August 2024), MinIO, Ceph RGW and Cloudflare R2 do, and put-if-absent is then exact. Set <c>false</c>
    /// only for a server that ignores the header (such as the s3rver test server): put-if-absent then checks with HEAD
    /// and writes with a plain PUT, which is correct for one writer but NOT exact under concurrency (two racing
    /// callers can both return <c>true</c>). Never use <c>false</c> for a repository that several processes write.
    /// </summary>
    public bool ConditionalWrites { get; init; } = true;

    /// <summary>
    /// Whether to sort listings in the client. Default <c>false</c>: S3 lists in UTF-8 byte order and the store checks
    /// that (an out-of-order page fails the listing). Set <c>true</c> for a server that does not order its listings
    /// (such as s3rver): the store then reads the whole listing into memory and sorts it before yielding.
    /// </summary>
    public bool SortListingsInClient { get; init; }

    /// <summary>Whether to create the bucket on the first write that finds it missing. Default <c>true</c>.</summary>
    public bool CreateBucketIfMissing { get; init; } = true;

    /// <summary>
    /// The part size of a streaming put, which is also its memory bound. Default 8 MiB. Content shorter than one part
    /// goes up in one PutObject; longer content in a multipart upload of parts this size, growing by this size every
    /// 1,000 parts so that the 10,000 parts S3 allows hold about 430 GiB at the default. S3 requires at least 5 MiB
    /// for every part but the last; a smaller size is only for tests against servers that do not check.
    /// </summary>
    public int PartSize { get; init; } = 8 * 1024 * 1024;
}

/// <summary>
/// An <see cref="IObjectStore"/> on an S3 bucket, optionally below a key prefix (AWSSDK.S3).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Put is one PutObject: atomic for readers on S3 (a server that writes in place, like s3rver, is not).</item>
/// <item>A streaming put reads one part (<see cref="S3ObjectStoreOptions.PartSize"/>) into a buffer: content that ends
/// within it is one PutObject; longer content is a multipart upload, which S3 makes visible only at
/// CompleteMultipartUpload (with <c>If-None-Match: *</c> for put-if-absent). Any failure or cancellation aborts the
/// upload, so no part stays stored; only a crash leaves an incomplete upload behind, never visible (an
/// AbortIncompleteMultipartUpload lifecycle rule on the bucket cleans those).</item>
/// <item>A streaming get is one GetObject whose body is streamed: one version of the object.</item>
/// <item>Refused or timed-out connections throw <see cref="ObjectStoreUnavailableException"/>, a silent connection
/// <see cref="ObjectStoreTimeoutException"/> (both through the HTTP handler of <see cref="CreateConfig"/>), missing
/// or refused credentials <see cref="ObjectStoreAuthException"/>.</item>
/// <item>Put-if-absent is a PutObject with <c>If-None-Match: *</c>: exact under concurrency on servers that honour
/// it. 412 (PreconditionFailed) returns <c>false</c>; 409 (ConditionalRequestConflict: a concurrent write or delete
/// of the key was in flight) is transient, because the key may be free again, so it surfaces as
/// <see cref="IOException"/> for the retry decorator rather than as a false "taken".</item>
/// <item>Ranged get sends a byte range; 416 (InvalidRange: the offset is at or past the end) returns no bytes.</item>
/// <item>List pages through ListObjectsV2, which returns keys in UTF-8 byte order (<see cref="KeyOrder"/>); the order
/// is checked.</item>
/// <item>404 on get maps to <see cref="ObjectNotFoundException"/>; 5xx, 408, 429 and SlowDown stay
/// <see cref="AmazonS3Exception"/>s that <see cref="Resilience.TransientFaults"/> classifies as transient.</item>
/// </list>
/// </remarks>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private readonly IAmazonS3 _client;
    private readonly string _bucket;
    private readonly string _prefix;
    private readonly S3ObjectStoreOptions _options;
    private readonly ILogger _logger;
    private readonly bool _ownsClient;
    private volatile bool _bucketKnownToExist;

    /// <summary>Creates a store on <paramref name="bucket"/>, with every key below <paramref name="prefix"/>.</summary>
    /// <param name="client">The S3 client (its credentials stay inside it). The store does not dispose it.</param>
    /// <param name="bucket">The bucket name.</param>
    /// <param name="prefix">A key prefix ("" for none); a trailing '/' is added when missing.</param>
    /// <param name="options">Options; defaults when null.</param>
    /// <param name="logger">Optional logger.</param>
    public S3ObjectStore(IAmazonS3 client, string bucket, string prefix = "", S3ObjectStoreOptions? options = null, ILogger? logger = null)
        : this(client, bucket, prefix, options, logger, ownsClient: false)
    {
    }

    internal S3ObjectStore(IAmazonS3 client, string bucket, string prefix, S3ObjectStoreOptions? options, ILogger? logger, bool ownsClient)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrWhiteSpace(bucket);
        ArgumentNullException.ThrowIfNull(prefix);
        prefix = prefix.Trim('/');
        if (prefix.Length > 0)
        {
            ObjectKeys.Validate(prefix);
            prefix += "/";
        }

        _client = client;
        _bucket = bucket;
        _prefix = prefix;
        _options = options ?? new S3ObjectStoreOptions();
        if (_options.PartSize < 1)
        {
            throw new ArgumentException($"invalid S3 part size {_options.PartSize}: use at least 5 MiB (5242880) for AWS S3", nameof(options));
        }
        _logger = logger ?? NullLogger.Instance;
        _ownsClient = ownsClient;
        var where = client.Config.ServiceURL is { Length: > 0 } url ? new Uri(url).GetLeftPart(UriPartial.Authority) : client.Config.RegionEndpoint?.SystemName ?? "default region";
        Location = $"s3://{bucket}/{prefix.TrimEnd('/')} ({where})".Replace("/ (", " (", StringComparison.Ordinal);
    }

    /// <summary>
    /// Builds the client configuration Lifeline uses: path-style addressing for a custom endpoint (local servers
    /// have no per-bucket host names) and checksums only where the API requires them (many S3-compatible servers do
    /// not understand the SDK's default trailing checksums).
    /// </summary>
    /// <param name="endpoint">A custom endpoint (path-style), or <c>null</c> for AWS.</param>
    /// <param name="region">The region, or <c>null</c>.</param>
    /// <param name="timeouts">Connect and inactivity timeouts; <see cref="ObjectStoreTimeouts.Default"/> when null.</param>
    public static AmazonS3Config CreateConfig(string? endpoint, string? region, ObjectStoreTimeouts? timeouts = null)
    {
        (timeouts ?? ObjectStoreTimeouts.Default).Validate();
        var config = new AmazonS3Config
        {
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
            HttpClientFactory = new TimeoutHttpClientFactory(timeouts ?? ObjectStoreTimeouts.Default),
        };
        if (!string.IsNullOrEmpty(endpoint))
        {
            config.ServiceURL = endpoint;
            config.ForcePathStyle = true;
            config.AuthenticationRegion = string.IsNullOrEmpty(region) ? "us-east-1" : region;
        }
        else if (!string.IsNullOrEmpty(region))
        {
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(region);
        }

        return config;
    }

    /// <inheritdoc />
    public string Location { get; }

    /// <summary>The bucket name.</summary>
    public string Bucket => _bucket;

    /// <summary>The options in force.</summary>
    public S3ObjectStoreOptions Options => _options;

    /// <summary>The S3 client.</summary>
    public IAmazonS3 Client => _client;

    /// <summary>Disposes the client if this store created it (<see cref="ObjectStores.Open"/>).</summary>
    public void Dispose()
    {
        if (_ownsClient)
        {
            _client.Dispose();
        }
    }

    /// <inheritdoc />
    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var s3Key = KeyOf(key);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await WithBucketAsync(() => _client.PutObjectAsync(BuildPut(s3Key, data, ifNoneMatch: false), cancellationToken), cancellationToken);
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        var s3Key = KeyOf(key);
        return PutIfAbsentCoreAsync(key, ifNoneMatch => WithBucketAsync(() => _client.PutObjectAsync(BuildPut(s3Key, data, ifNoneMatch), cancellationToken), cancellationToken), cancellationToken);
    }

    /// <inheritdoc />
    public async Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var s3Key = KeyOf(key);
        ArgumentNullException.ThrowIfNull(content);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await PutStreamCoreAsync(s3Key, content, ifNoneMatch: false, cancellationToken);
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <inheritdoc />
    public Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        var s3Key = KeyOf(key);
        ArgumentNullException.ThrowIfNull(content);
        return PutIfAbsentCoreAsync(key, ifNoneMatch => PutStreamCoreAsync(s3Key, content, ifNoneMatch, cancellationToken), cancellationToken);
    }

    private async Task<bool> PutIfAbsentCoreAsync(string key, Func<bool, Task> put, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            if (!_options.ConditionalWrites)
            {
                // Documented fallback for servers that ignore If-None-Match: exact for one writer only.
                if (await StatAsync(key, cancellationToken) is not null)
                {
                    return false;
                }

                await put(false);
                return true;
            }

            await put(true);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
        {
            return false;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.Conflict)
        {
            throw new IOException($"put-if-absent of '{key}' in {Location} conflicted with a concurrent operation on the key; retry", e);
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>One PutObject for content shorter than a part, else a multipart upload that is aborted on any failure.</summary>
    private async Task PutStreamCoreAsync(string s3Key, Stream content, bool ifNoneMatch, CancellationToken cancellationToken)
    {
        var partSize = _options.PartSize;
        var buffer = ArrayPool<byte>.Shared.Rent(partSize);
        try
        {
            var filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, partSize), partSize, throwOnEndOfStream: false, cancellationToken);
            if (filled < partSize)
            {
                var data = buffer.AsMemory(0, filled);
                await WithBucketAsync(() => _client.PutObjectAsync(BuildPut(s3Key, data, ifNoneMatch), cancellationToken), cancellationToken);
                return;
            }

            string? uploadId = null;
            try
            {
                await WithBucketAsync(
                    async () => uploadId = (await _client.InitiateMultipartUploadAsync(
                        new InitiateMultipartUploadRequest { BucketName = _bucket, Key = s3Key, ContentType = "application/octet-stream" },
                        cancellationToken)).UploadId,
                    cancellationToken);
                var parts = new List<PartETag>();
                for (var number = 1; filled > 0; number++)
                {
                    if (number > MaxParts)
                    {
                        throw new InvalidOperationException($"a streaming put to {Location} needs more than {MaxParts} parts: raise S3ObjectStoreOptions.PartSize");
                    }

                    using (var part = new MemoryStream(buffer, 0, filled, writable: false))
                    {
                        var uploaded = await _client.UploadPartAsync(
                            new UploadPartRequest
                            {
                                BucketName = _bucket,
                                Key = s3Key,
                                UploadId = uploadId,
                                PartNumber = number,
                                InputStream = part,
                                PartSize = filled,
                                UseChunkEncoding = false,
                            },
                            cancellationToken);
                        parts.Add(new PartETag(number, uploaded.ETag));
                    }

                    var nextSize = PartSizeOf(number + 1);
                    if (nextSize > buffer.Length)
                    {
                        ArrayPool<byte>.Shared.Return(buffer);
                        buffer = [];
                        buffer = ArrayPool<byte>.Shared.Rent(nextSize);
                    }

                    filled = await content.ReadAtLeastAsync(buffer.AsMemory(0, nextSize), nextSize, throwOnEndOfStream: false, cancellationToken);
                }

                var complete = new CompleteMultipartUploadRequest { BucketName = _bucket, Key = s3Key, UploadId = uploadId, PartETags = parts };
                if (ifNoneMatch)
                {
                    complete.IfNoneMatch = "*";
                }

                await _client.CompleteMultipartUploadAsync(complete, cancellationToken);
            }
            catch when (uploadId is not null)
            {
                await AbortQuietlyAsync(s3Key, uploadId);
                throw;
            }
        }
        finally
        {
            if (buffer.Length > 0)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    private const int MaxParts = 10_000;

    /// <summary>The size of part <paramref name="number"/>: the configured size, one more of it every 1,000 parts.</summary>
    internal int PartSizeOf(int number) => (int)Math.Min(Array.MaxLength, (long)_options.PartSize * (1 + ((number - 1) / 1000)));

    private async Task AbortQuietlyAsync(string s3Key, string uploadId)
    {
        try
        {
            // Not the caller's token: a cancelled put must still remove its parts.
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await _client.AbortMultipartUploadAsync(new AbortMultipartUploadRequest { BucketName = _bucket, Key = s3Key, UploadId = uploadId }, timeout.Token);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or IOException or HttpRequestException or OperationCanceledException)
        {
            Log.MultipartAbortFailed(_logger, uploadId, Location, e.Message);
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

        var request = BuildGet(KeyOf(key), offset, length);
        if (length == 0)
        {
            // An empty byte range cannot be expressed; existence still has to be checked.
            return await StatAsync(key, cancellationToken) is null ? throw new ObjectNotFoundException(key, Location) : [];
        }

        try
        {
            using var response = await _client.GetObjectAsync(request, cancellationToken);
            var size = response.ContentLength;
            if (size > Array.MaxLength)
            {
                throw new InvalidOperationException($"object '{key}' in {Location}: {size} bytes do not fit one array; read it with OpenReadAsync or in ranges");
            }

            var buffer = GC.AllocateUninitializedArray<byte>((int)size);
            await response.ResponseStream.ReadExactlyAsync(buffer, cancellationToken);
            return request.ByteRange is null ? buffer : ClipToRange(buffer, response.HttpStatusCode, response.ContentRange, offset, length);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return missingIsNull ? null : throw new ObjectNotFoundException(key, Location, e);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return []; // the object exists and the range starts at or past its end
        }
        catch (IOException) when (request.ByteRange is not null)
        {
            // Some servers (s3rver) answer a range past the end with a malformed body instead of 416: a HEAD settles it.
            if (await StatAsync(key, cancellationToken) is { } info && offset >= info.Size)
            {
                return [];
            }

            throw;
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

        var request = BuildGet(KeyOf(key), offset, length);
        if (length == 0)
        {
            return await StatAsync(key, cancellationToken) is null ? throw new ObjectNotFoundException(key, Location) : ObjectReadStream.Empty();
        }

        GetObjectResponse response;
        try
        {
            response = await _client.GetObjectAsync(request, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw new ObjectNotFoundException(key, Location, e);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.RequestedRangeNotSatisfiable)
        {
            return ObjectReadStream.Empty();
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }

        try
        {
            // As ClipToRange: skip what the server sent before the asked offset, stop at the asked length.
            var bodyStart = request.ByteRange is null ? offset : BodyStart(response.HttpStatusCode, response.ContentRange, offset);
            var skip = offset - bodyStart;
            if (skip < 0 || skip > response.ContentLength)
            {
                throw new IOException($"the server answered range {offset}+{length} of '{key}' in {Location} with bytes from {bodyStart} ({response.ContentLength} bytes)");
            }

            var count = Math.Min(length ?? long.MaxValue, response.ContentLength - skip);
            return new ObjectReadStream(response.ResponseStream, count, skip, response);
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }

    private static long BodyStart(HttpStatusCode status, string? contentRange, long offset)
    {
        if (status != HttpStatusCode.PartialContent)
        {
            return 0;
        }

        // "bytes START-END/TOTAL"
        if (contentRange is { } cr && cr.StartsWith("bytes ", StringComparison.OrdinalIgnoreCase))
        {
            var dash = cr.IndexOf('-', StringComparison.Ordinal);
            if (dash > 6 && long.TryParse(cr.AsSpan(6, dash - 6), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var start))
            {
                return start;
            }
        }

        return offset;
    }

    /// <summary>
    /// Cuts the requested range out of what the server sent: a server that ignores the Range header answers 200 with
    /// the whole object, and some (s3rver for "bytes=0-0") answer 206 with more than was asked.
    /// </summary>
    internal static byte[] ClipToRange(byte[] body, HttpStatusCode status, string? contentRange, long offset, long? length)
    {
        var bodyStart = BodyStart(status, contentRange, offset);

        var skip = offset - bodyStart;
        if (skip < 0 || skip > body.Length)
        {
            throw new IOException($"the server answered range {offset}+{length} with bytes from {bodyStart} ({body.Length} bytes)");
        }

        var take = Math.Min(length ?? long.MaxValue, body.Length - skip);
        return skip == 0 && take == body.Length ? body : body.AsSpan((int)skip, (int)take).ToArray();
    }

    /// <inheritdoc />
    public async Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        var s3Key = KeyOf(key);
        try
        {
            var metadata = await _client.GetObjectMetadataAsync(new GetObjectMetadataRequest { BucketName = _bucket, Key = s3Key }, cancellationToken);
            return new ObjectInfo(key, metadata.ContentLength, ToOffset(metadata.LastModified));
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
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
        if (_options.SortListingsInClient)
        {
            var all = new List<ObjectInfo>();
            await foreach (var info in ListPagesAsync(prefix, checkOrder: false, cancellationToken))
            {
                all.Add(info);
            }

            all.Sort(static (a, b) => KeyOrder.Instance.Compare(a.Key, b.Key));
            foreach (var info in all)
            {
                yield return info;
            }

            yield break;
        }

        await foreach (var info in ListPagesAsync(prefix, checkOrder: true, cancellationToken))
        {
            yield return info;
        }
    }

    private async IAsyncEnumerable<ObjectInfo> ListPagesAsync(string prefix, bool checkOrder, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var request = new ListObjectsV2Request { BucketName = _bucket, Prefix = _prefix + prefix };
        string? previous = null;
        while (true)
        {
            ListObjectsV2Response response;
            try
            {
                response = await _client.ListObjectsV2Async(request, cancellationToken);
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
            {
                yield break; // no bucket: no objects
            }
            catch (Exception e) when (Translate(e) is { } translated)
            {
                throw translated;
            }

            foreach (var item in response.S3Objects ?? [])
            {
                var key = item.Key[_prefix.Length..];
                if (checkOrder && previous is not null && KeyOrder.Instance.Compare(previous, key) >= 0)
                {
                    throw new IOException($"{Location} listed '{key}' after '{previous}': the server broke its ordering guarantee");
                }

                previous = key;
                yield return new ObjectInfo(key, item.Size ?? 0, ToOffset(item.LastModified));
            }

            if (response.IsTruncated != true || string.IsNullOrEmpty(response.NextContinuationToken))
            {
                yield break;
            }

            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    /// <inheritdoc />
    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        var s3Key = KeyOf(key);
        try
        {
            await _client.DeleteObjectAsync(new DeleteObjectRequest { BucketName = _bucket, Key = s3Key }, cancellationToken);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            // missing bucket (S3 answers 204 for a missing key)
        }
        catch (Exception e) when (Translate(e) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>
    /// The typed form of a failure the caller can act on: unreachable endpoint, silent connection, missing or refused
    /// credentials; <c>null</c> for everything else (which passes through unchanged).
    /// </summary>
    private Exception? Translate(Exception e)
    {
        if (StoreHttp.Translate(e, Location) is { } network)
        {
            return network;
        }

        return e switch
        {
            AmazonS3Exception { StatusCode: HttpStatusCode.Forbidden } or AmazonS3Exception { ErrorCode: "InvalidAccessKeyId" or "SignatureDoesNotMatch" or "ExpiredToken" or "InvalidToken" or "AccessDenied" } =>
                new ObjectStoreAuthException(Location, $"the server refused the credentials ({(e as AmazonS3Exception)!.ErrorCode ?? "403"}): check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN) and the bucket's permissions", e),
            AmazonClientException when e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase) =>
                new ObjectStoreAuthException(Location, "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE, or run with an instance or container role)", e),
            _ => null,
        };
    }

    internal PutObjectRequest BuildPut(string s3Key, ReadOnlyMemory<byte> data, bool ifNoneMatch)
    {
        var stream = MemoryMarshal.TryGetArray(data, out var segment)
            ? new MemoryStream(segment.Array!, segment.Offset, segment.Count, writable: false)
            : new MemoryStream(data.ToArray(), writable: false);
        var request = new PutObjectRequest
        {
            BucketName = _bucket,
            Key = s3Key,
            InputStream = stream,
            AutoCloseStream = true,
            ContentType = "application/octet-stream",
            UseChunkEncoding = false,
        };
        if (ifNoneMatch)
        {
            request.IfNoneMatch = "*";
        }

        return request;
    }

    internal GetObjectRequest BuildGet(string s3Key, long offset, long? length)
    {
        var request = new GetObjectRequest { BucketName = _bucket, Key = s3Key };
        if (offset == 0 && length is null)
        {
            return request;
        }

        request.ByteRange = length is { } n
            ? new ByteRange(offset, n > long.MaxValue - offset ? long.MaxValue - 1 : offset + n - 1)
            : new ByteRange($"bytes={offset}-");
        return request;
    }

    internal string KeyOf(string key)
    {
        ObjectKeys.Validate(key);
        return _prefix + key;
    }

    private static DateTimeOffset ToOffset(DateTime? time) =>
        time is { } t ? new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t.ToUniversalTime()) : DateTimeOffset.MinValue;

    /// <summary>Runs a write, creating the bucket once if the server says it is missing (and the options allow).</summary>
    private async Task WithBucketAsync(Func<Task> write, CancellationToken cancellationToken)
    {
        if (_bucketKnownToExist || !_options.CreateBucketIfMissing)
        {
            await write();
            return;
        }

        try
        {
            await write();
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket")
        {
            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = _bucket }, cancellationToken);
                Log.BucketCreated(_logger, _bucket, Location);
            }
            catch (AmazonS3Exception created) when (created.ErrorCode is "BucketAlreadyOwnedByYou" or "BucketAlreadyExists")
            {
            }

            await write();
        }

        _bucketKnownToExist = true;
    }

    /// <summary>Gives the SDK one HTTP client built on <see cref="StoreHttp"/> (connect and inactivity timeouts, no overall timeout).</summary>
    private sealed class TimeoutHttpClientFactory(ObjectStoreTimeouts timeouts) : HttpClientFactory
    {
        private readonly Lazy<HttpClient> _client = new(() => new HttpClient(StoreHttp.CreateHandler(timeouts)) { Timeout = Timeout.InfiniteTimeSpan });

        public override HttpClient CreateHttpClient(IClientConfig clientConfig) => _client.Value;

        public override bool UseSDKHttpClientCaching(IClientConfig clientConfig) => false;

        public override bool DisposeHttpClientsAfterUse(IClientConfig clientConfig) => false;

        public override string GetConfigUniqueString(IClientConfig clientConfig) => "lifeline-timeouts";
    }
}
