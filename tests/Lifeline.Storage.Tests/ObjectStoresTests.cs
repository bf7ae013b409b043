using Lifeline.Storage.Azure;
using Lifeline.Storage.FileSystem;
using Lifeline.Storage.S3;
using Lifeline.Storage.Tests.Azure;
using Lifeline.Storage.Tests.S3;
using Lifeline.Storage.Tests.TestSupport;

namespace Lifeline.Storage.Tests;

public sealed class ObjectStoresTests : IDisposable
{
    private static readonly Dictionary<string, string?> NoEnv = [];
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void Open_PlainPath_ReturnsFileSystemStoreAtThatPath()
    {
        var path = Path.Combine(_temp.Path, "repo");
        var store = Assert.IsType<FileSystemObjectStore>(ObjectStores.Open(path, NoEnv));
        Assert.Equal(path, store.Root);
    }

    [Fact]
    public void Open_FileUri_ReturnsFileSystemStore()
    {
        var path = Path.Combine(_temp.Path, "repo two");
        var store = Assert.IsType<FileSystemObjectStore>(ObjectStores.Open(new Uri(path).AbsoluteUri, NoEnv));
        Assert.Equal(path, store.Root);
    }

    [Fact]
    public void Open_S3UriWithEndpointAndOptions_ConfiguresPathStyleClientAndOptions()
    {
        var env = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = "AKID", ["AWS_SECRET_ACCESS_KEY"] = "s", ["AWS_REGION"] = "eu-central-1" };
        using var store = Assert.IsType<S3ObjectStore>(ObjectStores.Open("s3://my-bucket/backups/prod?endpoint=http://127.0.0.1:10050&conditional-writes=false&sort-listings=true", env));
        Assert.Equal("my-bucket", store.Bucket);
        Assert.False(store.Options.ConditionalWrites);
        Assert.True(store.Options.SortListingsInClient);
        Assert.True(((Amazon.S3.AmazonS3Config)store.Client.Config).ForcePathStyle);
        Assert.Equal("s3://my-bucket/backups/prod (http://127.0.0.1:10050)", store.Location);
    }

    [Fact]
    public void Open_S3UriWithEndpointFromEnvironment_UsesAwsEndpointUrl()
    {
        var env = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = "AKID", ["AWS_SECRET_ACCESS_KEY"] = "s", ["AWS_ENDPOINT_URL"] = "http://127.0.0.1:10051" };
        using var store = Assert.IsType<S3ObjectStore>(ObjectStores.Open("s3://bucket", env));
        Assert.True(store.Options.ConditionalWrites);
        Assert.Equal("s3://bucket (http://127.0.0.1:10051)", store.Location);
    }

    [Fact]
    public async Task Open_S3UriAgainstLocalServer_RoundTrips()
    {
        await LocalS3.RequireAsync();
        var env = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = "S3RVER", ["AWS_SECRET_ACCESS_KEY"] = "S3RVER", ["AWS_ENDPOINT_URL"] = LocalS3.Endpoint };
        var bucket = "t" + Guid.NewGuid().ToString("N");
        using var store = (S3ObjectStore)ObjectStores.Open($"s3://{bucket}/p?conditional-writes=false&sort-listings=true", env);
        await store.PutAsync("k", "v"u8.ToArray());
        Assert.Equal("v"u8.ToArray(), await store.GetAsync("k"));
        await store.DeleteAsync("k");
        await store.Client.DeleteBucketAsync(bucket);
    }

    [Fact]
    public async Task Open_AzureUriWithConnectionString_RoundTripsOnAzurite()
    {
        await Azurite.RequireAsync();
        var container = "t" + Guid.NewGuid().ToString("N");
        var env = new Dictionary<string, string?> { ["AZURE_STORAGE_CONNECTION_STRING"] = Azurite.ConnectionString };
        var store = Assert.IsType<AzureBlobObjectStore>(ObjectStores.Open($"azure://{container}/repo", env));
        await store.PutAsync("k", "v"u8.ToArray());
        Assert.Equal("v"u8.ToArray(), await store.GetAsync("k"));
        Assert.StartsWith($"azure://{container}/repo (", store.Location, StringComparison.Ordinal);
        await store.Container.DeleteAsync();
    }

    [Fact]
    public async Task Open_AzureUriWithAccountKeyAndEndpoint_RoundTripsOnAzurite()
    {
        await Azurite.RequireAsync();
        var container = "t" + Guid.NewGuid().ToString("N");
        var env = new Dictionary<string, string?>
        {
            ["AZURE_STORAGE_ACCOUNT"] = "devstoreaccount1",
            ["AZURE_STORAGE_KEY"] = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==",
        };
        var endpoint = Azurite.CreateServiceClient().Uri.ToString().TrimEnd('/');
        var store = Assert.IsType<AzureBlobObjectStore>(ObjectStores.Open($"azure://{container}?endpoint={Uri.EscapeDataString(endpoint)}", env));
        Assert.True(await store.PutIfAbsentAsync("k", "v"u8.ToArray()));
        Assert.DoesNotContain("Eby8", store.Location, StringComparison.Ordinal);
        await store.Container.DeleteAsync();
    }

    [Theory]
    [InlineData("", "empty store location")]
    [InlineData("gs://bucket/x", "unsupported store scheme 'gs'")]
    [InlineData("s3://AKID:SECRET@bucket/x", "contains credentials")]
    [InlineData("s3://bucket/x?secret=abc", "contains a secret")]
    [InlineData("azure://c0ntainer?sig=abc", "contains a secret")]
    [InlineData("s3://Bad_Bucket/x", "invalid S3 bucket 'Bad_Bucket'")]
    [InlineData("azure://Upper/x", "invalid Azure container 'Upper'")]
    [InlineData("s3://bucket/a/../b", "invalid prefix")]
    [InlineData("s3://bucket/x?colour=red", "unknown option 'colour'")]
    [InlineData("s3://bucket/x?conditional-writes=maybe", "must be true or false")]
    [InlineData("s3://bucket/x?endpoint=ftp://host", "invalid endpoint")]
    [InlineData("azure://container/x", "no Azure credentials")]
    [InlineData("s3://bucket/x", "no region")]
    [InlineData("file://host/share", "file:///absolute/path")]
    public void Open_BadLocation_ThrowsOneLineArgumentExceptionSayingWhatToDo(string location, string expected)
    {
        var e = Assert.Throws<ArgumentException>(() => ObjectStores.Open(location, NoEnv));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain("SECRET", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("abc", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Open_S3KeyWithoutSecret_ThrowsArgumentException()
    {
        var e = Assert.Throws<ArgumentException>(() => ObjectStores.Open("s3://bucket?region=eu-west-1", new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = "AKID" }));
        Assert.Contains("AWS_SECRET_ACCESS_KEY", e.Message, StringComparison.Ordinal);
    }
}
