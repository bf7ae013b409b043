using System.Diagnostics;

namespace Lifeline.Fuzzing.Core;

/// <summary>How a run is made.</summary>
public sealed record FuzzRunOptions
{
    public int Seed { get; init; } = 1;

    /// <summary>Inputs in all, split evenly over <see cref="Passes"/>.</summary>
    public int Count { get; init; } = 300;

    /// <summary>
    /// Passes over fresh inputs; memory is measured after each. The first <see cref="WarmupPasses"/> warm up (JIT,
    /// tiering, first-use serializer metadata, connection pools), the heap after the next one is the baseline, the heap
    /// after the last is judged against it (docs/testing-fuzz.md "Memory oracle").
    /// </summary>
    public int Passes { get; init; } = 4;

    /// <summary>Passes run before the baseline pass; at least one.</summary>
    public int WarmupPasses { get; init; } = 1;

    /// <summary>Findings groups to minimize (each costs a few re-executions).</summary>
    public int MinimizeGroups { get; init; } = 20;

    /// <summary>The managed heap after a full GC may exceed the baseline by this share at the end of the run.</summary>
    public double HeapTolerance { get; init; } = 0.10;

    /// <summary>Growth below this many bytes is never a finding: 10 % of a heap of a tenth of a MiB is allocator noise.</summary>
    public long HeapSlackBytes { get; init; } = 256 * 1024;

    /// <summary>Where progress lines go (null: nowhere).</summary>
    public TextWriter? Progress { get; init; }
}

/// <summary>Runs a surface's generated inputs through its oracle and collects a report.</summary>
public static class FuzzRunner
{
    public static async Task<FuzzReport> RunAsync(IFuzzSurface surface, FuzzRunOptions options, CancellationToken cancellationToken = default)
    {
        var report = new FuzzReport(surface.Name, options.Seed);
        var total = Stopwatch.StartNew();
        var perPass = Math.Max(1, options.Count / Math.Max(1, options.Passes));
        var index = 0;
        for (var pass = 0; pass < options.Passes && index < options.Count; pass++)
        {
            var end = pass == options.Passes - 1 ? options.Count : Math.Min(options.Count, index + perPass);
            for (; index < end; index++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                var input = surface.Generate(FuzzRandom.ForInput(options.Seed, index), index);
                var outcome = await surface.ExecuteAsync(input, cancellationToken);
                report.Record(input, outcome, surface.Check(input, outcome));
            }

            foreach (var f in await surface.QuiesceAsync(cancellationToken))
            {
                report.AddRunFinding(f with { Detail = $"after pass {pass + 1}: {f.Detail}" });
            }

            report.Memory.Add(MemorySample.Take(pass, index) with { ReportBytes = report.RetainedBytes });
            options.Progress?.WriteLine($"{surface.Name}: pass {pass + 1}/{options.Passes}: {index} inputs, {report.FindingCount} findings, {report.Memory[^1]}");
        }

        var at = Math.Max(1, options.WarmupPasses);
        if (surface.MeasuresMemory && report.Memory.Count >= at + 2)
        {
            // the report keeps one example per finding group alive: that is the harness's memory, not the surface's
            var baseline = report.Memory[at].HeapBytes - report.Memory[at].ReportBytes;
            var last = report.Memory[^1].HeapBytes - report.Memory[^1].ReportBytes;
            if (last > baseline * (1 + options.HeapTolerance) && last - baseline > options.HeapSlackBytes)
            {
                var pools = MemorySample.SharedPoolsTrimmed ? "" : "; the shared ArrayPool was not trimmed at the samples (run with System.GC.HighMemoryPercent=1, see docs/testing-fuzz.md), so pooled buffers count too";
                report.AddRunFinding(new Finding("memory-bounded", $"managed heap after a full GC, less the report's examples, grew from {MemorySample.Mib(baseline)} (after pass {at + 1}) to {MemorySample.Mib(last)} (after pass {report.Memory.Count}), over the {options.HeapTolerance:P0} and {MemorySample.Mib(options.HeapSlackBytes)} allowed (RSS {MemorySample.Mib(report.Memory[at].RssBytes)} to {MemorySample.Mib(report.Memory[^1].RssBytes)}){pools}"));
            }
        }

        foreach (var group in report.Groups.Take(options.MinimizeGroups))
        {
            group.Minimized = await MinimizeAsync(surface, group.Example, group.Oracle, cancellationToken);
        }

        report.Elapsed = total.Elapsed;
        return report;
    }

    /// <summary>Removes steps one by one while the same oracle still fires; returns the smallest case found.</summary>
    public static async Task<FuzzCase> MinimizeAsync(IFuzzSurface surface, FuzzCase input, string oracle, CancellationToken cancellationToken)
    {
        var current = input;
        var changed = true;
        var budget = 40;
        while (changed && budget > 0)
        {
            changed = false;
            for (var i = 0; i < current.Steps.Count && budget > 0; i++)
            {
                budget--;
                var candidate = current.WithSteps([.. current.Steps.Take(i), .. current.Steps.Skip(i + 1)]);
                var outcome = await surface.ExecuteAsync(candidate, cancellationToken);
                if (surface.Check(candidate, outcome).Any(f => f.Oracle == oracle))
                {
                    current = candidate;
                    changed = true;
                    break;
                }
            }
        }

        return current;
    }
}

/// <summary>The process's memory at the end of a pass, after a full blocking GC.</summary>
public sealed record MemorySample(int Pass, int Inputs, long HeapBytes, long RssBytes)
{
    /// <summary>What the run's report itself held at that point (discounted by the memory oracle).</summary>
    public long ReportBytes { get; init; }

    public static MemorySample Take(int pass, int inputs)
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        using var process = Process.GetCurrentProcess();
        return new MemorySample(pass, inputs, GC.GetTotalMemory(forceFullCollection: true), process.WorkingSet64);
    }

    /// <summary>
    /// Whether the runtime sees high memory load, so that the gen-2 collections in <see cref="Take"/> make
    /// <c>ArrayPool&lt;T&gt;.Shared</c> drop every pooled array (per-thread slots included). Without it the buffers
    /// the pool keeps per thread and size class (up to 1 MiB each, filled as bigger inputs arrive) count as heap
    /// growth. The test project sets <c>System.GC.HighMemoryPercent</c> to 1 for this.
    /// </summary>
    public static bool SharedPoolsTrimmed
    {
        get
        {
            var info = GC.GetGCMemoryInfo();
            return info.MemoryLoadBytes >= info.HighMemoryLoadThresholdBytes * 0.9;
        }
    }

    public static string Mib(long bytes) => $"{bytes / 1024.0 / 1024.0:0.00} MiB";

    public override string ToString() => $"heap {Mib(HeapBytes)}, RSS {Mib(RssBytes)}";
}
