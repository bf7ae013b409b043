using System.Text.Json;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Recovery;

/// <summary>
/// <c>lifeline report</c> run as the real executable over a plan with two local vaults, after a real backup: without a
/// password it reads the audit (and says so), with one it lists the vaults; it writes the files it prints; bad input is
/// one line with exit 2. A distinctive secret (in the environment, a channel's secret-env, a captured file) reaches
/// no output.
/// </summary>
public sealed class ReportCommandTests
{
    private const string Password = "report-cli-password";
    private const string EnvSecret = "tok-report-7c6b5a4d3e2f";
    private const string WebhookSecret = "https://hooks.example/report-hook-1a2b3c";
    private const string FileSecret = "file-secret-report-9z8y";

    [Fact]
    public async Task Report_AfterABackup_WritesTheThreeFilesWithoutAPasswordAndNoSecret()
    {
        using var dir = new TestDirectory("report-files");
        var runner = await CreateAsync(dir);
        (await runner.RunAsync("backup", "configuration")).ShouldSucceed();

        var noPassword = new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = null };
        var text = (await runner.RunAsync(["report", "--out", "out"], noPassword)).ShouldSucceed();
        var files = new[] { "report.md", "report.json", "report.html" }.Select(n => dir.Combine("app", "out", n)).ToList();
        foreach (var file in files)
        {
            Assert.True(File.Exists(file), file);
            Assert.Contains(file, text.Stdout, StringComparison.Ordinal);
        }

        Assert.Contains("not read: the vaults were not opened (no password)", text.Stdout, StringComparison.Ordinal);
        var json = JsonDocument.Parse(await File.ReadAllTextAsync(files[1])).RootElement;
        Assert.Equal("audit", json.GetProperty("statusSource").GetString());
        var component = json.GetProperty("components").EnumerateArray().Single();
        Assert.Equal("green", component.GetProperty("color").GetString());
        Assert.Equal(1, component.GetProperty("backups").GetProperty("ok").GetInt32());
        Assert.Contains("# Recovery report: report test", await File.ReadAllTextAsync(files[0]), StringComparison.Ordinal);

        var withPassword = (await runner.RunAsync("report", "--out", "only-json", "--format", "json", "--since", "7d", "--json")).ShouldSucceed().Json;
        var written = withPassword.GetProperty("files").EnumerateArray().Select(e => e.GetString()!).ToList();
        Assert.Equal([dir.Combine("app", "only-json", "report.json")], written);
        var vaults = JsonDocument.Parse(await File.ReadAllTextAsync(written[0])).RootElement;
        Assert.Equal("vaults", vaults.GetProperty("statusSource").GetString());
        Assert.Equal(7 * 86400, vaults.GetProperty("periodSeconds").GetDouble());

        foreach (var output in files.Select(File.ReadAllText).Append(File.ReadAllText(written[0])).Append(text.Stdout + text.Stderr))
        {
            foreach (var secret in new[] { EnvSecret, WebhookSecret, FileSecret, Password })
            {
                Assert.False(output.Contains(secret, StringComparison.Ordinal), $"a secret reached the report:\n{output}");
            }
        }
    }

    [Theory]
    [InlineData("--since", "30 days", "--since")]
    [InlineData("--since", "0", "--since '0' is no period")]
    [InlineData("--format", "pdf", "--format 'pdf' is not a report format: write md, json, html or all")]
    public async Task Report_BadOption_OneLineExit2(string option, string value, string expected)
    {
        using var dir = new TestDirectory("report-bad");
        var runner = await CreateAsync(dir);

        var result = await runner.RunAsync("report", option, value);

        var line = result.ShouldFailWith(2);
        Assert.Contains(expected, line, StringComparison.Ordinal);
        Assert.Single(result.StderrLines);
        Assert.False(Directory.Exists(dir.Combine("app", "report.md")));
    }

    private static async Task<LifelineRunner> CreateAsync(TestDirectory dir)
    {
        Directory.CreateDirectory(dir.Combine("app", "conf"));
        Directory.CreateDirectory(dir.Combine("tmp"));
        await File.WriteAllTextAsync(dir.Combine("app", "conf", "api.json"), "{ \"port\": 8080 }\n");
        await File.WriteAllTextAsync(dir.Combine("app", "secrets.env"), $"DB_PASSWORD={FileSecret}\n");
        await File.WriteAllTextAsync(dir.Combine("app", "lifeline.yaml"), """
            version: 1
            name: report test
            objectives:
              rto: { target: 4h, max: 8h }
              rpo: { target: 1h, max: 4h }
              scenarios:
                config-loss: { title: Configuration lost, rto: { target: 1h }, restore-budget: 30m, components: [configuration] }
            components:
              configuration:
                policy: config
                files: [conf/*.json, secrets.env]
                env: [APP_*]
            policies:
              config:
                schedule: "0 * * * *"
                retention: { keep-last: 2 }
                locations: { primary: a, secondary: b }
            locations:
              a: { url: ../vault-a, region: region-a }
              b: { url: ../vault-b, region: region-b }
            notifications:
              channels:
                ops: { kind: slack, target: "#ops", secret-env: REPORT_SLACK_WEBHOOK, for: [immediate] }

            """);
        var runner = new LifelineRunner(dir.Combine("app"));
        runner.Environment["LIFELINE_PASSWORD"] = Password;
        runner.Environment["APP_API_TOKEN"] = EnvSecret;
        runner.Environment["REPORT_SLACK_WEBHOOK"] = WebhookSecret;
        runner.Environment["TMPDIR"] = dir.Combine("tmp");
        return runner;
    }
}
