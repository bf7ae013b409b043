using System.CommandLine;
using System.Globalization;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Lifeline.Recovery.Status;
using Spectre.Console;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline jobs ls|run NAME|history [NAME]|pause NAME --reason R [--until T]|resume NAME</c>: the plan's scheduled
/// jobs over the scheduler's store (docs/cli.md "lifeline jobs", docs/scheduling.md). No running scheduler is needed:
/// pauses and the history are in the store, which a running <c>lifeline up</c> reads at each slot; <c>run</c> runs
/// the job in this process, with its timeout and retries, recorded in the same history.
/// </summary>
internal static class JobsCommands
{
    /// <summary>The scheduler store's variable: a SQLite file or a PostgreSQL connection string.</summary>
    public const string StoreVariable = "LIFELINE_SCHEDULER_STORE";

    /// <summary>The store file under the plan's directory when neither the option nor the variable names one.</summary>
    public static readonly string DefaultStore = Path.Combine("lifeline-data", "scheduler", "jobs.db");

    public static Command Create()
    {
        var command = new Command("jobs", "The plan's scheduled jobs: next runs, history, run now, pause and resume");
        command.Subcommands.Add(CreateList());
        command.Subcommands.Add(CreateRun());
        command.Subcommands.Add(CreateHistory());
        command.Subcommands.Add(CreatePause());
        command.Subcommands.Add(CreateResume());
        return command;
    }

    /// <summary><c>--scheduler-store</c>: shared with <c>lifeline status</c>.</summary>
    public static Option<string?> StoreOption() => new("--scheduler-store")
    {
        Description = $"The scheduler's store: a SQLite file or a PostgreSQL connection string (default: ${StoreVariable}, else {DefaultStore} beside the plan)",
    };

    private static Option<string> PlanOption() => CommonOptions.PlanFile("The plan file");

    private static Command CreateList()
    {
        var plan = PlanOption();
        var store = StoreOption();
        var command = new Command("ls", "Every job of the plan: kind, schedule, next run, pause, last run") { plan, store };
        command.Run(async (context, ct) =>
        {
            var jobs = await OpenAsync(context, context.Get(plan)!, context.Get(store), ct);
            var list = await jobs.ListAsync(ct);
            var status = JobStatusCalculator.Compute(list, context.Time.GetUtcNow());
            context.Console.Document(new { jobs = list.Zip(status, Json) });
            context.Console.Table(
                ["job", "kind", "schedule", "next run", "status", "last run"],
                list.Zip(status, (j, s) => (IReadOnlyList<string>)
                [
                    j.Job.Name, j.Job.KindWord, j.Job.Schedule + (j.Job.TimeZone is { } tz ? $" ({tz})" : ""),
                    (j.NextRun is { } n ? CliConsole.Time(n) : "-") + (j.Scheduled == false ? " (not scheduled yet)" : ""), StatusWord(s), j.LastRun is { } r ? $"{r.Outcome} {CliConsole.Time(r.StartedAt)}" : "never",
                ]),
                cellColor: (row, column) => column == 4 ? ColorOf(status[row].Color) : null);
            foreach (var s in status.Where(s => s.Color != StatusColor.Green))
            {
                context.Console.Line($"{s.Job}: {s.Reason}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateRun()
    {
        var name = new Argument<string>("NAME") { Description = "The job to run now (see 'lifeline jobs ls')" };
        var plan = PlanOption();
        var store = StoreOption();
        var command = new Command("run", $"Run a job now in this process, with its timeout and retries, recorded in the history (exit {ExitCodes.JobFailed} when it fails)")
        {
            name, plan, store,
        };
        command.Run(async (context, ct) =>
        {
            RecoverySession? session = null;
            try
            {
                var path = context.Get(plan)!;
                var jobs = await OpenAsync(context, path, context.Get(store), ct, async (_, token) =>
                {
                    session ??= await RecoverySession.OpenAsync(context, path, initializeMissing: true, restoreRoot: null, token);
                    return session.Service;
                });
                var job = jobs.Find(context.Get(name)!);
                var attempts = await context.WithActivityAsync($"running {job.Name}", () => jobs.RunAsync(job.Name, ct));
                context.Console.Document(new { job = job.Name, ok = attempts.Count > 0 && IsGood(attempts[^1].Outcome), attempts = attempts.Select(Json) });
                context.Console.Table(
                    ["attempt", "outcome", "started", "duration", "message"],
                    attempts.Select(a => (IReadOnlyList<string>)
                    [
                        a.Attempt.ToString(CultureInfo.InvariantCulture), a.Outcome, CliConsole.Time(a.StartedAt), a.Duration is { } d ? RecoveryCommands.Duration(d) : "-", a.Message ?? "",
                    ]),
                    cellColor: (row, column) => column == 1 ? OutcomeColor(attempts[row].Outcome) : null);
                var last = attempts.Count == 0 ? null : attempts[^1];
                if (last is null || !IsGood(last.Outcome))
                {
                    throw new CliException(ExitCodes.JobFailed, last is null
                        ? $"job {job.Name} did not run"
                        : $"job {job.Name} {last.Outcome} after {attempts.Count} attempt{(attempts.Count == 1 ? "" : "s")}: {last.Message}");
                }

                return ExitCodes.Ok;
            }
            finally
            {
                if (session is not null)
                {
                    await session.DisposeAsync();
                }
            }
        });
        return command;
    }

    private static Command CreateHistory()
    {
        var name = new Argument<string?>("NAME") { Description = "Only this job's runs", Arity = ArgumentArity.ZeroOrOne };
        var limit = new Option<int>("--limit") { Description = "At most this many attempts, newest first (default 50)", DefaultValueFactory = _ => 50 };
        var plan = PlanOption();
        var store = StoreOption();
        var command = new Command("history", "The runs of the jobs, one line per attempt, newest first") { name, limit, plan, store };
        command.Run(async (context, ct) =>
        {
            if (context.Get(limit) < 1)
            {
                throw new UsageException("--limit must be at least 1");
            }

            var jobs = await OpenAsync(context, context.Get(plan)!, context.Get(store), ct);
            var runs = await jobs.HistoryAsync(context.Get(name), context.Get(limit), ct);
            context.Console.Document(new { runs = runs.Select(Json) });
            context.Console.Table(
                ["started", "job", "cause", "attempt", "outcome", "duration", "message"],
                runs.Select(r => (IReadOnlyList<string>)
                [
                    CliConsole.Time(r.StartedAt), r.Job, r.Cause, r.Attempt.ToString(CultureInfo.InvariantCulture), r.Outcome,
                    r.Duration is { } d ? RecoveryCommands.Duration(d) : "-", r.Message ?? "",
                ]),
                cellColor: (row, column) => column == 4 ? OutcomeColor(runs[row].Outcome) : null);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreatePause()
    {
        var name = new Argument<string>("NAME") { Description = "The job to pause" };
        var reason = new Option<string>("--reason") { Description = "Why (required: shown by 'lifeline status' until it is resumed)", Required = true };
        var until = CommonOptions.Time("--until", "End the pause by itself at this time (default: until 'lifeline jobs resume')");
        var plan = PlanOption();
        var store = StoreOption();
        var command = new Command("pause", "Skip a job's slots until --until or 'jobs resume'; warns when the pause takes a component past its RPO maximum")
        {
            name, reason, until, plan, store,
        };
        command.Run(async (context, ct) =>
        {
            if (context.Get(until) is { } end && end <= context.Time.GetUtcNow())
            {
                throw new UsageException($"--until {CliConsole.Time(end)} is not in the future");
            }

            var jobs = await OpenAsync(context, context.Get(plan)!, context.Get(store), ct);
            var job = jobs.Find(context.Get(name)!);
            var warning = await jobs.PauseAsync(job.Name, context.Get(reason)!, context.Get(until), Environment.UserName, ct);
            var pause = (await jobs.ListAsync(ct)).Single(j => j.Job.Name == job.Name);
            context.Console.Document(new { job = job.Name, paused = true, reason = pause.Pause?.Reason, until = pause.Pause?.Until, nextRun = pause.NextRun, rpoWarning = warning });
            context.Console.Line($"paused {job.Name}: {pause.Pause?.Reason}" + (pause.Pause?.Until is { } u ? $" until {CliConsole.Time(u)}" : " until 'lifeline jobs resume'"));
            if (warning is not null)
            {
                context.Console.Warning(warning);
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateResume()
    {
        var name = new Argument<string>("NAME") { Description = "The job to resume" };
        var plan = PlanOption();
        var store = StoreOption();
        var command = new Command("resume", "End a job's pause: it runs again at its next slot") { name, plan, store };
        command.Run(async (context, ct) =>
        {
            var jobs = await OpenAsync(context, context.Get(plan)!, context.Get(store), ct);
            var job = jobs.Find(context.Get(name)!);
            var wasPaused = await jobs.ResumeAsync(job.Name, ct);
            var next = (await jobs.ListAsync(ct)).Single(j => j.Job.Name == job.Name).NextRun;
            context.Console.Document(new { job = job.Name, wasPaused, nextRun = next });
            context.Console.Line(wasPaused
                ? $"resumed {job.Name}; next run {(next is { } n ? CliConsole.Time(n) : "none")}"
                : $"{job.Name} was not paused; next run {(next is { } n2 ? CliConsole.Time(n2) : "none")}");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The jobs of <c>lifeline status</c>: empty when no scheduler store exists yet (nothing was ever scheduled).</summary>
    internal static async Task<IReadOnlyList<JobStatus>> StatusJobsAsync(CommandContext context, string planPath, string? storeOption, CancellationToken ct)
    {
        var options = StoreOptions(planPath, storeOption);
        if (options.Kind == SchedulerStoreKind.Sqlite && !File.Exists(options.Describe()))
        {
            return [];
        }

        try
        {
            var jobs = await OpenAsync(context, planPath, storeOption, ct);
            return JobStatusCalculator.Compute(await jobs.ListAsync(ct), context.Time.GetUtcNow());
        }
        catch (InvalidOperationException e)
        {
            // the plan's jobs cannot be scheduled: status still shows the components, and this line says why it is red
            return [new JobStatus("scheduler", "scheduler", StatusColor.Red, e.Message, null, null, null)];
        }
    }

    private static SchedulerStoreOptions StoreOptions(string planPath, string? storeOption)
    {
        var value = storeOption ?? Environment.GetEnvironmentVariable(StoreVariable);
        return string.IsNullOrWhiteSpace(value)
            ? SchedulerStoreOptions.Sqlite(DefaultStorePath(planPath))
            : SchedulerStoreOptions.Parse(value);
    }

    /// <summary>The plan's own job store (<c>sources.data</c>/scheduler/jobs.db, the file the jobs adapter backs up and
    /// <c>lifeline up</c> uses); <see cref="DefaultStore"/> beside the plan when the plan cannot be read.</summary>
    private static string DefaultStorePath(string planPath)
    {
        var path = Path.GetFullPath(planPath);
        try
        {
            var parsed = File.Exists(path) ? PlanFile.Parse(File.ReadAllText(path), path) : null;
            if (parsed is { Succeeded: true, Plan: { } plan })
            {
                return Path.Combine(new ComponentSources(plan, Path.GetDirectoryName(path)).DataDirectory, ComponentSources.JobStoreFile);
            }
        }
        catch (Lifeline.Recovery.RecoveryException)
        {
            // a ${VAR} in sources.data is unset: the default below, and the plan's own error is reported where it is used
        }

        return Path.Combine(Path.GetDirectoryName(path)!, DefaultStore);
    }

    private static async Task<SchedulerJobs> OpenAsync(CommandContext context, string planPath, string? storeOption, CancellationToken ct,
        Func<LifelinePlan, CancellationToken, ValueTask<Lifeline.Recovery.RecoveryService>>? recovery = null)
    {
        var (plan, path) = await PlanAndData.LoadAsync(planPath, ct);
        var jobs = new SchedulerJobs(plan, new PlanSchedulerOptions
        {
            Store = StoreOptions(planPath, storeOption),
            Time = context.Time,
            Recovery = recovery,
            WorkingDirectory = Path.GetDirectoryName(path),
        });
        await jobs.InitializeAsync(ct);
        return jobs;
    }

    private static bool IsGood(string outcome) => outcome is JobOutcomes.Ok or JobOutcomes.NotImplemented;

    private static object Json(ScheduledJobInfo j, JobStatus s) => new
    {
        job = j.Job.Name,
        kind = j.Job.KindWord,
        schedule = j.Job.Schedule,
        timeZone = j.Job.TimeZone ?? "UTC",
        misfire = j.Job.Misfire.ToString().ToLowerInvariant(),
        timeoutSeconds = j.Job.Timeout.TotalSeconds,
        retries = j.Job.Retries,
        components = j.Job.Components,
        nextRun = j.NextRun,
        scheduled = j.Scheduled,
        status = StatusWord(s),
        reason = s.Reason,
        pause = j.Pause is { } p ? new { reason = p.Reason, pausedBy = p.PausedBy, pausedAt = p.PausedAt, until = p.Until } : null,
        rpoWarning = j.PauseWarning,
        lastRun = j.LastRun is { } r ? Json(r) : null,
    };

    private static object Json(JobRunRecord r) => new
    {
        runId = r.RunId,
        job = r.Job,
        kind = r.Kind,
        cause = r.Cause,
        attempt = r.Attempt,
        scheduledAt = r.ScheduledAt,
        startedAt = r.StartedAt,
        finishedAt = r.FinishedAt,
        durationSeconds = r.Duration is { } d ? Math.Round(d.TotalSeconds, 3) : (double?)null,
        outcome = r.Outcome,
        message = r.Message,
    };

    internal static string StatusWord(JobStatus s) => s.Color switch
    {
        StatusColor.Green => "green",
        StatusColor.Amber => "amber (paused)",
        _ => "red",
    };

    internal static Color? ColorOf(StatusColor color) => color switch
    {
        StatusColor.Green => Color.Green,
        StatusColor.Amber => Color.Orange1,
        _ => Color.Red,
    };

    private static Color? OutcomeColor(string outcome) => outcome switch
    {
        JobOutcomes.Ok => Color.Green,
        JobOutcomes.NotImplemented or JobOutcomes.Running => Color.Orange1,
        _ => Color.Red,
    };
}
