using Lifeline.Storage;

namespace Lifeline.Vault;

/// <summary>
/// An encrypted, deduplicating backup repository on an <see cref="IObjectStore"/> (format: docs/vault-format.md).
/// Open one with <see cref="OpenAsync(IObjectStore, string, TimeProvider?, CancellationToken)"/> or create one with
/// <see cref="InitAsync(IObjectStore, string, VaultInitOptions?, TimeProvider?, CancellationToken)"/>.
/// Instances are safe to use from one caller at a time; several processes may use one repository at once (locks).
/// </summary>
public sealed class VaultRepository : IAsyncDisposable
{
    private VaultRepository(IObjectStore store, string id)
    {
        Store = store;
        Id = id;
    }

    /// <summary>The repository id (64 hex characters), from its config.</summary>
    public string Id { get; }

    /// <summary>The store holding the repository.</summary>
    public IObjectStore Store { get; }

    /// <summary>Creates a new repository in an empty store, with one key for <paramref name="password"/>.</summary>
    /// <exception cref="RepositoryAlreadyExistsException">The store already holds a config.</exception>
    public static Task<VaultRepository> InitAsync(IObjectStore store, string password, VaultInitOptions? options = null, TimeProvider? time = null, CancellationToken ct = default)
        => InitAsync(store, password, options, new VaultOpenOptions(), time, ct);

    /// <summary>Creates a new repository, with options for the opened instance.</summary>
    public static Task<VaultRepository> InitAsync(IObjectStore store, string password, VaultInitOptions? options, VaultOpenOptions openOptions, TimeProvider? time = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Opens an existing repository with <paramref name="password"/>.</summary>
    /// <exception cref="RepositoryNotFoundException">The store holds no config.</exception>
    /// <exception cref="WrongPasswordException">No key opens with the password.</exception>
    public static Task<VaultRepository> OpenAsync(IObjectStore store, string password, TimeProvider? time = null, CancellationToken ct = default)
        => OpenAsync(store, password, new VaultOpenOptions(), time, ct);

    /// <summary>Opens an existing repository, with options for the opened instance.</summary>
    public static Task<VaultRepository> OpenAsync(IObjectStore store, string password, VaultOpenOptions openOptions, TimeProvider? time = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Backs up the request's paths into a new snapshot (shared lock).</summary>
    public Task<BackupResult> BackupAsync(BackupRequest request, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Lists snapshots matching the filter, oldest first.</summary>
    public IAsyncEnumerable<SnapshotInfo> ListSnapshotsAsync(SnapshotFilter? filter = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Finds a snapshot by id prefix, or "latest" (newest matching the filter; with <paramref name="at"/>, newest at or before it).</summary>
    /// <exception cref="SnapshotNotFoundException">Nothing matches, or the prefix is ambiguous.</exception>
    public Task<SnapshotInfo> FindSnapshotAsync(string idPrefixOrLatest, SnapshotFilter? filter = null, DateTimeOffset? at = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Lists a snapshot's entries depth-first in name order, optionally only below <paramref name="pathPrefix"/>.</summary>
    public IAsyncEnumerable<NodeInfo> ListNodesAsync(SnapshotInfo snapshot, string? pathPrefix = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Compares two snapshots.</summary>
    public Task<DiffResult> DiffAsync(SnapshotInfo from, SnapshotInfo to, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Restores a snapshot (or the included part) into a directory (shared lock).</summary>
    /// <exception cref="RestoreTargetNotEmptyException">The target has entries and Overwrite is false.</exception>
    /// <exception cref="UnsafePathException">A tree entry would escape the target.</exception>
    public Task<RestoreResult> RestoreAsync(RestoreRequest request, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Checks the repository's consistency (shared lock); with ReadData, every blob's content.</summary>
    public Task<CheckResult> CheckAsync(CheckOptions options, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Removes snapshots the policy does not keep (exclusive lock). Data is freed by <see cref="PruneAsync"/>.</summary>
    public Task<ForgetResult> ForgetAsync(RetentionPolicy policy, SnapshotFilter? filter = null, bool dryRun = false, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Deletes data no snapshot uses (exclusive lock); new packs and index are written before anything is deleted.</summary>
    public Task<PruneResult> PruneAsync(bool dryRun = false, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Copies snapshots missing in <paramref name="destination"/> with only the blobs it lacks.</summary>
    public Task<CopyResult> CopyToAsync(VaultRepository destination, SnapshotFilter? filter = null, IProgress<VaultProgress>? progress = null, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Adds a key for another password.</summary>
    public Task<KeyInfo> AddKeyAsync(string newPassword, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Lists the keys.</summary>
    public IAsyncEnumerable<KeyInfo> ListKeysAsync(CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Removes a key by id prefix; refuses the key in use.</summary>
    public Task RemoveKeyAsync(string keyIdPrefix, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <summary>Removes expired locks (or all locks); returns how many were removed.</summary>
    public Task<int> UnlockAsync(bool removeAll = false, CancellationToken ct = default)
        => throw new NotImplementedException();

    /// <inheritdoc />
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
