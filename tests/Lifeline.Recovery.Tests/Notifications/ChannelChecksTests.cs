using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Notifications;

/// <summary><c>plan check</c> over the channels and the heartbeat: one line each, an error when it cannot work as
/// written, an info finding when the secret is not in this environment; the new fields round-trip.</summary>
public sealed class ChannelChecksTests
{
    private const string Yaml = """
        version: 1
        objectives: { rto: 4h, rpo: 1h }
        notifications:
          channels:
            pagerduty: { kind: pagerduty, secret-env: PD_KEY, for: [immediate] }
            proxy: { kind: webhook, url: "ftp://proxy.example.com/hook", for: [status] }
            slack: { kind: slack, secret-env: SLACK_URL, for: [status] }
            mail: { kind: email, smtp: "mail.example.com:smtp", from: lifeline@example.com, to: [not-an-address], username-env: SMTP_USER, password-env: SMTP_PASSWORD, tls: starttls, for: [stakeholders] }
          heartbeat: { url: "https://hc.example.com/ping/abc", every: 30s, method: post }
        roles:
          devops: { notify: [pagerduty, slak] }
        """;

    [Fact]
    public async Task Check_MisconfiguredChannels_OneFindingEachNamingTheFieldWithoutTheSecret()
    {
        var env = new Dictionary<string, string?> { ["SLACK_URL"] = "not-a-url-s3cr3t", ["SMTP_USER"] = "u", ["SMTP_PASSWORD"] = null };
        var plan = PlanFile.Parse(Yaml).Plan!;

        var report = await new PlanChecker(new FakeTimeProvider(), options: new PlanCheckOptions { Environment = env }).CheckAsync(plan);

        var channelFindings = report.Findings.Where(f => f.Subject.StartsWith("channel ", StringComparison.Ordinal) || f.Subject.StartsWith("role ", StringComparison.Ordinal)).ToList();
        Assert.Contains(channelFindings, f => f is { Severity: FindingSeverity.Info, Subject: "channel pagerduty" } && f.Message.Contains("PD_KEY is not set", StringComparison.Ordinal));
        Assert.Contains(channelFindings, f => f is { Severity: FindingSeverity.Error, Subject: "channel proxy" } && f.Message.Contains("'url'", StringComparison.Ordinal));
        Assert.Contains(channelFindings, f => f is { Severity: FindingSeverity.Error, Subject: "channel slack" } && f.Message.Contains("SLACK_URL", StringComparison.Ordinal));
        Assert.Contains(channelFindings, f => f is { Severity: FindingSeverity.Error, Subject: "channel mail" } && f.Message.Contains("not host:port", StringComparison.Ordinal));
        Assert.Contains(channelFindings, f => f is { Severity: FindingSeverity.Error, Subject: "channel mail" } && f.Message.Contains("'not-an-address'", StringComparison.Ordinal));
        Assert.Contains(channelFindings, f => f is { Severity: FindingSeverity.Info, Subject: "channel mail" } && f.Message.Contains("SMTP_PASSWORD is not set", StringComparison.Ordinal));
        Assert.Contains(channelFindings, f => f is { Severity: FindingSeverity.Error, Subject: "role devops" } && f.Message.Contains("did you mean 'slack'", StringComparison.Ordinal));
        Assert.Equal(7, channelFindings.Count);
        Assert.All(report.Findings, f => Assert.DoesNotContain("s3cr3t", f.ToString(), StringComparison.Ordinal));
    }

    [Fact]
    public void Parse_ChannelAndHeartbeatFields_AreRead()
    {
        var plan = PlanFile.Parse(Yaml).Plan!;

        var mail = plan.Notifications.Channels.Single(c => c.Name == "mail");
        Assert.Equal("mail.example.com:smtp", mail.Smtp);
        Assert.Equal(["not-an-address"], mail.To);
        Assert.Equal(("SMTP_USER", "SMTP_PASSWORD", "starttls"), (mail.UsernameEnv, mail.PasswordEnv, mail.Tls));
        Assert.Equal(new HeartbeatPlan { Url = "https://hc.example.com/ping/abc", Every = TimeSpan.FromSeconds(30), Post = true }, plan.Notifications.Heartbeat);
        Assert.Equal(("127.0.0.1", 1025), ChannelChecks.SmtpServer(mail with { Smtp = "127.0.0.1:1025" }));
    }

    [Fact]
    public void Parse_UnknownTlsAndHeartbeatWithoutUrl_AreErrors()
    {
        var result = PlanFile.Parse(Yaml.Replace("tls: starttls", "tls: ssl", StringComparison.Ordinal)
            .Replace("url: \"https://hc.example.com/ping/abc\", ", "", StringComparison.Ordinal));

        Assert.Contains(result.Errors, e => e.Message.Contains("tls 'ssl' is not known", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Message.Contains("the heartbeat has no 'url'", StringComparison.Ordinal));
    }
}
