using Lifeline.Vault;
using PlanRetention = Lifeline.Recovery.Plan.RetentionPolicy;
using VaultRetention = Lifeline.Vault.RetentionPolicy;

namespace Lifeline.Recovery.Retention;

/// <summary>A retention finding: something a forget run did not do, or could not, that a user must see.</summary>
/// <param name="Component">The component.</param>
/// <param name="Location">The location, or null for the whole component.</param>
/// <param name="Rule"><c>retention-selects-nothing</c>, <c>retention-missing</c> or <c>location-unavailable</c>.</param>
/// <param name="Message">One line with the fix.</param>
public sealed record RetentionFinding(string Component, string? Location, string Rule, string Message)
{
    /// <summary>The finding as one line.</summary>
    public override string ToString() => $"{Rule} [{Component}{(Location is null ? "" : " @ " + Location)}]: {Message}";
}

/// <summary>What a forget run did (or would do, on a dry run) for one component in one location.</summary>
/// <param name="Component">The component.</param>
/// <param name="Location">The location.</param>
/// <param name="Result">The vault's answer.</param>
public sealed record RetentionOutcome(string Component, string Location, ForgetResult Result);

/// <summary>The outcome of a forget run.</summary>
public sealed record ForgetRunResult
{
    /// <summary>Per component and location, what was (or would be) kept and removed.</summary>
    public IReadOnlyList<RetentionOutcome> Outcomes { get; init; } = [];

    /// <summary>What was not done; a forget run with findings is not a success.</summary>
    public IReadOnlyList<RetentionFinding> Findings { get; init; } = [];

    /// <summary>True when nothing was changed.</summary>
    public bool DryRun { get; init; }

    /// <summary>True when there is no finding.</summary>
    public bool Ok => Findings.Count == 0;
}

/// <summary>What a prune did (or would do) in one location.</summary>
/// <param name="Location">The location.</param>
/// <param name="Result">The vault's answer.</param>
public sealed record PruneOutcome(string Location, PruneResult Result);

/// <summary>The outcome of a prune of the plan's locations.</summary>
public sealed record PruneRunResult
{
    /// <summary>Per location, what was (or would be) deleted.</summary>
    public IReadOnlyList<PruneOutcome> Outcomes { get; init; } = [];

    /// <summary>The locations that could not be pruned, with why (rule <c>location-unavailable</c>).</summary>
    public IReadOnlyList<RetentionFinding> Findings { get; init; } = [];

    /// <summary>True when nothing was changed.</summary>
    public bool DryRun { get; init; }

    /// <summary>True when every location was pruned.</summary>
    public bool Ok => Findings.Count == 0;
}

/// <summary>The plan's retention as the vault's: the same rules, restic's semantics.</summary>
public static class RetentionRules
{
    /// <summary>Maps a plan retention to the vault's; null when the plan keeps everything.</summary>
    public static VaultRetention? ToVault(PlanRetention? plan) => plan is null || plan.IsEmpty ? null : new VaultRetention
    {
        KeepLast = plan.Last,
        KeepWithin = plan.Within,
        KeepHourly = plan.Hourly,
        KeepDaily = plan.Daily,
        KeepWeekly = plan.Weekly,
        KeepMonthly = plan.Monthly,
        KeepYearly = plan.Yearly,
    };
}
