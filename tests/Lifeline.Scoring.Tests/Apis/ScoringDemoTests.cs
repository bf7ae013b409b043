using Lifeline.Scoring.Demo;

namespace Lifeline.Scoring.Tests.Apis;

public class ScoringDemoTests
{
    [Fact]
    public async Task RunAsync_Batch_ScoredOverHttpAndRecorded()
    {
        using var dir = new TempDir();
        using var output = new StringWriter();

        var result = await ScoringDemo.RunAsync(dir.Path, output, leads: 30);

        Assert.Equal("1", result.ModelVersion);
        Assert.Equal(30, result.Scored);
        Assert.Equal(30, result.Categories.Values.Sum());
        Assert.Equal(30, File.ReadAllLines(Path.Combine(dir.Path, "scoring", "sinks", "predictions.jsonl")).Length);
        Assert.Contains("scored 30 leads", output.ToString(), StringComparison.Ordinal);
    }
}
