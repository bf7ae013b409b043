// Summarises a dotnet-trace of System.Buffers.ArrayPoolEventSource (bench/soak.sh with TRACE_POOLS_AT=SECONDS):
// for every buffer of at least MIN bytes, how many were rented, and how many the pool had to allocate afresh
// (BufferAllocated: a rent the pool could not serve from what it kept), grouped by the first frames of the renter's
// stack. Fresh allocations of large buffers are large-object-heap garbage once returned to a pool that is dropped.
// Usage: Lifeline.PoolTrace TRACE.nettrace [MIN_BYTES=1048576] [SECONDS_TRACED]
using Microsoft.Diagnostics.Tracing.Etlx;

var min = args.Length > 1 ? int.Parse(args[1]) : 1 << 20;
var seconds = args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 0;
using var log = new TraceLog(TraceLog.CreateFromEventPipeDataFile(args[0]));
var groups = new Dictionary<(string Event, int Size, string Where), (int Count, long Bytes)>();
foreach (var e in log.Events)
{
    if (!e.ProviderName.Contains("ArrayPool") || e.EventName is not ("BufferAllocated" or "BufferRented"))
    {
        continue;
    }

    var size = Convert.ToInt32(e.PayloadByName("bufferSize"));
    if (size < min)
    {
        continue;
    }

    var frames = new List<string>();
    for (var cs = e.CallStack(); cs is not null && frames.Count < 2; cs = cs.Caller)
    {
        var name = cs.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(name) || name.StartsWith("System.", StringComparison.Ordinal))
        {
            continue;
        }

        frames.Add(name.Length > 90 ? name[..90] : name);
    }

    var key = (e.EventName, size, string.Join(" <- ", frames));
    groups[key] = groups.TryGetValue(key, out var v) ? (v.Count + 1, v.Bytes + size) : (1, size);
}

Console.WriteLine("| event | buffer | count | MiB | MiB/s | renter (first frames) |");
Console.WriteLine("|---|---:|---:|---:|---:|---|");
foreach (var ((evt, size, where), (count, bytes)) in groups.OrderBy(g => g.Key.Event).ThenByDescending(g => g.Value.Bytes))
{
    var rate = seconds > 0 ? (bytes / 1048576.0 / seconds).ToString("0.0", System.Globalization.CultureInfo.InvariantCulture) : "-";
    Console.WriteLine($"| {(evt == "BufferAllocated" ? "allocated afresh" : "rented")} | {size / 1048576.0:0.##} MiB | {count} | {bytes / 1048576} | {rate} | {where} |");
}
