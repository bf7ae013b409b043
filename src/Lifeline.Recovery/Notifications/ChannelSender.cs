using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lifeline.Recovery.Plan;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;

namespace Lifeline.Recovery.Notifications;

/// <summary>How one attempt went.</summary>
public enum SendStatus
{
    /// <summary>The channel accepted it (PagerDuty 202, Slack 200 ok, SMTP 250, a webhook's 2xx).</summary>
    Accepted,

    /// <summary>Worth trying again: a timeout, a refused connection, 429, 5xx, an SMTP 4xx, a secret not set yet.</summary>
    Retry,

    /// <summary>Refused for good: a 4xx other than 429, an SMTP 5xx, a login refused.</summary>
    Refused,
}

/// <summary>The outcome of one attempt; <see cref="Detail"/> is one line with every secret redacted.</summary>
/// <param name="Status">How it went.</param>
/// <param name="Detail">What the channel answered, or why it failed.</param>
/// <param name="RetryAfter">The channel's own Retry-After, when it gave one.</param>
public sealed record SendOutcome(SendStatus Status, string Detail, TimeSpan? RetryAfter = null);

/// <summary>
/// Sends one notice to one channel, once: PagerDuty Events API v2, a Slack incoming webhook (blocks), e-mail through
/// MailKit (SMTP), a generic JSON webhook (docs/notifications.md has each payload). The channel's secret is read here,
/// at send time, and never leaves this class except in the request itself: every detail is redacted.
/// </summary>
public sealed class ChannelSender : IDisposable
{
    private static readonly JsonSerializerOptions Compact = new() { WriteIndented = false };
    private readonly HttpClient _http;
    private readonly string _baseDirectory;
    private readonly IReadOnlyDictionary<string, string?>? _environment;

    /// <summary>A sender whose relative secret files are under <paramref name="baseDirectory"/>; each attempt may take <paramref name="timeout"/>.</summary>
    public ChannelSender(string baseDirectory, TimeSpan timeout, IReadOnlyDictionary<string, string?>? environment = null)
    {
        _baseDirectory = baseDirectory;
        _environment = environment;
        Timeout = timeout;
        _http = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), ConnectTimeout = timeout, AllowAutoRedirect = false })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
        };
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("Lifeline", "1.0"));
    }

    /// <summary>How long one attempt may take.</summary>
    public TimeSpan Timeout { get; }

    /// <summary>The clock (a Retry-After given as a date). Default the system's.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The host name reported as PagerDuty's <c>source</c>.</summary>
    public string Source { get; init; } = Environment.MachineName;

    /// <summary>Sends <paramref name="notice"/> to <paramref name="channel"/> once.</summary>
    public async Task<SendOutcome> SendAsync(NotificationChannel channel, Notice notice, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(notice);
        var secret = ChannelChecks.Secret(channel, _baseDirectory, _environment);
        var secrets = new[] { secret, channel.PasswordEnv is { } p ? ChannelChecks.Variable(p, _environment) : null };
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            var outcome = channel.Kind switch
            {
                "pagerduty" => await PagerDutyAsync(channel, notice, secret, timeout.Token),
                "slack" => await SlackAsync(channel, notice, secret, timeout.Token),
                "webhook" => await WebhookAsync(channel, notice, secret, timeout.Token),
                "email" => await EmailAsync(channel, notice, timeout.Token),
                _ => new SendOutcome(SendStatus.Refused, $"a {channel.Kind} channel is not sent to"),
            };
            return outcome with { Detail = Redacted(outcome.Detail) };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return new SendOutcome(SendStatus.Retry, $"timed out after {Timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or SmtpProtocolException or TimeoutException)
        {
            return new SendOutcome(SendStatus.Retry, Redacted($"cannot connect: {FirstLine(e)}"));
        }
        catch (SmtpCommandException e)
        {
            var code = (int)e.StatusCode;
            return new SendOutcome(code is >= 400 and < 500 ? SendStatus.Retry : SendStatus.Refused, Redacted($"the SMTP server answered {code}: {FirstLine(e)}"));
        }
        catch (Exception e) when (e is MailKit.Security.AuthenticationException or SslHandshakeException or System.Security.Authentication.AuthenticationException or NotSupportedException)
        {
            return new SendOutcome(SendStatus.Refused, Redacted($"refused: {FirstLine(e)}"));
        }

        string Redacted(string text) => ChannelChecks.Redact(text, secrets);
    }

    private async Task<SendOutcome> PagerDutyAsync(NotificationChannel channel, Notice notice, string? routingKey, CancellationToken ct)
    {
        if (routingKey is null)
        {
            return NotConfigured(channel);
        }

        var endpoint = ChannelChecks.Endpoint(channel, routingKey)!;
        var action = notice.Action switch
        {
            NoticeAction.Acknowledge => "acknowledge",
            NoticeAction.Resolve => "resolve",
            _ => "trigger", // an update re-triggers the same dedup_key: PagerDuty folds it into the open alert
        };
        var body = new JsonObject
        {
            ["routing_key"] = routingKey,
            ["event_action"] = action,
            ["dedup_key"] = Truncate(notice.IncidentId, 255),
            ["client"] = "Lifeline",
        };
        if (action == "trigger")
        {
            var details = new JsonObject
            {
                ["incident"] = notice.IncidentId,
                ["notice"] = notice.Id,
                ["action"] = notice.Action.ToString().ToLowerInvariant(),
                ["drill"] = notice.IsDrill,
                ["body"] = Truncate(notice.Body, 8000),
            };
            if (notice.Role is { } role)
            {
                details["role"] = role;
            }

            var payload = new JsonObject
            {
                ["summary"] = Truncate(Subject(notice), 1024),
                ["source"] = Source,
                ["severity"] = notice.IsDrill ? "info" : PagerDutySeverity(notice.Severity),
                ["timestamp"] = notice.Time.ToString("O", CultureInfo.InvariantCulture),
                ["class"] = notice.IsDrill ? "drill" : "incident",
                ["group"] = "lifeline",
                ["custom_details"] = details,
            };
            if (notice.Component is { } component)
            {
                payload["component"] = component;
            }

            body["payload"] = payload;
        }

        return await PostAsync(endpoint, body, null, ct, accepted: s => s == HttpStatusCode.Accepted || (int)s is >= 200 and < 300);
    }

    private async Task<SendOutcome> SlackAsync(NotificationChannel channel, Notice notice, string? webhook, CancellationToken ct)
    {
        if (ChannelChecks.Endpoint(channel, webhook) is not { } endpoint)
        {
            return webhook is null ? NotConfigured(channel) : new SendOutcome(SendStatus.Refused, $"the webhook URL of channel {channel.Name} is not an http(s) URL");
        }

        var state = StateOf(notice.Action);
        var header = (notice.IsDrill ? "[DRILL] " : "") + notice.Summary;
        var fields = new JsonArray
        {
            Field("Severity", notice.IsDrill ? $"{notice.Severity} (drill: low urgency)" : notice.Severity),
            Field("State", state),
            Field("Component", notice.Component ?? "-"),
            Field("Incident", notice.IncidentId),
        };
        if (notice.Role is { } role)
        {
            fields.Add(Field("Owner", role));
        }

        var blocks = new JsonArray
        {
            new JsonObject { ["type"] = "header", ["text"] = new JsonObject { ["type"] = "plain_text", ["text"] = Truncate(header, 150), ["emoji"] = true } },
            new JsonObject { ["type"] = "section", ["fields"] = fields },
        };
        if (notice.Body.Length > 0)
        {
            blocks.Add(new JsonObject { ["type"] = "section", ["text"] = new JsonObject { ["type"] = "mrkdwn", ["text"] = Truncate(notice.Body, 3000) } });
        }

        blocks.Add(new JsonObject
        {
            ["type"] = "context",
            ["elements"] = new JsonArray
            {
                new JsonObject { ["type"] = "mrkdwn", ["text"] = $"Lifeline{(notice.IsDrill ? " · DRILL" : "")} · {notice.Action.ToString().ToLowerInvariant()} · {notice.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)} UTC" },
            },
        });
        var body = new JsonObject { ["text"] = $"{header} ({notice.Severity}, {state})", ["blocks"] = blocks };
        return await PostAsync(endpoint, body, null, ct, accepted: s => s == HttpStatusCode.OK);

        static JsonObject Field(string name, string value) => new() { ["type"] = "mrkdwn", ["text"] = $"*{name}*\n{Truncate(value, 1900)}" };
    }

    private async Task<SendOutcome> WebhookAsync(NotificationChannel channel, Notice notice, string? secret, CancellationToken ct)
    {
        if (ChannelChecks.Endpoint(channel, secret) is not { } endpoint)
        {
            return secret is null ? NotConfigured(channel) : new SendOutcome(SendStatus.Refused, $"the webhook URL of channel {channel.Name} is not an http(s) URL");
        }

        var body = new JsonObject
        {
            ["id"] = notice.Id,
            ["incident"] = notice.IncidentId,
            ["action"] = notice.Action.ToString().ToLowerInvariant(),
            ["state"] = StateOf(notice.Action),
            ["severity"] = notice.Severity,
            ["summary"] = notice.Summary,
            ["body"] = notice.Body,
            ["component"] = notice.Component,
            ["role"] = notice.Role,
            ["uses"] = new JsonArray([.. notice.Uses.Select(u => (JsonNode)u)]),
            ["drill"] = notice.IsDrill,
            ["time"] = notice.Time.ToString("O", CultureInfo.InvariantCulture),
        };
        // with both a url and a secret, the secret is the bearer token; with only a secret, it is the URL
        var bearer = channel.Url is not null ? secret : null;
        return await PostAsync(endpoint, body, bearer, ct, accepted: s => (int)s is >= 200 and < 300);
    }

    private async Task<SendOutcome> PostAsync(Uri endpoint, JsonObject body, string? bearer, CancellationToken ct, Func<HttpStatusCode, bool> accepted)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint)
        {
            Content = new StringContent(body.ToJsonString(Compact), Encoding.UTF8, "application/json"),
        };
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        var code = (int)response.StatusCode;
        var text = await response.Content.ReadAsStringAsync(ct);
        var answer = $"{code} {response.ReasonPhrase}{(text.Length > 0 ? ": " + Truncate(OneLine(text), 200) : "")}";
        if (accepted(response.StatusCode))
        {
            return new SendOutcome(SendStatus.Accepted, answer);
        }

        if (code == 429 || code >= 500 || code == 408)
        {
            return new SendOutcome(SendStatus.Retry, $"answered {answer}", RetryAfter(response));
        }

        return new SendOutcome(SendStatus.Refused, $"refused with {answer}");
    }

    private async Task<SendOutcome> EmailAsync(NotificationChannel channel, Notice notice, CancellationToken ct)
    {
        if (ChannelChecks.SmtpServer(channel) is not { } server)
        {
            return new SendOutcome(SendStatus.Retry, $"channel {channel.Name} has no usable 'smtp' server: add `smtp: host:port`");
        }

        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(channel.From ?? ChannelChecks.DefaultFrom));
        foreach (var to in ChannelChecks.Recipients(channel))
        {
            message.To.Add(MailboxAddress.Parse(to));
        }

        message.Subject = Subject(notice);
        message.Headers.Add("X-Lifeline-Incident", notice.IncidentId);
        message.Headers.Add("X-Lifeline-Notice", notice.Id);
        var facts = $"Severity: {notice.Severity}{(notice.IsDrill ? " (drill)" : "")}\nState: {StateOf(notice.Action)}\nComponent: {notice.Component ?? "-"}\nIncident: {notice.IncidentId}\n";
        var builder = new BodyBuilder
        {
            TextBody = $"{Subject(notice)}\n\n{facts}\n{notice.Body}\n",
            HtmlBody = $"<html><body><h2>{WebUtility.HtmlEncode(Subject(notice))}</h2><p>{WebUtility.HtmlEncode(facts).Replace("\n", "<br>", StringComparison.Ordinal)}</p>" +
                $"<pre style=\"font-family:monospace;white-space:pre-wrap\">{WebUtility.HtmlEncode(notice.Body)}</pre></body></html>",
        };
        message.Body = builder.ToMessageBody();

        using var client = new SmtpClient { Timeout = (int)Timeout.TotalMilliseconds };
        var tls = channel.Tls switch
        {
            "none" => SecureSocketOptions.None,
            "tls" => SecureSocketOptions.SslOnConnect,
            "starttls" => SecureSocketOptions.StartTls,
            _ => SecureSocketOptions.Auto,
        };
        await client.ConnectAsync(server.Host, server.Port, tls, ct);
        if (channel.UsernameEnv is { } userVariable)
        {
            var user = ChannelChecks.Variable(userVariable, _environment);
            var password = channel.PasswordEnv is { } p ? ChannelChecks.Variable(p, _environment) : null;
            if (user is null || password is null)
            {
                return new SendOutcome(SendStatus.Retry, $"{userVariable}{(channel.PasswordEnv is { } pv ? " or " + pv : "")} is not set: set it in the environment");
            }

            await client.AuthenticateAsync(user, password, ct);
        }

        var answer = await client.SendAsync(message, ct);
        await client.DisconnectAsync(true, ct);
        return new SendOutcome(SendStatus.Accepted, $"250 {Truncate(OneLine(answer), 200)}");
    }

    /// <summary>Connects to the channel's endpoint (SMTP: connect and EHLO; HTTP: resolve the host and open a TCP
    /// connection) without sending a notice; one line for the start-up report.</summary>
    public async Task<(bool Ok, string Line)> ProbeAsync(NotificationChannel channel, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var problems = ChannelChecks.Problems(channel, _baseDirectory, _environment).ToList();
        if (channel.Kind == "manual")
        {
            return (true, $"channel {channel.Name} (manual): recorded for someone to act on, not sent");
        }

        if (problems.Count > 0)
        {
            return (false, $"channel {channel.Name} ({channel.Kind}): {problems[0].Message}; {problems[0].Fix}");
        }

        var secret = ChannelChecks.Secret(channel, _baseDirectory, _environment);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Timeout);
        try
        {
            if (channel.Kind == "email")
            {
                var (host, port) = ChannelChecks.SmtpServer(channel)!.Value;
                using var client = new SmtpClient { Timeout = (int)Timeout.TotalMilliseconds };
                await client.ConnectAsync(host, port, channel.Tls switch { "none" => SecureSocketOptions.None, "tls" => SecureSocketOptions.SslOnConnect, "starttls" => SecureSocketOptions.StartTls, _ => SecureSocketOptions.Auto }, timeout.Token);
                await client.DisconnectAsync(true, timeout.Token);
                return (true, $"channel {channel.Name} (email): SMTP {host}:{port} answered EHLO");
            }

            var endpoint = ChannelChecks.Endpoint(channel, secret)!;
            using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
            await socket.ConnectAsync(endpoint.Host, endpoint.Port, timeout.Token);
            return (true, $"channel {channel.Name} ({channel.Kind}): {endpoint.Host}:{endpoint.Port} connects");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (false, $"channel {channel.Name} ({channel.Kind}): no answer within {Timeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is SocketException or IOException or SmtpProtocolException or SmtpCommandException or SslHandshakeException or HttpRequestException)
        {
            return (false, ChannelChecks.Redact($"channel {channel.Name} ({channel.Kind}): cannot connect: {FirstLine(e)}", [secret]));
        }
    }

    /// <inheritdoc/>
    public void Dispose() => _http.Dispose();

    /// <summary>The subject line: the summary, with <c>[DRILL]</c> before it for a drill.</summary>
    public static string Subject(Notice notice)
    {
        ArgumentNullException.ThrowIfNull(notice);
        var prefix = notice.Action == NoticeAction.Resolve ? "[RESOLVED] " : "";
        return (notice.IsDrill ? "[DRILL] " : "") + prefix + notice.Summary;
    }

    /// <summary>PagerDuty's severity for one of <see cref="Incidents.Severities"/> (an unknown one is <c>error</c>).</summary>
    public static string PagerDutySeverity(string severity) =>
        severity is Incidents.Severities.Critical or Incidents.Severities.Error or Incidents.Severities.Warning or Incidents.Severities.Info ? severity : Incidents.Severities.Error;

    private static string StateOf(NoticeAction action) => action switch
    {
        NoticeAction.Acknowledge => "acknowledged",
        NoticeAction.Resolve => "resolved",
        _ => "open",
    };

    private static SendOutcome NotConfigured(NotificationChannel channel) =>
        new(SendStatus.Retry, channel.SecretEnv is { } name ? $"{name} is not set: set it in the environment of lifeline" : $"the secret of channel {channel.Name} is not there ({channel.SecretFile ?? "no secret-env or secret-file"})");

    private TimeSpan? RetryAfter(HttpResponseMessage response) =>
        response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta,
            { Date: { } date } => date - Time.GetUtcNow() is var d && d > TimeSpan.Zero ? d : TimeSpan.Zero,
            _ => null,
        };

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";

    private static string OneLine(string text) => string.Join(' ', text.Split(['\r', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static string FirstLine(Exception e)
    {
        var inner = e;
        while (inner.InnerException is { } i && inner is HttpRequestException)
        {
            inner = i;
        }

        return OneLine(inner.Message);
    }
}
