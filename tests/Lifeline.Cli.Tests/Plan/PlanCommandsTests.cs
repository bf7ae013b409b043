using System.Text.RegularExpressions;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Plan;

/// <summary><c>lifeline plan init / check / show</c> run as the real executable on real files.</summary>
public sealed partial class PlanCommandsTests
{
    private static readonly string[] Components =
        ["registry", "leads", "predictions", "conversions", "audit_logs", "monitoring_metrics", "configuration", "jobs"];

    [Fact]
    public async Task Init_CustomerPlan_CheckReportsRegistryRpoContradictionAndExitsPlanHasErrors()
    {
        using var dir = new TestDirectory("plan-customer");
        var runner = new LifelineRunner(dir.Path);

        var init = (await runner.RunAsync("plan", "init")).ShouldSucceed();
        Assert.Contains("wrote lifeline.yaml", init.Stdout, StringComparison.Ordinal);
        Assert.True(File.Exists(dir.Combine("lifeline.yaml")));

        var check = await runner.RunAsync("plan", "check");
        var error = check.ShouldFailWith(ExitCodes.PlanHasErrors);
        Assert.Contains("lifeline.yaml: ", error, StringComparison.Ordinal);
        var lines = check.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // every line a finding, but the one saying where the measured history came from
        var history = Assert.Single(lines, l => l.StartsWith("history: ", StringComparison.Ordinal));
        Assert.Contains("measured: none; assumed (estimates", history, StringComparison.Ordinal);
        lines = lines.Where(l => l != history).ToArray();
        Assert.All(lines, l => Assert.Matches(FindingLine(), l));
        Assert.Contains(lines, l => l.Contains(" error rpo-unmet [registry]: ", StringComparison.Ordinal) && l.Contains("exceeds the maximum 4h", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(" error locations-too-few [policy registry]: ", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains(" error component-unprotected [jobs]: ", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InitRecommended_Check_ExitsZeroWithNoErrors()
    {
        using var dir = new TestDirectory("plan-recommended");
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["PAGERDUTY_ROUTING_KEY"] = null;
        runner.Environment["SLACK_WEBHOOK_URL"] = null;
        (await runner.RunAsync("plan", "init", "--recommended", "--file", "plans/dr.yaml")).ShouldSucceed();

        var check = (await runner.RunAsync("plan", "check", "--file", "plans/dr.yaml")).ShouldSucceed();
        Assert.DoesNotContain(": error ", check.Stdout, StringComparison.Ordinal);
        // 2 infos about the plan, and one per channel secret or SMTP server this environment lacks (docs/notifications.md)
        Assert.EndsWith("plans/dr.yaml: no errors (0 warnings, 5 infos)", check.Stdout.TrimEnd(), StringComparison.Ordinal);
        Assert.Equal("", check.Stderr);

        var json = (await runner.RunAsync("--json", "plan", "check", "--file", "plans/dr.yaml")).ShouldSucceed().Json;
        Assert.True(json.GetProperty("ok").GetBoolean());
        Assert.Equal(0, json.GetProperty("errors").GetInt32());
        Assert.All(json.GetProperty("components").EnumerateArray(), c => Assert.NotNull(c.GetProperty("worstCase").GetString()));
    }

    [Fact]
    public async Task Init_Twice_RefusedWithOneLineAndFileKeptUntilForce()
    {
        using var dir = new TestDirectory("plan-twice");
        var runner = new LifelineRunner(dir.Path);
        (await runner.RunAsync("plan", "init")).ShouldSucceed();
        var path = dir.Combine("lifeline.yaml");
        File.AppendAllText(path, "# my edit\n");
        var edited = File.ReadAllText(path);

        var again = (await runner.RunAsync("plan", "init", "--recommended")).ShouldFailWith(ExitCodes.Failure);
        Assert.Contains("lifeline.yaml already exists", again, StringComparison.Ordinal);
        Assert.Contains("--force", again, StringComparison.Ordinal);
        Assert.Equal(edited, File.ReadAllText(path));
        Assert.Single(Directory.GetFileSystemEntries(dir.Path), e => Path.GetFileName(e).Contains("lifeline.yaml", StringComparison.Ordinal));

        var forced = (await runner.RunAsync("--json", "plan", "init", "--recommended", "--force")).ShouldSucceed().Json;
        Assert.True(forced.GetProperty("replaced").GetBoolean());
        Assert.Equal("recommended", forced.GetProperty("template").GetString());
        Assert.DoesNotContain("# my edit", File.ReadAllText(path), StringComparison.Ordinal);

        (await runner.RunAsync("plan", "init", "--file", dir.Path)).ShouldFailWith(ExitCodes.Usage);
    }

    [Fact]
    public async Task Show_CustomerPlan_ListsEveryComponentAndScenarioAsTextAndJson()
    {
        using var dir = new TestDirectory("plan-show");
        var runner = new LifelineRunner(dir.Path);
        (await runner.RunAsync("plan", "init", "--primary", "/srv/a", "--secondary", "s3://b/vault?region=eu-west-2", "--tertiary", "azure://c/vault")).ShouldSucceed();

        var show = (await runner.RunAsync("plan", "show")).ShouldSucceed();
        var rows = show.Stdout.Split('\n').Select(l => l.Split(' ', 2)[0]).ToHashSet();
        Assert.All(Components, c => Assert.Contains(c, rows));
        Assert.Contains(show.Stdout.Split('\n'), l => l.StartsWith("registry ", StringComparison.Ordinal) && l.Contains("over-max", StringComparison.Ordinal));
        Assert.Contains(show.Stdout.Split('\n'), l => l.StartsWith("jobs ", StringComparison.Ordinal) && l.TrimEnd().EndsWith("unprotected", StringComparison.Ordinal));
        Assert.Contains("s3://b/vault?region=eu-west-2", show.Stdout, StringComparison.Ordinal);
        Assert.Contains("workspace-failure: Scenario 1", show.Stdout, StringComparison.Ordinal);
        Assert.Single(show.StderrLines, l => l.StartsWith("lifeline: warning: lifeline.yaml has ", StringComparison.Ordinal));

        var json = (await runner.RunAsync("--json", "plan", "show")).ShouldSucceed().Json;
        Assert.Equal(Components, json.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("component").GetString()).ToArray());
        Assert.Equal(5, json.GetProperty("scenarios").GetArrayLength());
        Assert.Equal("1h", json.GetProperty("rpo").GetProperty("target").GetString());

        var check = await runner.RunAsync("--json", "plan", "check");
        check.ShouldFailWith(ExitCodes.PlanHasErrors);
        var document = check.Json;
        Assert.False(document.GetProperty("ok").GetBoolean());
        Assert.Contains(document.GetProperty("findings").EnumerateArray(), f =>
            f.GetProperty("rule").GetString() == "rpo-unmet" && f.GetProperty("subject").GetString() == "registry" && f.GetProperty("line").GetInt32() > 1);
    }

    [Fact]
    public async Task Check_BadPlanFile_FindingsNameFileLineAndColumnWithoutStackTrace()
    {
        using var dir = new TestDirectory("plan-bad");
        var runner = new LifelineRunner(dir.Path);
        File.WriteAllText(dir.Combine("bad.yaml"), "version: 1\nobjectives:\n  rpo: { target: 1h }\n  rto: 4x\ncomponents:\n  registry: { polcy: a }\n");
        File.WriteAllText(dir.Combine("broken.yaml"), "version: 1\n  objectives: [\n");

        var bad = await runner.RunAsync("plan", "check", "-f", "bad.yaml");
        Assert.Contains("bad.yaml: the plan cannot be read: line 4, column 8: ", bad.ShouldFailWith(ExitCodes.PlanHasErrors), StringComparison.Ordinal);
        Assert.Contains("bad.yaml:4:8: error bad-duration [objectives]: ", bad.Stdout, StringComparison.Ordinal);
        Assert.Contains("bad.yaml:6:15: error unknown-key [registry]: unknown key 'polcy'", bad.Stdout, StringComparison.Ordinal);
        Assert.Contains("(did you mean 'policy'?)", bad.Stdout, StringComparison.Ordinal);

        var broken = await runner.RunAsync("plan", "check", "--plan", "broken.yaml");
        broken.ShouldFailWith(ExitCodes.PlanHasErrors);
        Assert.Matches(@"^broken\.yaml:2:\d+: error yaml-syntax \[plan\]: .*; fix: ", broken.Stdout);

        var missing = await runner.RunAsync("plan", "check", "--file", "nope.yaml");
        Assert.Contains("no plan file here", missing.ShouldFailWith(ExitCodes.PlanHasErrors), StringComparison.Ordinal);
        Assert.Contains("lifeline plan init", missing.Stdout, StringComparison.Ordinal);

        var show = await runner.RunAsync("plan", "show", "--file", "broken.yaml");
        Assert.Contains("yaml", show.ShouldFailWith(ExitCodes.PlanHasErrors), StringComparison.Ordinal);
        Assert.Equal("", show.Stdout);
    }

    [GeneratedRegex(@"^[^:]+:\d+:\d+: (error|warning|info) [a-z-]+ \[[^\]]+\]: .+; fix: .+$")]
    private static partial Regex FindingLine();
}
