namespace Lifeline.Recovery.Plan;

/// <summary>One row of <c>lifeline plan show</c>: a component and how it is protected.</summary>
public sealed record PlanTableRow
{
    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>registry, lake-table, configuration, jobs, or "?" when unknown.</summary>
    public required string Kind { get; init; }

    /// <summary>The policy's name, or null when unprotected.</summary>
    public string? Policy { get; init; }

    /// <summary>The schedule as written (<c>on-change</c> or cron), or null.</summary>
    public string? Schedule { get; init; }

    /// <summary>The full re-read schedule, if any.</summary>
    public string? Full { get; init; }

    /// <summary>The retention rules in words (<c>keep-within 30d, daily 30</c>), <c>keep all</c>, or null.</summary>
    public string? Retention { get; init; }

    /// <summary>The compliance period, if any.</summary>
    public TimeSpan? Compliance { get; init; }

    /// <summary>The locations as <c>role: name (url)</c>, in role order.</summary>
    public IReadOnlyList<string> Locations { get; init; } = [];

    /// <summary>The strictest RPO target that applies.</summary>
    public TimeSpan? RpoTarget { get; init; }

    /// <summary>The strictest RPO maximum that applies.</summary>
    public TimeSpan? RpoMax { get; init; }

    /// <summary>The worst-case RPO, or null when nothing protects it.</summary>
    public TimeSpan? WorstCase { get; init; }

    /// <summary>True when <see cref="WorstCase"/> comes from measured history.</summary>
    public bool Measured { get; init; }

    /// <summary>ok, over-target, over-max, or unprotected.</summary>
    public required string Status { get; init; }
}

/// <summary>One scenario row of <c>lifeline plan show</c>.</summary>
public sealed record PlanScenarioRow
{
    /// <summary>The scenario's key.</summary>
    public required string Scenario { get; init; }

    /// <summary>Its title.</summary>
    public string? Title { get; init; }

    /// <summary>Its impact.</summary>
    public string? Impact { get; init; }

    /// <summary>RTO target (the plan's when the scenario gives none).</summary>
    public TimeSpan? RtoTarget { get; init; }

    /// <summary>RTO maximum.</summary>
    public TimeSpan? RtoMax { get; init; }

    /// <summary>RPO target.</summary>
    public TimeSpan? RpoTarget { get; init; }

    /// <summary>RPO maximum.</summary>
    public TimeSpan? RpoMax { get; init; }

    /// <summary>The restore budget, if the scenario sets one.</summary>
    public TimeSpan? RestoreBudget { get; init; }

    /// <summary>The components it restores.</summary>
    public IReadOnlyList<string> Components { get; init; } = [];

    /// <summary>The sum of its recovery steps' budgets, when it lists steps.</summary>
    public TimeSpan? StepsTotal { get; init; }
}

/// <summary>What <c>lifeline plan show</c> renders: pure data, the CLI draws it.</summary>
public sealed record PlanTableModel
{
    /// <summary>The plan's name.</summary>
    public string? Name { get; init; }

    /// <summary>The plan's owner.</summary>
    public string? Owner { get; init; }

    /// <summary>The plan-wide RTO.</summary>
    public required ObjectivePair Rto { get; init; }

    /// <summary>The plan-wide RPO.</summary>
    public required ObjectivePair Rpo { get; init; }

    /// <summary>One row per component, in file order.</summary>
    public required IReadOnlyList<PlanTableRow> Rows { get; init; }

    /// <summary>One row per scenario, in file order.</summary>
    public required IReadOnlyList<PlanScenarioRow> Scenarios { get; init; }

    /// <summary>Builds the model from a plan and its check report (for the worst cases).</summary>
    public static PlanTableModel Create(LifelinePlan plan, PlanCheckReport report)
    {
        var rows = new List<PlanTableRow>();
        foreach (var c in plan.Components)
        {
            var policy = plan.FindPolicy(c.Policy);
            var rpo = report.Components.FirstOrDefault(r => r.Component == c.Name);
            var status = rpo?.WorstCase is not { } worst ? "unprotected"
                : rpo.Max is { } max && worst > max ? "over-max"
                : rpo.Target is { } target && worst > target ? "over-target"
                : "ok";
            rows.Add(new PlanTableRow
            {
                Component = c.Name,
                Kind = PlanChecker.KindOf(c) switch
                {
                    ComponentKind.Registry => "registry",
                    ComponentKind.LakeTable => "lake-table",
                    ComponentKind.Configuration => "configuration",
                    ComponentKind.Jobs => "jobs",
                    _ => "?",
                },
                Policy = policy?.Name,
                Schedule = policy?.Schedule.ToString(),
                Full = policy?.Full,
                Retention = policy is null ? null : RetentionText(policy.Retention),
                Compliance = c.Compliance,
                Locations = policy is null ? [] : policy.Locations.Named()
                    .Select(n => $"{n.Role}: {n.Location}" + (plan.FindLocation(n.Location) is { } l ? $" ({l.Url})" : " (undefined)"))
                    .ToList(),
                RpoTarget = rpo?.Target,
                RpoMax = rpo?.Max,
                WorstCase = rpo?.WorstCase,
                Measured = rpo?.Measured ?? false,
                Status = status,
            });
        }

        var o = plan.Objectives;
        var scenarios = o.Scenarios.Select(s => new PlanScenarioRow
        {
            Scenario = s.Name,
            Title = s.Title,
            Impact = s.Impact,
            RtoTarget = s.Rto.Target ?? o.Rto.Target,
            RtoMax = s.Rto.Max ?? o.Rto.EffectiveMax,
            RpoTarget = s.Rpo.Target ?? o.Rpo.Target,
            RpoMax = s.Rpo.Max ?? o.Rpo.EffectiveMax,
            RestoreBudget = s.RestoreBudget,
            Components = s.Components,
            StepsTotal = s.Steps.Count == 0 ? null : s.Steps.Aggregate(TimeSpan.Zero, (sum, step) => sum + step.Budget),
        }).ToList();
        return new PlanTableModel { Name = plan.Name, Owner = plan.Owner, Rto = o.Rto, Rpo = o.Rpo, Rows = rows, Scenarios = scenarios };
    }

    /// <summary>Retention in words: <c>keep-within 30d, daily 30</c>; <c>keep all</c> when none.</summary>
    public static string RetentionText(RetentionPolicy? r)
    {
        if (r is null || r.IsEmpty)
        {
            return "keep all";
        }

        var parts = new List<string>();
        Add("keep-last", r.Last?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("keep-within", r.Within is { } w ? PlanDuration.Format(w) : null);
        Add("hourly", r.Hourly?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("daily", r.Daily?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("weekly", r.Weekly?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("monthly", r.Monthly?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Add("yearly", r.Yearly?.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return string.Join(", ", parts);

        void Add(string name, string? value)
        {
            if (value is not null)
            {
                parts.Add($"{name} {value}");
            }
        }
    }
}
