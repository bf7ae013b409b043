namespace Lifeline.Recovery.Plan;

/// <summary>How bad a finding is. <c>plan check</c> fails on errors.</summary>
public enum FindingSeverity
{
    /// <summary>An explanation; nothing to fix.</summary>
    Info,

    /// <summary>The plan works but is weaker than it says.</summary>
    Warning,

    /// <summary>The plan cannot be met, or cannot be read.</summary>
    Error,
}

/// <summary>One finding of the plan parser or <see cref="PlanChecker"/>.</summary>
public sealed record PlanFinding
{
    /// <summary>How bad it is.</summary>
    public required FindingSeverity Severity { get; init; }

    /// <summary>The rule's stable id (see <see cref="PlanRules"/>).</summary>
    public required string Rule { get; init; }

    /// <summary>What it concerns: a component's name, or <c>policy NAME</c>, <c>location NAME</c>,
    /// <c>scenario NAME</c>, <c>objectives</c>, <c>plan</c>.</summary>
    public required string Subject { get; init; }

    /// <summary>The plan file.</summary>
    public required string File { get; init; }

    /// <summary>1-based line and column of the element the finding is about.</summary>
    public required SourceMark Mark { get; init; }

    /// <summary>What is wrong, in one line.</summary>
    public required string Message { get; init; }

    /// <summary>What to do about it, in one line.</summary>
    public required string Fix { get; init; }

    /// <summary>The one-line form <c>FILE:LINE:COL: error RULE [SUBJECT]: MESSAGE; fix: FIX</c>.</summary>
    public override string ToString() =>
        $"{File}:{Mark.Line}:{Mark.Column}: {SeverityText(Severity)} {Rule} [{Subject}]: {Message}; fix: {Fix}";

    internal static string SeverityText(FindingSeverity severity) => severity switch
    {
        FindingSeverity.Error => "error",
        FindingSeverity.Warning => "warning",
        _ => "info",
    };
}

/// <summary>The stable ids of the plan rules (documented in <c>docs/plan.md</c>).</summary>
public static class PlanRules
{
    /// <summary>The file is not valid YAML.</summary>
    public const string YamlSyntax = "yaml-syntax";
    /// <summary>A key the format does not have.</summary>
    public const string UnknownKey = "unknown-key";
    /// <summary>A required field is missing.</summary>
    public const string MissingField = "missing-field";
    /// <summary>A value of the wrong type or out of range.</summary>
    public const string BadValue = "bad-value";
    /// <summary>A duration that does not parse.</summary>
    public const string BadDuration = "bad-duration";
    /// <summary>A cron expression that does not parse or never fires.</summary>
    public const string BadSchedule = "bad-schedule";
    /// <summary>A location URL Lifeline cannot use.</summary>
    public const string BadUrl = "bad-url";
    /// <summary>A version other than 1.</summary>
    public const string BadVersion = "bad-version";
    /// <summary>A component Lifeline cannot protect, or a reference to an undefined component.</summary>
    public const string UnknownComponent = "unknown-component";
    /// <summary>A reference to an undefined policy, location, scenario or channel.</summary>
    public const string UnknownReference = "unknown-reference";
    /// <summary>A component without a backup policy.</summary>
    public const string Unprotected = "component-unprotected";
    /// <summary>A component's worst-case RPO exceeds its objective.</summary>
    public const string RpoUnmet = "rpo-unmet";
    /// <summary>A retention shorter than the component's compliance period, or none.</summary>
    public const string RetentionShort = "retention-short";
    /// <summary>A policy with fewer locations than required.</summary>
    public const string TooFewLocations = "locations-too-few";
    /// <summary>Two locations of a policy that fail together.</summary>
    public const string SharedFailureDomain = "failure-domain-shared";
    /// <summary>A policy's primary and secondary in the same region.</summary>
    public const string SharedRegion = "region-shared";
    /// <summary>A restore that the measured restore speed cannot finish within its budget.</summary>
    public const string RestoreTooSlow = "restore-too-slow";
    /// <summary>Objectives that contradict each other.</summary>
    public const string ContradictoryObjectives = "objectives-contradictory";
    /// <summary>A source field on a component whose kind does not take it (e.g. <c>api</c> on a lake table).</summary>
    public const string SourceNotApplicable = "source-not-applicable";
    /// <summary>A source the plan names that is not there (or not what the component needs).</summary>
    public const string SourceMissing = "source-missing";
    /// <summary>A <c>${VAR}</c> in a source that is not set, or a secret written into the plan.</summary>
    public const string SourceSecret = "source-secret";
    /// <summary>What a "full" backup means in a deduplicating vault.</summary>
    public const string FullBackupMeaning = "full-backup-meaning";
}
