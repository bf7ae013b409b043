using Lifeline.Recovery.Hosting;

namespace Lifeline.Recovery.Tests.Hosting;

public sealed class DeploymentMetricsTests
{
    [Fact]
    public async Task Metrics_AfterAFullCollection_ServeTheLiveHeapBelowTheAnyKindHeap()
    {
        var metrics = new DeploymentMetrics();
        GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream, CancellationToken.None);
        var text = System.Text.Encoding.UTF8.GetString(stream.ToArray());

        var live = Value(text, "lifeline_gc_live_bytes_after_last_full_gc");
        var any = Value(text, "lifeline_gc_heap_after_last_gc_bytes");
        Assert.InRange(live, 1, any);
    }

    [Fact]
    public async Task Metrics_AfterAFullCollection_ServeThePoolsIdleBytesAsTheyWereAtThatCollection()
    {
        long idle = 48L << 20;
        var metrics = new DeploymentMetrics(poolIdleBytes: () => Interlocked.Read(ref idle));
        for (var i = 0; i < 3; i++) // the watch is promoted to gen2 on its first collections: after these a full one finalizes it
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true);
            GC.WaitForPendingFinalizers();
        }

        Interlocked.Exchange(ref idle, 16L << 20); // the pool let go of buffers after the collection

        var text = await ScrapeAsync(metrics);
        Assert.Equal(48L << 20, Value(text, "lifeline_vault_pool_idle_bytes_at_last_full_gc"));
        Assert.Equal(16L << 20, Value(text, "lifeline_vault_pool_idle_bytes"));

        GC.Collect(2, GCCollectionMode.Forced, blocking: true);
        GC.WaitForPendingFinalizers();
        Assert.Equal(16L << 20, Value(await ScrapeAsync(metrics), "lifeline_vault_pool_idle_bytes_at_last_full_gc"));
        GC.KeepAlive(metrics);
    }

    private static async Task<string> ScrapeAsync(DeploymentMetrics metrics)
    {
        using var stream = new MemoryStream();
        await metrics.Registry.CollectAndExportAsTextAsync(stream, CancellationToken.None);
        return System.Text.Encoding.UTF8.GetString(stream.ToArray());
    }

    private static double Value(string text, string name) =>
        double.Parse(text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
}
