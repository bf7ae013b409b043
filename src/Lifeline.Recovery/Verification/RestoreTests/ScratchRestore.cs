using System.Diagnostics;
using System.Globalization;
using Lifeline.Recovery.Components;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;
using Lifeline.Vault;
using Microsoft.Data.Sqlite;

namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>One component in one location of its policy: what a weekly restore test looks at.</summary>
/// <param name="Component">The plan's component.</param>
/// <param name="Location">The location's name.</param>
/// <param name="Adapter">The adapter that protects it (the live source is read through it), if any.</param>
internal sealed record RestoreSubject(PlanComponent Component, string Location, IProtectedComponent? Adapter)
{
    /// <summary>Every component to check (the context's, else the plan's) in every location its policy names; a
    /// component without a policy or locations has no subject (the plan check reports it).</summary>
    public static IReadOnlyList<RestoreSubject> Of(VerificationContext context)
    {
        var names = context.Components.Count > 0 ? context.Components : context.Plan.Components.Select(c => c.Name).ToList();
        var subjects = new List<RestoreSubject>();
        foreach (var name in names)
        {
            var component = context.Plan.FindComponent(name)
                ?? throw new UnknownComponentException(name, $"the plan names {string.Join(", ", context.Plan.Components.Select(c => c.Name))}{Suggestions.DidYouMean(name, context.Plan.Components.Select(c => c.Name).ToList())}");
            if (context.Plan.FindPolicy(component.Policy) is not { } policy)
            {
                continue;
            }

            foreach (var (_, location) in context.Locations.For(policy))
            {
                subjects.Add(new RestoreSubject(component, location.Name, context.Service.AdapterOf(name)));
            }
        }

        return subjects;
    }

    /// <summary>The component's kind (null when the plan cannot tell).</summary>
    public ComponentKind? Kind => PlanChecker.KindOf(Component);
}

/// <summary>A restore of a subject's newest point into the scratch area, as it went.</summary>
/// <param name="Run">What the recovery service restored; null when it failed.</param>
/// <param name="Error">Why it failed, one line; null when it worked.</param>
/// <param name="Elapsed">The wall-clock time it took (real time: a speed is measured, never a fake clock's).</param>
/// <param name="Target">Where the point was reinstated.</param>
internal sealed record ScratchRestoreResult(RestoreRunResult? Run, string? Error, TimeSpan Elapsed, string Target)
{
    /// <summary>The point's short id, or <c>?</c>.</summary>
    public string Point => Run?.Point.ShortId ?? "?";
}

/// <summary>How one restoring check judges a restore of one subject.</summary>
/// <param name="Check">The check's name.</param>
/// <param name="BootsTheRestore">True when the evaluation runs what was restored (a server on its files): it goes
/// after the checks that only read the restore.</param>
/// <param name="Evaluate">The subject, the restore, the subject's scratch folder (for the check's own sub-folder) and
/// the numbers to fill; returns the verdict, its one-line summary and what it was checked against.</param>
internal sealed record ScratchEvaluator(string Check, bool BootsTheRestore,
    Func<RestoreSubject, ScratchRestoreResult, string, Dictionary<string, double>, Task<(bool Passed, string Summary, string Against)>> Evaluate);

/// <summary>A check that restores each subject into the scratch area and judges the restore: the runner gives the
/// restoring checks of one run one restore per subject (<see cref="ScratchRestore.EachAsync(VerificationContext, IReadOnlyList{ScratchEvaluator}, CancellationToken)"/>).</summary>
internal interface IRestoringCheck : IVerificationCheck
{
    /// <summary>The check's evaluation of a restore in <paramref name="context"/>.</summary>
    ScratchEvaluator Evaluator(VerificationContext context, CancellationToken cancellationToken);
}

/// <summary>
/// The restores the weekly checks make: each subject's newest point in that location alone (no fallback: it is the
/// location that is tested) restored by <see cref="RecoveryService.RestoreAsync"/> into a directory of the scratch
/// area (<see cref="RestoreRunOptions.Into"/>, never the live place), and the scratch area emptied afterwards.
/// </summary>
internal static class ScratchRestore
{
    /// <summary>A new directory of the check's own under the context's scratch directory.</summary>
    public static string NewArea(VerificationContext context, string check)
    {
        var area = Path.Combine(context.ScratchDirectory, check + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(area);
        return area;
    }

    /// <summary>The loop of one restoring check (<see cref="EachAsync(VerificationContext, IReadOnlyList{ScratchEvaluator}, CancellationToken)"/> with it alone).</summary>
    public static async Task<IReadOnlyList<EvidenceRecord>> EachAsync(VerificationContext context, ScratchEvaluator check, CancellationToken ct) =>
        (await EachAsync(context, [check], ct))[check.Check];

    /// <summary>
    /// The loop of the restoring checks of a run: restores each subject of the plan (component × location) once, into
    /// its own folder of a new scratch area, hands the result to every check's evaluation in turn (those that only read
    /// the restore first, the one that boots it last, so each sees the restore as it came out of the vault), logs and
    /// records each verdict, empties the folder before the next restore and the area at the end, also when something
    /// throws. A record's duration is the restore's plus its own evaluation's.
    /// </summary>
    public static async Task<IReadOnlyDictionary<string, IReadOnlyList<EvidenceRecord>>> EachAsync(VerificationContext context, IReadOnlyList<ScratchEvaluator> checks, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(checks);
        var records = checks.ToDictionary(c => c.Check, _ => new List<EvidenceRecord>(), StringComparer.Ordinal);
        var area = NewArea(context, checks.Count == 1 ? checks[0].Check : "restore-tests");
        try
        {
            var n = 0;
            foreach (var subject in RestoreSubject.Of(context))
            {
                var started = context.Time.GetUtcNow();
                var clock = Stopwatch.StartNew();
                var dir = Path.Combine(area, (n++).ToString(CultureInfo.InvariantCulture));
                var restore = await RunAsync(context, subject, dir, ct);
                var restoring = clock.Elapsed;
                foreach (var check in checks.OrderBy(c => c.BootsTheRestore))
                {
                    var evaluating = Stopwatch.StartNew();
                    var numbers = new Dictionary<string, double>();
                    var (passed, summary, against) = await check.Evaluate(subject, restore, dir, numbers);
                    Log.RestoreTestRan(context.Logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, check.Check, subject.Component.Name, subject.Location, passed, summary);
                    records[check.Check].Add(Record(context, check.Check, subject, started, restoring + evaluating.Elapsed, passed, summary, against, numbers));
                }

                Remove(dir); // one restore at a time in the scratch area
            }
        }
        finally
        {
            Remove(area);
        }

        return records.ToDictionary(r => r.Key, r => (IReadOnlyList<EvidenceRecord>)r.Value, StringComparer.Ordinal);
    }

    /// <summary>Restores <paramref name="subject"/>'s newest point in its location into <paramref name="directory"/>/restored.</summary>
    public static async Task<ScratchRestoreResult> RunAsync(VerificationContext context, RestoreSubject subject, string directory, CancellationToken ct)
    {
        Directory.CreateDirectory(directory);
        var target = Path.Combine(directory, "restored");
        var clock = Stopwatch.StartNew();
        try
        {
            var run = await context.Service.RestoreAsync(subject.Component.Name, new RestoreRunOptions { From = subject.Location, Into = target }, cancellationToken: ct);
            return new ScratchRestoreResult(run, null, clock.Elapsed, run.Target.Directory);
        }
        catch (Exception e) when (e is RecoveryException or VaultException or IOException or InvalidDataException or UnauthorizedAccessException)
        {
            return new ScratchRestoreResult(null, Line(e), clock.Elapsed, target);
        }
    }

    /// <summary>Restores only the files named <paramref name="fileName"/> of the point <paramref name="pointId"/> in the
    /// subject's location into <paramref name="directory"/> (the point's own manifest, as the source wrote it);
    /// returns the shortest path found, or null.</summary>
    public static async Task<string?> RestorePointFileAsync(VerificationContext context, RestoreSubject subject, string pointId, string fileName, string directory, CancellationToken ct)
    {
        var listing = await PointCatalog.ListAsync(context.Locations, subject.Location, subject.Component.Name, ct);
        if (listing.Points.FirstOrDefault(p => p.Point.Id == pointId) is not { } located)
        {
            return null;
        }

        var vault = await context.Locations.OpenAsync(subject.Location, cancellationToken: ct);
        Directory.CreateDirectory(directory);
        await vault.RestoreAsync(new RestoreRequest { Snapshot = located.Snapshot, TargetDirectory = directory, Include = ["**/" + fileName] }, ct: ct);
        return Directory.EnumerateFiles(directory, fileName, SearchOption.AllDirectories).OrderBy(p => p.Length).FirstOrDefault();
    }

    /// <summary>Empties and removes <paramref name="area"/> (SQLite's pooled handles of the restored databases first).</summary>
    public static void Remove(string area)
    {
        SqliteConnection.ClearAllPools();
        for (var attempt = 0; attempt < 3; attempt++)
        {
            try
            {
                if (Directory.Exists(area))
                {
                    Directory.Delete(area, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 2)
            {
                // a file released a moment late (a server's handle): try again
            }
            catch (UnauthorizedAccessException) when (attempt < 2)
            {
                // a read-only file a restore kept its mode on: make it writable and try again
                foreach (var f in Directory.EnumerateFiles(area, "*", SearchOption.AllDirectories))
                {
                    File.SetAttributes(f, FileAttributes.Normal);
                }
            }
        }
    }

    /// <summary>The size of every file under <paramref name="directory"/>, or 0 when it does not exist.</summary>
    public static long SizeOf(string directory) =>
        Directory.Exists(directory) ? Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories).Sum(f => new FileInfo(f).Length) : 0;

    /// <summary>One line of <paramref name="e"/>, redacted.</summary>
    public static string Line(Exception e) => LocationSet.FirstLine(Configuration.Secrets.RedactText(e.Message));

    /// <summary>A count with its noun (<c>1 file</c>, <c>3 files</c>).</summary>
    public static string Count(long n, string noun) => n.ToString(CultureInfo.InvariantCulture) + " " + noun + (n == 1 ? "" : "s");

    /// <summary>The first few of <paramref name="items"/>, and how many more.</summary>
    public static string First(IReadOnlyList<string> items, int shown = 3) =>
        string.Join("; ", items.Take(shown)) + (items.Count > shown ? $"; and {items.Count - shown} more" : "");

    /// <summary>A record of <paramref name="check"/> about <paramref name="subject"/>.</summary>
    public static EvidenceRecord Record(VerificationContext context, string check, RestoreSubject subject, DateTimeOffset started, TimeSpan duration, bool passed, string summary, string against, IReadOnlyDictionary<string, double> numbers) => new()
    {
        Check = check,
        Run = context.Run,
        Component = subject.Component.Name,
        Location = subject.Location,
        Against = against,
        Time = started,
        Duration = duration,
        Passed = passed,
        Summary = summary,
        Numbers = numbers,
    };
}
