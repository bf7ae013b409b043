using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery;

/// <summary>The log events of the incidents (Incidents/ and the incidents service of <c>up</c>), ids 6701-6719.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6701, Level = LogLevel.Warning, Message = "Incident {Id} opened on {Cause}: severity {Severity}, owner {Role}")]
    public static partial void IncidentOpened(ILogger logger, string id, string cause, string severity, string role);

    [LoggerMessage(EventId = 6702, Level = LogLevel.Information, Message = "Incident {Id} acknowledged by {Who}")]
    public static partial void IncidentAcknowledged(ILogger logger, string id, string who);

    [LoggerMessage(EventId = 6703, Level = LogLevel.Information, Message = "Incident {Id} on {Cause} resolved ({How})")]
    public static partial void IncidentResolved(ILogger logger, string id, string cause, string how);

    [LoggerMessage(EventId = 6704, Level = LogLevel.Information, Message = "Notice {Notice} ({Action}, for {Uses}) enqueued")]
    public static partial void NoticeEnqueued(ILogger logger, string notice, string action, string uses);

    [LoggerMessage(EventId = 6705, Level = LogLevel.Warning, Message = "The incident timeline could not send its due notices (retried at the next round): {Reason}")]
    public static partial void TimelineFailed(ILogger logger, string reason);

    [LoggerMessage(EventId = 6706, Level = LogLevel.Warning, Message = "An incident source round failed (retried at the next round): {Source}: {Reason}")]
    public static partial void IncidentSourceFailed(ILogger logger, string source, string reason);

    [LoggerMessage(EventId = 6707, Level = LogLevel.Warning, Message = "No notification outbox is wired into up: notice {Notice} for incident {Incident} is only logged: {Summary}")]
    public static partial void NoticeOnlyLogged(ILogger logger, string notice, string incident, string summary);
}
