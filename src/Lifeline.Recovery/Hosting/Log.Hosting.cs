using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery;

/// <summary>The log events of <c>lifeline up</c> (Hosting/), ids 6101-6119.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Deployment service {Service} started: {Endpoint}")]
    public static partial void ServiceStarted(ILogger logger, string service, string endpoint);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Error, Message = "Deployment service {Service} failed to start: {Reason}")]
    public static partial void ServiceStartFailed(ILogger logger, string service, string reason);

    [LoggerMessage(EventId = 6303, Level = LogLevel.Information, Message = "Deployment service {Service} stopped")]
    public static partial void ServiceStopped(ILogger logger, string service);

    [LoggerMessage(EventId = 6304, Level = LogLevel.Error, Message = "Deployment service {Service} did not stop cleanly: {Reason}")]
    public static partial void ServiceStopFailed(ILogger logger, string service, string reason);

    [LoggerMessage(EventId = 6305, Level = LogLevel.Information, Message = "No Production version of {Model}: trained and promoted version {Version} (held-out AUC {Auc:0.000})")]
    public static partial void FirstModelTrained(ILogger logger, string model, string version, double auc);

    [LoggerMessage(EventId = 6310, Level = LogLevel.Information, Message = "Plan reloaded from {File}: {What}")]
    public static partial void PlanReloaded(ILogger logger, string file, string what);

    [LoggerMessage(EventId = 6311, Level = LogLevel.Error, Message = "Plan reload failed, the running plan is kept ({File}): {Error}")]
    public static partial void PlanReloadFailed(ILogger logger, string file, string error);
}
