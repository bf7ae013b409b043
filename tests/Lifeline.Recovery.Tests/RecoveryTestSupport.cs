using System.Collections.Concurrent;
using System.Net.Sockets;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Storage;
using Lifeline.Storage.Faults;
using Lifeline.Vault;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests;

/// <summary>Every log line written, formatted, for "the secret is never logged" assertions.</summary>
internal sealed class CapturingLogger : ILogger
{
    public ConcurrentQueue<string> Lines { get; } = new();

    public string All => string.Join('\n', Lines);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Lines.Enqueue($"{logLevel} {eventId.Id} {formatter(state, exception)} {exception}");
}

/// <summary>Azurite, the Azure Blob emulator started by scripts/setup/azurite.sh, as the tertiary location.</summary>
internal static class Azurite
{
    // The public, documented development account of the Azure Storage emulator; not a secret.
    public const string ConnectionString =
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
        "BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;";

    public static async Task RequireAsync()
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
}

/// <summary>Collects progress reports synchronously, in order.</summary>
internal sealed class ListProgress<T> : IProgress<T>
{
    public ConcurrentQueue<T> Items { get; } = new();

    public void Report(T value) => Items.Enqueue(value);
}

/// <summary>A plan with a configuration component, the leads table (under <c>lake/</c>), the registry (<c>registry/</c>)
/// and jobs (no adapter) in three locations (two local vaults and Azurite), the
/// service over it, and the fault-injecting store of each location.</summary>
internal sealed class RecoveryFixture : IAsyncDisposable
{
    public const string Password = "test-password";
    public const string SecretValue = "s3cr3t-Valu3-never-shown";
    public const string DsnValue = "postgres://app:dsn-pa55@db/app";

    private RecoveryFixture(TempDirectory dir, string yaml, LifelinePlan plan, FakeTimeProvider time, CapturingLogger logger, LocationSet locations, RecoveryService service, ConcurrentDictionary<string, FaultInjectingObjectStore> stores)
    {
        Dir = dir;
        Yaml = yaml;
        Plan = plan;
        Time = time;
        Logger = logger;
        Locations = locations;
        Service = service;
        Stores = stores;
    }

    private Func<(LocationSet, RecoveryService)>? _reopen;
    private readonly List<LocationSet> _reopened = [];

    public TempDirectory Dir { get; }

    /// <summary>A new service over new location handles (as the next process would open them: no cached snapshots).</summary>
    public RecoveryService Reopen()
    {
        var (locations, service) = _reopen!();
        _reopened.Add(locations);
        return service;
    }

    public string Yaml { get; }

    public LifelinePlan Plan { get; }

    public FakeTimeProvider Time { get; }

    public CapturingLogger Logger { get; }

    public LocationSet Locations { get; }

    public RecoveryService Service { get; }

    /// <summary>By location URL as resolved.</summary>
    public ConcurrentDictionary<string, FaultInjectingObjectStore> Stores { get; }

    public string App => Dir.Combine("app");

    public FaultInjectingObjectStore StoreOf(string location) => Stores[Locations.Get(location).Url];

    /// <summary>Builds the fixture; <paramref name="tertiary"/> is <c>azure</c> (Azurite) or <c>local</c>.</summary>
    public static async Task<RecoveryFixture> CreateAsync(string tertiary = "local", string? hooks = null, string schedule = "\"0 * * * *\"", string retention = "{ keep-last: 2 }", Func<IObjectStore, IObjectStore>? wrapStore = null)
    {
        if (tertiary == "azure")
        {
            await Azurite.RequireAsync();
        }

        var dir = new TempDirectory();
        Directory.CreateDirectory(dir.Combine("app", "conf"));
        await File.WriteAllTextAsync(dir.Combine("app", "conf", "api.json"), "{ \"port\": 8080 }\n");
        await File.WriteAllTextAsync(dir.Combine("app", "conf", "monitoring.json"), "{ \"interval\": \"15s\" }\n");
        await File.WriteAllTextAsync(dir.Combine("app", "secrets.env"), $"API_TOKEN={SecretValue}\n");
        var tertiaryUrl = tertiary == "azure" ? $"\"azure://t{Guid.NewGuid():N}/vault\"" : "./vault-c";
        var yaml = $"""
            version: 1
            objectives:
              rto: {"{"} target: 4h, max: 8h {"}"}
              rpo: {"{"} target: 1h, max: 4h {"}"}
            components:
              configuration:
                policy: config
                files: [conf/*.json, secrets.env]
                env: [APP_*, LIFELINE_TEST_TOKEN]
                secrets: [APP_DSN]
            {hooks ?? ""}
              leads: {"{"} policy: config {"}"}
              registry: {"{"} policy: config {"}"}
              jobs: {"{"} policy: config {"}"}
            policies:
              config:
                schedule: {schedule}
                retention: {retention}
                locations: {"{"} primary: a, secondary: b, tertiary: c {"}"}
            locations:
              a: {"{"} url: ./vault-a, region: region-a {"}"}
              b: {"{"} url: ./vault-b, region: region-b {"}"}
              c: {"{"} url: {tertiaryUrl}, region: object-storage {"}"}
            """;
        var parsed = PlanFile.Parse(yaml, dir.Combine("lifeline.yaml"));
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        var plan = parsed.Plan!;
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));
        var logger = new CapturingLogger();
        var stores = new ConcurrentDictionary<string, FaultInjectingObjectStore>(StringComparer.Ordinal);
        var env = new Dictionary<string, string?> { ["AZURE_STORAGE_CONNECTION_STRING"] = Azurite.ConnectionString };
        var locationOptions = new LocationSetOptions
        {
            Password = Password,
            BaseDirectory = dir.Path,
            InitializeMissing = true,
            InitOptions = VaultInitOptions.ForTests,
            OpenOptions = new VaultOpenOptions { Logger = logger, Host = "test-host" },
            Environment = env,
            OpenStore = (url, e) => stores.GetOrAdd(url, u => new FaultInjectingObjectStore(wrapStore is null ? ObjectStores.Open(u, e) : wrapStore(ObjectStores.Open(u, e)))),
        };
        var locations = LocationSet.FromPlan(plan, locationOptions, time);
        var processEnv = new Dictionary<string, string?>
        {
            ["APP_MODE"] = "production",
            ["APP_DSN"] = DsnValue,
            ["APP_API_KEY"] = SecretValue + "-key",
            ["LIFELINE_TEST_TOKEN"] = SecretValue,
            ["UNRELATED"] = "not captured",
        };
        var adapters = RecoveryService.BuiltInAdapters(plan,
            new ConfigurationOptions { BaseDirectory = dir.Combine("app"), Environment = processEnv, RestoreRoot = dir.Combine("restored"), Time = time },
            new RegistryAdapterOptions { Registry = new Lifeline.Registry.RegistryOptions { DataDirectory = dir.Combine("registry") }, RestoreRoot = dir.Combine("restored"), Time = time },
            new LakeAdapterOptions { Root = dir.Combine("lake"), RestoreRoot = dir.Combine("restored") });
        var serviceOptions = new RecoveryServiceOptions
        {
            Time = time,
            Logger = logger,
            WorkDirectory = dir.Combine("work"),
            HookDirectory = dir.Path,
            Who = "tester",
            Host = "test-host",
            Arguments = ["backup", "configuration", "--password", Password, $"LIFELINE_TEST_TOKEN={SecretValue}"],
        };
        var service = new RecoveryService(plan, locations, adapters, serviceOptions);
        return new RecoveryFixture(dir, yaml, plan, time, logger, locations, service, stores)
        {
            _reopen = () =>
            {
                var again = LocationSet.FromPlan(plan, locationOptions, time);
                return (again, new RecoveryService(plan, again, adapters, serviceOptions));
            },
        };
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in Stores.Values)
        {
            if (store.Inner is Storage.Azure.AzureBlobObjectStore azure)
            {
                await azure.Container.DeleteIfExistsAsync();
            }
        }

        foreach (var reopened in _reopened)
        {
            await reopened.DisposeAsync();
        }

        await Locations.DisposeAsync();
        Dir.Dispose();
    }
}
