using System.Net;
using Amazon.S3;
using Azure;
using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Faults;
using Lifeline.Storage.Resilience;
using Lifeline.Storage.Tests.TestSupport;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Storage.Tests.Resilience;

public sealed class RetryingObjectStoreTests : IDisposable
{
    private static readonly RetryOptions NoDelay = new() { BaseDelay = TimeSpan.Zero, MaxRetryAttempts = 3 };
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    private (RetryingObjectStore Sut, FaultInjectingObjectStore Faults, RecordingLogger Log) CreateSut(RetryOptions? options = null, TimeProvider? time = null)
    {
        var faults = new FaultInjectingObjectStore(new FileSystemObjectStore(Path.Combine(_temp.Path, "store")), seed: 7);
        var log = new RecordingLogger();
        return (new RetryingObjectStore(faults, options ?? NoDelay, time, log), faults, log);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GetAsyncOrTryGetAsync_TwoTransientFailures_SucceedsOnThirdAttempt(bool tryGet)
    {
        var (sut, faults, log) = CreateSut();
        await sut.PutAsync("k", "v"u8.ToArray());
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.Get, MaxHits = 2 });
        Assert.Equal("v"u8.ToArray(), tryGet ? await sut.TryGetAsync("k") : await sut.GetAsync("k"));
        Assert.Equal(2, faults.Injected.Count);
        Assert.Equal(2, log.Entries.Count(e => e.EventId == 1000));
    }

    [Fact]
    public async Task GetAsync_PersistentTransientFailure_GivesUpAfterMaxAttemptsWithTheFault()
    {
        var (sut, faults, log) = CreateSut();
        await sut.PutAsync("k", "v"u8.ToArray());
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.Get });
        var e = await Assert.ThrowsAsync<IOException>(() => sut.GetAsync("k"));
        Assert.Contains("injected fault", e.Message, StringComparison.Ordinal);
        Assert.Equal(4, faults.Injected.Count); // 1 + MaxRetryAttempts
        Assert.Single(log.Entries, x => x.EventId == 1001);
    }

    [Fact]
    public async Task GetAsync_MissingObject_IsNotRetried()
    {
        var (sut, faults, _) = CreateSut();
        var calls = 0;
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.Get, Exception = key => { Interlocked.Increment(ref calls); return new ObjectNotFoundException(key, "test"); } });
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => sut.GetAsync("k"));
        Assert.Equal(1, calls);
    }

    [Fact]
    public async Task PutAsync_PermanentFault_IsNotRetried()
    {
        var (sut, faults, _) = CreateSut();
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.Put, Exception = _ => new UnauthorizedAccessException("forbidden") });
        await Assert.ThrowsAsync<UnauthorizedAccessException>(() => sut.PutAsync("k", "v"u8.ToArray()));
        Assert.Single(faults.Injected);
    }

    [Fact]
    public async Task PutIfAbsentAsync_ResponseLostAfterWrite_ReturnsTrueBecauseTheObjectHoldsOurBytes()
    {
        var (sut, faults, _) = CreateSut();
        faults.Add(new FaultRule { Kind = FaultKind.FailAfterWrite, Operation = ObjectStoreOperation.PutIfAbsent, NthCall = 1 });
        Assert.True(await sut.PutIfAbsentAsync("lock", "owner-1"u8.ToArray()));
        Assert.False(await sut.PutIfAbsentAsync("lock", "owner-2"u8.ToArray()));
    }

    [Fact]
    public async Task PutIfAbsentAsync_FailureThenSomeoneElsesObject_ReturnsFalse()
    {
        var (sut, faults, _) = CreateSut();
        await faults.Inner.PutAsync("lock", "owner-2"u8.ToArray());
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.PutIfAbsent, NthCall = 1 });
        Assert.False(await sut.PutIfAbsentAsync("lock", "owner-1"u8.ToArray()));
        Assert.Single(faults.Injected);
    }

    [Fact]
    public async Task ListAsync_FailureMidListing_RestartsAndYieldsEachKeyOnceInOrder()
    {
        var (sut, faults, _) = CreateSut();
        var keys = Enumerable.Range(0, 10).Select(i => $"k/{i:D2}").ToArray();
        foreach (var key in keys)
        {
            await sut.PutAsync(key, new byte[] { 1 });
        }

        // A store whose listing dies after three items, twice.
        var flaky = new FlakyListingStore(faults, failAfter: 3, failures: 2);
        var retrying = new RetryingObjectStore(flaky, NoDelay);
        var listed = new List<string>();
        await foreach (var info in retrying.ListAsync("k/"))
        {
            listed.Add(info.Key);
        }

        Assert.Equal(keys, listed);
        Assert.Equal(3, flaky.Listings);
    }

    [Fact]
    public async Task GetAsync_ExponentialBackoffOnFakeClock_WaitsDoublingDelays()
    {
        var time = new FakeTimeProvider();
        var (sut, faults, log) = CreateSut(new RetryOptions { BaseDelay = TimeSpan.FromSeconds(1), UseJitter = false, MaxRetryAttempts = 3 }, time);
        await sut.PutAsync("k", "v"u8.ToArray());
        faults.Add(new FaultRule { Operation = ObjectStoreOperation.Get, MaxHits = 3 });

        var get = sut.GetAsync("k");
        // Move the fake clock until the retries are through (no real waiting), with a real-time deadline.
        var deadline = System.Diagnostics.Stopwatch.StartNew();
        while (!get.IsCompleted && deadline.Elapsed < TimeSpan.FromSeconds(30))
        {
            time.Advance(TimeSpan.FromMilliseconds(250));
            await Task.Yield();
        }

        Assert.True(get.IsCompleted, "the retries did not finish within 30 s of real time");
        Assert.Equal("v"u8.ToArray(), await get);
        var delays = log.Entries.Where(e => e.EventId == 1000).Select(e => e.Message).ToArray();
        Assert.Equal(3, delays.Length);
        Assert.Contains("in 1000 ms", delays[0], StringComparison.Ordinal);
        Assert.Contains("in 2000 ms", delays[1], StringComparison.Ordinal);
        Assert.Contains("in 4000 ms", delays[2], StringComparison.Ordinal);
        Assert.True(time.GetUtcNow() - time.Start >= TimeSpan.FromSeconds(7), "the retries waited on the fake clock");
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsArgumentExceptionNamingTheProperty()
    {
        var inner = new FileSystemObjectStore(_temp.Path);
        var e = Assert.Throws<ArgumentException>(() => new RetryingObjectStore(inner, new RetryOptions { MaxRetryAttempts = -1 }));
        Assert.Contains("MaxRetryAttempts", e.Message, StringComparison.Ordinal);
    }

    public static TheoryData<Exception, bool> Faults => new()
    {
        { new IOException("disk"), true },
        { new TimeoutException(), true },
        { new HttpRequestException("refused"), true },
        { new HttpRequestException("bad", null, HttpStatusCode.BadRequest), false },
        { new RequestFailedException(503, "busy"), true },
        { new RequestFailedException(500, "oops"), true },
        { new RequestFailedException(429, "throttled"), true },
        { new RequestFailedException(408, "timeout"), true },
        { new RequestFailedException(0, "no response"), true },
        { new RequestFailedException(404, "missing"), false },
        { new RequestFailedException(403, "forbidden"), false },
        { new RequestFailedException(501, "not implemented"), false },
        { new AmazonS3Exception("slow down") { ErrorCode = "SlowDown", StatusCode = HttpStatusCode.ServiceUnavailable }, true },
        { new AmazonS3Exception("internal") { StatusCode = HttpStatusCode.InternalServerError }, true },
        { new AmazonS3Exception("denied") { ErrorCode = "AccessDenied", StatusCode = HttpStatusCode.Forbidden }, false },
        { new AmazonS3Exception("precondition") { StatusCode = HttpStatusCode.PreconditionFailed }, false },
        { new ObjectNotFoundException("k", "here"), false },
        { new FileNotFoundException("gone"), false },
        { new ArgumentException("bad key"), false },
        { new OperationCanceledException(), false },
        { new UnauthorizedAccessException(), false },
        { new InvalidOperationException(), false },
    };

    [Theory]
    [MemberData(nameof(Faults))]
    public void IsTransient_KnownFault_ClassifiesIt(Exception fault, bool transient)
    {
        Assert.Equal(transient, TransientFaults.IsTransient(fault));
    }

    /// <summary>Lists its inner store but throws an IOException after <c>failAfter</c> items, <c>failures</c> times.</summary>
    private sealed class FlakyListingStore(IObjectStore inner, int failAfter, int failures) : IObjectStore
    {
        private int _failuresLeft = failures;

        public int Listings { get; private set; }

        public string Location => inner.Location;

        public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutAsync(key, data, cancellationToken);

        public Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default) => inner.PutIfAbsentAsync(key, data, cancellationToken);

        public Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) => inner.GetAsync(key, offset, length, cancellationToken);

        public Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamAsync(key, content, cancellationToken);

        public Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default) => inner.PutStreamIfAbsentAsync(key, content, cancellationToken);

        public Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default) => inner.OpenReadAsync(key, offset, length, cancellationToken);

        public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default) => inner.StatAsync(key, cancellationToken);

        public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            Listings++;
            var fail = _failuresLeft-- > 0;
            var count = 0;
            await foreach (var info in inner.ListAsync(prefix, cancellationToken))
            {
                if (fail && count++ == failAfter)
                {
                    throw new IOException("listing connection reset");
                }

                yield return info;
            }
        }

        public Task DeleteAsync(string key, CancellationToken cancellationToken = default) => inner.DeleteAsync(key, cancellationToken);
    }
}
