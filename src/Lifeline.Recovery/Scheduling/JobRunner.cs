using System.Diagnostics;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Scheduling;

/// <summary>Why a run started.</summary>
public static class JobCauses
{
    /// <summary>Its slot came.</summary>
    public const string Schedule = "schedule";
    /// <summary>One run for one or more slots missed while the scheduler was down (backups and batch jobs).</summary>
    public const string Coalesced = "coalesced";
    /// <summary><c>lifeline jobs run NAME</c>.</summary>
    public const string Manual = "manual";
    /// <summary>Quartz re-fired a run its previous process did not finish.</summary>
    public const string Recovery = "recovery";
}

/// <summary>
/// Runs one job as its policy says, whoever fires it (Quartz, <c>lifeline jobs run</c>): skips it while paused, gives
/// every attempt its timeout (measured on the <see cref="TimeProvider"/>; a body that ignores cancellation is abandoned
/// at its timeout so it never holds the others), retries a failure after the job's delay, and records every attempt
/// in the store's history before it starts and when it ends. Never throws for a job's failure.
/// </summary>
internal sealed class JobRunner(SchedulerStore store, PlanSchedulerOptions options, TimeProvider time, ILogger logger)
{
    private volatile LifelinePlan _plan = new() { Objectives = new PlanObjectives { Rto = new(null, null), Rpo = new(null, null) } };
    private volatile IReadOnlyDictionary<string, ScheduledJob> _jobs = new Dictionary<string, ScheduledJob>();

    public LifelinePlan Plan => _plan;

    public IReadOnlyDictionary<string, ScheduledJob> Jobs => _jobs;

    public void Use(LifelinePlan plan, IReadOnlyList<ScheduledJob> jobs)
    {
        _plan = plan;
        _jobs = jobs.ToDictionary(j => j.Name, StringComparer.Ordinal);
    }

    /// <summary>Runs <paramref name="name"/> to its end (every retry included); returns the attempts, or none when paused or unknown.</summary>
    public async Task<IReadOnlyList<JobRunRecord>> RunAsync(string name, string cause, DateTimeOffset? scheduledAt, CancellationToken stopping)
    {
        if (!_jobs.TryGetValue(name, out var job))
        {
            return [];
        }

        if (cause != JobCauses.Manual && (await store.PausesAsync(stopping)).TryGetValue(name, out var pause))
        {
            Log.JobSkippedPaused(logger, name, pause.Reason, scheduledAt);
            return [];
        }

        var attempts = new List<JobRunRecord>();
        for (var attempt = 1; ; attempt++)
        {
            var run = await store.StartRunAsync(job.Name, job.KindWord, cause, attempt, scheduledAt, CancellationToken.None);
            var (outcome, message) = await AttemptAsync(job, stopping);
            run = await store.FinishRunAsync(run, outcome, message is null ? null : LocationSet.FirstLine(Secrets.RedactText(message)), CancellationToken.None);
            attempts.Add(run);
            if (outcome is JobOutcomes.Ok or JobOutcomes.NotImplemented)
            {
                Log.JobFinished(logger, job.Name, attempt, cause, outcome, run.Duration?.TotalSeconds ?? 0);
                return attempts;
            }

            Log.JobFailed(logger, job.Name, attempt, outcome, run.Message ?? outcome);
            if (stopping.IsCancellationRequested || attempt > job.Retries)
            {
                return attempts;
            }

            try
            {
                await Task.Delay(job.RetryDelay, time, stopping);
            }
            catch (OperationCanceledException)
            {
                return attempts;
            }
        }
    }

    private async Task<(string Outcome, string? Message)> AttemptAsync(ScheduledJob job, CancellationToken stopping)
    {
        using var timeout = new CancellationTokenSource(job.Timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stopping, timeout.Token);
        Task<(string, string?)> body;
        try
        {
            body = BodyAsync(job, linked.Token);
        }
        catch (Exception e)
        {
            return (JobOutcomes.Failed, e.Message);
        }

        try
        {
            return await body.WaitAsync(linked.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stopping.IsCancellationRequested)
        {
            Observe(body);
            return (JobOutcomes.TimedOut, $"did not finish within its timeout of {PlanDuration.Format(job.Timeout)}; cancelled");
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
            Observe(body);
            return (JobOutcomes.Interrupted, "the scheduler stopped while it ran");
        }
        catch (Exception e)
        {
            return (JobOutcomes.Failed, e.Message);
        }
    }

    /// <summary>A body abandoned at its timeout may still fail later: its exception is observed, not lost to the finalizer.</summary>
    private static void Observe(Task task) => task.ContinueWith(t => _ = t.Exception, TaskScheduler.Default);

    private Task<(string, string?)> BodyAsync(ScheduledJob job, CancellationToken ct) => job.Kind switch
    {
        ScheduledJobKind.Backup => BackupAsync(job, ct),
        ScheduledJobKind.Check => CheckAsync(job, ct),
        ScheduledJobKind.Drill => Task.FromResult<(string, string?)>((JobOutcomes.NotImplemented, "drills are not implemented until the drills issue; this run only records the slot")),
        ScheduledJobKind.Forget => ForgetAsync(job, ct),
        ScheduledJobKind.Prune => PruneAsync(ct),
        _ => BatchAsync(job, ct),
    };

    private async Task<(string, string?)> BackupAsync(ScheduledJob job, CancellationToken ct)
    {
        if (options.Recovery is null)
        {
            return (JobOutcomes.Failed, "no recovery service is configured for the scheduler (PlanSchedulerOptions.Recovery)");
        }

        var service = await options.Recovery(_plan, ct);
        var results = await service.BackupAsync(job.Components, new BackupRunOptions { Full = job.Full }, null, ct);
        var failed = results.Where(r => r.Outcome == AuditOutcomes.Failed).ToList();
        if (failed.Count > 0)
        {
            return (JobOutcomes.Failed, $"{failed.Count} of {results.Count} backups failed; {failed[0].Component}: {failed[0].Message}");
        }

        var partial = results.Where(r => r.Outcome == AuditOutcomes.Partial).Select(r => r.Component).ToList();
        return (JobOutcomes.Ok, partial.Count > 0
            ? $"{results.Count} backed up; not yet in every location: {string.Join(", ", partial)}"
            : $"{results.Count} backed up ({string.Join(", ", results.Select(r => r.Point?.ShortId is { } id ? $"{r.Component} {id}" : r.Component))})");
    }

    /// <summary>The plan's retention (<c>lifeline forget</c>) for the components whose policy has one; failed when a
    /// location could not be served or holds unreadable snapshots. A component with no snapshot yet in a location
    /// (before its first backup) is a note, not a failure: there is nothing to thin out.</summary>
    private async Task<(string, string?)> ForgetAsync(ScheduledJob job, CancellationToken ct)
    {
        if (options.Recovery is null)
        {
            return (JobOutcomes.Failed, "no recovery service is configured for the scheduler (PlanSchedulerOptions.Recovery)");
        }

        var service = await options.Recovery(_plan, ct);
        var known = job.Components.Where(c => _plan.FindComponent(c) is not null).ToList();
        var result = await service.ForgetAsync(known, dryRun: false, ct);
        var removed = result.Outcomes.Sum(o => o.Result.Remove.Count);
        var kept = result.Outcomes.Sum(o => o.Result.Keep.Count);
        var failures = result.Findings.Where(f => f.Rule != "retention-selects-nothing").ToList();
        if (failures.Count > 0)
        {
            return (JobOutcomes.Failed, $"{failures.Count} retention finding{(failures.Count == 1 ? "" : "s")}: {failures[0]}{More(failures.Count)}");
        }

        var empty = result.Findings.Select(f => f.Component).Distinct().ToList();
        return (JobOutcomes.Ok, $"removed {removed} snapshots, kept {kept} in {result.Outcomes.Select(o => o.Location).Distinct().Count()} locations"
                                + (empty.Count == 0 ? "" : $"; no snapshot yet of {string.Join(", ", empty)} in some location"));
    }

    /// <summary>Prunes every location of the plan's policies (<c>vault prune</c>); failed when one could not be pruned.</summary>
    private async Task<(string, string?)> PruneAsync(CancellationToken ct)
    {
        if (options.Recovery is null)
        {
            return (JobOutcomes.Failed, "no recovery service is configured for the scheduler (PlanSchedulerOptions.Recovery)");
        }

        var service = await options.Recovery(_plan, ct);
        var result = await service.PruneAsync(dryRun: false, ct);
        var summary = $"{result.Outcomes.Count} locations pruned: {result.Outcomes.Sum(o => o.Result.PacksDeleted)} packs deleted, "
                      + $"{result.Outcomes.Sum(o => o.Result.PacksRewritten)} rewritten, {result.Outcomes.Sum(o => o.Result.BytesFreed)} bytes freed";
        return result.Ok
            ? (JobOutcomes.Ok, summary)
            : (JobOutcomes.Failed, $"{result.Findings.Count} of {result.Findings.Count + result.Outcomes.Count} locations not pruned: {result.Findings[0]}{More(result.Findings.Count)}; {summary}");
    }

    private static string More(int count) => count > 1 ? $" (and {count - 1} more)" : "";

    /// <summary>The plan check's <c>run:</c> list through the verification runner; failed when any check failed.</summary>
    private async Task<(string, string?)> CheckAsync(ScheduledJob job, CancellationToken ct)
    {
        if (options.Recovery is null)
        {
            return (JobOutcomes.Failed, "no recovery service is configured for the scheduler (PlanSchedulerOptions.Recovery)");
        }

        var run = job.Name.StartsWith("check-", StringComparison.Ordinal) ? job.Name["check-".Length..] : job.Name;
        var plan = _plan;
        var checks = Verification.VerificationRunner.ChecksOf(plan, run);
        var service = await options.Recovery(plan, ct);
        var context = new Verification.VerificationContext
        {
            Plan = plan,
            Service = service,
            Locations = service.Locations,
            Run = run,
            ScratchDirectory = options.ScratchDirectory ?? Path.Combine(Path.GetTempPath(), "lifeline-verify"),
            Time = time,
            Logger = logger,
            Signals = options.Signals,
        };
        var result = await (options.Verification ?? Verification.VerificationRunner.BuiltIn()).RunAsync(context, checks, ct);
        var failed = result.Records.Where(r => !r.Passed).ToList();
        var missing = result.Checks.Where(c => !c.Available).Select(c => c.Check).ToList();
        var notRun = missing.Count == 0 ? "" : $"; not available here: {string.Join(", ", missing)}";
        return failed.Count > 0
            ? (JobOutcomes.Failed, $"{failed.Count} of {result.Records.Count()} checks failed; {failed[0].Check} {failed[0].Component ?? failed[0].Location}: {failed[0].Summary}{notRun}")
            : (JobOutcomes.Ok, $"{result.Records.Count()} checks passed ({string.Join(", ", result.Checks.Where(c => c.Available).Select(c => c.Check))}){notRun}");
    }

    private async Task<(string, string?)> BatchAsync(ScheduledJob job, CancellationToken ct)
    {
        var batch = job.Batch!;
        var argv = batch.BuiltIn is { } builtIn ? [.. LifelineCommand(), builtIn, .. batch.Args] : batch.Command.ToList();
        var start = new ProcessStartInfo(argv[0])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
            WorkingDirectory = options.WorkingDirectory ?? Directory.GetCurrentDirectory(),
        };
        foreach (var arg in argv.Skip(1))
        {
            start.ArgumentList.Add(arg);
        }

        using var process = new Process { StartInfo = start };
        string? lastError = null;
        process.ErrorDataReceived += (_, e) =>
        {
            if (!string.IsNullOrWhiteSpace(e.Data))
            {
                lastError = e.Data.Trim();
            }
        };
        process.OutputDataReceived += (_, _) => { };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            return (JobOutcomes.Failed, $"cannot start '{argv[0]}': {e.Message}");
        }

        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        try
        {
            await process.WaitForExitAsync(ct);
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // it exited meanwhile
            }

            throw;
        }

        return process.ExitCode == 0
            ? (JobOutcomes.Ok, null)
            : (JobOutcomes.Failed, $"exit {process.ExitCode}{(lastError is null ? "" : $": {lastError}")}");
    }

    private IReadOnlyList<string> LifelineCommand()
    {
        if (options.LifelineCommand is { Count: > 0 } given)
        {
            return given;
        }

        var self = Environment.ProcessPath;
        return self is not null && Path.GetFileNameWithoutExtension(self) == "lifeline" ? [self] : ["lifeline"];
    }
}
