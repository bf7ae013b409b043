using Lifeline.Recovery.Plan;
using Lifeline.Storage;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery.Locations;

/// <summary>How a <see cref="LocationSet"/> opens its vaults. Every property has a documented default.</summary>
public sealed record LocationSetOptions
{
    /// <summary>The vault password of every location (required unless <see cref="PasswordFor"/> is set).</summary>
    public string? Password { get; init; }

    /// <summary>The password of one location by name; default: <see cref="Password"/> for all.</summary>
    public Func<string, string?>? PasswordFor { get; init; }

    /// <summary>Environment for store credentials (see docs/storage.md); default the process environment.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>The directory relative location paths are taken from (the plan file's); default the current directory.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>Create a vault where a location has none (backups only; a restore never creates one). Default false.</summary>
    public bool InitializeMissing { get; init; }

    /// <summary>Parameters of vaults created by <see cref="InitializeMissing"/>; default <see cref="VaultInitOptions"/>'s.
    /// A secondary or tertiary gets the primary's chunker parameters so that copies deduplicate.</summary>
    public VaultInitOptions? InitOptions { get; init; }

    /// <summary>
    /// A secondary or tertiary created by <see cref="InitializeMissing"/> also shares the primary's master key (its own
    /// key file wraps it with its own derivation), so that copies send verified packs as they are instead of
    /// re-encrypting them (docs/vault.md, "Copy"). Only when one password serves every location
    /// (<see cref="PasswordFor"/> unset): then whoever can open one location can open them all anyway. Default true.
    /// </summary>
    public bool ShareMasterKey { get; init; } = true;

    /// <summary>Options of every opened vault (host, lock TTL, logger); default <see cref="VaultOpenOptions"/>'s.</summary>
    public VaultOpenOptions? OpenOptions { get; init; }

    /// <summary>Opens a store from a URL; default <see cref="ObjectStores.Open"/> (tests may wrap it with faults).</summary>
    public Func<string, IReadOnlyDictionary<string, string?>?, IObjectStore>? OpenStore { get; init; }
}

/// <summary>One location of the plan.</summary>
/// <param name="Name">The key under <c>locations</c>.</param>
/// <param name="Url">The URL as resolved (relative paths made absolute).</param>
/// <param name="Kind">File system, S3 or Azure Blob.</param>
public sealed record LocationInfo(string Name, string Url, LocationKind Kind);

/// <summary>
/// The plan's locations, each opened (lazily, once) as a vault: a path, <c>s3://</c> or <c>azure://</c> through
/// <see cref="ObjectStores.Open"/>. A location that cannot be opened is reported as
/// <see cref="LocationUnavailableException"/> (a wrong password stays a <see cref="WrongPasswordException"/>)
/// and is tried again on the next call; the other locations still serve meanwhile.
/// </summary>
public sealed class LocationSet : IAsyncDisposable
{
    private readonly Dictionary<string, LocationInfo> _locations;
    private readonly LocationSetOptions _options;
    private readonly TimeProvider _time;
    private readonly Dictionary<string, Task<VaultRepository>> _open = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly Dictionary<string, IObjectStore> _stores = new(StringComparer.Ordinal);

    private LocationSet(IEnumerable<LocationInfo> locations, LocationSetOptions options, TimeProvider time)
    {
        _locations = locations.ToDictionary(l => l.Name, StringComparer.Ordinal);
        _options = options;
        _time = time;
    }

    /// <summary>Every location, in plan order.</summary>
    public IReadOnlyList<LocationInfo> All => [.. _locations.Values];

    /// <summary>Builds the set of <paramref name="plan"/>'s locations.</summary>
    public static LocationSet FromPlan(LifelinePlan plan, LocationSetOptions options, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        var baseDir = options.BaseDirectory ?? Directory.GetCurrentDirectory();
        return new LocationSet(plan.Locations.Select(l => new LocationInfo(l.Name, Resolve(l, baseDir), l.Kind)), options, time ?? TimeProvider.System);
    }

    /// <summary>The locations <paramref name="policy"/> names, in role order (primary, secondary, tertiary), with their roles.</summary>
    public IReadOnlyList<(string Role, LocationInfo Location)> For(BackupPolicy policy) =>
        policy.Locations.Named().Where(n => _locations.ContainsKey(n.Location)).DistinctBy(n => n.Location).Select(n => (n.Role, _locations[n.Location])).ToList();

    /// <summary>The location named <paramref name="name"/>.</summary>
    public LocationInfo Get(string name) => _locations.TryGetValue(name, out var l) ? l
        : throw new LocationUnavailableException(name, "the plan has no such location; add it under 'locations'");

    /// <summary>Opens (once) the vault at <paramref name="name"/>. With <paramref name="create"/> and
    /// <see cref="LocationSetOptions.InitializeMissing"/>, a location without a vault gets one, with the chunker
    /// parameters of <paramref name="chunkerFrom"/> when given (and its master key, see <see cref="LocationSetOptions.ShareMasterKey"/>).</summary>
    public async Task<VaultRepository> OpenAsync(string name, bool create = false, VaultRepository? chunkerFrom = null, CancellationToken cancellationToken = default)
    {
        var info = Get(name);
        Task<VaultRepository> task;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            // a failed open is tried again on the next call (a long-running scheduler outlives an outage)
            if (!_open.TryGetValue(name, out task!) || task.IsFaulted || task.IsCanceled)
            {
                task = OpenCoreAsync(info, create, chunkerFrom, cancellationToken);
                _open[name] = task;
            }
        }
        finally
        {
            _gate.Release();
        }

        return await task;
    }

    /// <summary>The object store of <paramref name="name"/> (without opening its vault, which it may not hold yet),
    /// for records kept beside the vault.</summary>
    public IObjectStore Store(string name)
    {
        var info = Get(name);
        lock (_stores)
        {
            if (!_stores.TryGetValue(name, out var store))
            {
                store = OpenStore(info);
                _stores[name] = store;
            }

            return store;
        }
    }

    private IObjectStore OpenStore(LocationInfo info)
    {
        try
        {
            return (_options.OpenStore ?? ((url, env) => ObjectStores.Open(url, env)))(info.Url, _options.Environment);
        }
        catch (ArgumentException e)
        {
            throw new LocationUnavailableException(info.Name, e.Message, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // a file-system location whose directory cannot be created (a file in the way, no permission, a lost mount)
            throw new LocationUnavailableException(info.Name, $"{info.Url} cannot be opened ({FirstLine(e.Message)}); check the path and its permissions, or restore from another location", e);
        }
    }

    private async Task<VaultRepository> OpenCoreAsync(LocationInfo info, bool create, VaultRepository? chunkerFrom, CancellationToken ct)
    {
        var password = (_options.PasswordFor?.Invoke(info.Name) ?? _options.Password)
            ?? throw new RecoveryException($"no vault password for location '{info.Name}': set LIFELINE_PASSWORD or pass --password-file");
        var store = Store(info.Name);
        if (create && store is FileSystemObjectStore files)
        {
            // a backup is the next run after a crash: it clears the temporary files a killed writer left
            files.RemoveStaleTemporaryFiles(FileSystemObjectStore.StaleTemporaryAge, _time.GetUtcNow());
        }

        var openOptions = _options.OpenOptions ?? new VaultOpenOptions();
        try
        {
            return await VaultRepository.OpenAsync(store, password, openOptions, _time, ct);
        }
        catch (RepositoryNotFoundException e) when (create && _options.InitializeMissing)
        {
            _ = e;
            var shareKey = chunkerFrom is not null && _options.ShareMasterKey && _options.PasswordFor is null;
            var init = (_options.InitOptions ?? new VaultInitOptions()) with { CopyChunkerParamsFrom = chunkerFrom, CopyMasterKeyFrom = shareKey ? chunkerFrom : null };
            try
            {
                return await VaultRepository.InitAsync(store, password, init, openOptions, _time, ct);
            }
            catch (RepositoryAlreadyExistsException)
            {
                return await VaultRepository.OpenAsync(store, password, openOptions, _time, ct); // another process made it first
            }
        }
        catch (RepositoryNotFoundException e)
        {
            throw new LocationUnavailableException(info.Name, $"no vault at {store.Location}; run a backup (which creates it) or 'lifeline vault init'", e);
        }
        catch (WrongPasswordException)
        {
            throw;
        }
        catch (Exception e) when (e is IOException or HttpRequestException or TimeoutException or UnauthorizedAccessException || IsStoreFault(e))
        {
            throw new LocationUnavailableException(info.Name, $"{store.Location} did not answer ({FirstLine(e.Message)}); check the network and credentials, or restore from another location", e);
        }
    }

    private static bool IsStoreFault(Exception e) =>
        e.GetType().Namespace is { } ns && (ns.StartsWith("Azure", StringComparison.Ordinal) || ns.StartsWith("Amazon", StringComparison.Ordinal));

    internal static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    private static string Resolve(PlanLocation location, string baseDir) =>
        location.Kind == LocationKind.FileSystem && !location.Url.Contains("://", StringComparison.Ordinal) && !Path.IsPathRooted(location.Url)
            ? Path.GetFullPath(Path.Combine(baseDir, location.Url))
            : location.Url;

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        foreach (var task in _open.Values)
        {
            if (task.IsCompletedSuccessfully)
            {
                await task.Result.DisposeAsync();
            }
        }

        _open.Clear();
        foreach (var store in _stores.Values)
        {
            (store as IDisposable)?.Dispose();
        }

        _stores.Clear();
        _gate.Dispose();
    }

    /// <summary>For logs: never a credential (URLs in a plan hold none; this trims any query anyway).</summary>
    internal static string Describe(LocationInfo l) => l.Name + " (" + (l.Url.Split('?', 2)[0]) + ")";

    internal static ILogger OrNull(ILogger? logger) => logger ?? NullLogger.Instance;
}
