using Lifeline.Cli.Demo;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Vault;

/// <summary>The whole restic-like workflow through the real <c>lifeline</c> executable.</summary>
public sealed class EndToEndTests
{
    [Fact]
    public async Task VaultCommands_FullWorkflow_WorkThroughTheRealExecutable()
    {
        using var ctx = new VaultTestContext("e2e");
        var source = ctx.Dir.Combine("source");
        TestData.WriteSmallTree(source);
        var expected = await TreeComparer.FingerprintAsync(source, default);

        // init (text output names the repository; a second init is refused)
        var init = (await ctx.RunAsync("vault", "init", "--kdf-memory-mib", "8", "--kdf-iterations", "1")).ShouldSucceed();
        Assert.Contains("created vault", init.Stdout);
        (await ctx.RunAsync("vault", "init", "--kdf-memory-mib", "8", "--kdf-iterations", "1")).ShouldFailWith(ExitCodes.Failure);

        // backup twice; the second finds nothing new
        var first = (await ctx.JsonAsync("backup", source, "--source", "leads", "--tag", "daily", "--tag", "e2e")).Json;
        Assert.Equal(4, first.GetProperty("totalFiles").GetInt64());
        Assert.Equal(4, first.GetProperty("filesNew").GetInt64());
        Assert.True(first.GetProperty("dataAdded").GetInt64() > 0);
        var firstId = first.GetProperty("snapshot").GetProperty("id").GetString()!;

        File.AppendAllText(Path.Combine(source, "lake", "leads", "part-0.csv"), "L99999999,Large,Finance,3,4\n");
        File.WriteAllText(Path.Combine(source, "new.txt"), "new file\n");
        var second = (await ctx.JsonAsync("backup", source, "--source", "leads", "--tag", "daily")).Json;
        Assert.Equal(1, second.GetProperty("filesNew").GetInt64());
        Assert.Equal(1, second.GetProperty("filesChanged").GetInt64());
        Assert.Equal(3, second.GetProperty("filesUnmodified").GetInt64());
        Assert.Equal(firstId, second.GetProperty("snapshot").GetProperty("parentId").GetString());
        var secondId = second.GetProperty("snapshot").GetProperty("id").GetString()!;

        // snapshots --json, with filters
        var snapshots = (await ctx.JsonAsync("snapshots")).Json;
        Assert.Equal(2, snapshots.GetArrayLength());
        Assert.Equal("leads", snapshots[0].GetProperty("source").GetString());
        Assert.Equal(["daily", "e2e"], snapshots[0].GetProperty("tags").EnumerateArray().Select(t => t.GetString()!).Order().ToArray());
        Assert.Equal(1, (await ctx.JsonAsync("snapshots", "--tag", "e2e")).Json.GetArrayLength());
        Assert.Equal(0, (await ctx.JsonAsync("snapshots", "--source", "other")).Json.GetArrayLength());
        Assert.Equal(0, (await ctx.JsonAsync("snapshots", "--since", "2999-01-01 00:00")).Json.GetArrayLength());
        Assert.Equal(2, (await ctx.JsonAsync("snapshots", "--until", "2999-01-01T00:00:00Z")).Json.GetArrayLength());
        var text = (await ctx.RunAsync("vault", "snapshots")).ShouldSucceed();
        Assert.Contains(firstId[..8], text.Stdout);
        Assert.Contains("2 snapshot(s)", text.Stdout);

        // ls (text and json)
        var ls = (await ctx.RunAsync("vault", "ls", firstId[..8])).ShouldSucceed();
        Assert.Contains("/source/lake/leads/part-0.csv", ls.Stdout);
        var nodes = (await ctx.JsonAsync("ls", "latest", "/source/registry")).Json.GetProperty("nodes");
        Assert.Contains(nodes.EnumerateArray(), n => n.GetProperty("path").GetString() == "/source/registry/models/1/model.bin" && n.GetProperty("type").GetString() == "file");
        Assert.DoesNotContain(nodes.EnumerateArray(), n => n.GetProperty("path").GetString()!.Contains("lake", StringComparison.Ordinal));

        // diff
        var diff = (await ctx.JsonAsync("diff", firstId, secondId)).Json;
        Assert.Contains("/source/new.txt", diff.GetProperty("added").EnumerateArray().Select(e => e.GetString()));
        Assert.Contains("/source/lake/leads/part-0.csv", diff.GetProperty("modified").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal(0, diff.GetProperty("removed").GetArrayLength());

        // restore the first snapshot: byte-identical, with modification times and modes
        var target = ctx.Dir.Combine("restore-1");
        var restored = (await ctx.JsonAsync("restore", firstId[..8], "--target", target)).Json;
        Assert.Equal(4, restored.GetProperty("files").GetInt64());
        Assert.Empty(TreeComparer.Compare(expected, await TreeComparer.FingerprintAsync(Path.Combine(target, "source"), default)));

        // restore latest --at a time before the second snapshot picks the first; --include restores a part
        var firstTime = snapshots[0].GetProperty("time").GetDateTimeOffset();
        var at = ctx.Dir.Combine("restore-at");
        var atResult = (await ctx.JsonAsync("restore", "latest", "--at", firstTime.ToString("O"), "--target", at)).Json;
        Assert.Equal(firstId, atResult.GetProperty("snapshot").GetProperty("id").GetString());
        var part = ctx.Dir.Combine("restore-part");
        (await ctx.JsonAsync("restore", "latest", "--target", part, "--include", "**/*.csv")).ShouldSucceed();
        Assert.True(File.Exists(Path.Combine(part, "source", "lake", "leads", "part-0.csv")));
        Assert.False(File.Exists(Path.Combine(part, "source", "registry", "models", "1", "model.bin")));

        // check, with and without reading the data
        var check = (await ctx.JsonAsync("check", "--read-data")).Json;
        Assert.True(check.GetProperty("ok").GetBoolean());
        Assert.True(check.GetProperty("packsRead").GetInt32() > 0);
        (await ctx.JsonAsync("check", "--read-data-subset", "1/2")).ShouldSucceed();
        Assert.Contains("no errors were found", (await ctx.RunAsync("vault", "check")).ShouldSucceed().Stdout);

        // forget --dry-run changes nothing; forget + prune removes the first snapshot
        var dry = (await ctx.JsonAsync("forget", "--keep-last", "1", "--dry-run")).Json;
        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        Assert.Equal(1, dry.GetProperty("remove").GetArrayLength());
        Assert.Equal(2, (await ctx.JsonAsync("snapshots")).Json.GetArrayLength());
        var forget = (await ctx.JsonAsync("forget", "--keep-last", "1", "--keep-within", "1y6m")).Json;
        Assert.Equal(0, forget.GetProperty("remove").GetArrayLength());
        forget = (await ctx.JsonAsync("forget", "--keep-last", "1")).Json;
        Assert.Equal(firstId, forget.GetProperty("remove")[0].GetProperty("id").GetString());
        (await ctx.JsonAsync("prune", "--dry-run")).ShouldSucceed();
        var prune = (await ctx.JsonAsync("prune")).Json;
        Assert.False(prune.GetProperty("dryRun").GetBoolean());
        Assert.Equal(1, (await ctx.JsonAsync("snapshots")).Json.GetArrayLength());
        (await ctx.JsonAsync("check", "--read-data")).ShouldSucceed();

        // copy to a second repository with its own password; a second copy sends nothing
        var secondRepo = ctx.Dir.Combine("repo-2");
        var toPassword = ctx.Dir.Combine("to-password");
        File.WriteAllText(toPassword, "another password\n");
        (await ctx.RunAsync("vault", "init", "--repo", secondRepo, "--password-file", toPassword, "--kdf-memory-mib", "8", "--kdf-iterations", "1")).ShouldSucceed();
        var copy = (await ctx.JsonAsync("copy", "--to", secondRepo, "--to-password-file", toPassword)).Json;
        Assert.Equal(1, copy.GetProperty("snapshotsCopied").GetInt32());
        var again = (await ctx.Runner.RunAsync(["vault", "--json", "copy", "--to", secondRepo], new Dictionary<string, string?> { ["LIFELINE_TO_PASSWORD"] = "another password" })).ShouldSucceed().Json;
        Assert.Equal(0, again.GetProperty("snapshotsCopied").GetInt32());
        Assert.Equal(0, again.GetProperty("blobsCopied").GetInt64());
        var fromCopy = ctx.Dir.Combine("restore-copy");
        (await ctx.RunAsync("vault", "restore", "latest", "--repo", secondRepo, "--password-file", toPassword, "--target", fromCopy)).ShouldSucceed();
        Assert.Empty(TreeComparer.Compare(await TreeComparer.FingerprintAsync(source, default), await TreeComparer.FingerprintAsync(Path.Combine(fromCopy, "source"), default)));

        // keys: add, list, open with the new one, remove it; the key in use cannot be removed
        var added = (await ctx.Runner.RunAsync(["vault", "--json", "key", "add"], new Dictionary<string, string?> { ["LIFELINE_NEW_PASSWORD"] = "second key" })).ShouldSucceed().Json;
        var addedId = added.GetProperty("id").GetString()!;
        var keys = (await ctx.JsonAsync("key", "list")).Json;
        Assert.Equal(2, keys.GetArrayLength());
        var withNew = (await ctx.Runner.RunAsync(["vault", "--json", "key", "list"], new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = "second key" })).ShouldSucceed().Json;
        var current = withNew.EnumerateArray().Single(k => k.GetProperty("current").GetBoolean());
        Assert.Equal(addedId, current.GetProperty("id").GetString());
        var originalId = keys.EnumerateArray().Single(k => k.GetProperty("current").GetBoolean()).GetProperty("id").GetString()!;
        (await ctx.RunAsync("vault", "key", "remove", originalId[..8])).ShouldFailWith(ExitCodes.Failure);
        (await ctx.RunAsync("vault", "key", "remove", addedId[..8])).ShouldSucceed();
        (await ctx.Runner.RunAsync(["vault", "snapshots"], new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = "second key" })).ShouldFailWith(ExitCodes.WrongPassword);
        // every key change, the refused one too, is in the vault's own audit log, without the passwords
        var keyRecords = Directory.GetFiles(Path.Combine(ctx.Repo, "lifeline", "audit"), "*.json").Order(StringComparer.Ordinal).Select(File.ReadAllText).ToList();
        Assert.Equal(3, keyRecords.Count);
        Assert.All(keyRecords, r => Assert.Contains("\"action\":\"key-change\"", r, StringComparison.Ordinal));
        Assert.Equal(["ok", "failed", "ok"], keyRecords.Select(r => System.Text.Json.JsonDocument.Parse(r).RootElement.GetProperty("outcome").GetString()));
        Assert.All(keyRecords, r => Assert.DoesNotContain("second key", r, StringComparison.Ordinal));

        // unlock: nothing stale to remove
        Assert.Equal(0, (await ctx.JsonAsync("unlock")).Json.GetProperty("removed").GetInt32());
    }

    [Fact]
    public async Task InitFrom_SecondaryWithPrimaryChunkerParams_DirectBackupDeduplicatesAgainstCopies()
    {
        using var ctx = new VaultTestContext("init-from");
        var source = ctx.Dir.Combine("source");
        TestData.WriteSmallTree(source);
        await ctx.InitAsync();
        var full = (await ctx.JsonAsync("backup", source)).Json.GetProperty("dataAdded").GetInt64();

        var secondary = ctx.Dir.Combine("secondary");
        var init = (await ctx.Runner.RunAsync(["vault", "init", "--repo", secondary, "--from", ctx.Repo, .. VaultTestContext.FastInit], new Dictionary<string, string?> { ["LIFELINE_FROM_PASSWORD"] = VaultTestContext.Password }))
            .ShouldSucceed();
        Assert.Contains("chunker parameters of", init.Stdout);
        (await ctx.Runner.RunAsync(["vault", "copy", "--to", secondary], new Dictionary<string, string?> { ["LIFELINE_TO_PASSWORD"] = VaultTestContext.Password })).ShouldSucceed();

        // the same files backed up directly into the secondary: their chunks are already there (copied)
        var direct = (await ctx.JsonAsync("backup", source, "--repo", secondary, "--host", "other-host")).Json.GetProperty("dataAdded").GetInt64();
        Assert.True(direct < full / 4, $"direct backup into the secondary added {direct} bytes of {full}: the chunker parameters were not shared");

        (await ctx.Runner.RunAsync(["vault", "init", "--repo", ctx.Dir.Combine("third"), "--from", ctx.Dir.Combine("nope"), .. VaultTestContext.FastInit], new Dictionary<string, string?> { ["LIFELINE_FROM_PASSWORD"] = "x" }))
            .ShouldFailWith(ExitCodes.RepositoryNotFound);
        Assert.False(Directory.Exists(ctx.Dir.Combine("third")));
    }

    [Fact]
    public async Task InitFromRepoCopyMasterKey_SecondaryWithItsOwnPassword_CopySendsWholePacksAndChecks()
    {
        using var ctx = new VaultTestContext("init-shared-key");
        var source = ctx.Dir.Combine("source");
        TestData.WriteSmallTree(source);
        await ctx.InitAsync();
        await ctx.JsonAsync("backup", source);
        var secondary = ctx.Dir.Combine("secondary");
        var own = new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = "secondary-password", ["LIFELINE_FROM_PASSWORD"] = VaultTestContext.Password };

        (await ctx.Runner.RunAsync(["vault", "init", "--repo", ctx.Dir.Combine("third"), "--copy-master-key", .. VaultTestContext.FastInit], own))
            .ShouldFailWith(ExitCodes.Usage);
        var init = (await ctx.Runner.RunAsync(["vault", "init", "--repo", secondary, "--from-repo", ctx.Repo, "--copy-master-key", .. VaultTestContext.FastInit], own)).ShouldSucceed();
        var copy = (await ctx.Runner.RunAsync(["--json", "vault", "copy", "--to", secondary], new Dictionary<string, string?> { ["LIFELINE_TO_PASSWORD"] = "secondary-password" }))
            .ShouldSucceed().Json;
        var full = (await ctx.Runner.RunAsync(["--json", "vault", "copy", "--to", secondary, "--verify-plaintext"], new Dictionary<string, string?> { ["LIFELINE_TO_PASSWORD"] = "secondary-password" }))
            .ShouldSucceed().Json;

        Assert.Contains("master key and chunker parameters of", init.Stdout);
        Assert.False(Directory.Exists(ctx.Dir.Combine("third")));
        Assert.True(copy.GetProperty("sharedMasterKey").GetBoolean());
        Assert.True(copy.GetProperty("packsCopiedWhole").GetInt32() > 0, copy.ToString());
        Assert.False(copy.GetProperty("plaintextVerified").GetBoolean());
        Assert.True(full.GetProperty("plaintextVerified").GetBoolean());
        Assert.Equal(1, full.GetProperty("snapshotsSkipped").GetInt32());
        // each repository keeps its own key files: the primary's password does not open the secondary
        (await ctx.Runner.RunAsync(["vault", "check", "--repo", secondary, "--read-data"], own)).ShouldSucceed();
        (await ctx.Runner.RunAsync(["vault", "snapshots", "--repo", secondary])).ShouldFailWith(ExitCodes.WrongPassword);
    }

    [Fact]
    public async Task Demo_InFreshDirectory_ProvesRestoreIdentical()
    {
        using var dir = new TestDirectory("demo");
        var runner = new LifelineRunner(dir.Path);
        runner.Environment["LIFELINE_PASSWORD"] = "demo-e2e-password"; // so that the kept vaults can be checked below
        var work = dir.Combine("work");
        // the demo starts `lifeline up` twice, with its protection on change (vault init, first backups): minutes on a loaded machine
        var result = (await runner.RunAsync(["--json", "demo", "--dir", work], null, TimeSpan.FromSeconds(300))).ShouldSucceed();
        var json = result.Json;
        Assert.True(json.GetProperty("verified").GetBoolean(), result.ToString());
        Assert.True(json.GetProperty("files").GetInt32() >= 5);
        Assert.True(json.GetProperty("secondBackupAdded").GetInt64() < json.GetProperty("fullBackupAdded").GetInt64() / 2, result.ToString());
        Assert.True(json.GetProperty("ok").GetBoolean(), result.ToString());
        var steps = json.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("step").GetString()!).ToList();
        Assert.Equal(11, steps.Count(s => !s.Contains(':', StringComparison.Ordinal) && s != "open primary vault"));
        Assert.Contains("lake: restore as of v2", steps);
        Assert.Contains("registry: restore from vault", steps);
        Assert.Contains("scoring: score a batch over HTTP", steps);
        Assert.Equal("plan: write and check", steps[0]);

        // plan: the recommended plan checks clean, the customer's shows its registry RPO contradiction
        var plan = json.GetProperty("plan");
        Assert.True(plan.GetProperty("ok").GetBoolean(), result.ToString());
        Assert.Equal(0, plan.GetProperty("errors").GetInt32());
        Assert.True(plan.GetProperty("customerErrors").GetInt32() > 0);
        Assert.Contains("rpo-unmet", plan.GetProperty("customerRules").EnumerateArray().Select(r => r.GetString()));
        Assert.True(File.Exists(dir.Combine("work", "lifeline.yaml")));
        Assert.True(File.Exists(dir.Combine("work", "customer-plan.yaml")));

        // lake: restored in place and as of an earlier version
        var lake = json.GetProperty("lake");
        Assert.True(lake.GetProperty("verified").GetBoolean());
        Assert.Equal(6000, lake.GetProperty("leadsRows").GetInt64());
        Assert.Equal(2, lake.GetProperty("earlierVersion").GetInt64());

        // registry: the restored Production version is the trained one, with a byte-identical artifact
        var registry = json.GetProperty("registry");
        var trained = registry.GetProperty("trainedVersion").GetString();
        Assert.False(string.IsNullOrEmpty(trained));
        Assert.Equal(trained, registry.GetProperty("productionVersion").GetString());
        Assert.Equal(trained, registry.GetProperty("restoredProductionVersion").GetString());
        var hash = registry.GetProperty("artifactSha256").GetString()!;
        Assert.Matches("^[0-9a-f]{64}$", hash);
        Assert.Equal(hash, registry.GetProperty("restoredArtifactSha256").GetString());
        Assert.True(registry.GetProperty("identical").GetBoolean());
        Assert.StartsWith("leads+conversions", registry.GetProperty("trainingData").GetString(), StringComparison.Ordinal);

        // scoring: every lead of the batch scored over HTTP by the restored version, each score in [0, 1]
        var scoring = json.GetProperty("scoring");
        Assert.StartsWith("http://127.0.0.1:", scoring.GetProperty("address").GetString(), StringComparison.Ordinal);
        Assert.Equal(trained, scoring.GetProperty("modelVersion").GetString());
        var requested = scoring.GetProperty("requested").GetInt32();
        Assert.Equal(requested, scoring.GetProperty("scored").GetInt32());
        var scores = scoring.GetProperty("scores").EnumerateArray().ToList();
        Assert.Equal(requested, scores.Count);
        Assert.Equal(requested, scores.Select(s => s.GetProperty("leadId").GetString()).Distinct().Count());
        Assert.All(scores, s => Assert.InRange(s.GetProperty("score").GetDouble(), 0.0, 1.0));
        Assert.Equal(requested, scoring.GetProperty("categories").EnumerateObject().Sum(c => c.Value.GetInt32()));

        // up: the child deployment ran with the demo's password, so its protection on change ran (not degraded)
        var up = json.GetProperty("up");
        Assert.True(up.GetProperty("nothingLost").GetBoolean(), result.ToString());
        Assert.True(up.GetProperty("protectionRunning").GetBoolean(), up.GetProperty("protection").GetString());

        // verify: the checks pass, catch the pack cut short in b (an incident and its notice), pass again after the repair
        var checks = json.GetProperty("verify");
        Assert.True(checks.GetProperty("ok").GetBoolean(), checks.ToString());
        Assert.True(checks.GetProperty("checksPassed").GetBoolean() && checks.GetProperty("damageFound").GetBoolean() && checks.GetProperty("resolved").GetBoolean(), checks.ToString());
        var incident = checks.GetProperty("incidentId").GetString()!;
        var notices = checks.GetProperty("notices").EnumerateArray().Select(n => n.GetString()!).ToList();
        Assert.Contains($"{incident}:trigger → on-call (manual)", notices);
        Assert.Contains($"{incident}:resolve → on-call (manual)", notices);
        Assert.Contains("verify: the checks find it", steps);
        Assert.True(File.Exists(dir.Combine("work", "verify-demo", "data", "incidents", "incidents.db")));
        Assert.True(Directory.Exists(dir.Combine("work", "verify-demo", "vaults", "b.damaged")));

        Assert.True(Directory.Exists(dir.Combine("work", "restored")), "--dir keeps the directory");

        // Independently of the demo's own "verified" flags and of TreeComparer: hash the trees here, check both vaults
        // with a full data read, restore again in a separate process, verify the lake table, find the artifact.
        var source = HashTree(Path.Combine(work, "data"));
        Assert.True(source.Count >= 5, string.Join('\n', source.Keys));
        Assert.Equal(json.GetProperty("files").GetInt32(), source.Count(e => !e.Key.EndsWith('/')));
        Assert.Equal(source, HashTree(Path.Combine(work, "restored", "data")));
        foreach (var vault in new[] { "vault-primary", "vault-secondary" })
        {
            (await runner.RunAsync("vault", "--json", "check", "--read-data", "--repo", Path.Combine(work, vault))).ShouldSucceed();
        }

        var again = dir.Combine("restored-again");
        (await runner.RunAsync("vault", "--json", "restore", "latest", "--source", "leads", "--repo", Path.Combine(work, "vault-secondary"), "--target", again)).ShouldSucceed();
        Assert.Equal(source, HashTree(Path.Combine(again, "data")));

        var leads = lake.GetProperty("lakeDirectory").GetString()!;
        var verify = (await runner.RunAsync("--json", "lake", "verify", Path.Combine(leads, "leads"), "--full")).ShouldSucceed().Json;
        Assert.True(verify.GetProperty("ok").GetBoolean(), verify.ToString());
        Assert.Equal(6000, verify.GetProperty("rowsRead").GetInt64());

        var artifacts = Directory.GetFiles(Path.Combine(work, "registry", "data", "artifacts"), "model.zip", SearchOption.AllDirectories);
        Assert.Contains(hash, artifacts.Select(a => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(a)))));
    }

    /// <summary>relative path (directories end with '/') → SHA-256, size, mtime and mode, computed here.</summary>
    private static Dictionary<string, string> HashTree(string root)
    {
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var entry in Directory.EnumerateFileSystemEntries(root, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(root, entry);
            var mode = File.GetUnixFileMode(entry);
            if (Directory.Exists(entry))
            {
                result[relative + "/"] = $"dir {Directory.GetLastWriteTimeUtc(entry):O} {mode}";
            }
            else
            {
                var bytes = File.ReadAllBytes(entry);
                result[relative] = $"{Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(bytes))} {bytes.Length} {File.GetLastWriteTimeUtc(entry):O} {mode}";
            }
        }

        return result;
    }

    [Fact]
    public async Task Demo_TextMode_SummaryEndsWithTheRemovedDirectoryOnce()
    {
        using var dir = new TestDirectory("demo-text");
        Directory.CreateDirectory(dir.Combine("tmp"));
        var runner = new LifelineRunner(dir.Path);
        var result = (await runner.RunAsync(["demo"], new Dictionary<string, string?> { ["TMPDIR"] = dir.Combine("tmp") }, TimeSpan.FromSeconds(300))).ShouldSucceed();
        var lines = result.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines, l => l.Contains("removed now", StringComparison.Ordinal));
        Assert.Contains("removed now", lines[^1], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("registry: Production v1 restored from the vault with a byte-identical artifact", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("scoring: 50 of 50 leads scored over HTTP", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("verify: the daily checks passed, then found a pack cut short in b: incident inc-", StringComparison.Ordinal)
            && l.Contains("the incident resolved itself", StringComparison.Ordinal));
        var demoDir = System.Text.RegularExpressions.Regex.Match(lines[^1], @" in (\S+) \(removed now").Groups[1].Value;
        Assert.StartsWith(dir.Combine("tmp"), demoDir, StringComparison.Ordinal);
        Assert.False(Directory.Exists(demoDir), result.ToString());
    }
}
