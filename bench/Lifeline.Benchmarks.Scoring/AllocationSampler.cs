using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

/// <summary>
/// The runtime's GC AllocationTick events (one about every 100 KB allocated, with the type that crossed the mark),
/// counted by type: where the allocations per request come from. On with <c>LIFELINE_ALLOC_TYPES=1</c>.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();
    private volatile bool _on;

    public void Start()
    {
        _bytes.Clear();
        _on = true;
    }

    public void PrintTop(int count)
    {
        _on = false;
        var total = _bytes.Values.Sum();
        foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(count))
        {
            Console.WriteLine(FormattableString.Invariant($"  {100.0 * bytes / Math.Max(1, total),5:F1}%  {type}"));
        }
    }

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword: AllocationTick at Verbose
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs eventData)
    {
        if (!_on || eventData.EventName is null || !eventData.EventName.StartsWith("GCAllocationTick", StringComparison.Ordinal) || eventData.Payload is null)
        {
            return;
        }

        var index = eventData.PayloadNames!.IndexOf("TypeName");
        var amount = eventData.PayloadNames.IndexOf("AllocationAmount64");
        var type = index >= 0 ? eventData.Payload[index] as string ?? "?" : "?";
        var bytes = amount >= 0 && eventData.Payload[amount] is ulong a ? (long)a : 100_000;
        _bytes.AddOrUpdate(type, bytes, (_, b) => b + bytes);
    }
}
