namespace Lifeline.Scoring.Failover;

/// <summary>
/// A rolling time window of prediction outcomes for one model version: per-slot counts of requests and failures and
/// a latency histogram (log-spaced buckets), so the failure share and p99 over the window cost a pass over the slots.
/// Slots are <c>window / SlotCount</c> long; a slot is reused (cleared) when time moves past it.
/// </summary>
internal sealed class OutcomeWindow
{
    public const int SlotCount = 60;

    // Latency bucket upper bounds in milliseconds: 0.01 ms · 1.4^i, i = 0..47 (up to ~100 s); the last bucket is open.
    private static readonly double[] Bounds = [.. Enumerable.Range(0, 48).Select(i => 0.01 * Math.Pow(1.4, i))];

    private readonly TimeProvider _timeProvider;
    private readonly long _slotTicks;
    private readonly Slot[] _slots = new Slot[SlotCount];
    private readonly Lock _gate = new();

    public OutcomeWindow(TimeSpan window, TimeProvider timeProvider)
    {
        _timeProvider = timeProvider;
        _slotTicks = Math.Max(1, window.Ticks / SlotCount);
        for (var i = 0; i < SlotCount; i++)
        {
            _slots[i] = new Slot { Latency = new int[Bounds.Length + 1], Epoch = long.MinValue };
        }
    }

    private sealed class Slot
    {
        public long Epoch;
        public int Total;
        public int Failures;
        public required int[] Latency;
    }

    /// <summary>Totals over the window: requests, failures and p99 latency (ms, upper bound of its bucket).</summary>
    public readonly record struct Snapshot(int Total, int Failures, double P99Ms)
    {
        public double FailureShare => Total == 0 ? 0 : (double)Failures / Total;
    }

    private long CurrentEpoch() => _timeProvider.GetUtcNow().UtcTicks / _slotTicks;

    public void Record(bool failed, double latencyMs)
    {
        var epoch = CurrentEpoch();
        var bucket = Array.BinarySearch(Bounds, latencyMs);
        if (bucket < 0)
        {
            bucket = ~bucket;
        }

        lock (_gate)
        {
            var slot = _slots[(int)(epoch % SlotCount)];
            if (slot.Epoch != epoch)
            {
                slot.Epoch = epoch;
                slot.Total = 0;
                slot.Failures = 0;
                Array.Clear(slot.Latency);
            }

            slot.Total++;
            if (failed)
            {
                slot.Failures++;
            }

            slot.Latency[bucket]++;
        }
    }

    public Snapshot Read()
    {
        var epoch = CurrentEpoch();
        Span<int> latency = stackalloc int[Bounds.Length + 1];
        int total = 0, failures = 0;
        lock (_gate)
        {
            foreach (var slot in _slots)
            {
                if (slot.Epoch > epoch - SlotCount && slot.Epoch <= epoch)
                {
                    total += slot.Total;
                    failures += slot.Failures;
                    for (var i = 0; i < latency.Length; i++)
                    {
                        latency[i] += slot.Latency[i];
                    }
                }
            }
        }

        double p99 = 0;
        if (total > 0)
        {
            var rank = (int)Math.Ceiling(total * 0.99);
            var seen = 0;
            for (var i = 0; i < latency.Length; i++)
            {
                seen += latency[i];
                if (seen >= rank)
                {
                    p99 = i < Bounds.Length ? Bounds[i] : double.PositiveInfinity;
                    break;
                }
            }
        }

        return new Snapshot(total, failures, p99);
    }

    public void Clear()
    {
        lock (_gate)
        {
            foreach (var slot in _slots)
            {
                slot.Epoch = long.MinValue;
                slot.Total = 0;
                slot.Failures = 0;
                Array.Clear(slot.Latency);
            }
        }
    }
}
