namespace Lifeline.Vault;

/// <summary>Base of every error the vault reports to a user; the message is one line saying what is wrong and what to do.</summary>
public class VaultException : Exception
{
    /// <summary>Creates the exception.</summary>
    public VaultException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>No repository at the location (or the location holds something else).</summary>
public sealed class RepositoryNotFoundException(string location, Exception? inner = null)
    : VaultException($"no Lifeline vault at {location} (no 'config' object): check --repo / LIFELINE_REPO, or create one with 'lifeline vault init'", inner)
{
    /// <summary>The location searched.</summary>
    public string Location { get; } = location;
}

/// <summary>Init found an existing repository.</summary>
public sealed class RepositoryAlreadyExistsException(string location)
    : VaultException($"a Lifeline vault already exists at {location}: open it instead, or choose an empty location for 'lifeline vault init'")
{
    /// <summary>The location.</summary>
    public string Location { get; } = location;
}

/// <summary>No key of the repository opens with the password.</summary>
public sealed class WrongPasswordException(string location)
    : VaultException($"wrong password for the vault at {location}: no key opens with it; check LIFELINE_PASSWORD / --password-file")
{
    /// <summary>The location.</summary>
    public string Location { get; } = location;
}

/// <summary>Another process holds a conflicting lock.</summary>
public sealed class RepositoryLockedException(string lockId, string holder, DateTimeOffset expires, bool exclusive)
    : VaultException($"the vault is locked{(exclusive ? " exclusively" : "")} by {holder} until {expires:u} (lock {(lockId.Length > 8 ? lockId[..8] : lockId)}): wait, or if that process is gone run 'lifeline vault unlock'")
{
/// <summary>The conflicting lock's id.</summary>
    public string LockId { get; } = lockId;

    /// <summary>Who holds it (host and process id).</summary>
    public string Holder { get; } = holder;

    /// <summary>When the lease expires unless renewed.</summary>
    public DateTimeOffset Expires { get; } = expires;
}

/// <summary>No snapshot matches the id prefix (or "latest"/time with the filter).</summary>
public sealed class SnapshotNotFoundException(string what)
    : VaultException($"no snapshot matches {what}: list them with 'lifeline vault snapshots'")
{
}

/// <summary>Stored data failed authentication, a hash check or decoding; names the object.</summary>
public sealed class VaultCorruptException(string what, Exception? inner = null)
    : VaultException($"vault data is corrupt: {what}; run 'lifeline vault check --read-data' and restore from a copy", inner)
{
}

/// <summary>A tree entry would write outside the restore target.</summary>
public sealed class UnsafePathException(string name, string directory)
    : VaultException($"refusing to restore: entry '{name}' in '{directory}' would escape the target directory (the snapshot is damaged or malicious)")
{
    /// <summary>The offending entry name.</summary>
    public string EntryName { get; } = name;
}

/// <summary>The restore target is not empty and overwriting was not asked for.</summary>
public sealed class RestoreTargetNotEmptyException(string target)
    : VaultException($"restore target '{target}' is not empty: choose an empty directory, or pass --overwrite")
{
    /// <summary>The target.</summary>
    public string Target { get; } = target;
}

/// <summary>
/// A snapshot file is corrupt (its hash, authentication or decoding fails): asked for by id, or possibly the one
/// "latest" would mean. A restore never silently picks another snapshot instead.
/// </summary>
public sealed class SnapshotCorruptException : VaultException
{
    /// <summary>Creates the exception for <paramref name="corrupt"/>; <paramref name="previous"/> is the newest intact candidate when "latest" was asked.</summary>
    public SnapshotCorruptException(CorruptSnapshotInfo corrupt, bool asLatest, SnapshotInfo? previous)
        : base(Describe(corrupt, asLatest, previous))
    {
        Corrupt = corrupt;
        AsLatest = asLatest;
        Previous = previous;
    }

    /// <summary>The corrupt snapshot.</summary>
    public CorruptSnapshotInfo Corrupt { get; }

    /// <summary>True when the corrupt snapshot may be the newest and "latest" was asked for.</summary>
    public bool AsLatest { get; }

    /// <summary>With <see cref="AsLatest"/>: the newest intact snapshot that matches (to be named explicitly), if any.</summary>
    public SnapshotInfo? Previous { get; }

    private static string Describe(CorruptSnapshotInfo corrupt, bool asLatest, SnapshotInfo? previous) => asLatest
        ? $"snapshot {corrupt.ShortId} is corrupt ({corrupt.Reason}) and may be the newest, so 'latest' is not used: "
          + (previous is null ? "no intact snapshot is older" : $"name the newest intact snapshot explicitly ({previous.ShortId}, taken {previous.Time:u}) to use it")
          + "; run 'lifeline vault check' and repair the vault from a copy"
        : $"snapshot {corrupt.ShortId} is corrupt ({corrupt.Reason}) and cannot be read; run 'lifeline vault check' and repair the vault from a copy";
}

/// <summary>
/// No intact key opens with the password and at least one key file is corrupt (its hash or structure fails): the
/// password may be right, so this is not reported as a wrong password.
/// </summary>
public sealed class KeyFileCorruptException(string location, string keyId, string reason)
    : VaultException($"key file keys/{(keyId.Length > 8 ? keyId[..8] : keyId)} of the vault at {location} is corrupt ({reason}) and no intact key opens with the password: restore the key file from a copy of the vault, or use another key's password")
{
    /// <summary>The corrupt key's id (its file name).</summary>
    public string KeyId { get; } = keyId;

    /// <summary>Why it is corrupt.</summary>
    public string Reason { get; } = reason;
}

/// <summary>A pack read back right after it was written (or copied) is not what was written: the backup or copy
/// fails and its snapshot is not committed (docs/verification.md, "Read-back").</summary>
public sealed class PackReadBackException(string pack, string location, string phase, string problem)
    : VaultException($"pack {pack[..Math.Min(16, pack.Length)]} written to {location} is damaged on read-back ({phase}): {problem}; the snapshot was not committed: check the store and run the backup again")
{
    /// <summary>The pack's id.</summary>
    public string Pack { get; } = pack;

    /// <summary>The store's location.</summary>
    public string Location { get; } = location;

    /// <summary><c>after-write</c> (a backup) or <c>after-copy</c> (a vault copy).</summary>
    public string Phase { get; } = phase;

    /// <summary>What was wrong, in words.</summary>
    public string Problem { get; } = problem;
}
