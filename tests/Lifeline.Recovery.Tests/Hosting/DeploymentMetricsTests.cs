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

    private static double Value(string text, string name) =>
        double.Parse(text.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], System.Globalization.CultureInfo.InvariantCulture);
}
