using System.Net;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Lifeline.Storage.Resilience;
using Lifeline.Storage.S3;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.S3;

/// <summary>
/// The exact requests the S3 store sends and how it maps answers, against a recording HTTP server on 127.0.0.1.
/// This covers the conditional-write path (If-None-Match: *) that s3rver cannot exercise.
/// </summary>
public sealed partial class S3ObjectStoreRequestTests
{
    private static (S3ObjectStore Store, RecordingHttpServer Server, AmazonS3Client Client) CreateSut(Func<RecordedRequest, CannedResponse> handler, S3ObjectStoreOptions? options = null)
    {
        var server = new RecordingHttpServer(handler);
        var config = S3ObjectStore.CreateConfig(server.Endpoint, "eu-west-1", new ObjectStoreTimeouts { ConnectTimeout = TimeSpan.FromSeconds(2), InactivityTimeout = TimeSpan.FromSeconds(20) });
        config.MaxErrorRetry = 0;
        var client = new AmazonS3Client(new BasicAWSCredentials("AKIDTEST", "not-a-secret"), config);
        return (new S3ObjectStore(client, "bucket", "pre/fix", options), server, client);
    }

    private static readonly Dictionary<string, string> ETag = new() { ["ETag"] = "\"abc\"" };

    [Fact]
    public async Task PutIfAbsentAsync_ConditionalWrites_SendsIfNoneMatchStarPathStyleAndBody()
    {
        var (store, server, client) = CreateSut(_ => new CannedResponse(200, [], ETag));
        using (server)
        using (client)
        {
            Assert.True(await store.PutIfAbsentAsync("locks/x", "body"u8.ToArray()));
            var request = Assert.Single(server.Requests);
            Assert.Equal("PUT", request.Method);
            Assert.Equal("/bucket/pre/fix/locks/x", request.PathAndQuery);
            Assert.Equal("*", request.Headers["If-None-Match"]);
            Assert.Equal("body"u8.ToArray(), request.Body);
            Assert.DoesNotContain("x-amz-trailer", request.Headers.Keys, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task PutAsync_Always_SendsNoCondition()
    {
        var (store, server, client) = CreateSut(_ => new CannedResponse(200, [], ETag));
        using (server)
        using (client)
        {
            await store.PutAsync("k", "v"u8.ToArray());
            Assert.DoesNotContain("If-None-Match", Assert.Single(server.Requests).Headers.Keys, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task PutIfAbsentAsync_Server412_ReturnsFalse()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.S3Error(412, "PreconditionFailed"));
        using (server)
        using (client)
        {
            Assert.False(await store.PutIfAbsentAsync("k", "v"u8.ToArray()));
        }
    }

    [Fact]
    public async Task PutIfAbsentAsync_Server409_ThrowsTransientIOException()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.S3Error(409, "ConditionalRequestConflict"));
        using (server)
        using (client)
        {
            var e = await Assert.ThrowsAsync<IOException>(() => store.PutIfAbsentAsync("k", "v"u8.ToArray()));
            Assert.True(TransientFaults.IsTransient(e));
        }
    }

    [Fact]
    public async Task PutIfAbsentAsync_WithoutConditionalWrites_HeadsThenPutsWithoutCondition()
    {
        var (store, server, client) = CreateSut(r => r.Method == "HEAD" ? new CannedResponse(404, []) : new CannedResponse(200, [], ETag), new S3ObjectStoreOptions { ConditionalWrites = false });
        using (server)
        using (client)
        {
            Assert.True(await store.PutIfAbsentAsync("k", "v"u8.ToArray()));
            Assert.Equal(["HEAD", "PUT"], server.Requests.Select(r => r.Method).ToArray());
            Assert.DoesNotContain("If-None-Match", server.Requests.Last().Headers.Keys, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Theory]
    [InlineData(10, 10L, "bytes=10-19")]
    [InlineData(7000, null, "bytes=7000-")]
    [InlineData(0, 1L, "bytes=0-0")]
    public async Task GetAsync_Range_SendsInclusiveByteRange(long offset, long? length, string expected)
    {
        var (store, server, client) = CreateSut(_ => new CannedResponse(206, new byte[(int)(length ?? 5)], new Dictionary<string, string> { ["Content-Range"] = $"bytes {offset}-{offset + (length ?? 5) - 1}/100000" }));
        using (server)
        using (client)
        {
            var data = await store.GetAsync("k", offset, length);
            Assert.Equal(expected, Assert.Single(server.Requests).Headers["Range"]);
            Assert.Equal(length ?? 5, data.Length);
        }
    }

    [Fact]
    public async Task GetAsync_WholeObject_SendsNoRange()
    {
        var (store, server, client) = CreateSut(_ => new CannedResponse(200, "hello"u8.ToArray()));
        using (server)
        using (client)
        {
            Assert.Equal("hello"u8.ToArray(), await store.GetAsync("k"));
            Assert.DoesNotContain("Range", Assert.Single(server.Requests).Headers.Keys, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task GetAsync_Server404_ThrowsObjectNotFound()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.S3Error(404, "NoSuchKey"));
        using (server)
        using (client)
        {
            var e = await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.GetAsync("a/b"));
            Assert.Equal("a/b", e.Key);
        }
    }

    [Fact]
    public async Task GetAsync_Server416_ReturnsEmpty()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.S3Error(416, "InvalidRange"));
        using (server)
        using (client)
        {
            Assert.Empty(await store.GetAsync("k", 500));
        }
    }

    [Fact]
    public async Task GetAsync_Server503SlowDown_ThrowsTransientFault()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.S3Error(503, "SlowDown"));
        using (server)
        using (client)
        {
            var e = await Assert.ThrowsAsync<AmazonS3Exception>(() => store.GetAsync("k"));
            Assert.True(TransientFaults.IsTransient(e));
        }
    }

    [Fact]
    public async Task StatAsync_Server404_ReturnsNull()
    {
        var (store, server, client) = CreateSut(_ => new CannedResponse(404, []));
        using (server)
        using (client)
        {
            Assert.Null(await store.StatAsync("k"));
            Assert.Equal("HEAD", Assert.Single(server.Requests).Method);
        }
    }

    [Fact]
    public async Task ListAsync_TwoPages_FollowsContinuationTokenAndStripsPrefix()
    {
        var (store, server, client) = CreateSut(r => CannedResponse.Xml(200, r.PathAndQuery.Contains("continuation-token=t2", StringComparison.Ordinal)
            ? ListPage(["pre/fix/d/2"], next: null)
            : ListPage(["pre/fix/d/0", "pre/fix/d/1"], next: "t2")));
        using (server)
        using (client)
        {
            var keys = new List<string>();
            await foreach (var info in store.ListAsync("d/"))
            {
                keys.Add(info.Key);
            }

            Assert.Equal(["d/0", "d/1", "d/2"], keys);
            Assert.Equal(2, server.Requests.Count);
            Assert.All(server.Requests, r => Assert.Contains("prefix=pre%2Ffix%2Fd%2F", r.PathAndQuery, StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task ListAsync_OutOfOrderPage_ThrowsIOException()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.Xml(200, ListPage(["pre/fix/b", "pre/fix/a"], next: null)));
        using (server)
        using (client)
        {
            await Assert.ThrowsAsync<IOException>(async () =>
            {
                await foreach (var unused in store.ListAsync(string.Empty))
                {
                }
            });
        }
    }

    [Theory]
    [InlineData(206, "bytes 0-9/10", 0L, 1L, 1, 0)]      // s3rver answers "bytes=0-0" with the whole object
    [InlineData(200, null, 3L, 4L, 4, 3)]                // a server that ignores Range sends everything
    [InlineData(206, "bytes 5-9/10", 5L, 10L, 5, 5)]     // an honest partial answer is kept as is
    public void ClipToRange_ServerSentMoreThanAsked_ReturnsExactlyTheRange(int status, string? contentRange, long offset, long? length, int expectedLength, int expectedFirst)
    {
        var body = status == 200 || contentRange == "bytes 0-9/10" ? Enumerable.Range(0, 10).Select(i => (byte)i).ToArray() : Enumerable.Range(5, 5).Select(i => (byte)i).ToArray();
        var clipped = S3ObjectStore.ClipToRange(body, (HttpStatusCode)status, contentRange, offset, length);
        Assert.Equal(expectedLength, clipped.Length);
        Assert.Equal(expectedFirst, clipped[0]);
    }

    [Fact]
    public void Location_CustomEndpoint_NamesBucketPrefixAndEndpointOnly()
    {
        var (store, server, client) = CreateSut(_ => new CannedResponse(200, []));
        using (server)
        using (client)
        {
            Assert.Equal($"s3://bucket/pre/fix ({server.Endpoint})", store.Location);
        }
    }

    private static string ListPage(string[] keys, string? next)
    {
        var xml = new StringBuilder("<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>bucket</Name>");
        xml.Append($"<KeyCount>{keys.Length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>{(next is null ? "false" : "true")}</IsTruncated>");
        if (next is not null)
        {
            xml.Append($"<NextContinuationToken>{next}</NextContinuationToken>");
        }

        foreach (var key in keys)
        {
            xml.Append($"<Contents><Key>{key}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>\"x\"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>");
        }

        return xml.Append("</ListBucketResult>").ToString();
    }
}
