namespace Lifeline.Cli;

/// <summary>The documented exit codes of <c>lifeline</c> (docs/cli.md). They never change meaning.</summary>
internal static class ExitCodes
{
    /// <summary>The command did all it was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command failed: nothing it promised was done (the message says why).</summary>
    public const int Failure = 1;

    /// <summary>Wrong usage: unknown command or option, missing or invalid argument.</summary>
    public const int Usage = 2;

    /// <summary>A backup finished, but some source files could not be read (they are listed); the snapshot holds the rest.</summary>
    public const int PartialBackup = 3;

    /// <summary>The repository does not exist or is not a Lifeline repository.</summary>
    public const int RepositoryNotFound = 10;

    /// <summary>The password (or key) does not open the repository.</summary>
    public const int WrongPassword = 12;

    /// <summary>The repository is locked by another process.</summary>
    public const int Locked = 11;

    /// <summary>A check found errors, or data read from the repository is corrupt or missing.</summary>
    public const int CheckFailed = 4;

    /// <summary>No snapshot matches the given id, "latest" with the filters, or the time given with --at.</summary>
    public const int SnapshotNotFound = 13;

    /// <summary>The registry database is corrupt; the message names the restore command to run.</summary>
    public const int RegistryCorrupt = 20;

    /// <summary>Interrupted by the user (Ctrl-C) or SIGTERM.</summary>
    public const int Interrupted = 130;

    /// <summary>A service the command talks to (registry, scoring service) could not be reached.</summary>
    public const int ServiceUnreachable = 40;

    /// <summary>The service refused the token (missing, wrong, or without the needed role).</summary>
    public const int NotAuthorized = 41;

    /// <summary><c>lifeline model rollback</c>: the service has no previous version to go back to.</summary>
    public const int NothingToRollBack = 42;
}
