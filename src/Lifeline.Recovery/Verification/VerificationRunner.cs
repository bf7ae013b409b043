using System.Diagnostics;
using System.Net.Sockets;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Verification.Checks;
using Lifeline.Storage;
using Lifeline.Vault;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Verification;

/// <summary>A check name the plan does not know (<see cref="VerificationPlan.KnownChecks"/>).</summary>
public sealed class UnknownCheckException(string name, string message) : RecoveryException(message)
{
    /// <summary>The name given.</summary>
    public string Name { get; } = name;
}

/// <summary>One check of a run.</summary>
/// <param name="Check">Its name.</param>
/// <param name="Available">False when the plan names it but no implementation is here (its records are empty).</param>
/// <param name="Records">Its evidence, as stored (ids assigned).</param>
/// <param name="Note">Why it did not run, if so.</param>
public sealed record CheckRunResult(string Check, bool Available, IReadOnlyList<EvidenceRecord> Records, string? Note = null)
{
    /// <summary>True when it ran and every record passed.</summary>
    public bool Passed => Available && Records.All(r => r.Passed);
}

/// <summary>What a run did.</summary>
/// <param name="Checks">In the order run.</param>
/// <param name="Signals">The incident signals raised (bad and healthy).</param>
public sealed record VerificationRunResult(IReadOnlyList<CheckRunResult> Checks, IReadOnlyList<IncidentSignal> Signals)
{
    /// <summary>Every record of every check.</summary>
    public IEnumerable<EvidenceRecord> Records => Checks.SelectMany(c => c.Records);

    /// <summary>True when no record failed.</summary>
    public bool Passed => Records.All(r => r.Passed);
}

/// <summary>
/// Runs the plan's verification checks (docs/verification.md): each check by name (the checks a plan check's
/// <c>run:</c> lists, or one), one evidence record per result appended to the service's evidence log (kept in every
/// location), and for each failure an <see cref="IncidentSignal"/> with a stable cause: <c>location:NAME</c> when a
/// location could not be read (one cause, whatever the components), <c>check:CHECK:COMPONENT</c> otherwise; a healthy
/// signal when a cause that failed in its previous record passes again. A check the plan knows but this build does not
/// implement is reported as not available, never an error.
/// </summary>
public sealed class VerificationRunner
{
    private readonly Dictionary<string, IVerificationCheck> _checks;

    /// <summary>A runner over <paramref name="checks"/> (later ones of the same name replace earlier ones).</summary>
    public VerificationRunner(IEnumerable<IVerificationCheck> checks)
    {
        ArgumentNullException.ThrowIfNull(checks);
        _checks = new Dictionary<string, IVerificationCheck>(StringComparer.Ordinal);
        foreach (var c in checks)
        {
            _checks[c.Name] = c;
        }
    }

    /// <summary>The daily checks built in: backup-completed, size-in-range (with the incompressible-data alarm),
    /// integrity and replication; add the restore tests with <see cref="With"/>.</summary>
    public static VerificationRunner BuiltIn() => new(BuiltInChecks());

    /// <summary>The built-in checks: the daily ones and the weekly restore tests.</summary>
    public static IReadOnlyList<IVerificationCheck> BuiltInChecks() =>
        [new BackupCompletedCheck(), new SizeInRangeCheck(), new IntegrityCheck(), new ReplicationCheck(), .. RestoreTests.RestoreTestChecks.All()];

    /// <summary>This runner with <paramref name="more"/> checks too.</summary>
    public VerificationRunner With(IEnumerable<IVerificationCheck> more) => new(_checks.Values.Concat(more));

    /// <summary>The names this runner implements.</summary>
    public IReadOnlyCollection<string> Available => _checks.Keys;

    /// <summary>The checks of the plan's check <paramref name="run"/> (its <c>run:</c> list).</summary>
    public static IReadOnlyList<string> ChecksOf(LifelinePlan plan, string run)
    {
        ArgumentNullException.ThrowIfNull(plan);
        return plan.Verification.Checks.FirstOrDefault(c => c.Name == run)?.Run
            ?? throw new UnknownCheckException(run, $"the plan has no verification check '{run}': it names {Names(plan.Verification.Checks.Select(c => c.Name))}");
    }

    /// <summary>Runs <paramref name="checks"/> (every check the plan knows when empty) in <paramref name="context"/>.</summary>
    /// <exception cref="UnknownCheckException">A name is not one of <see cref="VerificationPlan.KnownChecks"/>.</exception>
    public async Task<VerificationRunResult> RunAsync(VerificationContext context, IReadOnlyList<string>? checks = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(context);
        var names = checks is { Count: > 0 } ? checks : VerificationPlan.KnownChecks;
        foreach (var name in names)
        {
            if (!VerificationPlan.KnownChecks.Contains(name) && !_checks.ContainsKey(name))
            {
                throw new UnknownCheckException(name, $"no verification check '{name}': the checks are {Names(VerificationPlan.KnownChecks)}{Suggestions.DidYouMean(name, VerificationPlan.KnownChecks)}");
            }
        }

        foreach (var component in context.Components)
        {
            _ = context.Plan.FindComponent(component)
                ?? throw new UnknownComponentException(component, $"the plan names {Names(context.Plan.Components.Select(c => c.Name))}{Suggestions.DidYouMean(component, context.Plan.Components.Select(c => c.Name).ToList())}");
        }

        var evidence = context.Service.Evidence;
        var before = await ReadStateAsync(evidence, cancellationToken);
        var results = new List<CheckRunResult>();
        // the restoring checks of one run share one restore per subject (restored once, judged by each)
        var restoring = names.Distinct(StringComparer.Ordinal).Select(n => _checks.GetValueOrDefault(n)).OfType<RestoreTests.IRestoringCheck>().ToList();
        Task<IReadOnlyDictionary<string, IReadOnlyList<EvidenceRecord>>>? shared = null;
        foreach (var name in names.Distinct(StringComparer.Ordinal))
        {
            if (!_checks.TryGetValue(name, out var check))
            {
                results.Add(new CheckRunResult(name, false, [], "not available in this build (the weekly restore tests come with their own change)"));
                continue;
            }

            IReadOnlyList<EvidenceRecord> found;
            var clock = Stopwatch.StartNew();
            try
            {
                found = check is RestoreTests.IRestoringCheck && restoring.Count > 1
                    ? (await (shared ??= RestoreTests.ScratchRestore.EachAsync(context, restoring.Select(r => r.Evaluator(context, cancellationToken)).ToList(), cancellationToken)))[name]
                    : await check.RunAsync(context, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                found = [new EvidenceRecord
                {
                    Check = name, Run = context.Run, Time = context.Time.GetUtcNow(), Duration = clock.Elapsed, Passed = false,
                    Summary = $"the check could not run: {LocationSet.FirstLine(Configuration.Secrets.RedactText(e.Message))}",
                }];
            }

            var stored = new List<EvidenceRecord>();
            foreach (var record in found)
            {
                try
                {
                    stored.Add(await evidence.AppendAsync(record with { Run = record.Run ?? context.Run }, cancellationToken));
                }
                catch (RecoveryException e)
                {
                    // no location takes it: the result still counts and is reported, only not kept
                    Log.EvidenceNotKept(Logger(context), record.Check, LocationSet.FirstLine(e.Message));
                    stored.Add(record);
                }
            }

            foreach (var r in stored.Where(r => !r.Passed))
            {
                Log.CheckFailed(Logger(context), r.Check, r.Component ?? r.Location ?? "-", r.Summary);
            }

            results.Add(new CheckRunResult(name, true, stored));
        }

        var signals = Signals(results.SelectMany(r => r.Records).ToList(), before, context.Time.GetUtcNow());
        if (context.Signals is { } sink)
        {
            foreach (var s in signals)
            {
                try
                {
                    await sink.RaiseAsync(s, cancellationToken);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    Log.SignalNotRaised(Logger(context), s.Cause, LocationSet.FirstLine(e.Message));
                }
            }
        }

        return new VerificationRunResult(results, signals);
    }

    /// <summary>The cause of <paramref name="record"/>: <c>location:NAME</c> for an unreadable location, else <c>check:CHECK:SUBJECT</c>.</summary>
    public static string CauseOf(EvidenceRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        return record.Unreachable && record.Location is { } l ? "location:" + l
            : $"check:{record.Check}:{record.Component ?? record.Location ?? "all"}";
    }

    /// <summary>The signals of one run: one per failing cause (a dead location once), and a healthy one for each cause
    /// whose previous record failed and whose records in this run all passed.</summary>
    internal static IReadOnlyList<IncidentSignal> Signals(IReadOnlyList<EvidenceRecord> records, IReadOnlyDictionary<string, bool> before, DateTimeOffset now)
    {
        var signals = new List<IncidentSignal>();
        var byCause = records.GroupBy(CauseOf, StringComparer.Ordinal);
        foreach (var group in byCause)
        {
            var failed = group.FirstOrDefault(r => !r.Passed);
            if (failed is not null)
            {
                var location = failed.Unreachable;
                signals.Add(new IncidentSignal
                {
                    Cause = group.Key,
                    Kind = location ? SignalKinds.LocationDown : SignalKinds.CheckFailed,
                    Severity = failed.Check == SizeInRangeCheck.IncompressibleCheck || location ? Severities.Critical : Severities.Error,
                    Summary = location
                        ? $"location {failed.Location} cannot be read ({group.Count()} checks affected): {failed.Summary}"
                        : $"{failed.Check} failed for {failed.Component ?? failed.Location ?? "the plan"}: {failed.Summary}",
                    Component = location ? null : failed.Component,
                    Location = failed.Location,
                    EvidenceId = failed.Id.Length > 0 ? failed.Id : null,
                    Time = now,
                });
            }
            else if (before.TryGetValue(group.Key, out var passedBefore) && !passedBefore)
            {
                var r = group.First();
                signals.Add(new IncidentSignal
                {
                    Cause = group.Key, Kind = r.Unreachable ? SignalKinds.LocationDown : SignalKinds.CheckFailed, Healthy = true, Severity = Severities.Info,
                    Summary = $"{r.Check} passes again for {r.Component ?? r.Location ?? "the plan"}: {r.Summary}",
                    Component = r.Component, Location = r.Location, EvidenceId = r.Id.Length > 0 ? r.Id : null, Time = now,
                });
            }
        }

        // a location read again in this run (a record about it that is not "unreadable") is healthy again
        foreach (var location in records.Where(r => !r.Unreachable && r.Location is not null).Select(r => r.Location!).Distinct(StringComparer.Ordinal))
        {
            var cause = "location:" + location;
            if (before.TryGetValue(cause, out var ok) && !ok && !signals.Any(s => s.Cause == cause))
            {
                signals.Add(new IncidentSignal
                {
                    Cause = cause, Kind = SignalKinds.LocationDown, Healthy = true, Severity = Severities.Info,
                    Summary = $"location {location} can be read again", Location = location, Time = now,
                });
            }
        }

        return signals;
    }

    /// <summary>The state of every cause by its newest record (true: passed).</summary>
    private static async Task<IReadOnlyDictionary<string, bool>> ReadStateAsync(IEvidenceLog evidence, CancellationToken ct)
    {
        var state = new Dictionary<string, bool>(StringComparer.Ordinal);
        try
        {
            await foreach (var r in evidence.ReadAsync(ct))
            {
                if (r.Check is "after-write" or "after-copy")
                {
                    continue;
                }

                state[CauseOf(r)] = r.Passed;
                if (!r.Unreachable && r.Location is { } l)
                {
                    state["location:" + l] = true;
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // no earlier evidence readable: no healthy signals this run
        }

        return state;
    }

    /// <summary>The components a check looks at.</summary>
    internal static IReadOnlyList<PlanComponent> ComponentsOf(VerificationContext context) =>
        context.Components.Count == 0 ? context.Plan.Components : context.Plan.Components.Where(c => context.Components.Contains(c.Name)).ToList();

    /// <summary>The locations a check looks at: every location of the plan, or those of the components' policies.</summary>
    internal static IReadOnlyList<LocationInfo> LocationsOf(VerificationContext context)
    {
        if (context.Components.Count == 0)
        {
            return context.Locations.All;
        }

        return ComponentsOf(context).Select(c => context.Plan.FindPolicy(c.Policy)).OfType<BackupPolicy>()
            .SelectMany(p => context.Locations.For(p).Select(n => n.Location)).DistinctBy(l => l.Name).ToList();
    }

    /// <summary>True when <paramref name="e"/> means the location cannot be read at all (its cause is the location).</summary>
    internal static bool IsUnreadable(Exception e) => e is LocationUnavailableException or WrongPasswordException or RepositoryNotFoundException
        or ObjectStoreUnavailableException or ObjectStoreTimeoutException or ObjectStoreAuthException or HttpRequestException or SocketException or TimeoutException;

    /// <summary>The record of a location that cannot be read.</summary>
    internal static EvidenceRecord Unreadable(VerificationContext context, string check, string location, string? component, DateTimeOffset now, TimeSpan duration, Exception e) => new()
    {
        Check = check,
        Run = context.Run,
        Component = component,
        Location = location,
        Against = "the location's vault",
        Time = now,
        Duration = duration,
        Passed = false,
        Unreachable = true,
        Summary = $"{location} cannot be read: {LocationSet.FirstLine(Configuration.Secrets.RedactText(e.Message))}",
    };

    private static ILogger Logger(VerificationContext context) => LocationSet.OrNull(context.Logger);

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}
