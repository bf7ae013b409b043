using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Tests.Hosting;

/// <summary>What a plan reload in <c>up</c> hands to the protection: it restarts only when what it protects on change
/// differs (docs/up.md, "Plan reload").</summary>
public sealed class PlanReloadTests
{
    private static LifelinePlan Parse(string registrySchedule, string extraJob = "")
    {
        var parsed = PlanFile.Parse($$"""
            version: 1
            objectives: { rto: 4h, rpo: { target: 1h, max: 4h } }
            components:
              leads: { policy: live }
              registry: { policy: nightly }
            policies:
              live: { schedule: on-change, locations: { primary: a, secondary: b } }
              nightly: { schedule: "{{registrySchedule}}", locations: { primary: a, secondary: b } }
            locations:
              a: { url: ./a }
              b: { url: ./b }
            {{extraJob}}
            """, "/plans/lifeline.yaml");
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        return parsed.Plan!;
    }

    [Fact]
    public void Fingerprint_OnlySchedulesChanged_IsTheSame()
    {
        var before = ProtectionDeploymentService.Fingerprint(Parse("0 1 * * *"));
        var after = ProtectionDeploymentService.Fingerprint(Parse("0 2 * * *", "jobs:\n  export: { command: [/bin/true], schedule: \"0 3 * * *\" }"));

        Assert.Equal(before, after);
    }

    [Fact]
    public void Fingerprint_PolicyTurnedOnChange_Differs()
    {
        var before = ProtectionDeploymentService.Fingerprint(Parse("0 1 * * *"));
        var after = ProtectionDeploymentService.Fingerprint(Parse("on-change"));

        Assert.NotEqual(before, after);
        Assert.Contains("registry|", after, StringComparison.Ordinal);
        Assert.DoesNotContain("registry|", before, StringComparison.Ordinal);
    }
}
