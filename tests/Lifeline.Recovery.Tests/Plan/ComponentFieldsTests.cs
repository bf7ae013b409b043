using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Tests.Plan;

public sealed class ComponentFieldsTests
{
    private const string Yaml = """
        version: 1
        objectives: { rto: 4h, rpo: 1h }
        components:
          configuration:
            files: [conf/*.json, .env]
            env: [APP_*, HOME]
            secrets: [APP_DSN]
            hooks: { pre: "pg_dump --help", post: "true", timeout: 2m }
        """;

    [Fact]
    public void Parse_ConfigurationFieldsAndHooks_AreReadAndWrittenBack()
    {
        var plan = PlanFile.Parse(Yaml).Plan!;
        var c = plan.Components[0];

        Assert.Equal(["conf/*.json", ".env"], c.Files);
        Assert.Equal(["APP_*", "HOME"], c.Env);
        Assert.Equal(["APP_DSN"], c.Secrets);
        Assert.Equal(new ComponentHooks { Pre = "pg_dump --help", Post = "true", Timeout = TimeSpan.FromMinutes(2) }, c.Hooks);
        var again = PlanFile.Parse(PlanFile.Write(plan)).Plan!.Components[0];
        Assert.Equal(c.Hooks, again.Hooks);
        Assert.Equal(c.Files, again.Files);
    }

    [Fact]
    public void Parse_UnknownHookKey_IsAnErrorWithASuggestion()
    {
        var result = PlanFile.Parse(Yaml.Replace("timeout: 2m", "timout: 2m", StringComparison.Ordinal));

        var error = Assert.Single(result.Errors);
        Assert.Contains("did you mean 'timeout'", error.Message, StringComparison.Ordinal);
    }
}
