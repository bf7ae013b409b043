using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Tests.Plan;

public sealed class PlanParserTests
{
    private static PlanFinding SingleError(string yaml, string rule)
    {
        var result = PlanFile.Parse(yaml, "plan.yaml");
        Assert.False(result.Succeeded);
        var matches = result.Errors.Where(e => e.Rule == rule).ToList();
        Assert.True(matches.Count == 1, $"expected one {rule}, got:\n{string.Join("\n", result.Errors)}");
        Assert.Equal("plan.yaml", matches[0].File);
        return matches[0];
    }

    [Fact]
    public void Parse_GoodPlan_Succeeds()
    {
        var result = PlanFile.Parse(PlanTestSupport.GoodPlan());

        Assert.True(result.Succeeded, string.Join("\n", result.Errors));
        Assert.Equal(PlanTestSupport.LineOf(PlanTestSupport.GoodPlan(), "schedule: on-change"), result.Plan!.Source.Find("policies.registry.schedule").Line);
    }

    [Fact]
    public void Parse_UnknownKey_ErrorAtKeyWithSuggestion()
    {
        var yaml = PlanTestSupport.GoodPlan().Replace("    schedule: on-change", "    schedul: on-change", StringComparison.Ordinal);

        var error = SingleError(yaml, PlanRules.UnknownKey);

        Assert.Equal(new SourceMark(PlanTestSupport.LineOf(yaml, "schedul:"), 5), error.Mark);
        Assert.Equal("policy registry", error.Subject);
        Assert.Contains("unknown key 'schedul' in policy 'registry' (did you mean 'schedule'?)", error.Message, StringComparison.Ordinal);
        Assert.Contains("schedule", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_UnknownTopLevelKey_SuggestsTheKnownOne()
    {
        var yaml = PlanTestSupport.GoodPlan("polcies: {}");

        var error = SingleError(yaml, PlanRules.UnknownKey);

        Assert.Equal(PlanTestSupport.LineOf(yaml, "polcies:"), error.Mark.Line);
        Assert.Contains("(did you mean 'policies'?)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_BadDuration_ErrorAtValueWithHint()
    {
        var yaml = PlanTestSupport.GoodPlan().Replace("keep-within: 48h", "keep-within: 48 hours", StringComparison.Ordinal);

        var error = SingleError(yaml, PlanRules.BadDuration);

        var line = PlanTestSupport.LineOf(yaml, "48 hours");
        Assert.Equal(line, error.Mark.Line);
        Assert.Equal(yaml.Split('\n')[line - 1].IndexOf("48 hours", StringComparison.Ordinal) + 1, error.Mark.Column);
        Assert.Contains("unknown unit 'hours'", error.Message, StringComparison.Ordinal);
        Assert.Equal(PlanDuration.Hint, error.Fix);
    }

    [Fact]
    public void Parse_YamlSyntaxError_ReportsLineAndColumn()
    {
        var yaml = PlanTestSupport.GoodPlan().Replace("rpo: { target: 1h, max: 4h }", "rpo: { target: 1h, max: 4h", StringComparison.Ordinal);

        var result = PlanFile.Parse(yaml, "plan.yaml");

        var error = Assert.Single(result.Errors);
        Assert.Equal(PlanRules.YamlSyntax, error.Rule);
        Assert.InRange(error.Mark.Line, PlanTestSupport.LineOf(yaml, "rpo: { target"), PlanTestSupport.LineOf(yaml, "rpo: { target") + 1);
        Assert.True(error.Mark.Column >= 1);
        Assert.DoesNotContain("Idx:", error.Message, StringComparison.Ordinal);
        Assert.StartsWith("plan.yaml:", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_MappingValueInScalar_ReportsExactLineAndColumn()
    {
        var yaml = PlanTestSupport.GoodPlan().Replace("version: 1", "version: 1\nname: a: b", StringComparison.Ordinal);

        var error = Assert.Single(PlanFile.Parse(yaml, "plan.yaml").Errors);

        Assert.Equal(PlanRules.YamlSyntax, error.Rule);
        Assert.Equal(new SourceMark(2, 8), error.Mark);
        Assert.StartsWith("plan.yaml:2:8: error yaml-syntax [plan]: not valid YAML: ", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_DuplicateKey_IsAnError()
    {
        var yaml = PlanTestSupport.GoodPlan("version: 1");

        var error = SingleError(yaml, PlanRules.YamlSyntax);

        Assert.Equal(yaml.Split('\n').ToList().FindLastIndex(l => l.StartsWith("version:", StringComparison.Ordinal)) + 1, error.Mark.Line);
        Assert.Contains("Duplicate key", error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("version: 1", "version: 2", PlanRules.BadVersion)]
    [InlineData("version: 1", "", PlanRules.MissingField)]
    [InlineData("schedule: on-change", "schedule: \"0 25 * * *\"", PlanRules.BadSchedule)]
    [InlineData("url: ./vault-a", "url: ftp://host/vault", PlanRules.BadUrl)]
    [InlineData("url: ./vault-a", "url: s3://user:secret@bucket/vault", PlanRules.BadUrl)]
    [InlineData("url: ./vault-a", "url: \"azure://container/vault?sig=secret\"", PlanRules.BadUrl)]
    [InlineData("url: ./vault-a", "url: file://server/share/vault", PlanRules.BadUrl)]
    [InlineData("components: [registry]", "components: registry", PlanRules.BadValue)]
    [InlineData("registry: { policy: registry }", "registry: { policy: registry, kind: databse }", PlanRules.UnknownComponent)]
    public void Parse_BadValue_ErrorNamesRule(string good, string bad, string rule)
    {
        var yaml = PlanTestSupport.GoodPlan().Replace(good, bad, StringComparison.Ordinal);

        var error = SingleError(yaml, rule);

        Assert.False(string.IsNullOrWhiteSpace(error.Fix));
        Assert.DoesNotContain("secret", error.Message, StringComparison.Ordinal);
        if (bad.Length > 0)
        {
            Assert.Equal(PlanTestSupport.LineOf(yaml, bad), error.Mark.Line);
        }
    }

    [Fact]
    public void Parse_NotificationsRolesDrills_Validated()
    {
        var yaml = PlanTestSupport.GoodPlan("""
            drills:
              monthly: { scenarios: [registry-failure], schedule: "0 10 1 * *", checklist: [backup-restord] }
            notifications:
              channels:
                pager: { kind: pagerduty, for: [immediate] }
                mail: { kind: email, target: nobody, for: [stakeholders] }
                hook: { kind: webhook, secret-env: "https://hooks.example/T0/secret", for: [status] }
            """);

        var errors = PlanFile.Parse(yaml, "plan.yaml").Errors;

        Assert.Contains(errors, e => e.Subject == "drill monthly" && e.Message.Contains("(did you mean 'backup-restored'?)", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Subject == "channel pager" && e.Rule == PlanRules.MissingField && e.Message.Contains("secret-env", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Subject == "channel mail" && e.Message.Contains("address", StringComparison.Ordinal));
        var hook = Assert.Single(errors, e => e.Subject == "channel hook");
        Assert.Equal(PlanTestSupport.LineOf(yaml, "hook:"), hook.Mark.Line);
        Assert.DoesNotContain("hooks.example", hook.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_EmptyFile_OneClearError()
    {
        var error = Assert.Single(PlanFile.Parse("# nothing yet\n", "plan.yaml").Errors);

        Assert.Equal(PlanRules.MissingField, error.Rule);
        Assert.Contains("empty", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WriteThenLoad_Template_RoundTripsToTheSamePlan(bool recommended)
    {
        using var dir = new TempDirectory();
        var first = PlanFile.Parse(PlanTemplates.For(recommended)).Plan!;
        var path = dir.Combine("written.yaml");

        await PlanFile.WriteAsync(path, PlanFile.Write(first), overwrite: false);
        var second = await PlanFile.LoadAsync(path);

        Assert.True(second.Succeeded, string.Join("\n", second.Errors));
        Assert.Equal(PlanFile.Write(first), PlanFile.Write(second.Plan!));
        Assert.Equal(first.Objectives.Rpo, second.Plan!.Objectives.Rpo);
        Assert.Equal(first.Policies.Select(p => (p.Name, p.Schedule, p.Full, p.Retention, p.Locations)), second.Plan.Policies.Select(p => (p.Name, p.Schedule, p.Full, p.Retention, p.Locations)));
        Assert.Equal(first.Components, second.Plan.Components);
        Assert.Equal(first.Locations, second.Plan.Locations);
    }

    [Fact]
    public async Task WriteAsync_ExistingFile_RefusedUnlessOverwrite()
    {
        using var dir = new TempDirectory();
        var path = dir.Combine(PlanFile.DefaultFileName);
        await File.WriteAllTextAsync(path, "mine");

        var error = await Assert.ThrowsAsync<IOException>(() => PlanFile.WriteAsync(path, PlanTemplates.Customer(), overwrite: false));
        Assert.Contains("already exists", error.Message, StringComparison.Ordinal);
        Assert.Equal("mine", await File.ReadAllTextAsync(path));

        await PlanFile.WriteAsync(path, PlanTemplates.Customer(), overwrite: true);
        Assert.Equal(PlanTemplates.Customer(), await File.ReadAllTextAsync(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public async Task CheckFileAsync_MissingFile_ErrorFindingNotException()
    {
        using var dir = new TempDirectory();

        var report = await new PlanChecker(PlanTestSupport.Clock()).CheckFileAsync(dir.Combine("absent.yaml"));

        var error = Assert.Single(report.Findings);
        Assert.True(report.HasErrors);
        Assert.Contains("plan init", error.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ParseAndCheck_CustomerPlanWithAnyOneLineCut_NeverThrows()
    {
        var lines = PlanTemplates.Customer().Split('\n');
        // a short horizon keeps 600 checks fast; the schedules here repeat within days
        var checker = new PlanChecker(PlanTestSupport.Clock(), options: new PlanCheckOptions { ScheduleHorizon = TimeSpan.FromDays(8) });
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].TrimStart() is "" or ['#', ..])
            {
                continue;
            }

            // cut in half: a value lost, a bracket or quote left open, a key without its colon
            foreach (var variant in new[] { lines[i][..(lines[i].Length / 2)] })
            {
                var yaml = string.Join('\n', lines[..i].Append(variant).Concat(lines[(i + 1)..]));
                var parsed = PlanFile.Parse(yaml, "plan.yaml");
                Assert.All(parsed.Errors, e => Assert.InRange(e.Mark.Line, 1, lines.Length + 1));
                if (parsed.Succeeded)
                {
                    await checker.CheckAsync(parsed.Plan!);
                }
            }
        }
    }
}
