using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery;

/// <summary>The scheduler's log events (61xx), beside Recovery's own in <c>Log.cs</c>; ids are stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6201, Level = LogLevel.Information, Message = "Scheduler started on {Store}: {Jobs} jobs")]
    public static partial void SchedulerStarted(ILogger logger, string store, int jobs);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Schedules reconciled with the plan: {Added} added, {Changed} changed, {Removed} removed")]
    public static partial void Reconciled(ILogger logger, int added, int changed, int removed);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Error, Message = "Plan reload refused, the running schedules are kept: {Reason}")]
    public static partial void ReloadRefused(ILogger logger, string reason);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Information, Message = "Job {Job} attempt {Attempt} ({Cause}) finished {Outcome} in {Seconds:0.###}s")]
    public static partial void JobFinished(ILogger logger, string job, int attempt, string cause, string outcome, double seconds);

    [LoggerMessage(EventId = 6205, Level = LogLevel.Warning, Message = "Job {Job} attempt {Attempt} {Outcome}: {Reason}")]
    public static partial void JobFailed(ILogger logger, string job, int attempt, string outcome, string reason);

    [LoggerMessage(EventId = 6206, Level = LogLevel.Warning, Message = "Job {Job} run {RunId} was still marked running at start-up: recorded as interrupted")]
    public static partial void JobInterrupted(ILogger logger, string job, string runId);

    [LoggerMessage(EventId = 6207, Level = LogLevel.Information, Message = "Job {Job} is paused ({Reason}): its slot at {Slot} is skipped")]
    public static partial void JobSkippedPaused(ILogger logger, string job, string reason, DateTimeOffset? slot);

    [LoggerMessage(EventId = 6208, Level = LogLevel.Information, Message = "Scheduler stopped")]
    public static partial void SchedulerStopped(ILogger logger);

    [LoggerMessage(EventId = 6209, Level = LogLevel.Information, Message = "Job {Job}: the {Cause} firing for the slot at {Slot} is skipped: a run started at {Covered} succeeded after it")]
    public static partial void FiringCovered(ILogger logger, string job, string cause, DateTimeOffset slot, DateTimeOffset covered);
}
