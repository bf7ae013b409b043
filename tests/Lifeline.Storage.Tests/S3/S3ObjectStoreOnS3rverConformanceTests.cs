using Amazon.S3;
using Amazon.S3.Model;
using Lifeline.Storage.S3;
using Lifeline.Storage.Tests.Conformance;

namespace Lifeline.Storage.Tests.S3;

/// <summary>
/// The shared suite against s3rver, the local S3 server installable here. s3rver ignores If-None-Match on PUT and
/// writes objects in place, so this class runs the sequential guarantees only (with the store's documented
/// check-then-put fallback, <see cref="S3ObjectStoreOptions.ConditionalWrites"/> = false, and with listings sorted
/// in the client because s3rver does not list in byte order), not
/// <see cref="ObjectStoreConcurrencyConformanceTests"/>. The exact path (If-None-Match: *) is covered by
/// <see cref="S3ObjectStoreRequestTests"/> against a recording HTTP server. See docs/storage.md.
/// </summary>
public sealed class S3ObjectStoreOnS3rverConformanceTests : ObjectStoreConformanceTests, IAsyncLifetime
{
    // s3rver answers a listing that meets a put still being written with 500 InternalError (it reads the object's
    // half-written metadata file); real S3 never does, and the SDK's default retries absorb it. The suite's client
    // keeps a few retries for that race alone (LocalS3's client has one, to keep error tests fast).
    private readonly AmazonS3Client _client = LocalS3.CreateClient(maxErrorRetry: 4);
    private readonly List<string> _buckets = [];

    protected override async Task<IObjectStore> CreateSutAsync()
    {
        await LocalS3.RequireAsync();
        var bucket = "t" + Guid.NewGuid().ToString("N");
        await _client.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        lock (_buckets)
        {
            _buckets.Add(bucket);
        }

        return new S3ObjectStore(_client, bucket, "repo/one", new S3ObjectStoreOptions { ConditionalWrites = false, SortListingsInClient = true, PartSize = StreamPartSize });
    }

    [Fact]
    public async Task PutIfAbsentAsync_ConditionalWritesOnS3rver_ServerIgnoresIfNoneMatchAndOverwrites()
    {
        // Characterises the server, and so why the fallback exists: if s3rver ever honours If-None-Match this fails,
        // and the S3 suite should move to ObjectStoreConcurrencyConformanceTests with ConditionalWrites = true.
        var fallback = (S3ObjectStore)await CreateSutAsync();
        var exact = new S3ObjectStore(_client, fallback.Bucket, "repo/one", new S3ObjectStoreOptions { ConditionalWrites = true });
        Assert.True(await exact.PutIfAbsentAsync("k", "first"u8.ToArray()));
        Assert.True(await exact.PutIfAbsentAsync("k", "second"u8.ToArray()));
        Assert.Equal("second"u8.ToArray(), await exact.GetAsync("k"));
    }

    [Fact]
    public async Task PutAsync_MissingBucket_CreatesItAndStores()
    {
        await LocalS3.RequireAsync();
        var bucket = "t" + Guid.NewGuid().ToString("N");
        lock (_buckets)
        {
            _buckets.Add(bucket);
        }

        var store = new S3ObjectStore(_client, bucket);
        Assert.Null(await store.StatAsync("k"));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("k"));
        await store.PutAsync("k", "v"u8.ToArray());
        Assert.Equal("v"u8.ToArray(), await store.GetAsync("k"));
        Assert.StartsWith($"s3://{bucket} (http://127.0.0.1:", store.Location, StringComparison.Ordinal);
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (await LocalS3.IsReachableAsync())
        {
            foreach (var bucket in _buckets)
            {
                try
                {
                    var listed = await _client.ListObjectsV2Async(new ListObjectsV2Request { BucketName = bucket });
                    foreach (var item in listed.S3Objects ?? [])
                    {
                        await _client.DeleteObjectAsync(bucket, item.Key);
                    }

                    await _client.DeleteBucketAsync(bucket);
                }
                catch (AmazonS3Exception)
                {
                    // best effort: the server's data lives in a temporary directory anyway
                }
            }
        }

        _client.Dispose();
    }
}
