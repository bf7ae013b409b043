using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Recovery;

/// <summary>
/// A plan with one configuration component (small random files under <c>app/data</c>) protected in three locations:
/// <c>vault-a</c> and <c>vault-b</c> on the file system and a fresh Azurite container (127.0.0.1:10000) as the
/// tertiary <c>c</c>. Commands run as the real <c>lifeline</c> in <c>app/</c> (the recovery staging in the plan's
/// data directory, <c>app/lifeline-data</c>), with <c>TMPDIR</c> inside the test directory.
/// </summary>
internal sealed class RecoveryCrashEnvironment : IDisposable
{
    public const string Password = "recovery-crash-password";

    // The public, documented development account of the Azure Storage emulator; not a secret.
    public const string AzuriteConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    public static readonly TimeSpan KillDeadline = TimeSpan.FromSeconds(60);

    private RecoveryCrashEnvironment(TestDirectory dir, string tertiary)
    {
        Dir = dir;
        Tertiary = tertiary;
        Runner = new LifelineRunner(dir.Combine("app"));
        Runner.Environment["LIFELINE_PASSWORD"] = Password;
        Runner.Environment["AZURE_STORAGE_CONNECTION_STRING"] = AzuriteConnectionString;
        Runner.Environment["TMPDIR"] = dir.Combine("tmp");
    }

    public TestDirectory Dir { get; }

    public LifelineRunner Runner { get; }

    /// <summary>The tertiary's URL (an Azurite container of this test).</summary>
    public string Tertiary { get; }

    public string VaultA => Dir.Combine("vault-a");

    public string VaultB => Dir.Combine("vault-b");

    /// <summary>Where the core stages restores (the plan's data directory's <c>work/recovery/restore</c>).</summary>
    public string RestoreStaging => App("lifeline-data", "work", "recovery", "restore");

    /// <summary>Creates the directories, the data (<paramref name="files"/> random files of 1 MiB) and the plan;
    /// <paramref name="hooks"/> is a YAML line of the component, <paramref name="primary"/> the primary's URL.</summary>
    public static async Task<RecoveryCrashEnvironment> CreateAsync(string name, int files = 4, string? hooks = null, string? primary = null)
    {
        await RequireAzuriteAsync();
        var env = new RecoveryCrashEnvironment(new TestDirectory($"recovery-{name}"), $"azure://c{Guid.NewGuid():N}/vault");
        Directory.CreateDirectory(env.Dir.Combine("tmp"));
        TestData.WriteRandomFiles(env.App("data"), files, 1024 * 1024, seed: 99);
        var yaml = $$"""
            version: 1
            objectives:
              rto: { target: 4h, max: 8h }
              rpo: { target: 1h, max: 4h }
            components:
              configuration:
                policy: config
                files: [data/*.bin]
            {{hooks ?? ""}}policies:
              config:
                schedule: "0 * * * *"
                retention: { keep-last: 1 }
                locations: { primary: a, secondary: b, tertiary: c }
            locations:
              a: { url: {{primary ?? "../vault-a"}}, region: region-a }
              b: { url: ../vault-b, region: region-b }
              c: { url: "{{env.Tertiary}}", region: object-storage }

            """;
        await File.WriteAllTextAsync(env.App("lifeline.yaml"), yaml);
        return env;
    }

    public string App(params string[] parts) => Dir.Combine(["app", .. parts]);

    public Task<CliResult> RunAsync(params string[] args) => Runner.RunAsync(args);

    /// <summary>Starts a command whose store operations are slowed (<c>LIFELINE_DEBUG_STORE_DELAY</c>), to be killed.</summary>
    public RunningLifeline StartSlowed(string delays, params string[] args) =>
        Runner.Start(args, new Dictionary<string, string?> { ["LIFELINE_DEBUG_STORE_DELAY"] = delays });

    /// <summary>Starts lifeline with its stores slowed by <paramref name="delays"/> and every put matching
    /// <paramref name="hang"/> (<c>KEY-PREFIX@LOCATION-PART</c>) held until the process is killed.</summary>
    public RunningLifeline StartHeld(string delays, string hang, params string[] args) =>
        Runner.Start(args, new Dictionary<string, string?> { ["LIFELINE_DEBUG_STORE_DELAY"] = delays, ["LIFELINE_DEBUG_STORE_HANG"] = hang });

    /// <summary>Changes one data file, so that the next backup is a new point.</summary>
    public void ChangeData(int seed) => TestData.WriteRandomFiles(App("data"), 1, 1024 * 1024, seed, prefix: "changed");

    /// <summary>Snapshots in a file-system vault (its snapshot files).</summary>
    public static int Snapshots(string vault) => TestData.CountObjects(Path.Combine(vault, "snapshots"));

    /// <summary>Snapshots in any location, through <c>lifeline vault snapshots</c>.</summary>
    public async Task<int> SnapshotsAsync(string repo) =>
        (await RunAsync("vault", "--json", "snapshots", "--repo", repo)).ShouldSucceed().Json.GetArrayLength();

    /// <summary>Every location passes <c>lifeline vault check</c> (no unlock first: a killed run's lock must not block).</summary>
    public async Task AssertEveryLocationChecksAsync()
    {
        var checks = await Task.WhenAll(new[] { VaultA, VaultB, Tertiary }.Select(repo => RunAsync("vault", "--json", "check", "--repo", repo)));
        foreach (var check in checks)
        {
            check.ShouldSucceed();
        }
    }

    /// <summary>The component's audit records (outcomes oldest first).</summary>
    public async Task<List<JsonElement>> AuditAsync(string? action = null)
    {
        var records = (await RunAsync("audit", "--json", "--component", "configuration")).ShouldSucceed().Json.GetProperty("records").EnumerateArray();
        return records.Where(r => action is null || r.GetProperty("action").GetString() == action).ToList();
    }

    /// <summary>The component's row of <c>status --json</c> (any exit code: red is 62).</summary>
    public async Task<JsonElement> StatusAsync()
    {
        var result = await RunAsync("status", "--json");
        Assert.True(result.ExitCode is ExitCodes.Ok or ExitCodes.StatusRed, result.ToString());
        return result.Json.GetProperty("components").EnumerateArray().Single();
    }

    /// <summary>Polls <paramref name="condition"/> every 20 ms until it holds, the child ended, or the deadline.</summary>
    public static async Task<bool> WaitUntilAsync(Func<bool> condition, RunningLifeline child)
    {
        var watch = Stopwatch.StartNew();
        while (watch.Elapsed < KillDeadline)
        {
            if (condition())
            {
                return true;
            }

            if (child.HasExited)
            {
                return condition();
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20)); // the poll period, not a synchronisation
        }

        return false;
    }

    /// <summary>Waits for <paramref name="condition"/>, SIGKILLs the child and asserts it was still running then.</summary>
    public static async Task KillWhenAsync(RunningLifeline child, Func<bool> condition, string point)
    {
        var reached = await WaitUntilAsync(condition, child);
        var killedWhileRunning = await child.KillAsync();
        Assert.True(reached && killedWhileRunning, $"the kill point '{point}' was not reached while the command ran\n{await child.WaitAsync(KillDeadline)}");
    }

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

    public void Dispose() => Dir.Dispose();
}
