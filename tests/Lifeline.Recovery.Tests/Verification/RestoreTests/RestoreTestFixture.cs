using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Verification;
using Lifeline.Registry.Tests;
using Lifeline.Scoring.Training;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Verification.RestoreTests;

/// <summary>A plan built from its file alone (the <c>sources</c> layout) with a real registry holding a trained lead
/// model, the lead-scoring lake (the <c>leads</c> table is a component), configuration files and variables, and a
/// SQLite job store, protected into two local vaults; the scratch area the checks restore into.</summary>
internal sealed class RestoreTestFixture : IAsyncDisposable
{
    public const string Password = "restore-test-password";
    public const string SecretValue = "s3cr3t-never-in-evidence";

    private const string Yaml = """
        version: 1
        objectives:
          rto: { target: 4h, max: 8h }
          rpo: { target: 1h, max: 4h }
          scenarios:
            total-loss:
              rto: 4h
              restore-budget: 1h
              components: [registry, leads, configuration, jobs]
        sources:
          data: lifeline-data
        components:
          registry: { policy: p }
          leads: { policy: p }
          configuration: { policy: p, files: [conf/*.json, conf/app.yaml], env: [APP_*] }
          jobs: { policy: p }
        policies:
          p:
            schedule: "0 * * * *"
            retention: { keep-last: 2 }
            locations: { primary: a, secondary: b }
        locations:
          a: { url: ./vaults/a, region: region-a }
          b: { url: ./vaults/b, region: region-b }
        """;

    private RestoreTestFixture(TempDirectory dir, LifelinePlan plan, FakeTimeProvider time, LocationSet locations, RecoveryService service, CapturingLogger logger)
    {
        Dir = dir;
        Plan = plan;
        Time = time;
        Locations = locations;
        Service = service;
        Logger = logger;
    }

    public TempDirectory Dir { get; }

    public LifelinePlan Plan { get; }

    public FakeTimeProvider Time { get; }

    public LocationSet Locations { get; }

    public RecoveryService Service { get; }

    public CapturingLogger Logger { get; }

    public string Scratch => Dir.Combine("scratch");

    public string Data => Dir.Combine("lifeline-data");

    public static async Task<RestoreTestFixture> CreateAsync(bool registry)
    {
        var dir = new TempDirectory();
        await File.WriteAllTextAsync(dir.Combine("lifeline.yaml"), Yaml);
        Directory.CreateDirectory(dir.Combine("conf"));
        await File.WriteAllTextAsync(dir.Combine("conf", "api.json"), "{ \"port\": 8080, \"workers\": 4 }\n");
        await File.WriteAllTextAsync(dir.Combine("conf", "monitoring.json"), "{ \"interval\": \"15s\" }\n");
        await File.WriteAllTextAsync(dir.Combine("conf", "app.yaml"), "model: lead-scoring\nthreshold: 0.5\n");
        Directory.CreateDirectory(dir.Combine("scratch"));
        if (registry)
        {
            await using var server = await RegistryTestServer.StartAsync(dir.Combine("lifeline-data", "registry"));
            var job = new TrainingJob(server.Client(RegistryTestServer.AdminToken), TimeProvider.System);
            var trained = await job.RunAsync(new SyntheticTrainingData(1500, seed: 3), "lead-scoring", new TrainingOptions { Trees = 10, Leaves = 4 }, dir.Combine("train"), CancellationToken.None);
            Assert.True(trained.Promoted, trained.Decision);
        }

        // a lake point's data time is its Delta commit's time on disk: the fake clock starts at the real now
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await PlanDataSetup.SeedLakeAndJobStoreAsync(dir, time, leads: 40, batches: 2);
        var plan = await PlanDataSetup.LoadPlanAsync(dir);
        var logger = new CapturingLogger();
        var locations = PlanDataSetup.Locations(plan, dir, Password, time);
        var env = new Dictionary<string, string?> { ["APP_MODE"] = "production", ["APP_API_TOKEN"] = SecretValue, ["UNRELATED"] = "x" };
        var adapters = RecoveryService.BuiltInAdapters(plan, new PlanAdapterOptions { Environment = env, RestoreRoot = dir.Combine("restored"), Time = time });
        var service = new RecoveryService(plan, locations, adapters, new RecoveryServiceOptions
        {
            Time = time,
            Logger = logger,
            WorkDirectory = dir.Combine("work"),
            HookDirectory = dir.Path,
        });
        return new RestoreTestFixture(dir, plan, time, locations, service, logger);
    }

    public VerificationContext Context(params string[] components) => new()
    {
        Plan = Plan,
        Service = Service,
        Locations = Locations,
        Components = components,
        Run = "weekly",
        ScratchDirectory = Scratch,
        Time = Time,
        Logger = Logger,
    };

    public async Task BackupAsync(params string[] components)
    {
        var results = await Service.BackupAsync(components);
        Assert.All(results, r => Assert.True(r.Outcome == "ok", $"{r.Component}: {r.Message}"));
    }

    public void AssertScratchEmpty() => Assert.Empty(Directory.EnumerateFileSystemEntries(Scratch));

    public async ValueTask DisposeAsync()
    {
        await Locations.DisposeAsync();
        SqliteConnection.ClearAllPools();
        Dir.Dispose();
    }
}
