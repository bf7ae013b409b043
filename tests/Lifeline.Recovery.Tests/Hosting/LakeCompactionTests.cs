using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Hosting;

/// <summary>The lake service of <c>up</c> compacts the predictions table on its timer (docs/lake.md, "OPTIMIZE").</summary>
public sealed class LakeCompactionTests
{
    [Fact]
    public async Task LakeService_IntervalPassesAfterManyPredictionCommits_CompactsPredictionsAndShowsItInTheState()
    {
        using var dir = new TempDirectory();
        var parsed = PlanFile.Parse(PlanTemplates.Recommended(), dir.Combine("lifeline.yaml"));
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        var data = dir.Combine("data");
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 9, 0, 0, TimeSpan.Zero));
        var options = new DeploymentOptions
        {
            DataDirectory = data,
            LakeCompaction = new TableCompactionOptions { Interval = TimeSpan.FromMinutes(10), SmallFileThreshold = 8 },
        };
        var context = new DeploymentContext(parsed.Plan!, dir.Combine("lifeline.yaml"), new DeploymentLayout(data), options, NullLoggerFactory.Instance, time,
            new DeploymentMetrics(), [], "token");
        await using var service = new LakeDeploymentService(context);
        await service.StartAsync(CancellationToken.None);
        var lake = service.Lake!;
        var generator = new LeadGenerator(7, new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero));
        for (var i = 0; i < 10; i++) // the scoring service's flushes: one commit a second, one small file each
        {
            await lake.AppendPredictionsAsync([new PredictionRecord(generator.NextLead(), 0.5, "warm", "1", new DateTimeOffset(2026, 3, 2, 9, 0, i, TimeSpan.Zero), 1.5)]);
        }

        var round = new TaskCompletionSource<IReadOnlyList<CompactionOutcome>>(TaskCreationOptions.RunContinuationsAsynchronously);
        service.Compactor!.RoundCompleted += outcomes => round.TrySetResult(outcomes);
        time.Advance(TimeSpan.FromMinutes(10));
        var outcomes = await round.Task.WaitAsync(TimeSpan.FromSeconds(60));

        var predictions = outcomes.Single(o => o.Table == "predictions");
        Assert.Equal((10, 1), (predictions.Result!.FilesRemoved, predictions.Result.FilesAdded));
        Assert.Single((await lake.Predictions.GetSnapshotAsync()).Files);
        Assert.Equal(10, (await lake.ReadPredictionsAsync()).Count);
        Assert.Contains("predictions 10→1 files", service.State.Detail, StringComparison.Ordinal);
        await service.StopAsync(CancellationToken.None);
    }
}
