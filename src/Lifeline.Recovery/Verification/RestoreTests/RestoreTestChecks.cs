namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>The plan's weekly restore tests (docs/verification.md, "Weekly restore tests"), for the runner.</summary>
internal static class RestoreTestChecks
{
    /// <summary><c>restore-test</c>, <c>completeness</c>, <c>restore-speed</c> and <c>retention</c>.</summary>
    public static IReadOnlyList<IVerificationCheck> All() =>
        [new RestoreTestCheck(), new CompletenessCheck(), new RestoreSpeedCheck(), new RetentionCheck()];
}
