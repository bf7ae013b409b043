using Lifeline.Cli.Infrastructure;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Cli.Tests.Unit;

public sealed class DelayingObjectStoreTests
{
    [Fact]
    public void Parse_Pairs_GivesDelaysPerOperation()
    {
        var delays = DelayingObjectStore.Parse("delete=150ms, put=1.5s");
        Assert.Equal(TimeSpan.FromMilliseconds(150), delays["delete"]);
        Assert.Equal(TimeSpan.FromSeconds(1.5), delays["put"]);
    }

    [Theory]
    [InlineData("delete")]
    [InlineData("rename=1s")]
    [InlineData("delete=fast")]
    public void Parse_Bad_UsageErrorNamingTheVariable(string value)
    {
        var e = Assert.Throws<UsageException>(() => DelayingObjectStore.Parse(value));
        Assert.Contains(DelayingObjectStore.Variable, e.Message);
    }

    [Fact]
    public async Task DeleteAsync_WithDelay_WaitsForTheClockThenDeletes()
    {
        using var dir = new Infrastructure.TestDirectory("delay");
        var inner = new FileSystemObjectStore(dir.Path);
        await inner.PutAsync("a", new byte[] { 1 });
        var time = new FakeTimeProvider();
        var store = new DelayingObjectStore(inner, DelayingObjectStore.Parse("delete=1s"), time);

        var delete = store.DeleteAsync("a");
        Assert.False(delete.IsCompleted);
        Assert.NotNull(await inner.StatAsync("a"));
        time.Advance(TimeSpan.FromSeconds(1));
        await delete;
        Assert.Null(await inner.StatAsync("a"));
    }
}
