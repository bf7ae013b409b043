using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Surfaces;
using Xunit.Abstractions;

namespace Lifeline.Fuzz.Tests.Surfaces;

/// <summary>
/// A few hundred seeded inputs per surface through its oracle (the long runs are bench/Lifeline.Fuzz). A failure
/// prints the report: every oracle that fired, with an example and a minimized repro.
/// </summary>
public sealed class SurfaceFuzzTests(ITestOutputHelper output)
{
    private const int Seed = 20261201;

    [Fact]
    public async Task ScoringApi_SeededMutations_KeepTheContract()
    {
        await using var surface = new ScoringSurface();
        await RunAsync(surface, count: 800, passes: 8);
    }

    [Fact]
    public async Task RegistryApi_SeededMutations_KeepTheContract()
    {
        await using var surface = new RegistrySurface();
        await RunAsync(surface, count: 800, passes: 8);
    }

    [Fact]
    public async Task Cli_SeededArguments_KeepTheContract()
    {
        await using var surface = new CliSurface { CommandTimeout = TimeSpan.FromSeconds(20) };
        await RunAsync(surface, count: 150, passes: 1);
    }

    private async Task RunAsync(IFuzzSurface surface, int count, int passes)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await surface.StartAsync(cts.Token);
        // memory: three warm-up passes, baseline after the fourth, judged after the last (docs/testing-fuzz.md)
        var report = await FuzzRunner.RunAsync(surface, new FuzzRunOptions { Seed = Seed, Count = count, Passes = passes, WarmupPasses = Math.Min(3, passes - 2), MinimizeGroups = 12 }, cts.Token);
        Assert.True(!surface.MeasuresMemory || MemorySample.SharedPoolsTrimmed, "the memory oracle needs System.GC.HighMemoryPercent=1 (set in this project) so that full GCs empty ArrayPool.Shared");
        var text = report.ToText();
        output.WriteLine(text);
        Assert.True(report.Inputs == count, $"ran {report.Inputs} of {count} inputs");
        Assert.True(report.FailedOracles.Count == 0, $"oracles failed: {string.Join(", ", report.FailedOracles.Distinct())}\n{text}");
    }
}
