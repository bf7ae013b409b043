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
