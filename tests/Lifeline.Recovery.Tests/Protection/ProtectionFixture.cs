using System.Collections.Concurrent;
using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Protection;
using Lifeline.Storage;
using Lifeline.Storage.Faults;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tests.Protection;

/// <summary>An on-change plan (configuration, the leads table, the registry) over three local vaults, on the real
/// clock (the protector's loops run for real); the fault-injecting store of each location.</summary>
internal sealed class ProtectionFixture : IAsyncDisposable
{
    public const string Password = "test-password";

    private ProtectionFixture(TempDirectory dir, LifelinePlan plan, LocationSet locations, RecoveryService service, ConcurrentDictionary<string, FaultInjectingObjectStore> stores, CapturingLogger logger)
    {
        Dir = dir;
        Plan = plan;
        Locations = locations;
        Service = service;
        Stores = stores;
        Logger = logger;
    }

    public TempDirectory Dir { get; }

    public LifelinePlan Plan { get; }

    public LocationSet Locations { get; }

    public RecoveryService Service { get; }

    public ConcurrentDictionary<string, FaultInjectingObjectStore> Stores { get; }

    public CapturingLogger Logger { get; }

    /// <summary>The registry's PostgreSQL connection string, when its metadata lives there.</summary>
    public string? RegistryPostgres { get; private init; }

    public string LakeRoot => Dir.Combine("lake");

    public string RegistryDirectory => Dir.Combine("registry");

    public FaultInjectingObjectStore StoreOf(string location) => (FaultInjectingObjectStore)Locations.Store(location);

    public static Task<ProtectionFixture> CreateAsync(bool registry = false, bool configuration = false, bool jobs = false, string? registryPostgres = null)
    {
        var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("app", "conf"));
        File.WriteAllText(dir.Combine("app", "conf", "api.json"), "{ \"port\": 8080 }\n");
        var yaml = $$"""
            version: 1
            objectives:
              rto: { target: 4h, max: 8h }
              rpo: { target: 2s, max: 5s }
            components:
              leads: { policy: live }
            {{(configuration ? "  configuration: { policy: live, files: [conf/*.json] }" : "")}}
            {{(registry ? "  registry: { policy: live }" : "")}}
            {{(jobs ? "  jobs: { policy: live, files: [jobs/*.yaml] }" : "")}}
            policies:
              live:
                schedule: on-change
                coalesce: 2s
                retention: { keep-within: 1h, hourly: 24, daily: 31 }
                locations: { primary: a, secondary: b, tertiary: c }
            locations:
              a: { url: ./vault-a, region: region-a }
              b: { url: ./vault-b, region: region-b }
              c: { url: ./vault-c, region: object-storage }
            """;
        var parsed = PlanFile.Parse(yaml, dir.Combine("lifeline.yaml"));
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        var plan = parsed.Plan!;
        var stores = new ConcurrentDictionary<string, FaultInjectingObjectStore>(StringComparer.Ordinal);
        var logger = new CapturingLogger();
        var locations = LocationSet.FromPlan(plan, new LocationSetOptions
        {
            Password = Password,
            BaseDirectory = dir.Path,
            InitializeMissing = true,
            InitOptions = VaultInitOptions.ForTests,
            OpenOptions = new VaultOpenOptions { Host = "test-host" },
            OpenStore = (url, e) => stores.GetOrAdd(url, u => new FaultInjectingObjectStore(ObjectStores.Open(u, e))),
        });
        var adapters = RecoveryService.BuiltInAdapters(plan, ConfigurationOptions(dir), RegistryOptions(dir, registryPostgres), LakeOptions(dir)).ToList();
        if (plan.Components.FirstOrDefault(c => c.Name == "jobs") is { } jobsComponent)
        {
            Directory.CreateDirectory(dir.Combine("app", "jobs"));
            File.WriteAllText(dir.Combine("app", "jobs", "train.yaml"), "schedule: '0 2 * * *'\n");
            adapters.Add(new Lifeline.Recovery.Components.Jobs.JobsComponent(jobsComponent, JobsOptions(dir)));
        }

        var service = new RecoveryService(plan, locations, adapters,
            new RecoveryServiceOptions { WorkDirectory = dir.Combine("work"), Who = "tester", Host = "test-host" });
        return Task.FromResult(new ProtectionFixture(dir, plan, locations, service, stores, logger) { RegistryPostgres = registryPostgres });
    }

    /// <summary>A protector with short intervals (a poll every 100 ms, a heartbeat every 200 ms).</summary>
    public ChangeProtector CreateSut(ChangeProtectorOptions? options = null) => new(Plan, Locations, Service, (options ?? new ChangeProtectorOptions()) with
    {
        Logger = Logger,
        Configuration = ConfigurationOptions(Dir),
        Registry = RegistryOptions(Dir, RegistryPostgres),
        Lake = LakeOptions(Dir),
        Jobs = JobsOptions(Dir),
        PollInterval = options?.PollInterval ?? TimeSpan.FromMilliseconds(100),
        HeartbeatInterval = options?.HeartbeatInterval ?? TimeSpan.FromMilliseconds(200),
        Debounce = TimeSpan.FromMilliseconds(200),
        ConfigurationRescan = TimeSpan.FromSeconds(1),
        SnapshotInterval = options?.SnapshotInterval ?? TimeSpan.FromMinutes(10),
    });

    public async Task<LeadScoringLake> SeedLakeAsync(int leads = 20)
    {
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(LakeRoot), "");
        await lake.SeedAsync(new LeadGenerator(7, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), leads, 1);
        return lake;
    }

    public DeltaTable Leads => new(new FileSystemObjectStore(Path.Combine(LakeRoot, "leads")), "");

    public DeltaTable ReplicaOf(string component, string location = "b") => new(Locations.Store(location), ProtectionLayout.ReplicaRoot(component));

    /// <summary>Waits until <paramref name="condition"/> holds, or fails after <paramref name="seconds"/>.</summary>
    public static async Task WaitForAsync(Func<Task<bool>> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"not within {seconds} s: {what}");
            }

            await Task.Delay(50);
        }
    }

    public static Task WaitForAsync(Func<bool> condition, string what, double seconds = 30) => WaitForAsync(() => Task.FromResult(condition()), what, seconds);

    private static ConfigurationOptions ConfigurationOptions(TempDirectory dir) => new() { BaseDirectory = dir.Combine("app"), Environment = new Dictionary<string, string?>() };

    private static Lifeline.Recovery.Components.Jobs.JobsAdapterOptions JobsOptions(TempDirectory dir) =>
        new() { BaseDirectory = dir.Combine("app"), PlanFile = dir.Combine("lifeline.yaml"), JobStore = dir.Combine("app", "jobs.db") };

    private static RegistryAdapterOptions RegistryOptions(TempDirectory dir, string? postgres = null) =>
        new() { Registry = new Lifeline.Registry.RegistryOptions { DataDirectory = dir.Combine("registry"), PostgresConnectionString = postgres } };

    private static LakeAdapterOptions LakeOptions(TempDirectory dir) => new() { Root = dir.Combine("lake"), RestoreRoot = dir.Combine("restored") };

    public async ValueTask DisposeAsync()
    {
        await Locations.DisposeAsync();
        Dir.Dispose();
    }
}
