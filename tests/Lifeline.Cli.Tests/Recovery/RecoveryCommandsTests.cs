using System.Net.Sockets;
using System.Text.Json;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Recovery;

/// <summary>
/// <c>lifeline backup|restore|forget|status|audit</c> run as the real executable over a plan whose configuration
/// component (files and environment variables, one of them a secret) is protected in three locations: two local
/// vaults and, in one test, Azurite (127.0.0.1:10000) as the tertiary. The secret's value must never appear in
/// any command's output.
/// </summary>
public sealed class RecoveryCommandsTests
{
    private const string Password = "recovery-cli-password";
    private const string SecretValue = "tok-9f8e7d6c5b4a-never-printed";
    private const string FileSecret = "file-secret-5a4b3c2d1e";

    // The public, documented development account of the Azure Storage emulator; not a secret.
    private const string AzuriteConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    [Fact]
    public async Task BackupAll_ThreeLocationsWithAzurite_StatusGreenJsonParsesAndAuditRecordsIt()
    {
        await RequireAzuriteAsync();
        using var env = await RecoveryEnvironment.CreateAsync("backup-all", tertiary: $"\"azure://t{Guid.NewGuid():N}/vault\"");

        var backup = await env.RunAsync("backup", "--all", "--json");
        backup.ShouldSucceed();
        var component = backup.Json.GetProperty("components").EnumerateArray().Single();
        Assert.Equal("configuration", component.GetProperty("component").GetString());
        Assert.Equal("ok", component.GetProperty("outcome").GetString());
        Assert.Equal(["a", "b", "c"], component.GetProperty("locations").EnumerateArray().Where(l => l.GetProperty("ok").GetBoolean()).Select(l => l.GetProperty("location").GetString()).Order());
        var snapshot = component.GetProperty("snapshot").GetString()!;

        var text = (await env.RunAsync("status")).ShouldSucceed();
        Assert.Contains("green", text.Stdout, StringComparison.Ordinal);
        Assert.Contains(snapshot[..8], text.Stdout, StringComparison.Ordinal);
        var status = (await env.RunAsync("status", "--json")).ShouldSucceed().Json;
        Assert.Equal("green", status.GetProperty("overall").GetString());
        var row = status.GetProperty("components").EnumerateArray().Single();
        Assert.Equal(snapshot, row.GetProperty("recoveryPoint").GetProperty("id").GetString());
        Assert.Equal(3600, row.GetProperty("rpoTargetSeconds").GetDouble());
        Assert.Equal("ok", row.GetProperty("lastBackup").GetProperty("outcome").GetString());

        var audit = (await env.RunAsync("audit", "--json", "--component", "configuration")).ShouldSucceed().Json;
        var record = audit.GetProperty("records").EnumerateArray().Single();
        Assert.Equal("backup", record.GetProperty("action").GetString());
        Assert.Equal(["a", "b", "c"], record.GetProperty("verifiedIn").EnumerateArray().Select(v => v.GetString()).Order());
        env.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task RestoreDryRun_AfterBackup_SaysWhichLocationServesAndWritesNothing()
    {
        using var env = await RecoveryEnvironment.CreateAsync("restore-dry");
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        var before = Tree(env.App());

        var dry = (await env.RunAsync("restore", "configuration", "--at", "latest", "--as", "copy", "--dry-run")).ShouldSucceed();
        Assert.Contains("would restore configuration point", dry.Stdout, StringComparison.Ordinal);
        Assert.Contains("from a into ", dry.Stdout, StringComparison.Ordinal);
        Assert.Contains("also in: b, c", dry.Stdout, StringComparison.Ordinal);
        var json = (await env.RunAsync("restore", "configuration", "--dry-run", "--json")).ShouldSucceed();
        Assert.True(json.Json.GetProperty("dryRun").GetBoolean());
        Assert.True(json.Json.GetProperty("live").GetBoolean());
        Assert.Contains("--overwrite", json.Json.GetProperty("wouldRefuse").GetString(), StringComparison.Ordinal);

        Assert.Equal(before, Tree(env.App()));
        Assert.False(Directory.Exists(env.Dir.Combine("copy")), "the dry run created the --as target");
        Assert.Single((await env.RunAsync("audit", "--json")).ShouldSucceed().Json.GetProperty("records").EnumerateArray());

        // the primary gone: the secondary would serve, and the primary's failure is reported
        Directory.Delete(env.Dir.Combine("vault-a"), recursive: true);
        var fallback = (await env.RunAsync("restore", "configuration", "--as", "copy", "--dry-run", "--json")).ShouldSucceed().Json;
        Assert.Equal("b", fallback.GetProperty("servedBy").GetString());
        Assert.Equal("a", fallback.GetProperty("attempts")[0].GetProperty("location").GetString());
        Assert.False(fallback.GetProperty("attempts")[0].GetProperty("served").GetBoolean());
        Assert.False(Directory.Exists(env.Dir.Combine("copy")));
        env.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task RestoreAs_BesideTheLiveOne_ByteIdenticalFromThePrimaryAndSecretsNeverPrinted()
    {
        using var env = await RecoveryEnvironment.CreateAsync("restore-as");
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        var original = await File.ReadAllBytesAsync(env.App("conf", "api.json"));
        await File.WriteAllTextAsync(env.App("conf", "api.json"), "{ \"port\": 9999 }\n");

        var restore = (await env.RunAsync("restore", "configuration", "--as", "restored")).ShouldSucceed();
        Assert.Contains("from a into ", restore.Stdout, StringComparison.Ordinal);
        var restored = env.Dir.Combine("restored");
        Assert.Equal(original, await File.ReadAllBytesAsync(Path.Combine(restored, "conf", "api.json")));
        Assert.Equal(await File.ReadAllBytesAsync(env.App("secrets.env")), await File.ReadAllBytesAsync(Path.Combine(restored, "secrets.env")));
        Assert.Contains(SecretValue, await File.ReadAllTextAsync(Path.Combine(restored, "lifeline.env")), StringComparison.Ordinal);
        Assert.Equal("{ \"port\": 9999 }\n", await File.ReadAllTextAsync(env.App("conf", "api.json")));

        // the live data is never overwritten unless asked
        (await env.RunAsync("restore", "configuration")).ShouldFailWith(ExitCodes.Failure);
        var records = (await env.RunAsync("audit", "--json")).ShouldSucceed().Json.GetProperty("records").EnumerateArray().ToList();
        Assert.Equal(["backup", "restore", "restore"], records.Select(r => r.GetProperty("action").GetString()));
        Assert.Equal(["a"], records[1].GetProperty("servedBy").EnumerateArray().Select(s => s.GetString()!.Split(':')[1].Trim()));
        (await env.RunAsync("audit")).ShouldSucceed();
        env.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task BackupAndRestore_PlanWithADataDirectory_StageUnderItsWorkDirectoryNotInTemp()
    {
        using var env = await RecoveryEnvironment.CreateAsync("staging");
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        (await env.RunAsync("restore", "configuration", "--as", "restored")).ShouldSucceed();

        // the plan's data directory is the default lifeline-data beside it: the captures' stable staging lives there
        var work = env.App("lifeline-data", "work", "recovery");
        Assert.True(Directory.Exists(Path.Combine(work, "capture", "configuration")), $"no capture staging in {work}");
        Assert.True(Directory.Exists(Path.Combine(work, "restore")), $"no restore staging in {work}");
        Assert.False(Directory.Exists(env.Dir.Combine("tmp", "lifeline-recovery")), "the recovery staging went to TMPDIR");
    }

    [Fact]
    public async Task Backup_PlanWithTwoErrors_OneLineWithTheFirstAndHowManyMoreExit50()
    {
        using var env = await RecoveryEnvironment.CreateAsync("two-errors");
        var plan = env.App("lifeline.yaml");
        await File.WriteAllTextAsync(plan, (await File.ReadAllTextAsync(plan)).Replace("    files:", "    fils:", StringComparison.Ordinal).Replace("    env:", "    envs:", StringComparison.Ordinal));

        var line = (await env.RunAsync("backup", "--all", "--plan", "lifeline.yaml")).ShouldFailWith(ExitCodes.PlanHasErrors);
        Assert.Contains("the plan cannot be read: ", line, StringComparison.Ordinal);
        Assert.Contains("unknown key 'fils'", line, StringComparison.Ordinal);
        Assert.EndsWith("(1 more: run 'lifeline plan check --plan lifeline.yaml')", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ForgetDryRun_RemovesNothing_AndARuleSelectingNothingExits63()
    {
        using var env = await RecoveryEnvironment.CreateAsync("forget", extraComponent: true);
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        await File.WriteAllTextAsync(env.App("conf", "api.json"), "{ \"port\": 8081 }\n");
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();

        var dry = (await env.RunAsync("forget", "configuration", "--dry-run", "--json")).ShouldSucceed().Json;
        var outcomes = dry.GetProperty("outcomes").EnumerateArray().ToList();
        Assert.Equal(3, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal(1, o.GetProperty("remove").GetArrayLength()));
        var again = (await env.RunAsync("forget", "configuration", "--dry-run")).ShouldSucceed();
        Assert.Contains("would remove", again.Stdout, StringComparison.Ordinal);
        Assert.All((await env.RunAsync("forget", "configuration", "--dry-run", "--json")).ShouldSucceed().Json.GetProperty("outcomes").EnumerateArray(),
            o => Assert.Equal(1, o.GetProperty("remove").GetArrayLength()));

        var nothing = await env.RunAsync("forget", "extra", "--dry-run");
        var line = nothing.ShouldFailWith(ExitCodes.RetentionFinding);
        Assert.Contains("retention-selects-nothing", line, StringComparison.Ordinal);
        Assert.Contains("retention-selects-nothing [extra @ a]", nothing.Stdout, StringComparison.Ordinal);
        env.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task ForgetThenPrune_FreesTheForgottenDataInEveryLocationOnceAndTheRestStillRestores()
    {
        using var env = await RecoveryEnvironment.CreateAsync("prune");
        for (var i = 0; i < 3; i++)
        {
            await File.WriteAllTextAsync(env.App("conf", "api.json"), $"{{ \"port\": {8090 + i}, \"pad\": \"{new string((char)('p' + i), 5000)}\" }}\n");
            (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        }

        (await env.RunAsync("forget", "configuration")).ShouldSucceed();
        var dry = (await env.RunAsync("prune", "--dry-run", "--json")).ShouldSucceed().Json;
        var real = (await env.RunAsync("prune", "--json")).ShouldSucceed().Json;
        var again = (await env.RunAsync("prune")).ShouldSucceed();

        Assert.True(dry.GetProperty("dryRun").GetBoolean());
        var outcomes = real.GetProperty("outcomes").EnumerateArray().ToList();
        Assert.Equal(3, outcomes.Count);
        Assert.All(outcomes, o => Assert.True(o.GetProperty("bytesFreed").GetInt64() > 0, o.ToString()));
        Assert.Equal(dry.GetProperty("outcomes").EnumerateArray().Select(o => o.GetProperty("blobsRemoved").GetInt64()), outcomes.Select(o => o.GetProperty("blobsRemoved").GetInt64()));
        Assert.Contains("freed", again.Stdout, StringComparison.Ordinal);
        Assert.Contains("0 B", again.Stdout, StringComparison.Ordinal); // nothing left to free
        (await env.RunAsync("restore", "configuration", "--as", "after-prune")).ShouldSucceed();
        env.AssertNoSecretPrinted();
    }

    [Fact]
    public async Task Status_NoBackupYet_RedWithTheReasonAndExit62()
    {
        using var env = await RecoveryEnvironment.CreateAsync("status-red");

        var text = await env.RunAsync("status");
        var line = text.ShouldFailWith(ExitCodes.StatusRed);
        Assert.Contains("configuration", line, StringComparison.Ordinal);
        Assert.Contains("red", text.Stdout, StringComparison.Ordinal);
        Assert.Contains("never", text.Stdout, StringComparison.Ordinal);
        var json = await env.RunAsync("status", "--json");
        json.ShouldFailWith(ExitCodes.StatusRed);
        Assert.Equal("red", json.Json.GetProperty("overall").GetString());
        Assert.Equal(JsonValueKind.Null, json.Json.GetProperty("components")[0].GetProperty("recoveryPoint").ValueKind);
    }

    [Fact]
    public async Task Commands_NoPlanFileOrWrongPassword_OneLineAndTheDocumentedCode()
    {
        using var env = await RecoveryEnvironment.CreateAsync("bad-input");
        var elsewhere = new LifelineRunner(env.Dir.Path);
        elsewhere.Environment["LIFELINE_PASSWORD"] = Password;
        foreach (var args in new[] { new[] { "status" }, ["backup", "--all"], ["restore", "configuration", "--dry-run"], ["forget"], ["audit"] })
        {
            var line = (await elsewhere.RunAsync(args)).ShouldFailWith(ExitCodes.PlanHasErrors);
            Assert.Contains("lifeline plan init", line, StringComparison.Ordinal);
        }

        Assert.Contains("unknown component 'confg'", (await env.RunAsync("backup", "confg")).ShouldFailWith(ExitCodes.UnknownComponent), StringComparison.Ordinal);
        Assert.Contains("--all", (await env.RunAsync("backup")).ShouldFailWith(ExitCodes.Usage), StringComparison.Ordinal);
        (await env.RunAsync("backup", "--all")).ShouldSucceed();
        var wrong = new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = "not-the-password" };
        (await env.Runner.RunAsync(["status"], wrong)).ShouldFailWith(ExitCodes.WrongPassword);
        (await env.Runner.RunAsync(["backup", "--all"], wrong)).ShouldFailWith(ExitCodes.WrongPassword);
        (await env.Runner.RunAsync(["restore", "configuration", "--as", "x"], wrong)).ShouldFailWith(ExitCodes.WrongPassword);
        (await env.Runner.RunAsync(["status"], new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = null })).ShouldFailWith(ExitCodes.Usage);
        env.AssertNoSecretPrinted();
    }

    /// <summary>The app's files (not the runner's HOME caches, which start with '.') with their sizes and times.</summary>
    private static SortedDictionary<string, string> Tree(string root) =>
        new(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories).Where(f => !Path.GetRelativePath(root, f).StartsWith('.'))
            .ToDictionary(f => Path.GetRelativePath(root, f), f => $"{new FileInfo(f).Length} {File.GetLastWriteTimeUtc(f):O}"), StringComparer.Ordinal);

    private static async Task RequireAzuriteAsync()
    {
        using var tcp = new TcpClient();
        try
        {
            await tcp.ConnectAsync("127.0.0.1", 10000).WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is SocketException or TimeoutException)
        {
            Assert.Fail($"Azurite is not reachable on 127.0.0.1:10000 ({e.Message}): run scripts/setup/azurite.sh");
        }
    }

    /// <summary>A test directory with the app (configuration files), its plan in app/lifeline.yaml, and a runner in
    /// app/ that keeps every command's output to check that the secret is never printed.</summary>
    private sealed class RecoveryEnvironment : IDisposable
    {
        private readonly List<CliResult> _results = [];

        private RecoveryEnvironment(TestDirectory dir)
        {
            Dir = dir;
            Runner = new LifelineRunner(dir.Combine("app"));
            Runner.Environment["LIFELINE_PASSWORD"] = Password;
            Runner.Environment["APP_API_TOKEN"] = SecretValue;
            Runner.Environment["APP_MODE"] = "production";
            Runner.Environment["AZURE_STORAGE_CONNECTION_STRING"] = AzuriteConnectionString;
            Runner.Environment["TMPDIR"] = dir.Combine("tmp"); // temporary files of this test only (the staging is in the data directory)
        }

        public TestDirectory Dir { get; }

        public LifelineRunner Runner { get; }

        public static async Task<RecoveryEnvironment> CreateAsync(string name, string tertiary = "../vault-c", bool extraComponent = false)
        {
            var env = new RecoveryEnvironment(new TestDirectory($"recovery-{name}"));
            Directory.CreateDirectory(env.Dir.Combine("tmp"));
            Directory.CreateDirectory(env.App("conf"));
            await File.WriteAllTextAsync(env.App("conf", "api.json"), "{ \"port\": 8080 }\n");
            await File.WriteAllTextAsync(env.App("secrets.env"), $"DB_PASSWORD={FileSecret}\n");
            await File.WriteAllTextAsync(env.App("extra.txt"), "extra\n");
            var extra = extraComponent ? "  extra: { kind: configuration, policy: config, files: [extra.txt] }\n" : "";
            var yaml = $$"""
                version: 1
                objectives:
                  rto: { target: 4h, max: 8h }
                  rpo: { target: 1h, max: 4h }
                components:
                  configuration:
                    policy: config
                    files: [conf/*.json, secrets.env]
                    env: [APP_*]
                {{extra}}policies:
                  config:
                    schedule: "0 * * * *"
                    retention: { keep-last: 1 }
                    locations: { primary: a, secondary: b, tertiary: c }
                locations:
                  a: { url: ../vault-a, region: region-a }
                  b: { url: ../vault-b, region: region-b }
                  c: { url: {{tertiary}}, region: object-storage }

                """;
            await File.WriteAllTextAsync(env.App("lifeline.yaml"), yaml);
            return env;
        }

        public string App(params string[] parts) => Dir.Combine(["app", .. parts]);

        public async Task<CliResult> RunAsync(params string[] args)
        {
            var result = await Runner.RunAsync(args);
            _results.Add(result);
            return result;
        }

        /// <summary>No output of any command run so far holds a secret value.</summary>
        public void AssertNoSecretPrinted()
        {
            Assert.NotEmpty(_results);
            foreach (var r in _results)
            {
                foreach (var secret in new[] { SecretValue, FileSecret, Password })
                {
                    Assert.False(r.Stdout.Contains(secret, StringComparison.Ordinal) || r.Stderr.Contains(secret, StringComparison.Ordinal), $"a secret was printed\n{r}");
                }
            }
        }

        public void Dispose() => Dir.Dispose();
    }
}
