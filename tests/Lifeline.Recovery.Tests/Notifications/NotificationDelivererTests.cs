using System.Net;
using System.Text;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Notifications;

/// <summary>
/// The outbox and its deliverer against real HTTP receivers on 127.0.0.1 that check each payload's shape (PagerDuty
/// Events API v2, Slack blocks), with time moved by a <see cref="FakeTimeProvider"/>: retries on 503, Retry-After on
/// 429, dead on 400, one delivery per notice and channel, a failing channel's alert on the other, no secret stored.
/// </summary>
public sealed class NotificationDelivererTests : IAsyncLifetime
{
    private const string RoutingKey = "R0UT1NG-k3y-distinctive-7f3a9c";
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
    private readonly LogCollector _logs = new();
    private NotificationReceiver _pagerduty = null!;
    private NotificationReceiver _slack = null!;

    public async Task InitializeAsync()
    {
        _pagerduty = await NotificationReceiver.StartAsync();
        _slack = await NotificationReceiver.StartAsync();
        _slack.Respond = _ => (200, "ok", null);
    }

    public async Task DisposeAsync()
    {
        await _pagerduty.DisposeAsync();
        await _slack.DisposeAsync();
        _dir.Dispose();
    }

    [Fact]
    public async Task DeliverDue_TriggerAcknowledgeResolve_PagerDutyGetsRequiredFieldsAndOneDedupKey()
    {
        var (outbox, deliverer) = CreateSut();
        foreach (var action in new[] { NoticeAction.Trigger, NoticeAction.Acknowledge, NoticeAction.Resolve })
        {
            await outbox.EnqueueAsync(Notice("n-" + action, action, severity: Severities.Critical));
        }

        // in order per incident and channel: one round delivers only the oldest, the next one the following
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(2, (await deliverer.DeliverDueAsync()).Sent); // pagerduty and slack
        }

        var events = _pagerduty.Requests.Select(r => r.Json).ToList();
        Assert.Equal(["trigger", "acknowledge", "resolve"], events.Select(e => e.GetProperty("event_action").GetString()));
        Assert.All(events, e => Assert.Equal(RoutingKey, e.GetProperty("routing_key").GetString()));
        Assert.All(events, e => Assert.Equal("inc-1", e.GetProperty("dedup_key").GetString()));
        var payload = events[0].GetProperty("payload");
        Assert.Equal("Backups of registry fail", payload.GetProperty("summary").GetString());
        Assert.Equal("critical", payload.GetProperty("severity").GetString());
        Assert.False(string.IsNullOrEmpty(payload.GetProperty("source").GetString()));
        Assert.Equal("registry", payload.GetProperty("component").GetString());
        Assert.Equal("inc-1", payload.GetProperty("custom_details").GetProperty("incident").GetString());
        Assert.All(_pagerduty.Requests, r => Assert.Equal("/v2/enqueue", r.Path));
        Assert.All(await outbox.ListAsync(), d => Assert.Equal(DeliveryStates.Sent, d.State));
    }

    [Fact]
    public async Task DeliverDue_DrillNotice_SlackGetsHeaderFieldsAndContextMarkedDrillAndPagerDutyInfo()
    {
        var (outbox, deliverer) = CreateSut();
        await outbox.EnqueueAsync(Notice("drill-1", NoticeAction.Trigger, drill: true));

        await deliverer.DeliverDueAsync();

        var slack = Assert.Single(_slack.Requests).Json;
        Assert.Equal("/hooks/T000/B000/XXXX", Assert.Single(_slack.Requests).Path);
        Assert.StartsWith("[DRILL] Backups of registry fail", slack.GetProperty("text").GetString());
        var blocks = slack.GetProperty("blocks").EnumerateArray().ToList();
        Assert.Equal("header", blocks[0].GetProperty("type").GetString());
        Assert.Equal("plain_text", blocks[0].GetProperty("text").GetProperty("type").GetString());
        Assert.StartsWith("[DRILL]", blocks[0].GetProperty("text").GetProperty("text").GetString());
        var fields = blocks[1].GetProperty("fields").EnumerateArray().Select(f => f.GetProperty("text").GetString()!).ToList();
        Assert.Contains(fields, f => f.StartsWith("*Severity*", StringComparison.Ordinal) && f.Contains("drill", StringComparison.Ordinal));
        Assert.Contains("*State*\nopen", fields);
        Assert.Contains("*Component*\nregistry", fields);
        Assert.Equal("context", blocks[^1].GetProperty("type").GetString());
        Assert.Contains("DRILL", blocks[^1].GetProperty("elements")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Equal("info", Assert.Single(_pagerduty.Requests).Json.GetProperty("payload").GetProperty("severity").GetString());
    }

    [Fact]
    public async Task DeliverDue_ReceiverAnswers503ThenAccepts_RetriedAfterBackoffAndSentOnce()
    {
        var (outbox, deliverer) = CreateSut(onlyPagerDuty: true);
        var answers = 0;
        _pagerduty.Respond = _ => Interlocked.Increment(ref answers) <= 2 ? NotificationReceiver.Answer(HttpStatusCode.ServiceUnavailable, "busy") : (202, "{}", null);
        await outbox.EnqueueAsync(Notice("n1", NoticeAction.Trigger));

        Assert.Equal(1, (await deliverer.DeliverDueAsync()).Retrying);
        var pending = Assert.Single(await outbox.ListAsync());
        Assert.Equal(DeliveryStates.Pending, pending.State);
        Assert.Contains("503", pending.Reason, StringComparison.Ordinal);
        Assert.InRange(pending.NextAttemptAt - _time.GetUtcNow(), TimeSpan.FromSeconds(1.6), TimeSpan.FromSeconds(2.4)); // 2 s ± 20 %
        Assert.Equal(0, (await deliverer.DeliverDueAsync()).Attempted); // not due yet

        _time.Advance(TimeSpan.FromSeconds(2.5));
        Assert.Equal(1, (await deliverer.DeliverDueAsync()).Retrying);
        Assert.InRange((await outbox.ListAsync())[0].NextAttemptAt - _time.GetUtcNow(), TimeSpan.FromSeconds(3.2), TimeSpan.FromSeconds(4.8)); // doubled

        _time.Advance(TimeSpan.FromSeconds(5));
        Assert.Equal(1, (await deliverer.DeliverDueAsync()).Sent);
        Assert.Equal(0, (await deliverer.DeliverDueAsync(ignoreSchedule: true)).Attempted);
        Assert.Equal(3, _pagerduty.Requests.Count);
        Assert.Single(_pagerduty.Accepted);
        Assert.Equal(DeliveryStates.Sent, Assert.Single(await outbox.ListAsync()).State);
    }

    [Fact]
    public async Task DeliverDue_ReceiverAnswers429WithRetryAfter_WaitsExactlyThatLong()
    {
        var (outbox, deliverer) = CreateSut(onlyPagerDuty: true);
        var first = true;
        _pagerduty.Respond = _ => first && !(first = false)
            ? NotificationReceiver.Answer(HttpStatusCode.TooManyRequests, "slow down", new Dictionary<string, string> { ["Retry-After"] = "30" })
            : (202, "{}", null);
        await outbox.EnqueueAsync(Notice("n1", NoticeAction.Trigger));

        await deliverer.DeliverDueAsync();
        Assert.Equal(_time.GetUtcNow() + TimeSpan.FromSeconds(30), Assert.Single(await outbox.ListAsync()).NextAttemptAt);

        _time.Advance(TimeSpan.FromSeconds(29));
        Assert.Equal(0, (await deliverer.DeliverDueAsync()).Attempted);
        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, (await deliverer.DeliverDueAsync()).Sent);
        Assert.Equal([429, 202], _pagerduty.Requests.Select(r => r.AnsweredWith));
    }

    [Fact]
    public async Task DeliverDue_ReceiverAnswers400_DeadAtOnceWithTheReasonAndNoSecret()
    {
        var (outbox, deliverer) = CreateSut(onlyPagerDuty: true);
        // the receiver quotes the request, routing key included: the stored reason must not
        _pagerduty.Respond = r => NotificationReceiver.Answer(HttpStatusCode.BadRequest, $$"""{"status":"invalid event","message":"Event object is invalid","errors":["bad {{r.Body}}"]}""");
        await outbox.EnqueueAsync(Notice("n1", NoticeAction.Trigger));

        var round = await deliverer.DeliverDueAsync();

        Assert.Equal(1, round.Dead);
        var dead = Assert.Single(await outbox.ListAsync());
        Assert.Equal(DeliveryStates.Dead, dead.State);
        Assert.Contains("400", dead.Reason, StringComparison.Ordinal);
        Assert.Contains("invalid event", dead.Reason, StringComparison.Ordinal);
        Assert.Equal(0, (await deliverer.DeliverDueAsync(ignoreSchedule: true)).Attempted);
        AssertSecretNowhere();
    }

    [Fact]
    public async Task DeliverDue_FailingPastTheGiveUpTime_DeadWithWhy()
    {
        var (outbox, deliverer) = CreateSut(onlyPagerDuty: true, options: new DeliveryOptions { GiveUpAfter = TimeSpan.FromMinutes(10) });
        _pagerduty.Respond = _ => NotificationReceiver.Answer(HttpStatusCode.BadGateway);
        await outbox.EnqueueAsync(Notice("n1", NoticeAction.Trigger));

        for (var i = 0; i < 12 && (await outbox.ListAsync())[0].State == DeliveryStates.Pending; i++)
        {
            await deliverer.DeliverDueAsync(ignoreSchedule: true);
            _time.Advance(TimeSpan.FromMinutes(1));
        }

        var dead = Assert.Single(await outbox.ListAsync());
        Assert.Equal(DeliveryStates.Dead, dead.State);
        Assert.StartsWith("gave up after", dead.Reason, StringComparison.Ordinal);
        Assert.Contains("502", dead.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Enqueue_SameNoticeTwiceAndRoleChannels_OneDeliveryPerNoticeAndChannel()
    {
        var (outbox, _) = CreateSut();
        var notice = Notice("n1", NoticeAction.Trigger) with { Uses = ["stakeholders"], Role = "data-engineer" };

        await outbox.EnqueueAsync(notice);
        await outbox.EnqueueAsync(notice);

        // stakeholders: the manual channel; the role data-engineer: slack (pagerduty serves neither)
        var deliveries = await outbox.OfNoticeAsync("n1");
        Assert.Equal(["slack", "pr"], deliveries.Select(d => d.Channel));
        Assert.Equal(DeliveryStates.Manual, deliveries[1].State);
        Assert.Equal(["slack", "pr"], NotificationOutbox.Route(Plan(), notice));
    }

    [Fact]
    public async Task DeliverDue_ChannelFailingPastAlertTime_AlertsTheOtherChannelAndRaisesASignalOnce()
    {
        var signals = new RecordingSignals();
        var (outbox, deliverer) = CreateSut(signals: signals);
        _pagerduty.Respond = _ => NotificationReceiver.Answer(HttpStatusCode.ServiceUnavailable);
        await outbox.EnqueueAsync(Notice("n1", NoticeAction.Trigger));

        await deliverer.DeliverDueAsync();
        Assert.Empty(signals.Signals);
        _time.Advance(TimeSpan.FromMinutes(6));
        await deliverer.DeliverDueAsync(ignoreSchedule: true); // pagerduty fails again, now for 6 minutes: the alert goes out
        await deliverer.DeliverDueAsync(ignoreSchedule: true); // delivers the alert to slack; pagerduty fails once more, no second alert

        var alerts = _slack.Requests.Select(r => r.Json.GetProperty("text").GetString()!).Where(t => t.Contains("notification channel pagerduty", StringComparison.Ordinal)).ToList();
        var alert = Assert.Single(alerts);
        Assert.Contains("failing for 6 min", alert, StringComparison.Ordinal);
        var signal = Assert.Single(signals.Signals);
        Assert.Equal(SignalKinds.ChannelFailing, signal.Kind);
        Assert.Equal("channel:pagerduty", signal.Cause);
        Assert.False(signal.Healthy);
        Assert.DoesNotContain(await outbox.ListAsync(), d => d.Channel == "pagerduty" && d.NoticeId.StartsWith("channel-failing", StringComparison.Ordinal));

        _pagerduty.Respond = _ => (202, "{}", null);
        await deliverer.DeliverDueAsync(ignoreSchedule: true);
        Assert.True(signals.Signals[^1].Healthy);
        AssertSecretNowhere();
    }

    [Fact]
    public async Task DeliverDue_EmailChannel_MaildevShowsTheMailWithItsSubject()
    {
        var smtp = Environment.GetEnvironmentVariable("LIFELINE_TEST_SMTP") is { Length: > 0 } s ? s : "127.0.0.1:1025";
        var api = new Uri(Environment.GetEnvironmentVariable("LIFELINE_TEST_MAILDEV_API") is { Length: > 0 } a ? a : "http://127.0.0.1:1080");
        var to = $"oncall-{Guid.NewGuid():N}@example.com";
        var plan = PlanFile.Parse($$"""
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            notifications:
              channels:
                mail: { kind: email, smtp: "{{smtp}}", from: lifeline@example.com, to: [{{to}}], tls: none, for: [immediate] }
            """).Plan!;
        var outbox = NotificationOutbox.InDataDirectory(plan, _dir.Path, _time);
        using var deliverer = new NotificationDeliverer(plan, outbox, _dir.Path, time: _time);
        await outbox.EnqueueAsync(Notice("mail-1", NoticeAction.Trigger, drill: true));

        var round = await deliverer.DeliverDueAsync();

        Assert.True(round.Sent == 1, $"maildev at {smtp} did not accept the mail ({(await outbox.ListAsync())[0].Reason}); start it with scripts/setup/maildev.sh");
        using var http = new HttpClient();
        var mails = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync(new Uri(api, "/email"))).RootElement.EnumerateArray()
            .Where(m => m.GetProperty("to").EnumerateArray().Any(t => t.GetProperty("address").GetString() == to)).ToList();
        var mail = Assert.Single(mails);
        Assert.Equal("[DRILL] Backups of registry fail", mail.GetProperty("subject").GetString());
        Assert.Contains("Severity: error (drill)", mail.GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.Contains("<h2>", mail.GetProperty("html").GetString(), StringComparison.Ordinal);
    }

    private (NotificationOutbox Outbox, NotificationDeliverer Deliverer) CreateSut(bool onlyPagerDuty = false, DeliveryOptions? options = null, IIncidentSignals? signals = null)
    {
        var plan = Plan(onlyPagerDuty);
        var outbox = NotificationOutbox.InDataDirectory(plan, _dir.Path, _time);
        var environment = new Dictionary<string, string?>
        {
            ["PD_KEY"] = RoutingKey,
            ["SLACK_URL"] = new Uri(_slack.Url, "/hooks/T000/B000/XXXX").ToString(),
        };
        var deliverer = new NotificationDeliverer(plan, outbox, _dir.Path, options, _time, _logs.CreateLogger("test"), () => signals, environment);
        return (outbox, deliverer);
    }

    private LifelinePlan Plan(bool onlyPagerDuty = false)
    {
        var yaml = new StringBuilder()
            .AppendLine("version: 1")
            .AppendLine("objectives: { rto: 4h, rpo: 1h }")
            .AppendLine("notifications:")
            .AppendLine("  channels:")
            .AppendLine($"    pagerduty: {{ kind: pagerduty, secret-env: PD_KEY, url: \"{new Uri(_pagerduty.Url, "/v2/enqueue")}\", for: [immediate] }}");
        if (!onlyPagerDuty)
        {
            yaml.AppendLine("    slack: { kind: slack, secret-env: SLACK_URL, for: [immediate, status] }")
                .AppendLine("    pr: { kind: manual, target: PR team, for: [stakeholders] }")
                .AppendLine("roles:")
                .AppendLine("  data-engineer: { notify: [slack] }");
        }

        var parsed = PlanFile.Parse(yaml.ToString());
        return parsed.Plan ?? throw new InvalidOperationException("the test plan does not parse: " + string.Join("; ", parsed.Errors));
    }

    private Notice Notice(string id, NoticeAction action, string severity = Severities.Error, bool drill = false) => new()
    {
        Id = id,
        IncidentId = "inc-1",
        Action = action,
        Severity = severity,
        Summary = "Backups of registry fail",
        Body = "The registry's backup failed twice.",
        Uses = ["immediate"],
        Component = "registry",
        IsDrill = drill,
        Time = _time.GetUtcNow(),
    };

    private void AssertSecretNowhere()
    {
        foreach (var file in Directory.EnumerateFiles(_dir.Path, "*", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            using var reader = new StreamReader(stream, Encoding.Latin1);
            Assert.DoesNotContain(RoutingKey, reader.ReadToEnd(), StringComparison.Ordinal);
        }

        Assert.DoesNotContain(RoutingKey, _logs.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("/hooks/T000/B000/XXXX", _logs.Text, StringComparison.Ordinal);
    }

    private sealed class RecordingSignals : IIncidentSignals
    {
        public List<IncidentSignal> Signals { get; } = [];

        public Task RaiseAsync(IncidentSignal signal, CancellationToken cancellationToken = default)
        {
            lock (Signals)
            {
                Signals.Add(signal);
            }

            return Task.CompletedTask;
        }
    }
}

/// <summary>Every log line written through it, for searching.</summary>
internal sealed class LogCollector : ILoggerProvider
{
    private readonly StringBuilder _text = new();

    public string Text
    {
        get
        {
            lock (_text)
            {
                return _text.ToString();
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Collector(this);

    public void Dispose()
    {
    }

    private sealed class Collector(LogCollector owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (owner._text)
            {
                owner._text.AppendLine(formatter(state, exception));
            }
        }
    }
}
