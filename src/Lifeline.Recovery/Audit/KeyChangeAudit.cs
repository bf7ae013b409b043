using Lifeline.Storage;

namespace Lifeline.Recovery.Audit;

/// <summary>The audit record of a vault key change (<c>lifeline vault key add|remove</c>), appended to the audit log
/// of the vault's own store (<c>lifeline/audit/</c> beside the vault's objects), as every backup, restore and forget
/// appends one to its locations'. Arguments and message are redacted by the log.</summary>
public static class KeyChangeAudit
{
    /// <summary>Appends the record of a key change on the vault in <paramref name="store"/>; returns it as stored.</summary>
    /// <param name="store">The vault's object store.</param>
    /// <param name="outcome">One of <see cref="AuditOutcomes"/>.</param>
    /// <param name="message">What changed (<c>added key 1a2b3c4d</c>) or why it failed; never the password.</param>
    /// <param name="duration">How long it took.</param>
    /// <param name="arguments">The command line (redacted before it is stored).</param>
    /// <param name="time">The clock; default the system clock.</param>
    /// <param name="cancellationToken">Cancels the append.</param>
    public static Task<AuditRecord> AppendAsync(IObjectStore store, string outcome, string message, TimeSpan duration, IReadOnlyList<string> arguments, TimeProvider? time = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var clock = time ?? TimeProvider.System;
        return new ObjectStoreAuditLog([store], clock).AppendAsync(new AuditRecord
        {
            Time = clock.GetUtcNow() - duration,
            Action = AuditActions.KeyChange,
            Who = Environment.UserName,
            Host = Environment.MachineName,
            Arguments = arguments,
            Outcome = outcome,
            Message = message,
            Duration = duration,
        }, cancellationToken);
    }
}
