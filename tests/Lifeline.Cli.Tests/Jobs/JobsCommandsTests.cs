using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Jobs;

/// <summary><c>lifeline jobs</c> run as the real executable over a real plan and a real SQLite scheduler store.</summary>
public sealed class JobsCommandsTests
{
    private const string Plan = """
        version: 1
        objectives: { rto: 4h, rpo: { target: 1h, max: 4h } }
        jobs:
          export:
            command: [/bin/sh, -c, "echo exported"]
            schedule: "0 3 * * *"
          flaky:
            command: [/bin/sh, -c, "echo quota exceeded >&2; exit 4"]
            schedule: "@hourly"
            retries: 1
            retry-delay: 1s
        """;

    [Fact]
    public async Task RunPauseResume_RealProcesses_RecordHistoryAndPauseInTheStore()
    {
        using var dir = new TestDirectory("jobs-cli");
        File.WriteAllText(dir.Combine("lifeline.yaml"), Plan);
        var runner = new LifelineRunner(dir.Path);

        (await runner.RunAsync("jobs", "run", "export")).ShouldSucceed();
        var failed = await runner.RunAsync("jobs", "run", "flaky");
        var error = failed.ShouldFailWith(ExitCodes.JobFailed);
        Assert.Equal("lifeline: job flaky failed after 2 attempts: exit 4: quota exceeded", error);

        var pause = (await runner.RunAsync("--json", "jobs", "pause", "export", "--reason", "storage migration", "--until", "2099-01-01T00:00:00Z")).ShouldSucceed().Json;
        Assert.Equal("storage migration", pause.GetProperty("reason").GetString());
        var list = (await runner.RunAsync("--json", "jobs", "ls")).ShouldSucceed().Json.GetProperty("jobs").EnumerateArray().ToList();
        Assert.Equal("amber (paused)", list.Single(j => j.GetProperty("job").GetString() == "export").GetProperty("status").GetString());
        Assert.Equal("red", list.Single(j => j.GetProperty("job").GetString() == "flaky").GetProperty("status").GetString());

        var history = (await runner.RunAsync("--json", "jobs", "history")).ShouldSucceed().Json.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(3, history.Count);
        Assert.All(history, r => Assert.Equal("manual", r.GetProperty("cause").GetString()));
        Assert.True(File.Exists(dir.Combine("lifeline-data", "scheduler", "jobs.db")));

        var resume = (await runner.RunAsync("--json", "jobs", "resume", "export")).ShouldSucceed().Json;
        Assert.True(resume.GetProperty("wasPaused").GetBoolean());
    }

    [Fact]
    public async Task BadInput_EachIsOneLineWithItsExitCode()
    {
        using var dir = new TestDirectory("jobs-cli-bad");
        File.WriteAllText(dir.Combine("lifeline.yaml"), Plan);
        var runner = new LifelineRunner(dir.Path);

        var unknown = (await runner.RunAsync("jobs", "run", "exprot")).ShouldFailWith(ExitCodes.UnknownJob);
        Assert.Contains("did you mean 'export'", unknown, StringComparison.Ordinal);
        (await runner.RunAsync("jobs", "pause", "export")).ShouldFailWith(ExitCodes.Usage);
        (await runner.RunAsync("jobs", "pause", "export", "--reason", "x", "--until", "2001-01-01T00:00:00Z")).ShouldFailWith(ExitCodes.Usage);
        (await runner.RunAsync("jobs", "ls", "--plan", "missing.yaml")).ShouldFailWith(ExitCodes.PlanHasErrors);
    }
}
