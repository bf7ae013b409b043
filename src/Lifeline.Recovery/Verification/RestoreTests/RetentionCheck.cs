using System.Diagnostics;
using System.Globalization;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Retention;
using Lifeline.Recovery.Tags;
using Lifeline.Vault;

namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>
/// <c>retention</c>: the plan's retention run as a dry run (<see cref="RecoveryService.ForgetAsync"/>) for every
/// component in every location of its policy, and checked: every point the rules keep in one location of the policy
/// is in each of the others; no point the rules forget is still there more than <see cref="GracePeriod"/> after a
/// forget run should have removed it (the rules applied to the snapshots as they were a grace period ago, which is
/// what a forget run then would have removed); the forget's own findings (no retention, a location that cannot be
/// read, corrupt snapshots) fail it; and a component's compliance period is within the reach of its policy's rules.
/// </summary>
internal sealed class RetentionCheck : IVerificationCheck
{
    /// <summary>How long a point the rules forget may stay before it counts as overdue (forget runs after backups, so
    /// a day covers a missed run); default 1 day.</summary>
    public TimeSpan GracePeriod { get; init; } = TimeSpan.FromDays(1);

    /// <inheritdoc/>
    public string Name => "retention";

    /// <inheritdoc/>
    public async Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var subjects = RestoreSubject.Of(context);
        var components = subjects.Select(s => s.Component.Name).Distinct(StringComparer.Ordinal).ToList();
        var records = new List<EvidenceRecord>();
        if (components.Count == 0)
        {
            return records;
        }

        var started = context.Time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var run = await context.Service.ForgetAsync(components, dryRun: true, cancellationToken);
        var dryRunTime = clock.Elapsed;
        var cutoff = started - GracePeriod;
        foreach (var group in subjects.GroupBy(s => s.Component.Name, StringComparer.Ordinal))
        {
            var component = group.First().Component;
            var policy = context.Plan.FindPolicy(component.Policy)!;
            var rules = RetentionRules.ToVault(policy.Retention);
            var keptIn = run.Outcomes.Where(o => o.Component == component.Name)
                .ToDictionary(o => o.Location, o => o.Result.Keep.Select(k => RecoveryPoint.IdentityOf(k.Snapshot)).ToHashSet(StringComparer.Ordinal), StringComparer.Ordinal);
            foreach (var subject in group)
            {
                var one = Stopwatch.StartNew();
                var problems = new List<string>();
                var notes = new List<string>();
                var numbers = new Dictionary<string, double>();
                problems.AddRange(run.Findings.Where(f => f.Component == component.Name && (f.Location is null || f.Location == subject.Location)).Select(f => $"{f.Rule}: {f.Message}"));
                if (run.Outcomes.FirstOrDefault(o => o.Component == component.Name && o.Location == subject.Location) is { } outcome)
                {
                    var here = keptIn[subject.Location];
                    var present = outcome.Result.Keep.Select(k => k.Snapshot).Concat(outcome.Result.Remove).Select(RecoveryPoint.IdentityOf).ToHashSet(StringComparer.Ordinal);
                    numbers["snapshots"] = present.Count;
                    numbers["kept"] = outcome.Result.Keep.Count;
                    numbers["forget"] = outcome.Result.Remove.Count;

                    // what the rules keep elsewhere in the policy must be here too (the same rules over the same points)
                    var missing = keptIn.Where(k => k.Key != subject.Location).SelectMany(k => k.Value.Where(id => !present.Contains(id)).Select(id => (Id: id, From: k.Key)))
                        .GroupBy(m => m.Id, StringComparer.Ordinal).Select(g => $"point {Short(g.Key)} kept in {string.Join(", ", g.Select(m => m.From))} is missing here").ToList();
                    numbers["missing"] = missing.Count;
                    problems.AddRange(missing);

                    // what a forget run a grace period ago would have removed, and is still here
                    if (rules is not null)
                    {
                        var vault = await context.Locations.OpenAsync(subject.Location, cancellationToken: cancellationToken);
                        var then = await vault.ForgetAsync(rules, RecoveryPointTags.FilterFor(component.Name) with { Until = cutoff }, dryRun: true, cancellationToken);
                        var dueNow = outcome.Result.Remove.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
                        var overdue = then.Remove.Where(s => dueNow.Contains(s.Id)).OrderBy(s => s.Time).ToList();
                        numbers["overdue"] = overdue.Count;
                        if (overdue.Count > 0)
                        {
                            problems.Add($"{ScratchRestore.Count(overdue.Count, "snapshot")} the rules forget {(overdue.Count == 1 ? "is" : "are")} still here more than {PlanDuration.Format(GracePeriod)} after a forget should have removed {(overdue.Count == 1 ? "it" : "them")} ({string.Join(", ", overdue.Take(5).Select(s => $"point {Short(RecoveryPoint.IdentityOf(s))} of {s.Time.UtcDateTime.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)}"))}{(overdue.Count > 5 ? ", ..." : "")}): run 'lifeline forget {component.Name}'");
                        }

                        if (outcome.Result.Remove.Count > overdue.Count)
                        {
                            notes.Add($"{outcome.Result.Remove.Count - overdue.Count} due to be forgotten within the grace period");
                        }
                    }
                }

                if (component.Compliance is { } compliance && policy.Retention is { IsEmpty: false } retention)
                {
                    var reach = retention.Reach(null);
                    numbers["complianceDays"] = compliance.TotalDays;
                    numbers["reachDays"] = reach.TotalDays;
                    if (reach < compliance)
                    {
                        problems.Add($"policy '{policy.Name}' keeps points for {PlanDuration.Format(reach)}, less than the compliance period {PlanDuration.Format(compliance)}: keep at least {PlanDuration.Format(compliance)} (e.g. `yearly: {(int)Math.Ceiling(compliance.TotalDays / 365.25)}`)");
                    }
                }

                var passed = problems.Count == 0;
                var kept = numbers.GetValueOrDefault("kept");
                var summary = passed
                    ? $"{component.Name} in {subject.Location}: {kept} points kept by the rules, all here; nothing overdue" + (notes.Count > 0 ? "; " + string.Join("; ", notes) : "")
                        + (component.Compliance is { } c ? $"; compliance {PlanDuration.Format(c)} within the rules' reach" : "")
                    : $"{component.Name} in {subject.Location}: {ScratchRestore.First(problems)}";
                Log.RestoreTestRan(context.Logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance, Name, component.Name, subject.Location, passed, summary);
                records.Add(ScratchRestore.Record(context, Name, subject, started, dryRunTime + one.Elapsed, passed, summary,
                    $"policy '{policy.Name}' retention as a dry run, grace {PlanDuration.Format(GracePeriod)}", numbers));
            }
        }

        return records;
    }

    private static string Short(string id) => id.Length > 8 ? id[..8] : id;
}
