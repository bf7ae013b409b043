using System.Text.Json.Nodes;
using Lifeline.Recovery.Components;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Verification;
using Lifeline.Recovery.Verification.RestoreTests;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tests.Verification.RestoreTests;

/// <summary>The weekly restore tests on real vaults, a real registry with a trained model, real Delta tables, real
/// files and a SQLite job store; each check called directly, its evidence records asserted.</summary>
public sealed class RestoreTestChecksTests
{
    [Fact]
    public async Task WeeklyChecks_GoodBackup_EveryComponentInEveryLocationPassesOnOneRestoreEach()
    {
        await using var f = await RestoreTestFixture.CreateAsync(registry: true);
        await f.BackupAsync("registry", "leads", "configuration", "jobs");
        var context = f.Context();
        static bool IsRestore(Lifeline.Recovery.Audit.AuditRecord a) => a.Action == Lifeline.Recovery.Audit.AuditActions.Restore;
        var restoresBefore = await f.Service.Audit.ReadAsync().CountAsync(IsRestore);

        var run = await VerificationRunner.BuiltIn().RunAsync(context, ["restore-test", "completeness", "restore-speed", "retention"], CancellationToken.None);
        IReadOnlyList<EvidenceRecord> Of(string check) => run.Checks.Single(c => c.Check == check).Records;
        var (restore, complete, speed, retention) = (Of("restore-test"), Of("completeness"), Of("restore-speed"), Of("retention"));

        string[] expected = ["registry@a", "registry@b", "leads@a", "leads@b", "configuration@a", "configuration@b", "jobs@a", "jobs@b"];
        // the three restoring checks of the run shared one restore per component and location
        Assert.Equal(expected.Length, await f.Service.Audit.ReadAsync().CountAsync(IsRestore) - restoresBefore);
        foreach (var records in new[] { restore, complete, speed, retention })
        {
            Assert.Equal(expected, records.Select(r => $"{r.Component}@{r.Location}"));
            Assert.All(records, r => Assert.True(r.Passed, $"{r.Check} {r.Component}@{r.Location}: {r.Summary}"));
            Assert.All(records, r => Assert.Equal("weekly", r.Run));
        }

        // the restored registry served the Production model, which scored the golden leads as the live one does
        var registry = restore.First(r => r.Component == "registry");
        Assert.Equal(1, registry.Numbers["scored"]);
        Assert.Contains("lead-scoring v1 served, 10 golden leads scored as the live model does", registry.Summary, StringComparison.Ordinal);
        var leads = restore.First(r => r.Component == "leads");
        Assert.Equal(40, leads.Numbers["rows"]);
        Assert.Contains("jobs", restore.First(r => r.Component == "jobs").Summary, StringComparison.Ordinal);
        Assert.Equal(1, restore.First(r => r.Component == "jobs").Numbers["stores"]);
        Assert.Equal(40, complete.First(r => r.Component == "leads").Numbers["sourceRows"]);
        Assert.Equal(1, complete.First(r => r.Component == "registry").Numbers["model_versions"]);
        Assert.Contains("as in the source's manifest", complete.First(r => r.Component == "configuration").Summary, StringComparison.Ordinal);
        Assert.All(speed, r => Assert.True(r.Numbers["bytesPerSecond"] > 0 && r.Numbers["projectedSeconds"] <= r.Numbers["budgetSeconds"], r.Summary));
        Assert.All(speed, r => Assert.Equal(3600, r.Numbers["budgetSeconds"]));
        Assert.All(speed, r => Assert.Contains("restore budget of scenario total-loss", r.Summary, StringComparison.Ordinal));
        f.AssertScratchEmpty();
        // no secret in anything a check wrote
        Assert.DoesNotContain(new[] { restore, complete, speed, retention }.SelectMany(r => r), r => (r.Summary + r.Against).Contains(RestoreTestFixture.SecretValue, StringComparison.Ordinal));
        Assert.DoesNotContain(RestoreTestFixture.SecretValue, f.Logger.All, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RestoreTest_ConfigurationFileThatDoesNotParse_FailsNamingItWithoutItsText()
    {
        await using var f = await RestoreTestFixture.CreateAsync(registry: false);
        await File.WriteAllTextAsync(f.Dir.Combine("conf", "api.json"), $"{{ \"token\": \"{RestoreTestFixture.SecretValue}\", ");
        await f.BackupAsync("configuration");

        var records = await new RestoreTestCheck().RunAsync(f.Context("configuration"), CancellationToken.None);

        Assert.Equal(["a", "b"], records.Select(r => r.Location));
        Assert.All(records, r => Assert.False(r.Passed));
        Assert.All(records, r => Assert.Contains("conf/api.json does not parse: invalid JSON at line 1", r.Summary, StringComparison.Ordinal));
        Assert.All(records, r => Assert.DoesNotContain(RestoreTestFixture.SecretValue, r.Summary, StringComparison.Ordinal));
        f.AssertScratchEmpty();
    }

    [Fact]
    public async Task Completeness_PointWithoutAFileOfItsManifest_FailsNamingTheFile()
    {
        await using var f = await RestoreTestFixture.CreateAsync(registry: false);
        // a configuration point whose manifest names conf/api.json, which the point does not hold
        var source = (IRecoveryPointSource)f.Service.AdapterOf("configuration")!;
        var work = f.Dir.Combine("capture");
        Directory.CreateDirectory(work);
        await using (var captured = await source.CaptureAsync(new CaptureContext { WorkDirectory = work, OperationId = "test" }, null, CancellationToken.None))
        {
            File.Delete(Path.Combine(work, "configuration", "files", "conf", "api.json"));
            var vault = await f.Locations.OpenAsync("a", create: true);
            await vault.BackupAsync(new BackupRequest { Paths = captured.Paths, Source = "configuration", Tags = captured.Tags.Encode() });
        }

        var records = await new CompletenessCheck().RunAsync(f.Context("configuration"), CancellationToken.None);

        var a = records.Single(r => r.Location == "a");
        Assert.False(a.Passed);
        Assert.Contains("conf/api.json", a.Summary, StringComparison.Ordinal);
        Assert.Contains("missing", a.Summary, StringComparison.Ordinal);
        Assert.False(records.Single(r => r.Location == "b").Passed); // no point there at all
        f.AssertScratchEmpty();
    }

    [Fact]
    public async Task Completeness_TruncatedTable_FailsNamingRowsAndTheMissingFile()
    {
        await using var f = await RestoreTestFixture.CreateAsync(registry: false);
        // a backup of 'leads' that holds fewer rows than the live table had at the same version: the last commit's
        // data files dropped from a copy (a consistent table, so the vault and the table verifier accept it)
        var live = Path.Combine(f.Data, "lake", "leads");
        var copy = f.Dir.Combine("truncated", "leads");
        CopyDirectory(live, copy);
        var last = Directory.GetFiles(Path.Combine(copy, "_delta_log"), "*.json").Order(StringComparer.Ordinal).Last();
        var lines = await File.ReadAllLinesAsync(last);
        var dropped = lines.Select(l => JsonNode.Parse(l)?["add"]?["path"]?.GetValue<string>()).OfType<string>().ToList();
        Assert.NotEmpty(dropped);
        foreach (var path in dropped)
        {
            File.Delete(Path.Combine(copy, Uri.UnescapeDataString(path)));
        }

        await File.WriteAllLinesAsync(last, lines.Where(l => JsonNode.Parse(l)?["add"] is null));
        var truncated = new LakeTableComponent(f.Plan.FindComponent("leads")!, new LakeAdapterOptions { Tables = new Dictionary<string, string> { ["leads"] = copy } });
        var work = f.Dir.Combine("capture");
        Directory.CreateDirectory(work);
        await using (var captured = await truncated.CaptureAsync(new CaptureContext { WorkDirectory = work, OperationId = "test" }, null, CancellationToken.None))
        {
            var vault = await f.Locations.OpenAsync("a", create: true);
            await vault.BackupAsync(new BackupRequest { Paths = captured.Paths, Source = "leads", Tags = captured.Tags.Encode() });
        }

        var records = await new CompletenessCheck().RunAsync(f.Context("leads"), CancellationToken.None);

        var a = records.Single(r => r.Location == "a");
        Assert.False(a.Passed, a.Summary);
        Assert.Contains("table leads has 20 rows restored, 40 in the source at version", a.Summary, StringComparison.Ordinal);
        Assert.Contains(Uri.UnescapeDataString(dropped[0]), a.Summary, StringComparison.Ordinal);
        Assert.Equal(20, a.Numbers["rows"]);
        Assert.Equal(40, a.Numbers["sourceRows"]);
        f.AssertScratchEmpty();
    }

    [Fact]
    public async Task RestoreSpeed_BudgetOfOneMillisecond_FailsWithTheNumbers()
    {
        await using var f = await RestoreTestFixture.CreateAsync(registry: false);
        await f.BackupAsync("configuration", "leads");
        var scenario = f.Plan.Objectives.Scenarios[0] with { RestoreBudget = TimeSpan.FromMilliseconds(1) };
        var context = f.Context("configuration", "leads") with { Plan = f.Plan with { Objectives = f.Plan.Objectives with { Scenarios = [scenario] } } };

        var records = await new RestoreSpeedCheck().RunAsync(context, CancellationToken.None);

        Assert.Equal(4, records.Count);
        Assert.All(records, r => Assert.False(r.Passed, r.Summary));
        Assert.All(records, r => Assert.Equal(0.001, r.Numbers["budgetSeconds"]));
        Assert.All(records, r => Assert.True(r.Numbers["projectedSeconds"] > 0.001 && r.Numbers["bytes"] > 0 && r.Numbers["seconds"] > 0, r.Summary));
        Assert.All(records, r => Assert.Contains("over the restore budget of scenario total-loss 1 ms", r.Summary, StringComparison.Ordinal));
        Assert.Contains("the live table at version", records.First(r => r.Component == "leads").Summary, StringComparison.Ordinal);
        f.AssertScratchEmpty();
    }

    [Fact]
    public async Task Retention_SnapshotForgottenByTheRulesPastTheGrace_FailsNamingIt()
    {
        await using var f = await RestoreTestFixture.CreateAsync(registry: false);
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            await File.WriteAllTextAsync(f.Dir.Combine("conf", "api.json"), $"{{ \"port\": {8080 + i} }}\n");
            var result = (await f.Service.BackupAsync(["configuration"])).Single();
            Assert.Equal("ok", result.Outcome);
            ids.Add(result.Point!.ShortId);
            f.Time.Advance(TimeSpan.FromHours(1));
        }

        // keep-last 2: the first point is due, but only since the third backup an hour ago: within the grace
        var fresh = await new RetentionCheck().RunAsync(f.Context("configuration"), CancellationToken.None);
        f.Time.Advance(TimeSpan.FromDays(2));
        var stale = await new RetentionCheck().RunAsync(f.Context("configuration"), CancellationToken.None);

        Assert.All(fresh, r => Assert.True(r.Passed, r.Summary));
        Assert.All(fresh, r => Assert.Contains("1 due to be forgotten within the grace period", r.Summary, StringComparison.Ordinal));
        Assert.Equal(["a", "b"], stale.Select(r => r.Location));
        Assert.All(stale, r => Assert.False(r.Passed));
        Assert.All(stale, r => Assert.Contains(ids[0], r.Summary, StringComparison.Ordinal));
        Assert.All(stale, r => Assert.Contains("still here more than 1d after a forget should have removed it", r.Summary, StringComparison.Ordinal));
        Assert.All(stale, r => Assert.Equal((1, 2, 3), ((int)r.Numbers["overdue"], (int)r.Numbers["kept"], (int)r.Numbers["snapshots"])));
        Assert.DoesNotContain(ids[1], stale[0].Summary, StringComparison.Ordinal);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
            File.SetLastWriteTimeUtc(dest, File.GetLastWriteTimeUtc(file));
        }
    }
}
