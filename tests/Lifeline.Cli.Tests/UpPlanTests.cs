using System.Runtime.InteropServices;
using System.Text.Json;
using Lifeline.Cli.Tests.Infrastructure;
using Lifeline.Recovery.Hosting;

namespace Lifeline.Cli.Tests;

/// <summary>
/// <c>lifeline up</c> as a real child process keeping the plan: an edit of its plan file is reconciled into the running
/// scheduler (a bad edit keeps the running schedules and shows in <c>status</c>, a fix clears it), and a scheduled
/// backup running when up is SIGKILLed is recorded interrupted and run again by the next up. Every wait is on a
/// condition with a deadline.
/// </summary>
public sealed class UpPlanTests
{
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(150);

    private const string JobsPlan = """
        version: 1
        objectives: { rto: 4h, rpo: { target: 1h, max: 4h } }
        jobs:
          export:
            command: [/bin/sh, -c, "echo exported"]
            schedule: "0 3 * * *"

        """;

    private const string ReportJob = """
          report:
            command: [/bin/sh, -c, "echo reported"]
            schedule: "30 4 * * *"

        """;

    [Fact]
    public async Task Up_PlanFileEdited_ReconcilesNewJobKeepsJobsOnBrokenEditAndClearsTheErrorOnFix()
    {
        using var dir = new TestDirectory("up-reload");
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["LIFELINE_PASSWORD"] = "up-reload-password"; // status opens the plan's (no) locations
        var planFile = dir.Combine("lifeline.yaml");
        File.WriteAllText(planFile, JobsPlan);
        var data = dir.Combine("data");
        var store = Path.Combine(data, "scheduler", "jobs.db");
        using var up = runner.Start(UpArgs(data));
        var state = await up.WaitReadyAsync(data, ReadyDeadline);
        Assert.Contains("plan", state.Services.Select(s => s.Name));
        Assert.Equal(new[] { ("export", true) }, await ScheduledAsync(runner, planFile, store));

        // a good edit: the new job is reconciled into the running scheduler's store
        File.WriteAllText(planFile, JobsPlan + ReportJob);
        Assert.True(await WaitForAsync(async () => (await ScheduledAsync(runner, planFile, store)).Contains(("report", true))), "report scheduled by up");

        // a broken edit: nothing changes in the scheduler, status shows the error with the file and line
        var good = dir.Combine("good.yaml");
        File.WriteAllText(good, JobsPlan + ReportJob);
        File.WriteAllText(planFile, JobsPlan + ReportJob + "  broken: { command: [/bin/sh, -c, \"echo\"], schedule: \"0 5 * * *\", retries: lots }\n");
        string? detail = null;
        Assert.True(await WaitForAsync(async () => (detail = PlanDetail(await runner.RunAsync("--json", "status", "--data", data), "degraded")) is not null), "status shows the failed reload");
        Assert.Contains("plan reload failed at ", detail);
        Assert.Contains($"{planFile}:", detail); // FILE:LINE:COL of the error
        Assert.Contains("running the plan loaded at ", detail);
        var text = await runner.RunAsync("status", "--data", data);
        Assert.Equal(50, text.ExitCode);
        Assert.Contains("plan reload failed at ", text.Stdout);
        using (var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) })
        {
            Assert.Contains("lifeline_plan_reload_failed 1", await http.GetStringAsync(state.StatusUrl + "/metrics"));
        }

        Assert.Equal(new[] { ("export", true), ("report", true) }, await ScheduledAsync(runner, good, store)); // the running schedules stay

        // the fix clears the error
        File.WriteAllText(planFile, JobsPlan + ReportJob);
        Assert.True(await WaitForAsync(async () => PlanDetail(await runner.RunAsync("--json", "status", "--data", data), "running") is not null), "status clears the error");
        Assert.Equal(new[] { ("export", true), ("report", true) }, await ScheduledAsync(runner, planFile, store));

        Assert.Equal(0, Kill(up.Process.Id, 15));
        (await up.WaitAsync(TimeSpan.FromSeconds(90))).ShouldSucceed();
    }

    [Fact]
    public async Task Up_SigkilledWhileAScheduledBackupRuns_NextUpRecordsItInterruptedRunsItOnceAgainAndStatusIsGreen()
    {
        using var dir = new TestDirectory("up-kill-job");
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["LIFELINE_PASSWORD"] = "up-job-password";
        Directory.CreateDirectory(dir.Combine("conf"));
        File.WriteAllText(dir.Combine("conf", "api.json"), "{ \"port\": 8080 }\n");
        // the first backup's pre hook blocks (the run is in progress when up is killed); later ones pass straight through
        File.WriteAllText(dir.Combine("lifeline.yaml"), """
            version: 1
            objectives: { rto: 4h, rpo: { target: 1h, max: 4h } }
            components:
              configuration:
                policy: minutely
                files: [conf/*.json]
                hooks: { pre: "if [ ! -f hook-once ]; then touch hook-once; exec sleep 600; fi" }
            policies:
              minutely:
                schedule: "* * * * *"
                locations: { primary: a, secondary: b }
            locations:
              a: { url: ./v/a }
              b: { url: ./v/b }
            """);
        var data = dir.Combine("data");
        var store = Path.Combine(data, "scheduler", "jobs.db");
        using (var first = runner.Start(UpArgs(data)))
        {
            await first.WaitReadyAsync(data, ReadyDeadline);
            Assert.True(await TestData.WaitUntilAsync(() => File.Exists(dir.Combine("hook-once")), Deadline, giveUp: () => first.HasExited), "the minute's backup started");
            Assert.True(await WaitForAsync(async () => (await HistoryAsync(runner, store)).Any(r => r.Outcome == "running")), "its run recorded as running");
            Assert.True(await first.KillAsync()); // SIGKILL, with the hook's process tree
        }

        using var second = runner.Start(UpArgs(data));
        await second.WaitReadyAsync(data, ReadyDeadline);
        var interrupted = (await HistoryAsync(runner, store)).Single(r => r.Outcome == "interrupted");
        Assert.Equal("backup-minutely", interrupted.Job);

        // run again by the misfire policy: one run (recovered or coalesced) that succeeds; the interrupted run may
        // itself be a coalesced one (the first up's first slot), so only the runs after it count
        List<Run> again = [];
        Assert.True(await WaitForAsync(async () =>
            (again = [.. (await HistoryAsync(runner, store)).Where(r => r.Cause is "recovery" or "coalesced" && r.StartedAt > interrupted.StartedAt)]).Any(r => r.Outcome == "ok")), "the interrupted backup run again");
        Assert.Single(again);
        Assert.True(again[0].StartedAt > interrupted.StartedAt);

        // protected again: a fresh point, not red (amber only while the next minute's backup is running); the kill
        // opened an incident for the interrupted job, which the incidents service resolves at its next round (30 s)
        // once the job's run is ok again, so status turns green by itself
        CliResult status = null!;
        Assert.True(await WaitForAsync(async () => (status = await runner.RunAsync("--json", "status", "--data", data)).ExitCode == 0), "status green again: " + status);
        status.ShouldSucceed();
        var component = status.Json.GetProperty("components").EnumerateArray().Single(c => c.GetProperty("component").GetString() == "configuration");
        Assert.NotEqual(JsonValueKind.Null, component.GetProperty("recoveryPoint").ValueKind);
        Assert.Contains(component.GetProperty("color").GetString(), new[] { "green", "amber" });
        Assert.NotEqual("red", status.Json.GetProperty("jobs").EnumerateArray().Single(j => j.GetProperty("job").GetString() == "backup-minutely").GetProperty("color").GetString());

        Assert.Equal(0, Kill(second.Process.Id, 15));
        (await second.WaitAsync(TimeSpan.FromSeconds(90))).ShouldSucceed();
    }

    private sealed record Run(string Job, string Cause, string Outcome, DateTimeOffset StartedAt);

    private static string[] UpArgs(string data) => ["up", "--data", data, "--registry-port", "0", "--scoring-port", "0", "--status-port", "0", "--no-train"];

    private static async Task<List<(string Job, bool Scheduled)>> ScheduledAsync(LifelineRunner runner, string plan, string store)
    {
        var list = (await runner.RunAsync("--json", "jobs", "ls", "--plan", plan, "--scheduler-store", store)).ShouldSucceed().Json.GetProperty("jobs");
        return [.. list.EnumerateArray().Select(j => (j.GetProperty("job").GetString()!, j.GetProperty("scheduled").ValueKind == JsonValueKind.True))];
    }

    private static async Task<List<Run>> HistoryAsync(LifelineRunner runner, string store)
    {
        var runs = (await runner.RunAsync("--json", "jobs", "history", "--scheduler-store", store)).ShouldSucceed().Json.GetProperty("runs");
        return [.. runs.EnumerateArray().Select(r => new Run(r.GetProperty("job").GetString()!, r.GetProperty("cause").GetString()!, r.GetProperty("outcome").GetString()!,
            r.GetProperty("startedAt").GetDateTimeOffset()))];
    }

    /// <summary>The plan service's detail in <c>status --json</c> when it is in <paramref name="status"/>, else null.</summary>
    private static string? PlanDetail(CliResult result, string status)
    {
        if (!result.Stdout.TrimStart().StartsWith('{'))
        {
            return null;
        }

        var deployment = result.Json.GetProperty("deployment");
        if (deployment.GetProperty("services").ValueKind != JsonValueKind.Array)
        {
            return null;
        }

        var plan = deployment.GetProperty("services").EnumerateArray().FirstOrDefault(s => s.GetProperty("name").GetString() == "plan");
        return plan.ValueKind == JsonValueKind.Object && plan.GetProperty("status").GetString() == status ? plan.GetProperty("detail").GetString() : null;
    }

    private static async Task<bool> WaitForAsync(Func<Task<bool>> condition)
    {
        var until = DateTime.UtcNow + Deadline;
        while (DateTime.UtcNow < until)
        {
            if (await condition())
            {
                return true;
            }

            await Task.Delay(250);
        }

        return await condition();
    }


    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
