using System.Diagnostics;
using System.Globalization;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>
/// <c>restore-speed</c>: each component's newest point restored from each location of its policy, timed (the whole
/// restore: listing, vault read, verification, reinstating), its bytes per second projected to the component's full
/// size now (the live source's size: a table's data files, the registry's database and artifacts; the point's size
/// for configuration and jobs), against the strictest restore budget of the scenarios that restore it (a scenario's
/// <c>restore-budget</c>, else its RTO target, else the plan's; the plan's RTO target when no scenario names it).
/// Fails when the projection is over the budget, with the numbers.
/// </summary>
internal sealed class RestoreSpeedCheck : IRestoringCheck
{
    /// <inheritdoc/>
    public string Name => "restore-speed";

    /// <inheritdoc/>
    public Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken) =>
        ScratchRestore.EachAsync(context, Evaluator(context, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ScratchEvaluator Evaluator(VerificationContext context, CancellationToken cancellationToken) =>
        new(Name, BootsTheRestore: false, async (subject, restore, _, numbers) =>
        {
            var (budget, basis) = Budget(context.Plan, subject.Component.Name);
            numbers["seconds"] = restore.Elapsed.TotalSeconds;
            if (budget is { } b)
            {
                numbers["budgetSeconds"] = b.TotalSeconds;
            }

            if (restore.Run is not { } run)
            {
                return (false, $"{subject.Component.Name} could not be restored from {subject.Location}, so its speed is unknown: {restore.Error}", basis);
            }

            var seconds = Math.Max(restore.Elapsed.TotalSeconds, 1e-3);
            var speed = run.Bytes / seconds;
            var (sourceBytes, sourceBasis) = await SourceBytesAsync(subject, run, cancellationToken);
            var projected = speed > 0 ? sourceBytes / speed : double.PositiveInfinity;
            numbers["bytes"] = run.Bytes;
            numbers["bytesPerSecond"] = speed;
            numbers["sourceBytes"] = sourceBytes;
            if (double.IsFinite(projected))
            {
                numbers["projectedSeconds"] = projected; // JSON has no infinity: an unknown projection is left out
            }

            var measured = $"{Bytes(run.Bytes)} restored from {subject.Location} in {Secs(restore.Elapsed.TotalSeconds)} ({Bytes((long)speed)}/s); {sourceBasis} {Bytes(sourceBytes)} takes {Secs(projected)}";
            if (budget is not { } limit)
            {
                return (true, $"{measured}; no restore budget or RTO in the plan to compare with", basis);
            }

            var passed = projected <= limit.TotalSeconds;
            return (passed, passed
                ? $"{measured}, within {basis} {Secs(limit.TotalSeconds)}"
                : $"{measured}, over {basis} {Secs(limit.TotalSeconds)}: restore faster (a closer location, a faster store), or raise the budget", basis);
        });

    /// <summary>The strictest budget for restoring <paramref name="component"/>, and where it comes from in words.</summary>
    internal static (TimeSpan? Budget, string Basis) Budget(LifelinePlan plan, string component)
    {
        TimeSpan? best = null;
        var basis = "no restore budget";
        foreach (var s in plan.Objectives.Scenarios.Where(s => s.Components.Contains(component)))
        {
            var (budget, what) = s.RestoreBudget is { } rb ? (rb, "restore budget")
                : s.Rto.Target is { } rto ? (rto, "RTO target")
                : plan.Objectives.Rto.Target is { } planRto ? (planRto, "plan's RTO target")
                : ((TimeSpan?)null, "");
            if (budget is { } v && (best is null || v < best))
            {
                best = v;
                basis = $"the {what} of scenario {s.Name}";
            }
        }

        if (best is null && plan.Objectives.Rto.Target is { } target)
        {
            return (target, "the plan's RTO target");
        }

        return (best, basis);
    }

    /// <summary>The component's full size now, from its live source where it can be measured, else the point's.</summary>
    private static async Task<(long Bytes, string Basis)> SourceBytesAsync(RestoreSubject subject, RestoreRunResult run, CancellationToken ct)
    {
        try
        {
            switch (subject.Adapter)
            {
                case LakeTableComponent lake:
                {
                    var table = lake.OpenLive();
                    var snapshot = await table.GetSnapshotAsync(null, ct);
                    // its data files now; never less than the point restored (which also holds the log)
                    return (Math.Max(snapshot.Files.Sum(f => f.Add.Size), run.Bytes), $"the live table at version {snapshot.Version}:");
                }

                case RegistryComponent registry when registry.LiveApi.Url is null && string.IsNullOrEmpty(registry.Live.PostgresConnectionString):
                {
                    var data = registry.Live.DataDirectory;
                    var db = Path.Combine(data, Lifeline.Registry.Backup.NativeBackup.DatabaseFile);
                    if (File.Exists(db))
                    {
                        return (new FileInfo(db).Length + ScratchRestore.SizeOf(Path.Combine(data, "artifacts")), "the live registry's database and artifacts:");
                    }

                    break;
                }
            }
        }
        catch (Exception e) when (e is Lake.DeltaProtocolException or IOException)
        {
            // the source cannot be measured now: the point's size stands for it
        }

        return (run.Bytes, "the point's size:");
    }

    private static string Secs(double seconds) => double.IsPositiveInfinity(seconds) ? "forever"
        : seconds < 1 ? (seconds * 1000).ToString("0.#", CultureInfo.InvariantCulture) + " ms"
        : seconds < 120 ? seconds.ToString("0.#", CultureInfo.InvariantCulture) + " s"
        : PlanDuration.Format(TimeSpan.FromSeconds(Math.Ceiling(seconds)));

    private static string Bytes(long bytes) => bytes switch
    {
        >= 1L << 30 => (bytes / (double)(1L << 30)).ToString("0.##", CultureInfo.InvariantCulture) + " GiB",
        >= 1L << 20 => (bytes / (double)(1L << 20)).ToString("0.##", CultureInfo.InvariantCulture) + " MiB",
        >= 1L << 10 => (bytes / (double)(1L << 10)).ToString("0.##", CultureInfo.InvariantCulture) + " KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture) + " B",
    };
}
