using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Failover;

/// <summary>An operational alert (notifications will route these to people).</summary>
public sealed record Alert(DateTimeOffset At, string Severity, string Kind, string Message);

/// <summary>Where alerts go; notifications plug in here.</summary>
public interface IAlertSink
{
    /// <summary>Raises the alert; must not throw for delivery failures it can retry itself.</summary>
    Task RaiseAsync(Alert alert, CancellationToken cancellationToken);
}

/// <summary>Writes alerts to the log (event 5009) until notifications exist.</summary>
internal sealed class LoggingAlertSink(ILogger<LoggingAlertSink> logger) : IAlertSink
{
    public Task RaiseAsync(Alert alert, CancellationToken cancellationToken)
    {
        Log.Alert(logger, alert.Severity, alert.Kind, alert.Message);
        return Task.CompletedTask;
    }
}
