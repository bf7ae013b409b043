using Lifeline.Storage;
using Lifeline.Vault;

namespace Lifeline.Cli.Infrastructure;

/// <summary>Exit codes for the vault's exceptions (docs/cli.md); the vault's one-line message is printed as is.</summary>
internal static class VaultErrors
{
    public static (int ExitCode, string Message)? TryDescribe(Exception exception) => exception switch
    {
        RepositoryNotFoundException e => (ExitCodes.RepositoryNotFound, e.Message),
        WrongPasswordException e => (ExitCodes.WrongPassword, e.Message),
        RepositoryLockedException e => (ExitCodes.Locked, e.Message),
        SnapshotNotFoundException e => (ExitCodes.SnapshotNotFound, e.Message),
        VaultCorruptException e => (ExitCodes.CheckFailed, e.Message),
        UnsafePathException e => (ExitCodes.CheckFailed, e.Message),
        RestoreTargetNotEmptyException e => (ExitCodes.Failure, e.Message),
        VaultException e => (ExitCodes.Failure, e.Message),
        ObjectNotFoundException e => (ExitCodes.CheckFailed, $"vault data is missing: {e.Message}; run 'lifeline vault check' and restore from a copy"),
        _ => null,
    };
}
