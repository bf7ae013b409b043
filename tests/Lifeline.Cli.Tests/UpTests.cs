using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Lifeline.Cli.Tests.Infrastructure;
using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Hosting;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Cli.Tests;

/// <summary>
/// <c>lifeline up</c> as a real child process on a fresh data directory with every port 0: it comes up and says where
/// each service listens, refuses a second <c>up</c> on the same directory, answers <c>/status</c> and <c>/metrics</c>,
/// stops on SIGTERM with exit 0 and every acknowledged prediction in the lake, and after SIGKILL starts again
/// normally with nothing acknowledged lost.
/// </summary>
public sealed class UpTests
{
    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(180);
    private static readonly TimeSpan StopDeadline = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Up_FreshDataDirectory_PrintsWhereEachListensRefusesSecondUpServesMetricsAndStatus()
    {
        using var dir = new TestDirectory("up-listen");
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["LIFELINE_PASSWORD"] = "up-test-password";
        (await runner.RunAsync("plan", "init", "--recommended", "--primary", "./v/a", "--secondary", "./v/b", "--tertiary", "./v/c")).ShouldSucceed();
        var data = dir.Combine("data");
        using var up = runner.Start(UpArgs(data));
        var state = await up.WaitReadyAsync(data, ReadyDeadline);
        Assert.Equal(dir.Combine("lifeline.yaml"), state.Plan);

        Assert.Equal(["registry", "lake", "scoring", "notifications", "heartbeat", "incidents", "scheduler", "protection", "plan"], state.Services.Select(s => s.Name));
        Assert.StartsWith("http://127.0.0.1:", state.Services.Single(s => s.Name == "registry").Endpoint);
        Assert.StartsWith("http://127.0.0.1:", state.Services.Single(s => s.Name == "scoring").Endpoint);
        Assert.True(Directory.Exists(Path.Combine(data, "registry")) && Directory.Exists(Path.Combine(data, "lake", "predictions")));

        var second = await runner.RunAsync(UpArgs(data));
        var line = second.ShouldFailWith(44);
        Assert.Contains($"pid {state.Pid}", line);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var metrics = await http.GetStringAsync(state.StatusUrl + "/metrics");
        Assert.Contains("lifeline_service_up{service=\"registry\"} 1", metrics);
        Assert.Contains("lifeline_service_up{service=\"scoring\"} 1", metrics);
        Assert.Contains("lifeline_service_state{service=\"lake\",state=\"running\"} 1", metrics);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.PostAsync(state.StatusUrl + "/metrics", new StringContent(""))).StatusCode);

        var probe = await DeploymentProbe.ProbeAsync(data, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.True(probe.Running, probe.Message);
        Assert.Equal("running", probe.Report!.Services.Single(s => s.Name == "scoring").Status);
        Assert.Contains("model lead-scoring v1", probe.Report.Services.Single(s => s.Name == "scoring").Detail);

        // status: the protection of this up backs every component of the plan up within seconds of the start (every
        // policy of the recommended plan is on change), so status turns green (exit 0) by itself; the live part shows
        // every service of the running up
        var status = await runner.RunAsync("--json", "status", "--data", data);
        var greenBy = DateTime.UtcNow + ReadyDeadline;
        while (status.ExitCode != 0 && DateTime.UtcNow < greenBy)
        {
            Assert.True(status.ExitCode == 62, status.ToString()); // red until the first points exist, nothing else
            await Task.Delay(250);
            status = await runner.RunAsync("--json", "status", "--data", data);
        }

        status.ShouldSucceed();
        // every component has a recovery point: a vault point, or for a table its replica in the secondary (the
        // continuous protection, which may come before the table's first vault point); amber only while a further
        // backup of it is running (shown as started, not finished)
        Assert.All(status.Json.GetProperty("components").EnumerateArray(), c =>
        {
            Assert.True(c.GetProperty("recoveryPoint").ValueKind != JsonValueKind.Null || c.GetProperty("continuous").ValueKind != JsonValueKind.Null, c.ToString());
            Assert.True(c.GetProperty("ageSeconds").GetDouble() >= 0, c.ToString());
            Assert.Contains(c.GetProperty("color").GetString(), new[] { "green", "amber" });
        });
        var deployment = status.Json.GetProperty("deployment");
        Assert.True(deployment.GetProperty("running").GetBoolean(), status.ToString());
        Assert.Equal(state.Pid, deployment.GetProperty("pid").GetInt32());
        // the recommended plan names PagerDuty, Slack and e-mail without their secrets here: notifications runs degraded and
        // says which channel lacks what; it has no heartbeat, so that service does not run (docs/notifications.md)
        Assert.All(deployment.GetProperty("services").EnumerateArray().Where(s => s.GetProperty("name").GetString() is not ("notifications" or "heartbeat")),
            s => Assert.Equal("running", s.GetProperty("status").GetString()));
        Assert.Contains(deployment.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "notifications").GetProperty("status").GetString(),
            new[] { "running", "degraded" });
        Assert.Equal("stopped", deployment.GetProperty("services").EnumerateArray().Single(s => s.GetProperty("name").GetString() == "heartbeat").GetProperty("status").GetString());

        Terminate(up);
        var result = await up.WaitAsync(StopDeadline);
        result.ShouldSucceed();
        foreach (var service in state.Services.Where(s => s.Endpoint is not null))
        {
            Assert.Contains(service.Endpoint!, result.Stdout);
        }

        Assert.Contains(state.StatusUrl + "/metrics", result.Stdout);
        Assert.False((await DeploymentProbe.ProbeAsync(data, TimeSpan.FromSeconds(10), CancellationToken.None)).Running);
        var after = await runner.RunAsync("status", "--data", data);
        after.ShouldSucceed(); // the points stay: green without a running up
        Assert.Contains($"lifeline up is not running on {data}", after.Stdout);
    }

    [Fact]
    public async Task Up_Sigterm_ExitsZeroWithEveryAcknowledgedPredictionRecorded()
    {
        using var dir = new TestDirectory("up-sigterm");
        var data = dir.Combine("data");
        using var up = new LifelineRunner(dir.Path).Start(UpArgs(data));
        var state = await up.WaitReadyAsync(data, ReadyDeadline);
        var acknowledged = await ScoreAsync(ScoringUrl(state), "term", batches: 5, size: 20);

        Terminate(up);
        (await up.WaitAsync(StopDeadline)).ShouldSucceed();

        Assert.False(File.Exists(Path.Combine(data, "lifeline.state.json")));
        Assert.Equal(acknowledged.Order(StringComparer.Ordinal), await RecordedLeadIdsAsync(data));
    }

    [Fact]
    public async Task Up_SigkillThenRestart_StartsNormallyAndLosesNoAcknowledgedPrediction()
    {
        using var dir = new TestDirectory("up-sigkill");
        var runner = new LifelineRunner(dir.Path);
        var data = dir.Combine("data");
        List<string> acknowledged;
        using (var first = runner.Start(UpArgs(data)))
        {
            var state = await first.WaitReadyAsync(data, ReadyDeadline);
            acknowledged = await ScoreAsync(ScoringUrl(state), "kill", batches: 5, size: 20);
            Assert.True(await first.KillAsync());
        }

        var stale = await DeploymentProbe.ProbeAsync(data, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.False(stale.Running, stale.Message);
        Assert.Contains("ended without stopping", stale.Message);

        using var second = runner.Start(UpArgs(data));
        var restarted = await second.WaitReadyAsync(data, ReadyDeadline);
        var probe = await DeploymentProbe.ProbeAsync(data, TimeSpan.FromSeconds(10), CancellationToken.None);
        Assert.Contains("model lead-scoring v1", probe.Report!.Services.Single(s => s.Name == "scoring").Detail); // not trained again
        acknowledged.AddRange(await ScoreAsync(ScoringUrl(restarted), "again", batches: 1, size: 10));
        Terminate(second);
        (await second.WaitAsync(StopDeadline)).ShouldSucceed();

        Assert.Equal(acknowledged.Order(StringComparer.Ordinal), await RecordedLeadIdsAsync(data));
    }

    private static string[] UpArgs(string data) => ["up", "--data", data, "--registry-port", "0", "--scoring-port", "0", "--status-port", "0"];

    private static string ScoringUrl(DeploymentState state) => state.Services.Single(s => s.Name == "scoring").Endpoint!;


    /// <summary>Scores <paramref name="batches"/> batches over HTTP; returns the lead ids the service acknowledged (200).</summary>
    private static async Task<List<string>> ScoreAsync(string scoringUrl, string prefix, int batches, int size)
    {
        using var http = new HttpClient { BaseAddress = new Uri(scoringUrl), Timeout = TimeSpan.FromSeconds(30) };
        var acknowledged = new List<string>();
        for (var b = 0; b < batches; b++)
        {
            var leads = Enumerable.Range(0, size).Select(i => string.Create(CultureInfo.InvariantCulture,
                $$"""{"lead_id":"{{prefix}}-{{b}}-{{i}}","company_size":"Large","industry":"Technology","page_views":{{i + 1}},"time_on_site":{{30 * i + 5}},"form_completion_time":45,"referral_source":"Google"}"""));
            using var response = await http.PostAsync("/score-leads", new StringContent($$"""{"leads":[{{string.Join(',', leads)}}]}""", Encoding.UTF8, "application/json"));
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            using var doc = JsonDocument.Parse(body);
            acknowledged.AddRange(doc.RootElement.GetProperty("predictions").EnumerateArray().Select(p => p.GetProperty("lead_id").GetString()!));
        }

        Assert.Equal(batches * size, acknowledged.Count);
        return acknowledged;
    }

    private static async Task<List<string>> RecordedLeadIdsAsync(string data)
    {
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(Path.Combine(data, "lake")), "");
        return [.. (await lake.ReadPredictionsAsync()).Select(p => p.Lead.LeadId).Order(StringComparer.Ordinal)];
    }

    private static void Terminate(RunningLifeline up) => Assert.Equal(0, Kill(up.Process.Id, 15));

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
