using Lifeline.Recovery.Plan;

namespace Lifeline.Cli.Demo;

/// <summary>What the plan part of the demo found (the <c>plan</c> object of the demo's JSON document).</summary>
internal sealed record PlanDemoResult(
    string File, int Errors, int Warnings, string CustomerFile, int CustomerErrors, IReadOnlyList<string> CustomerRules, bool Ok, int ExitCode);

/// <summary>
/// The plan part of <c>lifeline demo</c>: writes Lifeline's recommended plan (<c>lifeline.yaml</c>, its primary the
/// demo's primary vault) and the customer's plan as it stands (<c>customer-plan.yaml</c>, on the demo's two vaults)
/// into the demo directory and checks both, as <c>lifeline plan init</c> and <c>plan check</c> do.
/// </summary>
internal static class PlanDemo
{
    /// <summary>The recommended plan's file name in the demo directory.</summary>
    public const string RecommendedFile = PlanFile.DefaultFileName;

    /// <summary>The customer's plan's file name in the demo directory.</summary>
    public const string CustomerFile = "customer-plan.yaml";

    public static Task<PlanDemoResult> RunAsync(string directory, DemoSteps steps, CancellationToken ct) =>
        steps.RunAsync("plan: write and check", async () =>
        {
            var primary = "./" + Path.GetRelativePath(directory, VaultDemo.PrimaryDirectory(directory));
            var checker = new PlanChecker(steps.Time);

            var recommendedPath = Path.Combine(directory, RecommendedFile);
            await PlanFile.WriteAsync(recommendedPath, PlanTemplates.Recommended(new PlanTemplateOptions { PrimaryUrl = primary }), overwrite: false, ct);
            var recommended = await checker.CheckFileAsync(recommendedPath, ct);

            var customerPath = Path.Combine(directory, CustomerFile);
            var customerOptions = new PlanTemplateOptions { PrimaryUrl = primary, SecondaryUrl = "./" + Path.GetRelativePath(directory, VaultDemo.SecondaryDirectory(directory)) };
            await PlanFile.WriteAsync(customerPath, PlanTemplates.Customer(customerOptions), overwrite: false, ct);
            var customer = await checker.CheckFileAsync(customerPath, ct);

            var rules = customer.Findings.Where(f => f.Severity == FindingSeverity.Error).Select(f => f.Rule).Distinct().ToList();
            // the point of the step: the recommended plan meets every objective, the customer's cannot meet its registry RPO
            var ok = recommended.Plan is not null && !recommended.HasErrors
                && customer.Findings.Any(f => f.Rule == PlanRules.RpoUnmet && f.Subject == "registry" && f.Severity == FindingSeverity.Error);
            var result = new PlanDemoResult(RecommendedFile, recommended.ErrorCount, recommended.WarningCount, CustomerFile, customer.ErrorCount, rules, ok,
                ok ? ExitCodes.Ok : ExitCodes.CheckFailed);
            return (result, $"recommended {RecommendedFile}: {recommended.ErrorCount} errors; customer's {CustomerFile}: {customer.ErrorCount} errors ({string.Join(", ", rules)})");
        });
}
