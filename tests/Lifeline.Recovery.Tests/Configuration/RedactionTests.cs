using Lifeline.Recovery.Configuration;

namespace Lifeline.Recovery.Tests.Configuration;

public sealed class RedactionTests
{
    [Fact]
    public async Task ListAndDiff_ConfigurationWithSecrets_ShowOnlyRedactionsAndFingerprints()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        var adapter = Assert.IsType<ConfigurationComponent>(RecoveryService.BuiltInAdapters(f.Plan, new ConfigurationOptions
        {
            BaseDirectory = f.App,
            Environment = new Dictionary<string, string?> { ["LIFELINE_TEST_TOKEN"] = RecoveryFixture.SecretValue, ["APP_DSN"] = RecoveryFixture.DsnValue, ["APP_MODE"] = "production" },
        })[0]);
        var before = adapter.ListLive();
        var changed = Assert.IsType<ConfigurationComponent>(RecoveryService.BuiltInAdapters(f.Plan, new ConfigurationOptions
        {
            BaseDirectory = f.App,
            Environment = new Dictionary<string, string?> { ["LIFELINE_TEST_TOKEN"] = RecoveryFixture.SecretValue + "2", ["APP_DSN"] = RecoveryFixture.DsnValue, ["APP_MODE"] = "staging" },
        })[0]).ListLive();

        var diff = ConfigurationComponent.Diff(before, changed);
        var listing = string.Join('\n', before.Select(e => e.ToString()));

        Assert.Contains("env  APP_MODE = production", listing, StringComparison.Ordinal);
        Assert.Contains("env  LIFELINE_TEST_TOKEN = *** (sha256:", listing, StringComparison.Ordinal);
        Assert.Contains("env  APP_DSN = *** (sha256:", listing, StringComparison.Ordinal);
        Assert.Contains(diff, l => l.StartsWith("~ env LIFELINE_TEST_TOKEN: *** (sha256:", StringComparison.Ordinal));
        Assert.Contains("~ env APP_MODE: production -> staging", diff);
        Assert.DoesNotContain(diff, l => l.Contains("APP_DSN", StringComparison.Ordinal));
        AssertNoSecret(listing + "\n" + string.Join('\n', diff));
    }

    [Fact]
    public async Task BackupRestoreListStatusAudit_WithSecrets_NeverPutASecretInALogOrRecord()
    {
        await using var f = await RecoveryFixture.CreateAsync();
        await f.Service.BackupComponentAsync("configuration");
        f.Time.Advance(TimeSpan.FromMinutes(5));
        var restored = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { As = "audit-check" });
        var dry = await f.Service.RestoreAsync("configuration", new RestoreRunOptions { DryRun = true, As = "other" });
        var forget = await f.Service.ForgetAsync([], dryRun: false);
        var status = await f.Service.StatusAsync();
        var records = await f.Service.Audit.ReadAsync().ToListAsync();
        var staged = Path.Combine(f.Dir.Path, "staged");
        var vault = await f.Locations.OpenAsync("a");
        var snapshot = await vault.FindSnapshotAsync("latest");
        await vault.RestoreAsync(new Vault.RestoreRequest { Snapshot = snapshot, TargetDirectory = staged });
        var listing = await ConfigurationComponent.ListAsync(staged);

        Assert.Contains(records, r => r.Arguments.SequenceEqual(["backup", "configuration", "--password", "***", "LIFELINE_TEST_TOKEN=***"]));
        var everything = string.Join('\n',
            [f.Logger.All, restored.Reinstated!.Summary, dry.WouldRefuse ?? "", .. forget.Findings.Select(x => x.ToString()),
             .. status.Components.Select(c => c.Reason), .. records.Select(r => System.Text.Json.JsonSerializer.Serialize(r)), .. listing.Select(e => e.ToString())]);
        Assert.NotEmpty(f.Logger.Lines);
        AssertNoSecret(everything);
        Assert.DoesNotContain(RecoveryFixture.Password, everything, StringComparison.Ordinal);
    }

    private static void AssertNoSecret(string text)
    {
        Assert.DoesNotContain(RecoveryFixture.SecretValue, text, StringComparison.Ordinal);
        Assert.DoesNotContain("dsn-pa55", text, StringComparison.Ordinal);
    }
}
