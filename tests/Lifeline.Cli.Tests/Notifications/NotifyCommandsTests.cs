using System.Net;
using System.Text;
using Lifeline.Cli.Tests.Infrastructure;
using Lifeline.Recovery.Tests.Notifications;

namespace Lifeline.Cli.Tests.Notifications;

/// <summary>
/// <c>lifeline notify</c> and the dead man's switch as real child processes against real HTTP receivers on 127.0.0.1:
/// a test notice enqueued by a process SIGKILLed while the channel answers 503 is delivered exactly once by the next
/// <c>notify flush</c>; the distinctive routing key is in no file written nor any output; <c>up</c>'s heartbeat beats
/// until the process is SIGKILLed.
/// </summary>
public sealed class NotifyCommandsTests
{
    private const string RoutingKey = "PDkey-distinctive-9b1e55c2";

    [Fact]
    public async Task NotifyTest_KilledWhileChannelAnswers503_FlushDeliversItExactlyOnceAndNoSecretIsWritten()
    {
        using var dir = new TestDirectory("notify-kill");
        await using var receiver = await NotificationReceiver.StartAsync();
        receiver.Respond = _ => NotificationReceiver.Answer(HttpStatusCode.ServiceUnavailable, "maintenance");
        WritePlan(dir, receiver);
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["PD_ROUTING_KEY"] = RoutingKey;
        var outputs = new StringBuilder();

        using (var test = runner.Start(["notify", "test", "pagerduty", "--timeout", "10m"]))
        {
            // the second attempt (after the first backoff) means the first one's 503 is on record in the outbox
            await receiver.WaitForAsync(r => r.Count >= 2, TimeSpan.FromSeconds(120), "a retry after the first attempt");
            Assert.True(await test.KillAsync());
            outputs.Append((await test.WaitAsync(TimeSpan.FromSeconds(10))).ToString());
        }

        var attemptsBefore = receiver.Requests.Count;
        var ls = (await runner.RunAsync("--json", "notify", "ls")).ShouldSucceed();
        outputs.Append(ls);
        var channel = ls.Json.GetProperty("channels").EnumerateArray().Single(c => c.GetProperty("channel").GetString() == "pagerduty");
        Assert.Equal(1, channel.GetProperty("pending").GetInt32());
        Assert.Contains("503", channel.GetProperty("lastFailure").GetString(), StringComparison.Ordinal);

        receiver.Respond = _ => (202, """{"status":"success","message":"Event processed","dedup_key":"x"}""", null);
        var flush = (await runner.RunAsync("notify", "flush")).ShouldSucceed();
        outputs.Append(flush);
        Assert.Contains("1 delivered, 0 dead, 0 still pending", flush.Stdout, StringComparison.Ordinal);
        outputs.Append((await runner.RunAsync("notify", "flush")).ShouldSucceed());

        var accepted = Assert.Single(receiver.Accepted);
        Assert.Equal(receiver.Requests.Count, attemptsBefore + 1);
        var body = accepted.Json;
        Assert.Equal("trigger", body.GetProperty("event_action").GetString());
        Assert.Equal(RoutingKey, body.GetProperty("routing_key").GetString());
        Assert.Equal("info", body.GetProperty("payload").GetProperty("severity").GetString()); // a test notice is low urgency
        Assert.All(receiver.Requests, r => Assert.Equal(body.GetProperty("dedup_key").GetString(), r.Json.GetProperty("dedup_key").GetString()));

        // the secret went to the receiver and nowhere else: no file under the directory (outbox, WAL, plan), no output
        foreach (var file in Directory.EnumerateFiles(dir.Path, "*", SearchOption.AllDirectories).Where(f => !f.Contains("/.dotnet/", StringComparison.Ordinal)))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            Assert.False(reader.ReadToEnd().Contains(RoutingKey, StringComparison.Ordinal), $"the routing key is in {file}");
        }

        Assert.DoesNotContain(RoutingKey, outputs.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task NotifyTest_ChannelRefusesWith400_Exit87WithTheReason()
    {
        using var dir = new TestDirectory("notify-400");
        await using var receiver = await NotificationReceiver.StartAsync();
        receiver.Respond = r => NotificationReceiver.Answer(HttpStatusCode.BadRequest, $$"""{"status":"invalid event","errors":["{{r.Body.Replace("\"", "'", StringComparison.Ordinal)}}"]}""");
        WritePlan(dir, receiver);
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["PD_ROUTING_KEY"] = RoutingKey;

        var result = await runner.RunAsync("notify", "test", "pagerduty");

        var line = result.ShouldFailWith(87);
        Assert.Contains("400", line, StringComparison.Ordinal);
        Assert.DoesNotContain(RoutingKey, result.Stdout + result.Stderr, StringComparison.Ordinal);
        var unknown = (await runner.RunAsync("notify", "test", "pagerdty")).ShouldFailWith(85);
        Assert.Contains("no notification channel 'pagerdty'", unknown, StringComparison.Ordinal);
        Assert.Contains("did you mean 'pagerduty'", unknown, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Up_PlanWithHeartbeat_BeatsArriveAndStopAfterSigkill()
    {
        using var dir = new TestDirectory("notify-heartbeat");
        await using var receiver = await NotificationReceiver.StartAsync();
        receiver.Respond = _ => (200, "OK", null);
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["LIFELINE_PASSWORD"] = "heartbeat-test-password";
        (await runner.RunAsync("plan", "init", "--recommended", "--primary", "./v/a", "--secondary", "./v/b", "--tertiary", "./v/c")).ShouldSucceed();
        var plan = await File.ReadAllTextAsync(dir.Combine("lifeline.yaml"));
        Assert.Contains("\n  updates-every: 2h\n", plan, StringComparison.Ordinal);
        await File.WriteAllTextAsync(dir.Combine("lifeline.yaml"),
            plan.Replace("\n  updates-every: 2h\n", $"\n  updates-every: 2h\n  heartbeat: {{ url: \"{new Uri(receiver.Url, "/ping/lifeline")}\", every: 1s }}\n", StringComparison.Ordinal));

        using (var up = runner.Start(["up", "--data", dir.Combine("data"), "--registry-port", "0", "--scoring-port", "0", "--status-port", "0", "--no-train"]))
        {
            await receiver.WaitForAsync(r => r.Count(x => x.Path == "/ping/lifeline") >= 3, TimeSpan.FromSeconds(240), "three heartbeats");
            Assert.True(await up.KillAsync());
        }

        var afterKill = receiver.Requests.Count(r => r.Path == "/ping/lifeline");
        // an observation window of several beat intervals, not a synchronisation: nothing may arrive during it
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.Equal(afterKill, receiver.Requests.Count(r => r.Path == "/ping/lifeline"));
        Assert.All(receiver.Requests.Where(r => r.Path == "/ping/lifeline"), r => Assert.Equal("GET", r.Method));
    }

    private static void WritePlan(TestDirectory dir, NotificationReceiver receiver, string heartbeat = "") =>
        File.WriteAllText(dir.Combine("lifeline.yaml"), $$"""
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            notifications:
              channels:
                pagerduty: { kind: pagerduty, secret-env: PD_ROUTING_KEY, url: "{{new Uri(receiver.Url, "/v2/enqueue")}}", for: [immediate] }
                pr: { kind: manual, target: PR team, for: [external] }
            {{heartbeat}}
            """);
}
