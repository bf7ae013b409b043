using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Lifeline.Storage;
using Lifeline.Vault.Chunking;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;
using Lifeline.Vault.Index;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Vault;

/// <summary>
/// An encrypted, deduplicating backup repository on an <see cref="IObjectStore"/> (format: docs/vault-format.md).
/// Open one with <see cref="OpenAsync(IObjectStore, string, TimeProvider?, CancellationToken)"/> or create one with
/// <see cref="InitAsync(IObjectStore, string, VaultInitOptions?, TimeProvider?, CancellationToken)"/>.
/// An instance is meant for one caller at a time; several processes may use one repository at once (locks).
/// </summary>
public sealed partial class VaultRepository : IAsyncDisposable
{
    internal const string ConfigKey = "config";
    private readonly HashSet<string> _loadedIndexFiles = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _indexGate = new(1, 1);

    private VaultRepository(IObjectStore store, MasterKey key, ConfigJson config, string keyId, VaultOpenOptions options, TimeProvider time)
    {
        Store = store;
        Key = key;
        Config = config;
        Id = config.Id;
        CurrentKeyId = keyId;
        Options = options;
        Time = time;
        Host = options.Host ?? Environment.MachineName;
        Logger = options.Logger ?? NullLogger.Instance;
        Chunker = new FastCdc(config.GearSeed, config.ChunkerMin, config.ChunkerAvg, config.ChunkerMax);
    }

    /// <summary>The repository id (64 hex characters), from its config.</summary>
    public string Id { get; }

    /// <summary>The store holding the repository.</summary>
    public IObjectStore Store { get; }

    /// <summary>The host name this instance records in snapshots, keys and locks.</summary>
    public string Host { get; }

    internal MasterKey Key { get; }

    internal ConfigJson Config { get; }

    internal string CurrentKeyId { get; }

    internal VaultOpenOptions Options { get; }

    internal TimeProvider Time { get; }

    internal ILogger Logger { get; }

    internal FastCdc Chunker { get; }

    internal MemoryIndex Index { get; private set; } = new();

    /// <summary>Test hook: called before a source file is opened; an exception it returns is raised as the open's failure.</summary>
    internal Func<string, Exception?>? SourceFaultForTests { get; set; }

    /// <summary>Creates a new repository in an empty store, with one key for <paramref name="password"/>.</summary>
    /// <exception cref="RepositoryAlreadyExistsException">The store already holds a config.</exception>
    public static Task<VaultRepository> InitAsync(IObjectStore store, string password, VaultInitOptions? options = null, TimeProvider? time = null, CancellationToken ct = default)
        => InitAsync(store, password, options, new VaultOpenOptions(), time, ct);

    /// <summary>Creates a new repository, with options for the opened instance.</summary>
    public static async Task<VaultRepository> InitAsync(IObjectStore store, string password, VaultInitOptions? options, VaultOpenOptions openOptions, TimeProvider? time = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(password);
        options ??= new VaultInitOptions();
        time ??= TimeProvider.System;
        if (await store.StatAsync(ConfigKey, ct) is not null)
        {
            throw new RepositoryAlreadyExistsException(store.Location);
        }

        _ = new FastCdc(new byte[32], options.ChunkMinSize, options.ChunkAverageSize, options.ChunkMaxSize); // validates sizes
        if (options.PackSize < options.ChunkMaxSize + (64 * 1024))
        {
            throw new ArgumentException($"pack size {options.PackSize} is too small: it must hold the largest chunk ({options.ChunkMaxSize} bytes) plus 64 KiB");
        }

        var host = openOptions.Host ?? Environment.MachineName;
        var master = options.CopyMasterKeyFrom is { } keySource ? new MasterKey((byte[])keySource.Key.Material.Clone()) : MasterKey.Create();
        var keyFile = KeyFiles.Create(master.Material, password, options, host, time.GetUtcNow());
        var keyBytes = WireJson.Serialize(keyFile, WireJson.Default.KeyFileJson);
        var keyId = Convert.ToHexStringLower(SHA256.HashData(keyBytes));
        await store.PutIfAbsentAsync("keys/" + keyId, keyBytes, ct);
        var template = options.CopyChunkerParamsFrom?.Config;
        var config = new ConfigJson
        {
            Id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32)),
            ChunkerMin = template?.ChunkerMin ?? options.ChunkMinSize,
            ChunkerAvg = template?.ChunkerAvg ?? options.ChunkAverageSize,
            ChunkerMax = template?.ChunkerMax ?? options.ChunkMaxSize,
            GearSeed = template?.GearSeed ?? RandomNumberGenerator.GetBytes(32),
            PackSize = Math.Max(options.PackSize, (template?.ChunkerMax ?? 0) + (64 * 1024)),
        };
        var sealedConfig = master.Meta.Seal(WireJson.Serialize(config, WireJson.Default.ConfigJson), Roles.Config);
        if (!await store.PutIfAbsentAsync(ConfigKey, sealedConfig, ct))
        {
            await store.DeleteAsync("keys/" + keyId, ct);
            throw new RepositoryAlreadyExistsException(store.Location);
        }

        return new VaultRepository(store, master, config, keyId, openOptions, time);
    }

    /// <summary>Opens an existing repository with <paramref name="password"/>.</summary>
    /// <exception cref="RepositoryNotFoundException">The store holds no config.</exception>
    /// <exception cref="WrongPasswordException">No key opens with the password.</exception>
    public static Task<VaultRepository> OpenAsync(IObjectStore store, string password, TimeProvider? time = null, CancellationToken ct = default)
        => OpenAsync(store, password, new VaultOpenOptions(), time, ct);

    /// <summary>Opens an existing repository, with options for the opened instance.</summary>
    public static async Task<VaultRepository> OpenAsync(IObjectStore store, string password, VaultOpenOptions openOptions, TimeProvider? time = null, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(password);
        time ??= TimeProvider.System;
        byte[] sealedConfig;
        try
        {
            sealedConfig = await store.GetAsync(ConfigKey, cancellationToken: ct);
        }
        catch (ObjectNotFoundException e)
        {
            throw new RepositoryNotFoundException(store.Location, e);
        }
        catch (DirectoryNotFoundException e)
        {
            throw new RepositoryNotFoundException(store.Location, e);
        }

        var keyFiles = new List<ObjectInfo>();
        await foreach (var k in store.ListAsync("keys/", ct))
        {
            keyFiles.Add(k);
        }

        var unwrappedButConfigFailed = false;
        (string Id, string Reason)? corruptKey = null;
        foreach (var k in keyFiles)
        {
            KeyFileJson file;
            var keyId = k.Key["keys/".Length..];
            try
            {
                var bytes = await store.GetAsync(k.Key, cancellationToken: ct);
                file = WireJson.Deserialize(bytes, WireJson.Default.KeyFileJson, $"key {k.Key}");
                // A key file is named by the SHA-256 of its bytes: a changed byte is corruption, not a wrong password.
                if (KeyFiles.StructureProblem(file) is { } problem)
                {
                    corruptKey ??= (keyId, problem);
                    continue;
                }

                if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(bytes)), keyId, StringComparison.OrdinalIgnoreCase))
                {
                    corruptKey ??= (keyId, "its content does not match its id");
                    continue;
                }
            }
            catch (VaultCorruptException)
            {
                corruptKey ??= (keyId, "it does not decode as a key file");
                continue;
            }
            catch (ObjectNotFoundException)
            {
                continue;
            }

            var material = KeyFiles.TryUnwrap(file, password);
            if (material is null)
            {
                continue;
            }

            var master = new MasterKey(material);
            var plain = master.Meta.TryOpen(sealedConfig, Roles.Config);
            if (plain is null)
            {
                // A key left by an interrupted init (another master key), or a damaged config: try the other keys.
                master.Dispose();
                unwrappedButConfigFailed = true;
                continue;
            }

            var config = WireJson.Deserialize(plain, WireJson.Default.ConfigJson, "config");
            if (config.Version != 1)
            {
                throw new VaultException($"vault at {store.Location} has format version {config.Version}; this Lifeline reads version 1: upgrade Lifeline");
            }

            var repo = new VaultRepository(store, master, config, k.Key["keys/".Length..], openOptions, time);
            await repo.RefreshIndexAsync(ct);
            Log.Opened(repo.Logger, store.Location, repo.CurrentKeyId[..8]);
            return repo;
        }

        if (unwrappedButConfigFailed)
        {
            throw new VaultCorruptException($"config of {store.Location} fails authentication with every key the password opens");
        }

        throw corruptKey is { } bad
            ? new KeyFileCorruptException(store.Location, bad.Id, bad.Reason)
            : new WrongPasswordException(store.Location);
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync()
    {
        Key.Dispose();
        _indexGate.Dispose();
        return ValueTask.CompletedTask;
    }

    // ---- keys -------------------------------------------------------------------------------------------------

    /// <summary>Adds a key for another password (same KDF parameters as <paramref name="kdf"/>, default those of <see cref="VaultInitOptions"/>).</summary>
    public Task<KeyInfo> AddKeyAsync(string newPassword, CancellationToken ct = default) => AddKeyAsync(newPassword, null, ct);

    /// <summary>Adds a key for another password with the given KDF parameters.</summary>
    public async Task<KeyInfo> AddKeyAsync(string newPassword, VaultInitOptions? kdf, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(newPassword);
        var file = KeyFiles.Create(Key.Material, newPassword, kdf ?? new VaultInitOptions(), Host, Time.GetUtcNow());
        var bytes = WireJson.Serialize(file, WireJson.Default.KeyFileJson);
        var id = Convert.ToHexStringLower(SHA256.HashData(bytes));
        await Store.PutIfAbsentAsync("keys/" + id, bytes, ct);
        return new KeyInfo { Id = id, Created = file.Created, Host = file.Host, Current = false };
    }

    /// <summary>Lists the keys.</summary>
    public async IAsyncEnumerable<KeyInfo> ListKeysAsync([EnumeratorCancellation] CancellationToken ct = default)
    {
        await foreach (var k in Store.ListAsync("keys/", ct))
        {
            var id = k.Key["keys/".Length..];
            KeyFileJson? file = null;
            try
            {
                file = WireJson.Deserialize(await Store.GetAsync(k.Key, cancellationToken: ct), WireJson.Default.KeyFileJson, $"key {k.Key}");
            }
            catch (VaultCorruptException)
            {
            }

            yield return new KeyInfo { Id = id, Created = file?.Created ?? default, Host = file?.Host ?? "?", Current = id == CurrentKeyId };
        }
    }

    /// <summary>Removes a key by id prefix; refuses the key in use.</summary>
    public async Task RemoveKeyAsync(string keyIdPrefix, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(keyIdPrefix);
        var matches = new List<string>();
        await foreach (var k in Store.ListAsync("keys/", ct))
        {
            var id = k.Key["keys/".Length..];
            if (id.StartsWith(keyIdPrefix, StringComparison.OrdinalIgnoreCase))
            {
                matches.Add(id);
            }
        }

        if (matches.Count != 1)
        {
            throw new VaultException(matches.Count == 0
                ? $"no key matches '{keyIdPrefix}': list them with 'lifeline vault key list'"
                : $"key prefix '{keyIdPrefix}' is ambiguous ({matches.Count} keys match): give more characters");
        }

        if (matches[0] == CurrentKeyId)
        {
            throw new VaultException($"refusing to remove key {matches[0][..8]}: it is the key in use; open the vault with another password to remove it");
        }

        await Store.DeleteAsync("keys/" + matches[0], ct);
    }

    // ---- encrypted files and blobs ------------------------------------------------------------------------------

    internal static string PackKey(BlobId pack)
    {
        var hex = pack.ToString();
        return $"data/{hex[..2]}/{hex}";
    }

    /// <summary>Seals with the metadata key and writes under <paramref name="dir"/>/&lt;SHA-256 of the stored bytes&gt;.</summary>
    internal async Task<string> SaveFileAsync(string dir, byte[] role, byte[] plaintext, CancellationToken ct)
    {
        var stored = Key.Meta.Seal(plaintext, role);
        var id = Convert.ToHexStringLower(SHA256.HashData(stored));
        await Store.PutIfAbsentAsync($"{dir}/{id}", stored, ct);
        return id;
    }

    /// <summary>Reads, verifies the content address and opens a metadata file.</summary>
    internal async Task<byte[]> LoadFileAsync(string key, byte[] role, bool contentAddressed, CancellationToken ct)
    {
        var stored = await Store.GetAsync(key, cancellationToken: ct);
        if (contentAddressed)
        {
            var name = key[(key.LastIndexOf('/') + 1)..];
            if (!string.Equals(Convert.ToHexStringLower(SHA256.HashData(stored)), name, StringComparison.Ordinal))
            {
                throw new VaultCorruptException($"{key} does not match its id (hash mismatch)");
            }
        }

        return Key.Meta.TryOpen(stored, role) ?? throw new VaultCorruptException($"{key} fails authentication");
    }

    internal async Task<byte[]> LoadBlobAsync(BlobId id, CancellationToken ct)
    {
        if (!Index.TryGet(id, out var loc))
        {
            throw new VaultCorruptException($"blob {id} is not in the index");
        }

        var stored = await Store.GetAsync(PackKey(loc.Pack), loc.Entry.Offset, loc.Entry.Length, ct);
        if (stored.Length != loc.Entry.Length)
        {
            throw new VaultCorruptException($"pack {loc.Pack} is shorter than the index says (blob {id})");
        }

        return BlobDecoder.Decode(stored, loc.Entry, Key.Data, loc.Pack.ToString());
    }

    internal async Task<TreeJson> LoadTreeAsync(BlobId id, CancellationToken ct)
        => WireJson.Deserialize(await LoadBlobAsync(id, ct), WireJson.Default.TreeJson, $"tree {id}");

    /// <summary>Loads index files not loaded yet; if any loaded file disappeared (a prune ran), rebuilds from scratch.</summary>
    internal async Task RefreshIndexAsync(CancellationToken ct)
    {
        await _indexGate.WaitAsync(ct);
        try
        {
            var names = new List<string>();
            await foreach (var f in Store.ListAsync("index/", ct))
            {
                names.Add(f.Key);
            }

            var present = names.ToHashSet(StringComparer.Ordinal);
            List<string> toLoad;
            lock (_loadedIndexFiles)
            {
                if (_loadedIndexFiles.Any(n => !present.Contains(n)))
                {
                    Index = new MemoryIndex();
                    _loadedIndexFiles.Clear();
                }

                toLoad = names.Where(n => !_loadedIndexFiles.Contains(n)).ToList();
            }

            var loaded = new (string Name, List<(BlobId Pack, List<PackEntry> Entries)> Packs)?[toLoad.Count];
            await Parallel.ForEachAsync(Enumerable.Range(0, toLoad.Count), new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = ct }, async (i, c) =>
            {
                try
                {
                    var plain = await LoadFileAsync(toLoad[i], Roles.Index, contentAddressed: true, c);
                    loaded[i] = (toLoad[i], IndexFile.Decode(plain, toLoad[i]));
                }
                catch (ObjectNotFoundException)
                {
                    // deleted by a concurrent prune between list and get: its replacement is listed next time
                }
                catch (VaultCorruptException e)
                {
                    // Open anyway so that check can report it and other data stays reachable; backup then simply
                    // stores again what only this file indexed, prune refuses to run, restore names missing blobs.
                    Log.CorruptIndex(Logger, toLoad[i], e.Message);
                }
            });

            var files = loaded.OfType<(string Name, List<(BlobId Pack, List<PackEntry> Entries)> Packs)>().ToList();
            Index.AddPacks(files.SelectMany(x => x.Packs).Select(p => (p.Pack, (IEnumerable<PackEntry>)p.Entries)));
            foreach (var x in files)
            {
                MarkIndexLoaded(x.Name);
            }
        }
        finally
        {
            _indexGate.Release();
        }
    }

    /// <summary>Records an index file this instance wrote itself (so a refresh does not load it again).</summary>
    internal void MarkIndexLoaded(string key)
    {
        lock (_loadedIndexFiles)
        {
            _loadedIndexFiles.Add(key);
        }
    }

    /// <summary>Writes an index file for packs that are already durable.</summary>
    internal async Task<string> WriteIndexFileAsync(IReadOnlyList<(BlobId Pack, IReadOnlyList<PackEntry> Entries)> packs, CancellationToken ct)
    {
        var id = await SaveFileAsync("index", Roles.Index, IndexFile.Encode(packs), ct);
        MarkIndexLoaded("index/" + id);
        return id;
    }
}
