using Lifeline.Recovery.Scheduling;

namespace Lifeline.Recovery.Status;

/// <summary>One scheduled job's place in <c>lifeline status</c>.</summary>
/// <param name="Job">Its name.</param>
/// <param name="Kind">backup, check, drill or batch.</param>
/// <param name="Color">Red when its last run failed, timed out or was interrupted, or its pause takes a component past
/// its RPO maximum; amber while paused; green otherwise.</param>
/// <param name="Reason">Why, one line.</param>
/// <param name="NextRun">Its next slot, if any.</param>
/// <param name="Pause">Its pause, if one holds.</param>
/// <param name="LastRun">Its newest attempt, if any.</param>
public sealed record JobStatus(string Job, string Kind, StatusColor Color, string Reason, DateTimeOffset? NextRun, JobPause? Pause, JobRunRecord? LastRun);

/// <summary>Turns the scheduler's jobs into status lines (docs/scheduling.md, "Status").</summary>
public static class JobStatusCalculator
{
    /// <summary>The status of each job, in the order given.</summary>
    public static IReadOnlyList<JobStatus> Compute(IReadOnlyList<ScheduledJobInfo> jobs, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(jobs);
        return jobs.Select(j => Compute(j, now)).ToList();
    }

    private static JobStatus Compute(ScheduledJobInfo info, DateTimeOffset now)
    {
        var (color, reason) = info switch
        {
            { PauseWarning: { } warning } => (StatusColor.Red, $"paused ({info.Pause!.Reason}): {warning}"),
            { LastRun.Outcome: JobOutcomes.Failed or JobOutcomes.TimedOut or JobOutcomes.Interrupted } =>
                (StatusColor.Red, $"last run {info.LastRun!.Outcome} at {info.LastRun.StartedAt:yyyy-MM-dd HH:mm}Z (attempt {info.LastRun.Attempt}): {info.LastRun.Message}"),
            { Pause: { } pause } => (StatusColor.Amber, $"paused by {pause.PausedBy ?? "someone"}: {pause.Reason}" + (pause.Until is { } u ? $" (until {u:yyyy-MM-dd HH:mm}Z)" : " (until resumed)")),
            { LastRun: { } last } => (StatusColor.Green, $"last run {last.Outcome} at {last.StartedAt:yyyy-MM-dd HH:mm}Z"),
            _ => (StatusColor.Green, "not run yet"),
        };
        return new JobStatus(info.Job.Name, info.Job.KindWord, color, reason, info.NextRun, info.Pause, info.LastRun);
    }
}
