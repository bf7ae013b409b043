using System.Net.Sockets;
using System.Reflection;
using System.Security.Authentication;
using System.Text.RegularExpressions;
using Amazon.Runtime;
using Lifeline.Lake;
using Lifeline.Recovery;
using Lifeline.Registry.Contracts;
using Lifeline.Registry.Store;
using Lifeline.Storage;
using Lifeline.Vault;

namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// One row of the error table: exceptions of <see cref="ExceptionType"/> for which <see cref="Message"/> gives a line
/// (null: the row does not apply) exit with <see cref="ExitCode"/> (null: the code the exception carries).
/// </summary>
internal sealed record ErrorRow(string Name, Type ExceptionType, int? ExitCode, Func<Exception, string?> Message);

/// <summary>
/// The one table from error type to exit code and one-line message, for every command of <c>lifeline</c>
/// (restic's main.go: one place decides the code). The first row that applies wins, so specific types come before
/// their base types. A command group adds rows here, never its own catch blocks; docs/cli.md lists the codes.
/// </summary>
internal static partial class ErrorTable
{
    private const string RegistryTokenVariable = "LIFELINE_REGISTRY_TOKEN";

    /// <summary>The assemblies whose own argument and state errors are deliberate one-line messages, not bugs.</summary>
    private static readonly HashSet<Assembly> LifelineAssemblies =
    [
        typeof(ErrorTable).Assembly, typeof(IObjectStore).Assembly, typeof(VaultRepository).Assembly,
        typeof(DeltaTable).Assembly, typeof(MlflowException).Assembly, typeof(Lifeline.Registry.RegistryOptions).Assembly,
        typeof(Lifeline.Recovery.RecoveryService).Assembly, typeof(Lifeline.Scoring.ScoringJsonContext).Assembly,
    ];

    /// <summary>The rows, most specific first.</summary>
    public static IReadOnlyList<ErrorRow> Rows { get; } =
    [
        Row<CliException>("usage or command error", null, e => e.Message),
        Row<TaskCanceledException>("timeout", ExitCodes.ServiceUnreachable, e => e.InnerException is TimeoutException t ? $"timed out: {t.Message}" : null),
        Row<OperationCanceledException>("interrupted", ExitCodes.Interrupted, _ => "interrupted"),

        // vault
        Row<RepositoryNotFoundException>("vault: no repository", ExitCodes.RepositoryNotFound, e => e.Message),
        Row<WrongPasswordException>("vault: wrong password", ExitCodes.WrongPassword, e => e.Message),
        Row<KeyFileCorruptException>("vault: corrupt key file", ExitCodes.CheckFailed, e => e.Message),
        Row<RepositoryLockedException>("vault: locked", ExitCodes.Locked, e => e.Message),
        Row<SnapshotNotFoundException>("vault: no such snapshot", ExitCodes.SnapshotNotFound, e => e.Message),
        Row<SnapshotCorruptException>("vault: corrupt snapshot", ExitCodes.CheckFailed, e => e.Message),
        Row<VaultCorruptException>("vault: corrupt data", ExitCodes.CheckFailed, e => e.Message),
        Row<PackReadBackException>("vault: pack damaged on read-back", ExitCodes.CheckFailed, e => e.Message),
        Row<UnsafePathException>("vault: unsafe path in a snapshot", ExitCodes.CheckFailed, e => e.Message),
        Row<RestoreTargetNotEmptyException>("restore target not empty", ExitCodes.Failure, e => e.Message),
        Row<VaultException>("vault: refused", ExitCodes.Failure, e => e.Message),
        Row<ObjectNotFoundException>("stored data missing", ExitCodes.CheckFailed, e => $"data is missing: {e.Message}; run 'lifeline vault check' and restore from a copy"),

        // recovery (backup, restore, forget, status, audit over the plan)
        Row<UnknownComponentException>("recovery: unknown component", ExitCodes.UnknownComponent, e => e.Message),
        Row<Lifeline.Recovery.Scheduling.UnknownJobException>("scheduler: unknown job", ExitCodes.UnknownJob, e => e.Message),
        Row<Lifeline.Recovery.Notifications.UnknownChannelException>("notifications: unknown channel", ExitCodes.UnknownChannel, e => e.Message),
        Row<Lifeline.Recovery.Incidents.UnknownIncidentException>("incidents: unknown incident", ExitCodes.UnknownIncident, e => e.Message),
        Row<Lifeline.Recovery.Incidents.IncidentStateException>("incidents: already resolved", ExitCodes.IncidentResolved, e => e.Message),
        Row<LocationUnavailableException>("recovery: location unavailable", ExitCodes.LocationUnavailable, e => e.Message),
        Row<NoRecoveryPointException>("recovery: no such recovery point", ExitCodes.SnapshotNotFound, e => e.Message),
        Row<NoSuchCutException>("recovery: no such cut", ExitCodes.SnapshotNotFound, e => e.Message),
        Row<AmbiguousRestorePointException>("recovery: ambiguous point id", ExitCodes.Usage, e => e.Message),
        Row<LiveDataProtectedException>("recovery: live data protected", ExitCodes.Failure, e => e.Message),
        Row<HookFailedException>("recovery: hook failed", ExitCodes.Failure, e => e.Message),
        Row<RestoreFailedException>("recovery: restore failed everywhere", ExitCodes.Failure, e => e.Message),
        Row<Lifeline.Recovery.Hosting.DeploymentAlreadyRunningException>("up: already running on the data directory", ExitCodes.AlreadyRunning, e => e.Message),
        Row<Lifeline.Recovery.Verification.UnknownCheckException>("verify: unknown check", ExitCodes.Usage, e => e.Message),
        Row<RecoveryException>("recovery: refused", ExitCodes.Failure, e => e.Message),

        // object stores (the storage layer's own types, then what the SDKs raise)
        Row<ObjectStoreAuthException>("store: credentials refused or missing", ExitCodes.NotAuthorized, e => e.Message),
        Row<ObjectStoreUnavailableException>("store: unreachable", ExitCodes.ServiceUnreachable, e => e.Message),
        Row<ObjectStoreTimeoutException>("store: stopped answering", ExitCodes.ServiceUnreachable, e => e.Message),
        Row<AmazonServiceException>("S3: credentials refused", ExitCodes.NotAuthorized, e => (int)e.StatusCode is 401 or 403
            ? $"S3 refused the credentials ({e.ErrorCode ?? ((int)e.StatusCode).ToString(System.Globalization.CultureInfo.InvariantCulture)}): check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY and the bucket's permissions"
            : null),
        Row<AmazonServiceException>("S3: error answer", ExitCodes.Failure, e => $"S3 answered {(int)e.StatusCode} {e.ErrorCode}: {FirstLine(e.Message)}"),
        Row<AmazonClientException>("S3: no credentials", ExitCodes.NotAuthorized, e => e.Message.Contains("credentials", StringComparison.OrdinalIgnoreCase)
            ? "no S3 credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE); see docs/storage.md"
            : null),
        Row<AmazonClientException>("S3: unreachable", ExitCodes.ServiceUnreachable, e => $"cannot reach S3: {FirstLine(Innermost(e).Message)}; check the endpoint (?endpoint= or AWS_ENDPOINT_URL) and the network"),
        Row<global::Azure.RequestFailedException>("Azure: unreachable", ExitCodes.ServiceUnreachable, e => e.Status == 0
            ? $"cannot reach Azure Blob storage: {FirstLine(Innermost(e).Message)}; check the endpoint and the network"
            : null),
        Row<global::Azure.RequestFailedException>("Azure: credentials refused", ExitCodes.NotAuthorized, e => e.Status is 401 or 403
            ? $"Azure Blob storage refused the credentials ({e.ErrorCode ?? e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)}): check AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY"
            : null),
        Row<global::Azure.RequestFailedException>("Azure: error answer", ExitCodes.Failure, e => $"Azure Blob storage answered {e.Status} {e.ErrorCode}: {FirstLine(e.Message)}"),

        // lake
        Row<DeltaTableNotFoundException>("lake: not a table", ExitCodes.LakeNotATable, e => e.Message + "; pass the directory that contains _delta_log/"),
        Row<DeltaUnsupportedFeatureException>("lake: unsupported feature", ExitCodes.LakeUnsupportedFeature, e => e.Message),
        Row<DeltaVersionNotFoundException>("lake: no such version", ExitCodes.LakeVersionNotFound, e => e.Message + "; see 'lifeline lake history'"),
        Row<DeltaConcurrentModificationException>("lake: concurrent commit", ExitCodes.LakeConcurrentModification, e => e.Message + "; re-run the command"),
        Row<DeltaProtocolException>("lake: corrupt table", ExitCodes.LakeCorrupt, e => e.Message + "; run 'lifeline lake verify' for a full report"),

        // registry and services
        Row<RegistryCorruptException>("registry: corrupt database", ExitCodes.RegistryCorrupt, e => e.Message),
        Row<Lifeline.Registry.Backup.IncrementalRestoreRefusedException>("registry: not a restore target", ExitCodes.RegistryNotRestoreTarget, e => e.Reason == Lifeline.Registry.Backup.IncrementalRefusal.NotARestoreTarget ? e.Message : null),
        Row<Lifeline.Registry.Backup.IncrementalRestoreRefusedException>("registry: changed since its restore", ExitCodes.RegistryChangedSinceRestore, e => e.Reason == Lifeline.Registry.Backup.IncrementalRefusal.ChangedSinceRestore
            ? e.Message + " (--replace-changed replaces it; what it holds since is lost)" : null),
        Row<Lifeline.Registry.Backup.IncrementalRestoreRefusedException>("registry: not a native point", ExitCodes.RegistryNotNativePoint, e => e.Message),
        Row<MlflowException>("registry: token refused", ExitCodes.NotAuthorized, e => e.HttpStatus is 401 or 403
            ? $"the registry refused the request ({e.ErrorCode}): set ${RegistryTokenVariable} to a token with the needed role"
            : null),
        Row<MlflowException>("registry: error answer", ExitCodes.Failure, e => $"the registry answered {e.ErrorCode}: {FirstLine(e.Message)}"),

        // network and local system
        Row<AuthenticationException>("TLS failure", ExitCodes.ServiceUnreachable, e => $"secure connection failed: {FirstLine(e.Message)}"),
        Row<HttpRequestException>("HTTP: refused", ExitCodes.NotAuthorized, e => (int?)e.StatusCode is 401 or 403 ? $"the service refused the request ({(int)e.StatusCode!}): check the token" : null),
        Row<HttpRequestException>("HTTP: unreachable", ExitCodes.ServiceUnreachable, e => $"cannot connect: {FirstLine(e.Message)}"),
        Row<SocketException>("network: unreachable", ExitCodes.ServiceUnreachable, e => $"cannot connect: {FirstLine(e.Message)}"),
        Row<TimeoutException>("network: timeout", ExitCodes.ServiceUnreachable, e => $"timed out: {FirstLine(e.Message)}"),
        Row<IOException>("server: address in use", ExitCodes.CannotListen, e => AddressInUse(e)),
        Row<UnauthorizedAccessException>("permission denied", ExitCodes.Failure, e => $"permission denied: {e.Message}"),
        Row<IOException>("I/O error", ExitCodes.Failure, e => e.Message),
        Row<OverflowException>("value out of range", ExitCodes.Usage, e => $"a number, time or duration is out of range ({FirstLine(e.Message)}); give a smaller value"),
        Row<ArgumentOutOfRangeException>("time out of range", ExitCodes.Usage, e => e.Message.Contains("un-representable", StringComparison.Ordinal)
            ? "a time or duration reaches past the years 0001-9999; give a smaller value" : null),
        Row<ArgumentException>("empty value", ExitCodes.Usage, e => e.Message.StartsWith("The value cannot be an empty string", StringComparison.Ordinal)
            ? $"an argument{(e.ParamName is null ? "" : $" ({e.ParamName})")} is empty; give a value" : null),
        Row<ArgumentException>("refused argument", ExitCodes.Failure, e => FromLifeline(e) ? WithoutParameter(e) : null),
        Row<InvalidOperationException>("refused operation", ExitCodes.Failure, e => FromLifeline(e) ? e.Message : null),
        Row<InvalidDataException>("invalid data", ExitCodes.Failure, e => e.Message),
    ];

    /// <summary>Maps an exception to its exit code and one-line message; <c>Known</c> is false for an unexpected error.</summary>
    public static (int ExitCode, string Message, bool Known) Describe(Exception exception)
    {
        exception = Unwrap(exception);
        foreach (var row in Rows)
        {
            if (row.ExceptionType.IsInstanceOfType(exception) && row.Message(exception) is { } message)
            {
                var code = row.ExitCode ?? ((CliException)exception).ExitCode;
                return (code, CliConsole.OneLine(message), true);
            }
        }

        return (ExitCodes.Failure, CliConsole.OneLine($"unexpected error: {exception.GetType().Name}: {exception.Message}"), false);
    }

    private static ErrorRow Row<T>(string name, int? exitCode, Func<T, string?> message)
        where T : Exception => new(name, typeof(T), exitCode, e => message((T)e));

    /// <summary>An SDK's AggregateException of retries (Azure) or a reflection wrapper is described by what it wraps.</summary>
    private static Exception Unwrap(Exception e)
    {
        while (true)
        {
            switch (e)
            {
                case AggregateException aggregate when aggregate.Flatten().InnerExceptions is { Count: > 0 } inner:
                    e = inner[^1];
                    continue;
                case TargetInvocationException { InnerException: { } inner }:
                    e = inner;
                    continue;
                default:
                    return e;
            }
        }
    }

    private static bool FromLifeline(Exception e) =>
        e.TargetSite?.DeclaringType?.Assembly is { } assembly && LifelineAssemblies.Contains(assembly);

    private static string WithoutParameter(ArgumentException e) =>
        e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);

    private static Exception Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e;
    }

    private static string FirstLine(string message)
    {
        var text = message.Trim();
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end].Trim();
    }

    /// <summary>Kestrel's bind failure (<c>IOException</c> around <c>AddressInUseException</c>) as one line naming the address.</summary>
    private static string? AddressInUse(IOException e)
    {
        var inUse = false;
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            inUse |= x.GetType().Name == "AddressInUseException" || x is SocketException { SocketErrorCode: SocketError.AddressAlreadyInUse };
        }

        if (!inUse)
        {
            return null;
        }

        var address = BindAddress().Match(e.Message) is { Success: true } m ? m.Groups["url"].Value : "the address given by --urls";
        return $"cannot listen on {address}: address already in use; choose another port with --urls";
    }

    [GeneratedRegex(@"bind to address (?<url>\S+?):? address already in use", RegexOptions.CultureInvariant)]
    private static partial Regex BindAddress();
}
