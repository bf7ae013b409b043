using System.Globalization;
using Lifeline.Recovery.Plan;
using MimeKit;

namespace Lifeline.Recovery.Notifications;

/// <summary>One problem of a channel's configuration, one line: an error when it cannot work as written, a warning
/// when something it needs is missing from this environment.</summary>
/// <param name="IsError">True for an error.</param>
/// <param name="Field">The channel's field it is about, or null for the channel.</param>
/// <param name="Message">What is wrong (never a secret's value).</param>
/// <param name="Fix">What to do.</param>
public sealed record ChannelProblem(bool IsError, string? Field, string Message, string Fix);

/// <summary>
/// Where a channel sends and with what secret, resolved at send time from the environment or a secret file (never
/// stored, never logged), and the checks of <c>plan check</c> over the same rules (docs/notifications.md).
/// </summary>
public static class ChannelChecks
{
    /// <summary>PagerDuty's Events API v2 endpoint, used unless the channel's <c>url</c> says otherwise.</summary>
    public const string PagerDutyDefaultUrl = "https://events.pagerduty.com/v2/enqueue";

    /// <summary>The sender used when an email channel names none.</summary>
    public const string DefaultFrom = "lifeline@localhost";

    /// <summary>The channel's secret (routing key, webhook URL) from its <c>secret-env</c> or <c>secret-file</c>, or
    /// null when it names neither or the variable or file is absent or empty.</summary>
    public static string? Secret(NotificationChannel channel, string baseDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (channel.SecretEnv is { } name && Variable(name, environment) is { Length: > 0 } value)
        {
            return value.Trim();
        }

        if (channel.SecretFile is { } file)
        {
            var path = Path.GetFullPath(Path.Combine(baseDirectory, file));
            if (File.Exists(path) && File.ReadLines(path).FirstOrDefault()?.Trim() is { Length: > 0 } line)
            {
                return line;
            }
        }

        return null;
    }

    /// <summary>The value of the environment variable <paramref name="name"/> (from <paramref name="environment"/> when given).</summary>
    public static string? Variable(string name, IReadOnlyDictionary<string, string?>? environment = null) =>
        environment is null ? Environment.GetEnvironmentVariable(name) : environment.GetValueOrDefault(name);

    /// <summary>Where the channel posts: the <c>url</c>; for PagerDuty its default; for Slack and a webhook without
    /// <c>url</c>, the secret (the webhook URL is the secret). Null when that is not known.</summary>
    public static Uri? Endpoint(NotificationChannel channel, string? secret)
    {
        ArgumentNullException.ThrowIfNull(channel);
        var text = channel.Url ?? channel.Kind switch
        {
            "pagerduty" => PagerDutyDefaultUrl,
            "slack" or "webhook" => secret,
            _ => null,
        };
        return text is not null && Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" ? uri : null;
    }

    /// <summary>The SMTP server of an email channel as host and port (25 when absent), or null when malformed or absent.</summary>
    public static (string Host, int Port)? SmtpServer(NotificationChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (channel.Smtp is not { Length: > 0 } text)
        {
            return null;
        }

        var colon = text.LastIndexOf(':');
        if (colon < 0)
        {
            return IsHost(text) ? (text, 25) : null;
        }

        var host = text[..colon].Trim('[', ']');
        return IsHost(host) && int.TryParse(text[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) && port is > 0 and <= 65535
            ? (host, port)
            : null;
    }

    /// <summary>The recipients of an email channel: <c>to</c>, else <c>target</c>.</summary>
    public static IReadOnlyList<string> Recipients(NotificationChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        return channel.To.Count > 0 ? channel.To : channel.Target is { } t ? [t] : [];
    }

    /// <summary>What is wrong with <paramref name="channel"/> as written and in this environment, one line each.</summary>
    public static IEnumerable<ChannelProblem> Problems(NotificationChannel channel, string baseDirectory, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        if (channel.Url is { } url && !(Uri.TryCreate(url, UriKind.Absolute, out var u) && u.Scheme is "http" or "https" && u.Host.Length > 0))
        {
            yield return new(true, "url", $"'url' of channel '{channel.Name}' is not an http:// or https:// URL", "write the full endpoint, e.g. https://proxy.example.com/v2/enqueue");
        }

        if (channel.Kind is "pagerduty" or "slack" or "webhook")
        {
            var needsSecret = channel.Kind == "pagerduty" || channel.Url is null;
            var secret = Secret(channel, baseDirectory, environment);
            if (needsSecret && secret is null)
            {
                if (channel.SecretEnv is { } name)
                {
                    yield return new(false, "secret-env", $"{name} is not set: channel '{channel.Name}' cannot send ({(channel.Kind == "pagerduty" ? "its routing key" : "its webhook URL")})",
                        $"set {name} in the environment of lifeline up");
                }
                else if (channel.SecretFile is { } file)
                {
                    yield return new(false, "secret-file", $"the secret file {file} of channel '{channel.Name}' is missing or empty", "write the secret on its first line");
                }
            }
            else if (channel.Url is null && channel.Kind is "slack" or "webhook" && secret is not null && Endpoint(channel, secret) is null)
            {
                yield return new(true, channel.SecretEnv is null ? "secret-file" : "secret-env",
                    $"the webhook URL of channel '{channel.Name}' (in {channel.SecretEnv ?? channel.SecretFile}) is not an http:// or https:// URL", "set it to the full webhook URL");
            }
        }

        if (channel.Kind == "email")
        {
            if (channel.Smtp is null)
            {
                yield return new(false, "smtp", $"email channel '{channel.Name}' has no 'smtp' server: it cannot send", "add `smtp: host:port`");
            }
            else if (SmtpServer(channel) is null)
            {
                yield return new(true, "smtp", $"'smtp' of channel '{channel.Name}' is not host:port", "write `smtp: mail.example.com:587`");
            }

            foreach (var address in Recipients(channel).Append(channel.From ?? DefaultFrom))
            {
                if (!MailboxAddress.TryParse(address, out var mailbox) || !mailbox.Address.Contains('@', StringComparison.Ordinal))
                {
                    yield return new(true, address == channel.From ? "from" : "to", $"'{address}' of channel '{channel.Name}' is not an e-mail address", "write `name@example.com`");
                }
            }

            foreach (var (field, name) in new[] { ("username-env", channel.UsernameEnv), ("password-env", channel.PasswordEnv) })
            {
                if (name is not null && Variable(name, environment) is not { Length: > 0 })
                {
                    yield return new(false, field, $"{name} is not set: channel '{channel.Name}' cannot log in to its SMTP server", $"set {name} in the environment of lifeline up");
                }
            }
        }
    }

    /// <summary>What is wrong with the heartbeat, one line each.</summary>
    public static IEnumerable<ChannelProblem> Problems(HeartbeatPlan heartbeat, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        if (heartbeat.Url is { } url && HeartbeatUrl(url) is null)
        {
            yield return new(true, "url", "the heartbeat 'url' is not an http:// or https:// URL", "write the dead man's switch's check-in URL");
        }

        if (heartbeat.UrlEnv is { } name)
        {
            if (Variable(name, environment) is not { Length: > 0 } value)
            {
                yield return new(false, "url-env", $"{name} is not set: the heartbeat cannot beat", $"set {name} in the environment of lifeline up");
            }
            else if (HeartbeatUrl(value) is null)
            {
                yield return new(true, "url-env", $"the heartbeat URL in {name} is not an http:// or https:// URL", $"set {name} to the full check-in URL");
            }
        }
    }

    /// <summary>The heartbeat's URL (from <c>url-env</c> first), or null.</summary>
    public static Uri? HeartbeatUrl(HeartbeatPlan heartbeat, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(heartbeat);
        return heartbeat.UrlEnv is { } name && Variable(name, environment) is { Length: > 0 } value ? HeartbeatUrl(value)
            : heartbeat.Url is { } url ? HeartbeatUrl(url) : null;
    }

    private static Uri? HeartbeatUrl(string text) =>
        Uri.TryCreate(text, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https" && uri.Host.Length > 0 ? uri : null;

    private static bool IsHost(string host) => host.Length > 0 && Uri.CheckHostName(host) != UriHostNameType.Unknown;

    /// <summary><paramref name="text"/> with every one of <paramref name="secrets"/> replaced by <c>***</c>.</summary>
    public static string Redact(string text, IEnumerable<string?> secrets)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(secrets);
        foreach (var secret in secrets)
        {
            if (secret is { Length: >= 4 })
            {
                text = text.Replace(secret, Configuration.Secrets.Mask, StringComparison.Ordinal);
                if (Uri.TryCreate(secret, UriKind.Absolute, out var uri) && uri.PathAndQuery.Length > 1)
                {
                    // a webhook URL's path is its token: an error quoting only the path must not show it either
                    text = text.Replace(uri.PathAndQuery, "/" + Configuration.Secrets.Mask, StringComparison.Ordinal);
                }
            }
        }

        return text;
    }
}
