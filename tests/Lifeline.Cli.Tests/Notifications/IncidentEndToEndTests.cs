using System.Text.Json;
using Lifeline.Cli.Tests.Infrastructure;
using Lifeline.Recovery.Tests.Notifications;

namespace Lifeline.Cli.Tests.Notifications;

/// <summary>
/// Issue 11's "done when", as a user lives it with real processes: <c>lifeline up</c> runs the plan; a pack in the
/// secondary is truncated; <c>lifeline verify run integrity</c> fails, opens one incident and turns <c>status</c> red;
/// the running up notifies PagerDuty and Slack (real HTTP receivers on 127.0.0.1) and e-mail (maildev); the pack is
/// put back, the next check passes, the incident resolves with a drafted report and PagerDuty gets the resolve under
/// the same <c>dedup_key</c>.
/// </summary>
public sealed class IncidentEndToEndTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(180);

    [Fact]
    public async Task Up_TruncatedPackFoundByTheCheck_OneIncidentNotifiedOnEveryChannelStatusRedThenResolvedWithAReport()
    {
        using var dir = new TestDirectory("incident-e2e");
        await using var pagerduty = await NotificationReceiver.StartAsync();
        await using var slack = await NotificationReceiver.StartAsync();
        pagerduty.Respond = _ => (202, """{"status":"success","message":"Event processed"}""", null);
        slack.Respond = _ => (200, "ok", null);
        var smtp = Environment.GetEnvironmentVariable("LIFELINE_TEST_SMTP") is { Length: > 0 } s ? s : "127.0.0.1:1025";
        var maildev = new Uri(Environment.GetEnvironmentVariable("LIFELINE_TEST_MAILDEV_API") is { Length: > 0 } a ? a : "http://127.0.0.1:1080");
        var to = $"oncall-{Guid.NewGuid():N}@example.com";
        Directory.CreateDirectory(dir.Combine("conf"));
        await File.WriteAllTextAsync(dir.Combine("conf", "api.json"), """{"port": 8000}""");
        await File.WriteAllTextAsync(dir.Combine("lifeline.yaml"), $$"""
            version: 1
            objectives:
              rto: { target: 4h, max: 8h }
              rpo: { target: 1h, max: 4h }
            components:
              configuration:
                policy: config
                files: [conf/*.json]
            policies:
              config:
                schedule: on-change
                retention: { keep-last: 10 }
                locations: { primary: a, secondary: b }
            locations:
              a: { url: ./v/a, region: region-a }
              b: { url: ./v/b, region: region-b }
            notifications:
              channels:
                pagerduty: { kind: pagerduty, secret-env: PD_ROUTING_KEY, url: "{{new Uri(pagerduty.Url, "/v2/enqueue")}}", for: [immediate] }
                slack: { kind: slack, secret-env: SLACK_WEBHOOK_URL, for: [status] }
                email: { kind: email, smtp: "{{smtp}}", from: lifeline@example.com, to: [{{to}}], tls: none, for: [immediate] }
            roles:
              devops-engineer: { title: DevOps Engineer, notify: [pagerduty, slack, email] }
            """);
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["LIFELINE_PASSWORD"] = "incident-e2e-password";
        runner.Environment["PD_ROUTING_KEY"] = "PDkey-e2e-4f2a";
        runner.Environment["SLACK_WEBHOOK_URL"] = new Uri(slack.Url, "/services/T000/B000/XXXX").ToString();
        var data = dir.Combine("lifeline-data"); // the plan's default data directory: up and the commands share it

        using var up = runner.Start(["up", "--registry-port", "0", "--scoring-port", "0", "--status-port", "0", "--no-train"]);
        await up.WaitReadyAsync(data, Deadline);
        CliResult status = null!;
        Assert.True(await WaitForAsync(async () => (status = await runner.RunAsync("--json", "status")).ExitCode == 0), "status green after up's first backups: " + status);

        // break it: truncate a pack of the secondary (saved, to be put back as the fix)
        var pack = Directory.EnumerateFiles(dir.Combine("v", "b", "data"), "*", SearchOption.AllDirectories).First(f => !Path.GetFileName(f).StartsWith('.'));
        var original = await File.ReadAllBytesAsync(pack);
        await File.WriteAllBytesAsync(pack, original[..(original.Length / 2)]);

        var check = await runner.RunAsync("--json", "verify", "run", "integrity");
        Assert.True(check.ExitCode == 64, check.ToString());
        status = await runner.RunAsync("--json", "status");
        Assert.True(status.ExitCode == 62, status.ToString());
        var incident = Assert.Single(status.Json.GetProperty("incidents").EnumerateArray());
        var id = incident.GetProperty("id").GetString()!;

        // the running up sends the first notice on every channel of the owner's role within its round
        await pagerduty.WaitForAsync(r => r.Any(x => x.Json.GetProperty("event_action").GetString() == "trigger"), Deadline, "PagerDuty's trigger");
        await slack.WaitForAsync(r => r.Count >= 1, Deadline, "the Slack message");
        Assert.True(await WaitForAsync(async () => (await MailsToAsync(maildev, to)).Count >= 1), "the e-mail in maildev");
        var trigger = pagerduty.Requests.First(x => x.Json.GetProperty("event_action").GetString() == "trigger").Json;
        Assert.Equal(id, trigger.GetProperty("dedup_key").GetString());
        Assert.Contains("blocks", slack.Requests[0].Body, StringComparison.Ordinal);

        // fix it: the pack back as it was; the next check passes and the incident resolves by itself with its report
        await File.WriteAllBytesAsync(pack, original);
        (await runner.RunAsync("verify", "run", "integrity")).ShouldSucceed();
        await pagerduty.WaitForAsync(r => r.Any(x => x.Json.GetProperty("event_action").GetString() == "resolve"), Deadline, "PagerDuty's resolve");
        var resolve = pagerduty.Requests.First(x => x.Json.GetProperty("event_action").GetString() == "resolve").Json;
        Assert.Equal(id, resolve.GetProperty("dedup_key").GetString());
        var shown = (await runner.RunAsync("--json", "incidents", "show", id)).ShouldSucceed().Json;
        Assert.Equal("resolved", shown.GetProperty("incident").GetProperty("state").GetString());
        var report = shown.GetProperty("report").GetString()!;
        foreach (var field in new[] { "Summary", "Impact", "Detection", "Timeline", "Root cause", "Resolution", "Action items", "Lessons learned" })
        {
            Assert.Contains(field, report, StringComparison.OrdinalIgnoreCase);
        }

        Assert.Empty((await runner.RunAsync("--json", "incidents", "ls")).ShouldSucceed().Json.GetProperty("incidents").EnumerateArray());
        Assert.True(await up.KillAsync());
    }

    private static async Task<List<JsonElement>> MailsToAsync(Uri maildev, string to)
    {
        using var http = new HttpClient();
        return [.. JsonDocument.Parse(await http.GetStringAsync(new Uri(maildev, "/email"))).RootElement.EnumerateArray()
            .Where(m => m.GetProperty("to").EnumerateArray().Any(t => t.GetProperty("address").GetString() == to))];
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

            await Task.Delay(500);
        }

        return false;
    }
}
