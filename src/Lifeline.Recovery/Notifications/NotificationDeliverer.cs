using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery.Notifications;

/// <summary>How the deliverer retries; every property has the documented default (docs/notifications.md).</summary>
public sealed record DeliveryOptions
{
    /// <summary>The wait after the first failed attempt: 2 s; it doubles after each further one.</summary>
    public TimeSpan InitialBackoff { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The longest wait between two attempts: 5 minutes.</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How much each wait is varied at random, up or down (so that many deliveries do not retry in step): 0.2.</summary>
    public double Jitter { get; init; } = 0.2;

    /// <summary>A delivery still failing this long after it was enqueued is given up as dead: 1 hour.</summary>
    public TimeSpan GiveUpAfter { get; init; } = TimeSpan.FromHours(1);

    /// <summary>A channel failing this long raises its own alert on the other channels: 5 minutes.</summary>
    public TimeSpan ChannelAlertAfter { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one attempt may take: 10 s.</summary>
    public TimeSpan AttemptTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Throws <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (InitialBackoff <= TimeSpan.Zero || MaxBackoff < InitialBackoff || GiveUpAfter <= TimeSpan.Zero || AttemptTimeout <= TimeSpan.Zero || Jitter is < 0 or >= 1)
        {
            throw new ArgumentException("delivery options out of range: backoffs, give-up time and attempt timeout must be positive, the maximum backoff at least the first, jitter in [0, 1)");
        }
    }
}

/// <summary>What one round of deliveries did.</summary>
/// <param name="Attempted">Attempts made.</param>
/// <param name="Sent">Accepted.</param>
/// <param name="Retrying">Failed, to be retried.</param>
/// <param name="Dead">Given up in this round.</param>
public sealed record DeliveryRound(int Attempted, int Sent, int Retrying, int Dead);

/// <summary>
/// Delivers the outbox: each due delivery once per round, in order per incident and channel; a failure is retried
/// with exponential backoff and jitter (the channel's Retry-After when it gives one), a refusal (4xx other than 429)
/// or a failure past <see cref="DeliveryOptions.GiveUpAfter"/> is dead with its reason. The schedule is in the outbox,
/// not in memory, so retries go on after a restart (which is why this is not a Polly pipeline: Polly retries within
/// one call). A channel failing for <see cref="DeliveryOptions.ChannelAlertAfter"/> gets its own notice on the other
/// channels and an <see cref="SignalKinds.ChannelFailing"/> signal.
/// </summary>
public sealed class NotificationDeliverer : IDisposable
{
    private readonly LifelinePlan _plan;
    private readonly NotificationOutbox _outbox;
    private readonly ChannelSender _sender;
    private readonly DeliveryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<IIncidentSignals?> _signals;
    private readonly SemaphoreSlim _round = new(1, 1);

    /// <summary>A deliverer of <paramref name="outbox"/> to the channels of <paramref name="plan"/>.</summary>
    public NotificationDeliverer(LifelinePlan plan, NotificationOutbox outbox, string baseDirectory, DeliveryOptions? options = null, TimeProvider? time = null,
        ILogger? logger = null, Func<IIncidentSignals?>? signals = null, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(outbox);
        _plan = plan;
        _outbox = outbox;
        _options = options ?? new DeliveryOptions();
        _options.Validate();
        _time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _signals = signals ?? (() => null);
        _sender = new ChannelSender(baseDirectory, _options.AttemptTimeout, environment) { Time = _time };
    }

    /// <summary>The sender (probes at start use it).</summary>
    public ChannelSender Sender => _sender;

    /// <summary>The outbox.</summary>
    public NotificationOutbox Outbox => _outbox;

    /// <summary>Makes one attempt at each due delivery (every pending one when <paramref name="ignoreSchedule"/>), oldest first.</summary>
    /// <param name="ignoreSchedule">Try every pending delivery now, not only those due.</param>
    /// <param name="only">Only the deliveries it selects (default all).</param>
    /// <param name="cancellationToken">Stops the round.</param>
    public async Task<DeliveryRound> DeliverDueAsync(bool ignoreSchedule = false, Func<Delivery, bool>? only = null, CancellationToken cancellationToken = default)
    {
        await _round.WaitAsync(cancellationToken);
        try
        {
            var due = (await _outbox.DueAsync(_time.GetUtcNow(), ignoreSchedule, cancellationToken)).Where(only ?? (_ => true));
            int sent = 0, retrying = 0, dead = 0;
            var failedChannels = new HashSet<string>(StringComparer.Ordinal);
            foreach (var delivery in due)
            {
                if (failedChannels.Contains(delivery.Channel))
                {
                    continue; // one failure per channel and round: the others wait for the next round instead of piling on
                }

                switch (await AttemptAsync(delivery, cancellationToken))
                {
                    case SendStatus.Accepted:
                        sent++;
                        break;
                    case SendStatus.Retry:
                        retrying++;
                        failedChannels.Add(delivery.Channel);
                        break;
                    default:
                        dead++;
                        break;
                }
            }

            return new DeliveryRound(sent + retrying + dead, sent, retrying, dead);
        }
        finally
        {
            _round.Release();
        }
    }

    /// <summary>When the next pending delivery is due, or null when none is pending.</summary>
    public async Task<DateTimeOffset?> NextDueAsync(CancellationToken cancellationToken = default)
    {
        var pending = await _outbox.DueAsync(DateTimeOffset.MaxValue, ignoreSchedule: true, cancellationToken);
        return pending.Count == 0 ? null : pending.Min(d => d.NextAttemptAt);
    }

    private async Task<SendStatus> AttemptAsync(Delivery delivery, CancellationToken cancellationToken)
    {
        var channel = _plan.Notifications.Channels.FirstOrDefault(c => c.Name == delivery.Channel);
        var notice = await _outbox.GetNoticeAsync(delivery.NoticeId, cancellationToken);
        if (channel is null || notice is null)
        {
            var reason = channel is null ? $"channel {delivery.Channel} is no longer in the plan" : "the notice is missing from the outbox";
            await _outbox.MarkDeadAsync(delivery, reason, cancellationToken);
            Log.DeliveryDead(_logger, delivery.NoticeId, delivery.Channel, reason);
            return SendStatus.Refused;
        }

        var outcome = await _sender.SendAsync(channel, notice, cancellationToken);
        var now = _time.GetUtcNow();
        switch (outcome.Status)
        {
            case SendStatus.Accepted:
                await _outbox.MarkSentAsync(delivery, cancellationToken);
                Log.DeliverySent(_logger, notice.Id, channel.Name, channel.Kind, delivery.Attempts + 1);
                if (await _outbox.ChannelRecoveredAsync(channel.Name, cancellationToken))
                {
                    Log.ChannelRecovered(_logger, channel.Name);
                    await SignalAsync(channel, healthy: true, $"notification channel {channel.Name} delivers again", cancellationToken);
                }

                return SendStatus.Accepted;

            case SendStatus.Retry when now - delivery.CreatedAt < _options.GiveUpAfter:
                var wait = outcome.RetryAfter is { } after && after > TimeSpan.Zero ? after : Backoff(delivery.Attempts + 1);
                await _outbox.MarkRetryAsync(delivery, now + wait, outcome.Detail, cancellationToken);
                Log.DeliveryRetrying(_logger, notice.Id, channel.Name, delivery.Attempts + 1, outcome.Detail, wait.TotalSeconds);
                await ChannelFailedAsync(channel, outcome.Detail, cancellationToken);
                return SendStatus.Retry;

            default:
                var why = outcome.Status == SendStatus.Retry
                    ? $"gave up after {delivery.Attempts + 1} attempts over {Fmt(now - delivery.CreatedAt)}: {outcome.Detail}"
                    : outcome.Detail;
                await _outbox.MarkDeadAsync(delivery, why, cancellationToken);
                Log.DeliveryDead(_logger, notice.Id, channel.Name, why);
                await ChannelFailedAsync(channel, why, cancellationToken);
                return SendStatus.Refused;
        }
    }

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1: doubling from the first backoff up to the maximum, varied by the jitter.</summary>
    internal TimeSpan Backoff(int attempt)
    {
        var exponential = _options.InitialBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 30));
        var capped = Math.Min(exponential, _options.MaxBackoff.TotalMilliseconds);
#pragma warning disable CA5394 // jitter, not security
        var factor = 1 + ((Random.Shared.NextDouble() * 2) - 1) * _options.Jitter;
#pragma warning restore CA5394
        return TimeSpan.FromMilliseconds(capped * factor);
    }

    private async Task ChannelFailedAsync(NotificationChannel channel, string reason, CancellationToken cancellationToken)
    {
        var (since, alerted) = await _outbox.ChannelFailedAsync(channel.Name, reason, cancellationToken);
        var now = _time.GetUtcNow();
        if (alerted || now - since < _options.ChannelAlertAfter)
        {
            return;
        }

        var others = _plan.Notifications.Channels.Where(c => c.Name != channel.Name && c.Kind != "manual").Select(c => c.Name).ToList();
        var summary = $"notification channel {channel.Name} ({channel.Kind}) has been failing for {Fmt(now - since)}: {reason}";
        Log.ChannelFailing(_logger, channel.Name, Fmt(now - since), reason);
        if (others.Count > 0)
        {
            await _outbox.EnqueueAsync(new Notice
            {
                Id = $"channel-failing-{channel.Name}-{since.ToUnixTimeMilliseconds()}",
                IncidentId = $"channel-{channel.Name}",
                Action = NoticeAction.Trigger,
                Severity = Severities.Error,
                Summary = summary,
                Body = $"Lifeline cannot deliver notifications to the channel **{channel.Name}** ({channel.Kind}) since {since:u}.\n\n" +
                    $"Last failure: {reason}\n\nCheck the channel's settings and secret (`lifeline notify ls`, `lifeline notify test {channel.Name}`).",
                Uses = ["immediate", "status"],
                Time = now,
            }, others, cancellationToken);
        }

        await _outbox.ChannelAlertedAsync(channel.Name, cancellationToken);
        await SignalAsync(channel, healthy: false, summary, cancellationToken);
    }

    private async Task SignalAsync(NotificationChannel channel, bool healthy, string summary, CancellationToken cancellationToken)
    {
        if (_signals() is not { } signals)
        {
            return;
        }

        try
        {
            await signals.RaiseAsync(new IncidentSignal
            {
                Cause = "channel:" + channel.Name,
                Kind = SignalKinds.ChannelFailing,
                Healthy = healthy,
                Severity = Severities.Error,
                Summary = summary,
                Time = _time.GetUtcNow(),
            }, cancellationToken);
        }
        catch (Exception e) when (e is RecoveryException or IOException or InvalidOperationException)
        {
            Log.ChannelSignalFailed(_logger, channel.Name, e.Message);
        }
    }

    private static string Fmt(TimeSpan t) => t.TotalMinutes >= 1 ? $"{Math.Round(t.TotalMinutes)} min" : $"{Math.Round(t.TotalSeconds)} s";

    /// <inheritdoc/>
    public void Dispose()
    {
        _sender.Dispose();
        _round.Dispose();
    }
}
