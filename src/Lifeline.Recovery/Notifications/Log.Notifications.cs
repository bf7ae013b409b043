using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery;

/// <summary>The log events of the notifications (Notifications/), ids 6701-6729. No event carries a secret: every
/// reason is redacted before it gets here (ChannelChecks.Redact).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6701, Level = LogLevel.Information, Message = "Notice {NoticeId} delivered to {Channel} ({Kind}) at attempt {Attempt}")]
    public static partial void DeliverySent(ILogger logger, string noticeId, string channel, string kind, int attempt);

    [LoggerMessage(EventId = 6702, Level = LogLevel.Warning, Message = "Notice {NoticeId} to {Channel} failed at attempt {Attempt}, retrying in {Seconds:0.#} s: {Reason}")]
    public static partial void DeliveryRetrying(ILogger logger, string noticeId, string channel, int attempt, string reason, double seconds);

    [LoggerMessage(EventId = 6703, Level = LogLevel.Error, Message = "Notice {NoticeId} to {Channel} is dead: {Reason}")]
    public static partial void DeliveryDead(ILogger logger, string noticeId, string channel, string reason);

    [LoggerMessage(EventId = 6704, Level = LogLevel.Error, Message = "Notification channel {Channel} has been failing for {Duration}: {Reason}; alerting the other channels")]
    public static partial void ChannelFailing(ILogger logger, string channel, string duration, string reason);

    [LoggerMessage(EventId = 6705, Level = LogLevel.Information, Message = "Notification channel {Channel} delivers again")]
    public static partial void ChannelRecovered(ILogger logger, string channel);

    [LoggerMessage(EventId = 6706, Level = LogLevel.Warning, Message = "The channel-failing signal of {Channel} could not be raised: {Reason}")]
    public static partial void ChannelSignalFailed(ILogger logger, string channel, string reason);

    [LoggerMessage(EventId = 6707, Level = LogLevel.Information, Message = "Notification channel probe: {Line}")]
    public static partial void ChannelProbeOk(ILogger logger, string line);

    [LoggerMessage(EventId = 6708, Level = LogLevel.Warning, Message = "Notification channel probe: {Line}")]
    public static partial void ChannelProbeFailed(ILogger logger, string line);

    [LoggerMessage(EventId = 6709, Level = LogLevel.Error, Message = "The notification deliverer's round failed: {Reason}")]
    public static partial void DelivererRoundFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6710, Level = LogLevel.Debug, Message = "Heartbeat sent to {Host}: {Status}")]
    public static partial void HeartbeatSent(ILogger logger, string host, int status);

    [LoggerMessage(EventId = 6711, Level = LogLevel.Warning, Message = "Heartbeat to {Host} failed: {Reason}")]
    public static partial void HeartbeatMissed(ILogger logger, string host, string reason);
}
