namespace Lifeline.Cli;

/// <summary>The documented exit codes of <c>lifeline</c> (docs/cli.md, which is the single truth). They never change meaning.</summary>
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

    /// <summary>Interrupted by the user (Ctrl-C) or SIGTERM.</summary>
    public const int Interrupted = 130;

    // recovery: backup, restore, forget, status (60-69)

    /// <summary>The plan names no such component, or no adapter here protects its kind (the message lists the plan's components).</summary>
    public const int UnknownComponent = 60;

    /// <summary>A location of the plan cannot be opened (unreachable, no vault there yet, malformed URL).</summary>
    public const int LocationUnavailable = 61;

    /// <summary><c>lifeline status</c>: at least one component is red (no recovery point, past its RPO maximum, a required location unreadable, or its last backup failed).</summary>
    public const int StatusRed = 62;

    /// <summary><c>lifeline forget</c>: a retention rule selected no snapshot in a location, a component has no retention, or a location could not be read (each is listed).</summary>
    public const int RetentionFinding = 63;

    /// <summary><c>lifeline verify run</c>: at least one verification check failed (each failure is listed and kept as evidence).</summary>
    public const int VerificationFailed = 64;

    // registry (30-39)

    /// <summary>The registry database is corrupt; the message names the restore command to run.</summary>
    public const int RegistryCorrupt = 30;

    /// <summary><c>registry restore --incremental</c>: the target was not made by a registry restore (no <c>.lifeline-restore.json</c>).</summary>
    public const int RegistryNotRestoreTarget = 31;

    /// <summary><c>registry restore --incremental</c>: the target's registry changed since its restore (it may be live); <c>--replace-changed</c> replaces it.</summary>
    public const int RegistryChangedSinceRestore = 32;

    /// <summary><c>registry restore --incremental</c>: the point is an API export, which restores only into an empty registry.</summary>
    public const int RegistryNotNativePoint = 33;

    // lake (20-29)

    /// <summary>The path holds no Delta table (no commit or checkpoint in <c>_delta_log/</c>).</summary>
    public const int LakeNotATable = 20;

    /// <summary>The table needs a reader/writer version or table feature Lifeline does not support (the message names it).</summary>
    public const int LakeUnsupportedFeature = 21;

    /// <summary>The table's log or data is corrupt or incomplete (the message names the table, version and file).</summary>
    public const int LakeCorrupt = 22;

    /// <summary>The requested version or time is not in the table's history.</summary>
    public const int LakeVersionNotFound = 23;

    /// <summary>A concurrent commit conflicted with this one; re-read and retry.</summary>
    public const int LakeConcurrentModification = 24;

    // scoring and services (40-49)

    /// <summary>A service or object store the command talks to could not be reached (refused, unresolved, timed out).</summary>
    public const int ServiceUnreachable = 40;

    /// <summary>The service or store refused the token or credentials (missing, wrong, expired, or without the needed role).</summary>
    public const int NotAuthorized = 41;

    /// <summary><c>lifeline model rollback</c>: the service has no previous version to go back to.</summary>
    public const int NothingToRollBack = 42;

    /// <summary>A server command cannot listen on the address given by <c>--urls</c> (in use, or not permitted).</summary>
    public const int CannotListen = 43;

    /// <summary><c>lifeline up</c>: another <c>up</c> already runs on this data directory (it holds <c>lifeline.lock</c>).</summary>
    public const int AlreadyRunning = 44;

    // plan (50-59)

    /// <summary><c>lifeline plan check</c> (and <c>plan show</c>): the plan file has errors, is missing or cannot be parsed (each finding is one line).</summary>
    public const int PlanHasErrors = 50;

    // scheduler: lifeline jobs (70-79)

    /// <summary>The plan has no job of that name (the message lists its jobs).</summary>
    public const int UnknownJob = 70;

    /// <summary><c>lifeline jobs run</c>: the job's last attempt failed, timed out or was interrupted (each attempt is in the history).</summary>
    public const int JobFailed = 71;

    // notifications: lifeline notify (85-89)

    /// <summary>The plan has no notification channel of that name (the message lists its channels).</summary>
    public const int UnknownChannel = 85;

    /// <summary><c>lifeline notify test|flush</c>: a notice is still pending when the time is up (it stays in the outbox; each failure is listed).</summary>
    public const int NotificationPending = 86;

    /// <summary><c>lifeline notify test|flush</c>: a channel refused a notice for good, or it was given up (the reason is listed).</summary>
    public const int NotificationDead = 87;
    // incidents: lifeline incidents (90-99)

    /// <summary>No incident has that id (the message says how to list them).</summary>
    public const int UnknownIncident = 90;

    /// <summary><c>incidents ack</c> or <c>resolve</c> of an incident that is already resolved.</summary>
    public const int IncidentResolved = 91;
}
