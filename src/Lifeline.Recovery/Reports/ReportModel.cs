using System.Text.Json.Serialization;

namespace Lifeline.Recovery.Reports;

/// <summary>
/// The state of the plan over a period, as <c>lifeline report</c> writes it (docs/reports.md). One model, three
/// renderings (Markdown, JSON, HTML); the JSON is this record with camel-case names, durations in seconds, times in
/// ISO 8601 UTC. Field names are stable: fields are only ever added.
/// </summary>
public sealed record ReportModel
{
    /// <summary>The version of the JSON shape; 1.</summary>
    public int FormatVersion { get; init; } = 1;

    /// <summary>The plan's name, if it has one.</summary>
    public string? Plan { get; init; }

    /// <summary>The plan's owner, if given.</summary>
    public string? Owner { get; init; }

    /// <summary>The plan file the report was made from.</summary>
    public string? PlanFile { get; init; }

    /// <summary>When the report was made.</summary>
    public required DateTimeOffset GeneratedAt { get; init; }

    /// <summary>The start of the period (<see cref="GeneratedAt"/> − the period).</summary>
    public required DateTimeOffset PeriodStart { get; init; }

    /// <summary>The period's length.</summary>
    public required double PeriodSeconds { get; init; }

    /// <summary>green, amber or red: the worst of the components (and jobs, when read).</summary>
    public required string Overall { get; init; }

    /// <summary>Where the recovery points come from: <c>vaults</c> (listed in every location, as <c>lifeline status</c>)
    /// or <c>audit</c> (the backup records alone, when the vaults could not be opened).</summary>
    public required string StatusSource { get; init; }

    /// <summary>What could not be read, one line each (an unreachable location, no password, no incident store).</summary>
    public IReadOnlyList<string> NotRead { get; init; } = [];

    /// <summary>The plan's own RTO and RPO.</summary>
    public required ReportObjectives Objectives { get; init; }

    /// <summary>Each component, in plan order.</summary>
    public IReadOnlyList<ReportComponent> Components { get; init; } = [];

    /// <summary>Each scenario's restore time against its budget, in plan order.</summary>
    public IReadOnlyList<ReportScenario> Scenarios { get; init; } = [];

    /// <summary>Each verification check over the period.</summary>
    public IReadOnlyList<ReportCheck> Checks { get; init; } = [];

    /// <summary>The incidents of the period.</summary>
    public required ReportIncidents Incidents { get; init; }

    /// <summary>The scheduler's jobs, when a scheduler store was read.</summary>
    public IReadOnlyList<ReportJob> Jobs { get; init; } = [];

    /// <summary>The errors and warnings <c>plan check</c> finds with the measured history.</summary>
    public IReadOnlyList<ReportFinding> Findings { get; init; } = [];
}

/// <summary>The plan-wide objectives (seconds; null when the plan sets none).</summary>
public sealed record ReportObjectives
{
    /// <summary>RTO target.</summary>
    public double? RtoTargetSeconds { get; init; }

    /// <summary>RTO maximum (the target when none is given).</summary>
    public double? RtoMaxSeconds { get; init; }

    /// <summary>RPO target.</summary>
    public double? RpoTargetSeconds { get; init; }

    /// <summary>RPO maximum (the target when none is given).</summary>
    public double? RpoMaxSeconds { get; init; }
}

/// <summary>One component: its recovery point against its RPO, its backups and restores, the age over the period.</summary>
public sealed record ReportComponent
{
    /// <summary>The component's name.</summary>
    public required string Name { get; init; }

    /// <summary>Its policy.</summary>
    public string? Policy { get; init; }

    /// <summary>Its schedule as written.</summary>
    public string? Schedule { get; init; }

    /// <summary>green, amber or red.</summary>
    public required string Color { get; init; }

    /// <summary>Why, one line.</summary>
    public required string Reason { get; init; }

    /// <summary>The recovery point's id, if there is one.</summary>
    public string? RecoveryPoint { get; init; }

    /// <summary>The recovery point's data time.</summary>
    public DateTimeOffset? RecoveryPointTime { get; init; }

    /// <summary>The recovery point's age at <see cref="ReportModel.GeneratedAt"/>.</summary>
    public double? AgeSeconds { get; init; }

    /// <summary>The strictest RPO target of the plan and its scenarios.</summary>
    public double? RpoTargetSeconds { get; init; }

    /// <summary>The strictest RPO maximum.</summary>
    public double? RpoMaxSeconds { get; init; }

    /// <summary>The worst case <c>plan check</c> computes (interval + backup + copy + verification).</summary>
    public double? WorstCaseRpoSeconds { get; init; }

    /// <summary>True when <see cref="WorstCaseRpoSeconds"/> comes from measured backups, false when estimated.</summary>
    public bool WorstCaseMeasured { get; init; }

    /// <summary>How the worst case was reached, in words.</summary>
    public string? WorstCaseBasis { get; init; }

    /// <summary>False when the period holds no backup of the component (nothing to chart).</summary>
    public bool HasHistory { get; init; }

    /// <summary>The backups of the period.</summary>
    public required ReportBackups Backups { get; init; }

    /// <summary>The measured restores (all history, newest 20).</summary>
    public required ReportRestores Restores { get; init; }

    /// <summary>The recovery point's age over the period (a sawtooth; oldest first; two samples at the same time
    /// where a new point drops the age). Empty without history.</summary>
    public IReadOnlyList<ReportAgeSample> Age { get; init; } = [];

    /// <summary>The highest age of the period.</summary>
    public double? PeakAgeSeconds { get; init; }

    /// <summary>How long within the period the age was over the RPO target.</summary>
    public double OverTargetSeconds { get; init; }

    /// <summary>How long within the period the age was over the RPO maximum.</summary>
    public double OverMaxSeconds { get; init; }

    /// <summary>The last result of each check (per location) about this component.</summary>
    public IReadOnlyList<ReportCheckResult> LastChecks { get; init; } = [];
}

/// <summary>One moment of a component's recovery-point age.</summary>
/// <param name="Time">The moment.</param>
/// <param name="AgeSeconds">Time since the newest recovery point available then was taken.</param>
public sealed record ReportAgeSample(DateTimeOffset Time, double AgeSeconds);

/// <summary>A component's backups in the period (from the audit records).</summary>
public sealed record ReportBackups
{
    /// <summary>Successful backups.</summary>
    public int Ok { get; init; }

    /// <summary>Backups that did not reach every location.</summary>
    public int Partial { get; init; }

    /// <summary>Failed or interrupted backups.</summary>
    public int Failed { get; init; }

    /// <summary>The newest backup's start.</summary>
    public DateTimeOffset? LastTime { get; init; }

    /// <summary>The newest backup's outcome.</summary>
    public string? LastOutcome { get; init; }

    /// <summary>The newest backup's message (redacted), when it did not succeed.</summary>
    public string? LastMessage { get; init; }

    /// <summary>The size of the data at the newest successful backup.</summary>
    public long? Bytes { get; init; }

    /// <summary>The longest capture into the primary among successful backups.</summary>
    public double? MaxBackupSeconds { get; init; }

    /// <summary>The longest copy to the other locations.</summary>
    public double? MaxCopySeconds { get; init; }

    /// <summary>The longest verification.</summary>
    public double? MaxVerifySeconds { get; init; }

    /// <summary>The median whole backup (capture + copy + verification).</summary>
    public double? MedianTotalSeconds { get; init; }
}

/// <summary>A component's measured restores (restore audit records).</summary>
public sealed record ReportRestores
{
    /// <summary>How many were measured.</summary>
    public int Count { get; init; }

    /// <summary>The newest one's start.</summary>
    public DateTimeOffset? LastTime { get; init; }

    /// <summary>The slowest measured speed (what a projection uses).</summary>
    public double? SlowestBytesPerSecond { get; init; }

    /// <summary>The fastest measured speed.</summary>
    public double? FastestBytesPerSecond { get; init; }
}

/// <summary>One scenario: how long restoring its components takes against its restore budget.</summary>
public sealed record ReportScenario
{
    /// <summary>The scenario's key.</summary>
    public required string Name { get; init; }

    /// <summary>Its title.</summary>
    public string? Title { get; init; }

    /// <summary>Its impact.</summary>
    public string? Impact { get; init; }

    /// <summary>Its RTO target (the plan's when it sets none).</summary>
    public double? RtoTargetSeconds { get; init; }

    /// <summary>Its RTO maximum.</summary>
    public double? RtoMaxSeconds { get; init; }

    /// <summary>Its RPO target.</summary>
    public double? RpoTargetSeconds { get; init; }

    /// <summary>Its RPO maximum.</summary>
    public double? RpoMaxSeconds { get; init; }

    /// <summary>The share of the RTO for restoring data (the RTO target when the plan gives none).</summary>
    public double? RestoreBudgetSeconds { get; init; }

    /// <summary>Each component's projected restore time.</summary>
    public IReadOnlyList<ReportRestoreProjection> Components { get; init; } = [];

    /// <summary>The components restored one after another, of those with a projection.</summary>
    public double? ProjectedSeconds { get; init; }

    /// <summary><c>within</c>, <c>over</c>, or <c>unknown</c> (no budget, or a component without a measured speed).</summary>
    public required string Verdict { get; init; }
}

/// <summary>How long restoring one component is expected to take.</summary>
public sealed record ReportRestoreProjection
{
    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>The size to restore: the newest successful backup's.</summary>
    public long? Bytes { get; init; }

    /// <summary>The speed assumed.</summary>
    public double? BytesPerSecond { get; init; }

    /// <summary>The projected time.</summary>
    public double? Seconds { get; init; }

    /// <summary><c>measured-restore</c> (restore audit records), <c>restore-test</c> (a restore test's evidence), or
    /// <c>none</c>.</summary>
    public required string Basis { get; init; }
}

/// <summary>One verification check over the period.</summary>
public sealed record ReportCheck
{
    /// <summary>The check's name.</summary>
    public required string Check { get; init; }

    /// <summary>Records in the period.</summary>
    public int Runs { get; init; }

    /// <summary>Of which passed.</summary>
    public int Passed { get; init; }

    /// <summary>Passed ÷ runs, null without runs.</summary>
    public double? PassRate { get; init; }

    /// <summary>The newest record's time.</summary>
    public DateTimeOffset? LastTime { get; init; }

    /// <summary>Whether the newest record passed.</summary>
    public bool? LastPassed { get; init; }
}

/// <summary>The last result of one check about one component in one location.</summary>
public sealed record ReportCheckResult
{
    /// <summary>The check.</summary>
    public required string Check { get; init; }

    /// <summary>The location, if the check is about one.</summary>
    public string? Location { get; init; }

    /// <summary>When it ran.</summary>
    public required DateTimeOffset Time { get; init; }

    /// <summary>Whether it passed.</summary>
    public required bool Passed { get; init; }

    /// <summary>What it found (redacted).</summary>
    public required string Summary { get; init; }

    /// <summary>The pass rate of this check for this component over the period (all locations).</summary>
    public double? PassRate { get; init; }

    /// <summary>The evidence record's id.</summary>
    public string? Evidence { get; init; }
}

/// <summary>The incidents of the period.</summary>
public sealed record ReportIncidents
{
    /// <summary>False when no incident store was read: the report cannot say whether there were any.</summary>
    public required bool Recorded { get; init; }

    /// <summary>Why they are not shown, when not recorded.</summary>
    public string? Note { get; init; }

    /// <summary>Open or acknowledged now.</summary>
    public int Open { get; init; }

    /// <summary>Opened in the period, or still open; newest first.</summary>
    public IReadOnlyList<ReportIncident> Items { get; init; } = [];
}

/// <summary>One incident.</summary>
public sealed record ReportIncident
{
    /// <summary>Its id.</summary>
    public required string Id { get; init; }

    /// <summary>Its title (redacted).</summary>
    public required string Title { get; init; }

    /// <summary>Its severity.</summary>
    public required string Severity { get; init; }

    /// <summary>open, acknowledged or resolved.</summary>
    public required string State { get; init; }

    /// <summary>Opened by a drill.</summary>
    public bool IsDrill { get; init; }

    /// <summary>The components it touched.</summary>
    public IReadOnlyList<string> Components { get; init; } = [];

    /// <summary>When it opened.</summary>
    public required DateTimeOffset OpenedAt { get; init; }

    /// <summary>When it was acknowledged.</summary>
    public DateTimeOffset? AcknowledgedAt { get; init; }

    /// <summary>When it was resolved.</summary>
    public DateTimeOffset? ResolvedAt { get; init; }

    /// <summary>Opened to resolved (or to the report's time while open).</summary>
    public double DurationSeconds { get; init; }
}

/// <summary>A scheduled job's status line.</summary>
/// <param name="Job">Its name.</param>
/// <param name="Kind">backup, check, drill or batch.</param>
/// <param name="Color">green, amber or red.</param>
/// <param name="Reason">Why (redacted).</param>
public sealed record ReportJob(string Job, string Kind, string Color, string Reason);

/// <summary>A finding of <c>plan check</c>.</summary>
/// <param name="Severity">error or warning.</param>
/// <param name="Rule">The rule's id.</param>
/// <param name="Subject">What it is about.</param>
/// <param name="Message">The finding (redacted).</param>
public sealed record ReportFinding(string Severity, string Rule, string Subject, string Message);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never)]
[JsonSerializable(typeof(ReportModel))]
internal sealed partial class ReportJson : JsonSerializerContext;
