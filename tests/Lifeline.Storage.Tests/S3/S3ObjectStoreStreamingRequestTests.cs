using System.Text;
using Lifeline.Storage.S3;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.S3;

/// <summary>The requests of a streaming put (single PutObject or multipart upload) and a streaming get.</summary>
public sealed partial class S3ObjectStoreRequestTests
{
    private const int SmallPart = 64 * 1024;

    /// <summary>Answers like S3 to a multipart upload; <paramref name="onComplete"/> and <paramref name="onPart"/> may replace the answer.</summary>
    private static Func<RecordedRequest, CannedResponse> MultipartServer(Func<RecordedRequest, CannedResponse?>? onComplete = null, Func<RecordedRequest, CannedResponse?>? onPart = null) => r =>
    {
        if (r.Method == "POST" && r.PathAndQuery.Contains("uploads", StringComparison.Ordinal))
        {
            return CannedResponse.Xml(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><InitiateMultipartUploadResult><Bucket>bucket</Bucket><Key>pre/fix/k</Key><UploadId>U1</UploadId></InitiateMultipartUploadResult>");
        }

        if (r.Method == "PUT" && r.PathAndQuery.Contains("partNumber=", StringComparison.Ordinal))
        {
            return onPart?.Invoke(r) ?? new CannedResponse(200, [], new Dictionary<string, string> { ["ETag"] = $"\"etag-{r.Body.Length}\"" });
        }

        if (r.Method == "POST" && r.PathAndQuery.Contains("uploadId=U1", StringComparison.Ordinal))
        {
            return onComplete?.Invoke(r) ?? CannedResponse.Xml(200, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><CompleteMultipartUploadResult><Bucket>bucket</Bucket><Key>pre/fix/k</Key><ETag>\"whole\"</ETag></CompleteMultipartUploadResult>");
        }

        return r.Method == "DELETE" ? new CannedResponse(204, []) : new CannedResponse(200, [], ETag);
    };

    [Fact]
    public async Task PutStreamAsync_ShorterThanOnePart_SendsOnePutObject()
    {
        var (store, server, client) = CreateSut(_ => new CannedResponse(200, [], ETag), new S3ObjectStoreOptions { PartSize = SmallPart });
        using (server)
        using (client)
        {
            await store.PutStreamAsync("k", new GeneratedStream(SmallPart - 1, 1));
            var request = Assert.Single(server.Requests);
            Assert.Equal(("PUT", "/bucket/pre/fix/k"), (request.Method, request.PathAndQuery));
            Assert.Equal(GeneratedStream.Bytes(SmallPart - 1, 1), request.Body);
        }
    }

    [Fact]
    public async Task PutStreamAsync_SeveralParts_InitiatesUploadsPartsInOrderAndCompletesWithoutCondition()
    {
        var (store, server, client) = CreateSut(MultipartServer(), new S3ObjectStoreOptions { PartSize = SmallPart });
        using (server)
        using (client)
        {
            var length = (SmallPart * 2) + 100;
            await store.PutStreamAsync("k", new GeneratedStream(length, 2));
            var requests = server.Requests.ToArray();
            Assert.Equal(["POST", "PUT", "PUT", "PUT", "POST"], requests.Select(r => r.Method));
            Assert.Equal("/bucket/pre/fix/k?uploads", requests[0].PathAndQuery);
            Assert.Equal([SmallPart, SmallPart, 100], requests[1..4].Select(r => r.Body.Length));
            for (var i = 1; i <= 3; i++)
            {
                Assert.Contains($"partNumber={i}", requests[i].PathAndQuery, StringComparison.Ordinal);
                Assert.Contains("uploadId=U1", requests[i].PathAndQuery, StringComparison.Ordinal);
            }

            Assert.Equal(GeneratedStream.Bytes(length, 2), requests[1..4].SelectMany(r => r.Body).ToArray());
            var complete = Encoding.UTF8.GetString(requests[4].Body);
            Assert.Contains("<PartNumber>3</PartNumber>", complete, StringComparison.Ordinal);
            Assert.Contains("etag-100", complete, StringComparison.Ordinal);
            Assert.DoesNotContain("If-None-Match", requests[4].Headers.Keys, StringComparer.OrdinalIgnoreCase);
        }
    }

    [Fact]
    public async Task PutStreamIfAbsentAsync_SeveralParts_SendsIfNoneMatchOnCompleteOnly()
    {
        var (store, server, client) = CreateSut(MultipartServer(), new S3ObjectStoreOptions { PartSize = SmallPart });
        using (server)
        using (client)
        {
            Assert.True(await store.PutStreamIfAbsentAsync("k", new GeneratedStream(SmallPart + 1, 3)));
            var requests = server.Requests.ToArray();
            Assert.Equal("*", requests[^1].Headers["If-None-Match"]);
            Assert.All(requests[..^1], r => Assert.DoesNotContain("If-None-Match", r.Headers.Keys, StringComparer.OrdinalIgnoreCase));
        }
    }

    [Fact]
    public async Task PutStreamIfAbsentAsync_Complete412_ReturnsFalseAndAbortsUpload()
    {
        var (store, server, client) = CreateSut(MultipartServer(onComplete: _ => CannedResponse.S3Error(412, "PreconditionFailed")), new S3ObjectStoreOptions { PartSize = SmallPart });
        using (server)
        using (client)
        {
            Assert.False(await store.PutStreamIfAbsentAsync("k", new GeneratedStream(SmallPart + 1, 4)));
            var abort = server.Requests.Last();
            Assert.Equal(("DELETE", "/bucket/pre/fix/k?uploadId=U1"), (abort.Method, abort.PathAndQuery));
        }
    }

    [Fact]
    public async Task PutStreamAsync_PartRejected_ThrowsAndAbortsUpload()
    {
        var (store, server, client) = CreateSut(
            MultipartServer(onPart: r => r.PathAndQuery.Contains("partNumber=2", StringComparison.Ordinal) ? CannedResponse.S3Error(400, "InvalidArgument") : null),
            new S3ObjectStoreOptions { PartSize = SmallPart });
        using (server)
        using (client)
        {
            await Assert.ThrowsAsync<Amazon.S3.AmazonS3Exception>(() => store.PutStreamAsync("k", new GeneratedStream(SmallPart * 3, 5)));
            Assert.Equal(["POST", "PUT", "PUT", "DELETE"], server.Requests.Select(r => r.Method));
            Assert.DoesNotContain(server.Requests, r => r.Method == "POST" && r.PathAndQuery.Contains("uploadId", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task PutStreamAsync_StreamFailsAfterFirstPart_AbortsUploadAndNeverCompletes()
    {
        var (store, server, client) = CreateSut(MultipartServer(), new S3ObjectStoreOptions { PartSize = SmallPart });
        using (server)
        using (client)
        {
            var failing = new GeneratedStream(SmallPart * 3, 6, SmallPart + 10, () => throw new InvalidDataException("client went away"));
            await Assert.ThrowsAsync<InvalidDataException>(() => store.PutStreamAsync("k", failing));
            Assert.Equal(["POST", "PUT", "DELETE"], server.Requests.Select(r => r.Method));
        }
    }

    [Fact]
    public async Task OpenReadAsync_ServerIgnoresRange_StreamYieldsExactlyTheRange()
    {
        var body = Enumerable.Range(0, 100).Select(i => (byte)i).ToArray();
        var (store, server, client) = CreateSut(_ => new CannedResponse(200, body));
        using (server)
        using (client)
        {
            await using var read = await store.OpenReadAsync("k", 10, 5);
            Assert.Equal("bytes=10-14", Assert.Single(server.Requests).Headers["Range"]);
            Assert.Equal(5, read.Length);
            var back = new MemoryStream();
            await read.CopyToAsync(back);
            Assert.Equal(body[10..15], back.ToArray());
        }
    }

    [Fact]
    public async Task OpenReadAsync_Server404_ThrowsObjectNotFoundOnOpen()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.S3Error(404, "NoSuchKey"));
        using (server)
        using (client)
        {
            await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync("k"));
        }
    }

    [Fact]
    public async Task GetAsync_Server403InvalidAccessKey_ThrowsObjectStoreAuthException()
    {
        var (store, server, client) = CreateSut(_ => CannedResponse.S3Error(403, "InvalidAccessKeyId"));
        using (server)
        using (client)
        {
            var e = await Assert.ThrowsAsync<ObjectStoreAuthException>(() => store.GetAsync("k"));
            Assert.Contains("InvalidAccessKeyId", e.Message, StringComparison.Ordinal);
            Assert.Contains("AWS_ACCESS_KEY_ID", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("not-a-secret", e.Message, StringComparison.Ordinal);
        }
    }
}
