using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Tests.Plan;

public sealed class SourcesTests
{
    private const string Yaml = """
        version: 1
        objectives: { rto: 4h, rpo: 1h }
        sources:
          data: ./state
          lake: "s3://lake-bucket/tables?endpoint=http://127.0.0.1:10050"
        components:
          registry:
            data: ./registry-data
            postgres: "Host=db;Username=mlflow;Password=${LIFELINE_TEST_PG_PASSWORD}"
          leads: {}
          predictions: { location: /srv/lake/predictions }
          jobs: { files: [jobs/*.yaml], store: "${LIFELINE_TEST_STATE}/jobs.db" }
        """;

    [Fact]
    public void Parse_SourcesAndComponentFields_AreReadAndWrittenBack()
    {
        var plan = PlanFile.Parse(Yaml).Plan!;

        Assert.Equal(new PlanSources { Data = "./state", Lake = "s3://lake-bucket/tables?endpoint=http://127.0.0.1:10050" }, plan.Sources);
        var registry = plan.FindComponent("registry")!;
        Assert.Equal(("./registry-data", "Host=db;Username=mlflow;Password=${LIFELINE_TEST_PG_PASSWORD}"), (registry.Data, registry.Postgres));
        Assert.Equal("/srv/lake/predictions", plan.FindComponent("predictions")!.Location);
        Assert.Equal("${LIFELINE_TEST_STATE}/jobs.db", plan.FindComponent("jobs")!.Store);
        var again = PlanFile.Parse(PlanFile.Write(plan)).Plan!;
        Assert.Equal(plan.Sources, again.Sources);
        Assert.Equal(plan.Components, again.Components);
    }

    [Fact]
    public void ComponentSources_DefaultsAndOverrides_ResolveFromThePlanDirectoryWithVariablesExpanded()
    {
        var plan = PlanFile.Parse(Yaml, "/plans/lifeline.yaml").Plan!;
        var env = new Dictionary<string, string?> { ["LIFELINE_TEST_PG_PASSWORD"] = "pg-secret", ["LIFELINE_TEST_STATE"] = "/var/lib/lifeline" };

        var sources = new ComponentSources(plan, environment: env);

        Assert.Equal("/plans/state", sources.DataDirectory);
        Assert.Equal("/plans/registry-data", sources.RegistryData(plan.FindComponent("registry")!));
        Assert.Equal("Host=db;Username=mlflow;Password=pg-secret", sources.RegistryPostgres(plan.FindComponent("registry")!));
        Assert.Equal("s3://lake-bucket/tables/leads?endpoint=http://127.0.0.1:10050", sources.TableLocation(plan.FindComponent("leads")!));
        Assert.Equal("/srv/lake/predictions", sources.TableLocation(plan.FindComponent("predictions")!));
        Assert.Equal("/var/lib/lifeline/jobs.db", sources.JobStore(plan.FindComponent("jobs")!));
        var defaults = new ComponentSources(PlanFile.Parse("version: 1\nobjectives: { rto: 4h, rpo: 1h }\ncomponents: { registry: {}, leads: {}, jobs: {} }\n", "/plans/lifeline.yaml").Plan!);
        Assert.Equal("/plans/lifeline-data/registry", defaults.RegistryData(new PlanComponent { Name = "registry" }));
        Assert.Equal("/plans/lifeline-data/lake", defaults.LakeRoot);
        Assert.Equal("/plans/lifeline-data/scheduler/jobs.db", defaults.JobStore(new PlanComponent { Name = "jobs" }));
    }

    [Fact]
    public void Expand_UnsetVariable_IsOneLineNamingItAndWhere()
    {
        var error = Assert.Throws<RecoveryException>(() => SourceText.Expand("Password=${NOT_SET_ANYWHERE}", "components.registry.postgres", new Dictionary<string, string?>()));

        Assert.Contains("NOT_SET_ANYWHERE", error.Message, StringComparison.Ordinal);
        Assert.Contains("components.registry.postgres", error.Message, StringComparison.Ordinal);
        Assert.Equal("cost $5 and ${literal", SourceText.Expand("cost $5 and $${literal", "x", new Dictionary<string, string?>()));
        Assert.NotNull(SourceText.ReferenceError("${1BAD}"));
        Assert.NotNull(SourceText.ReferenceError("${OPEN"));
    }

    [Fact]
    public async Task Check_SourceProblems_AreFindingsAtTheirLine()
    {
        using var dir = new TempDirectory();
        var yaml = """
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            components:
              leads:
                api: http://mlflow:5000
              registry:
                postgres: "Host=db;Password=hunter2"
                token-env: MLFLOW_TOKEN
              predictions:
                location: ./no-such-table
              jobs:
                store: "${LIFELINE_TEST_UNSET_VARIABLE}/jobs.db"
            """;

        var report = await PlanTestSupport.CheckAsync(dir, yaml);

        var notApplicable = PlanTestSupport.Single(report, PlanRules.SourceNotApplicable, "leads");
        Assert.Equal((FindingSeverity.Error, PlanTestSupport.LineOf(yaml, "api: http")), (notApplicable.Severity, notApplicable.Mark.Line));
        Assert.Contains("'leads' is a lake table", notApplicable.Message, StringComparison.Ordinal);
        var secret = report.Findings.Single(f => f.Rule == PlanRules.SourceSecret && f.Subject == "registry");
        Assert.Equal((FindingSeverity.Error, PlanTestSupport.LineOf(yaml, "postgres:")), (secret.Severity, secret.Mark.Line));
        Assert.DoesNotContain("hunter2", secret.ToString(), StringComparison.Ordinal);
        Assert.Equal(FindingSeverity.Warning, report.Findings.Single(f => f.Rule == PlanRules.SourceNotApplicable && f.Subject == "registry").Severity);
        var missing = PlanTestSupport.Single(report, PlanRules.SourceMissing, "predictions");
        Assert.Equal((FindingSeverity.Warning, PlanTestSupport.LineOf(yaml, "location: ./no-such-table")), (missing.Severity, missing.Mark.Line));
        Assert.Contains(dir.Combine("no-such-table"), missing.Message, StringComparison.Ordinal);
        var unset = report.Findings.Single(f => f.Rule == PlanRules.SourceSecret && f.Subject == "jobs");
        Assert.Contains("LIFELINE_TEST_UNSET_VARIABLE", unset.Message, StringComparison.Ordinal);
        Assert.Matches(@"^.+lifeline\.yaml:\d+:\d+: error source-not-applicable \[leads\]: .+; fix: .+$", notApplicable.ToString());
    }

    [Fact]
    public void Parse_BadSourceValues_AreErrorsWithTheFix()
    {
        var result = PlanFile.Parse("""
            version: 1
            objectives: { rto: 4h, rpo: 1h }
            sources: { data: "${", lak: x }
            components:
              registry: { api: "ftp://mlflow", token-env: "abc def" }
            """);

        Assert.Contains(result.Errors, e => e.Rule == PlanRules.BadValue && e.Message.Contains("'sources.data'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Rule == PlanRules.UnknownKey && e.Message.Contains("did you mean 'lake'", StringComparison.Ordinal));
        Assert.Contains(result.Errors, e => e.Rule == PlanRules.BadUrl && e.Mark.Line == 5);
        Assert.Contains(result.Errors, e => e.Message.Contains("'components.registry.token-env' must name an environment variable", StringComparison.Ordinal));
    }
}
