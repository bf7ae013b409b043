using Amazon.S3.Model;
using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Faults;
using Lifeline.Storage.Probing;
using Lifeline.Storage.S3;
using Lifeline.Storage.Tests.S3;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests.Probing;

public sealed class ObjectStoreProbeTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task RunAsync_FileSystemStore_PassesEveryCheckAndLeavesNoObjects()
    {
        var store = new FileSystemObjectStore(_temp.Path);
        var report = await ObjectStoreProbe.RunAsync(store);
        Assert.True(report.Passed, string.Join("; ", report.Checks.Where(c => !c.Passed).Select(c => $"{c.Name}: {c.Detail}")));
        Assert.Equal(7, report.Checks.Count);
        Assert.Empty(await ListAsync(store));
    }

    [Fact]
    public async Task RunAsync_StoreThatDropsWrites_FailsTheRoundTripAndSaysWhy()
    {
        var store = new FaultInjectingObjectStore(new FileSystemObjectStore(_temp.Path)).Add(new FaultRule { Kind = FaultKind.DropWrite, Operation = ObjectStoreOperation.Put });
        var report = await ObjectStoreProbe.RunAsync(store);
        Assert.False(report.Passed);
        var roundTrip = report.Checks.Single(c => c.Name == "put and get");
        Assert.False(roundTrip.Passed);
        Assert.Contains("ObjectNotFoundException", roundTrip.Detail, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_S3rverWithConditionalWritesAssumed_FailsBothPutIfAbsentChecks()
    {
        // The probe catches exactly what docs/storage.md says of s3rver: it ignores If-None-Match.
        await LocalS3.RequireAsync();
        using var client = LocalS3.CreateClient();
        var bucket = "t" + Guid.NewGuid().ToString("N");
        await client.PutBucketAsync(new PutBucketRequest { BucketName = bucket });
        try
        {
            var store = new S3ObjectStore(client, bucket, options: new S3ObjectStoreOptions { ConditionalWrites = true, SortListingsInClient = true });
            var report = await ObjectStoreProbe.RunAsync(store);
            Assert.Equal(["put-if-absent", "put-if-absent, 8 racers"], report.Checks.Where(c => !c.Passed).Select(c => c.Name).ToArray());
            Assert.Contains("ignores conditional writes", report.Checks.Single(c => c.Name == "put-if-absent").Detail, StringComparison.Ordinal);
            Assert.Empty(await ListAsync(store));
        }
        finally
        {
            await client.DeleteBucketAsync(bucket);
        }
    }

    private static async Task<List<string>> ListAsync(IObjectStore store)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync(string.Empty))
        {
            keys.Add(info.Key);
        }

        return keys;
    }
}
