namespace Lifeline.Recovery;

/// <summary>A recovery failure a user can cause or fix; the message is one line saying what is wrong and what to do.</summary>
public class RecoveryException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RecoveryException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}

/// <summary>The plan names no such component, or no adapter protects it.</summary>
public sealed class UnknownComponentException(string component, string fix)
    : RecoveryException($"unknown component '{component}': {fix}")
{
    /// <summary>The name given.</summary>
    public string Component { get; } = component;
}

/// <summary>A location could not be opened or used (unreachable, no vault, wrong password).</summary>
public sealed class LocationUnavailableException(string location, string reason, Exception? inner = null)
    : RecoveryException($"location '{location}' is unavailable: {reason}", inner)
{
    /// <summary>The location's name in the plan.</summary>
    public string Location { get; } = location;
}

/// <summary>No recovery point of the component fits the request in any location.</summary>
public sealed class NoRecoveryPointException(string component, string spec, string detail)
    : RecoveryException($"no recovery point of '{component}' matches '{spec}' in any location ({detail}): run 'lifeline status' to see what exists")
{
    /// <summary>The component.</summary>
    public string Component { get; } = component;
}

/// <summary>An id prefix matches several recovery points.</summary>
public sealed class AmbiguousRestorePointException(string prefix, int count)
    : RecoveryException($"snapshot id '{prefix}' matches {count} recovery points: give more characters of the id");

/// <summary>A pre- or post-backup hook failed or timed out; the backup fails with it.</summary>
public sealed class HookFailedException(string message) : RecoveryException(message);

/// <summary>A restore would write over live data without being asked to.</summary>
public sealed class LiveDataProtectedException(string target)
    : RecoveryException($"refusing to restore over live data in '{target}': restore beside it with --as NAME, or pass --overwrite to replace it");

/// <summary>Every location that has the chosen point failed to restore it.</summary>
public sealed class RestoreFailedException(string message, Exception? inner = null) : RecoveryException(message, inner);
