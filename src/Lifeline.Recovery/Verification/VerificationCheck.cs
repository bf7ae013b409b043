using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Verification;

/// <summary>What a check runs with: the plan, its recovery service and locations, a clock and a scratch area.</summary>
public sealed record VerificationContext
{
    /// <summary>The plan.</summary>
    public required LifelinePlan Plan { get; init; }

    /// <summary>The recovery service over the plan's adapters and locations.</summary>
    public required RecoveryService Service { get; init; }

    /// <summary>The plan's locations, opened.</summary>
    public required LocationSet Locations { get; init; }

    /// <summary>The components to check (every component of the plan when empty).</summary>
    public IReadOnlyList<string> Components { get; init; } = [];

    /// <summary>The plan's check that runs (<c>daily</c>), or null for a run by hand.</summary>
    public string? Run { get; init; }

    /// <summary>A directory the check may fill and must empty again (restore tests restore here).</summary>
    public required string ScratchDirectory { get; init; }

    /// <summary>The clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Where findings are logged.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Where a failed check raises its cause (an incident opens on it); none when null.</summary>
    public IIncidentSignals? Signals { get; init; }
}

/// <summary>One of the plan's verification checks (<see cref="VerificationPlan.KnownChecks"/>).</summary>
public interface IVerificationCheck
{
    /// <summary>The check's name in the plan (<c>integrity</c>, <c>restore-test</c>).</summary>
    string Name { get; }

    /// <summary>Runs the check; one record per component and location it looked at, each passed or not. A failure of
    /// what is checked is a failed record, never an exception; an exception means the check itself could not run.</summary>
    Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken);
}
