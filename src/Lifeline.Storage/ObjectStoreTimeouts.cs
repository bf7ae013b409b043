namespace Lifeline.Storage;

/// <summary>
/// The network timeouts of the cloud stores (S3, Azure Blob). There is deliberately no overall request timeout: a
/// large pack may take as long as it needs while bytes keep moving.
/// </summary>
public sealed record ObjectStoreTimeouts
{
    /// <summary>The defaults: connect 5 s, inactivity 60 s.</summary>
    public static ObjectStoreTimeouts Default { get; } = new();

    /// <summary>
    /// How long establishing one TCP connection may take. Default 5 s. A connection that is refused, times out or
    /// whose host does not resolve throws <see cref="ObjectStoreUnavailableException"/>, and further connections to the
    /// same endpoint fail at once for <see cref="UnreachableMemory"/>, so the SDKs' own retries do not multiply the wait.
    /// </summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long one read or write on a connection may wait without moving a byte (waiting for the answer after a
    /// request counts). Default 60 s. Exceeding it throws <see cref="ObjectStoreTimeoutException"/> (transient), or
    /// <see cref="ObjectStoreUnavailableException"/> when the endpoint has never sent a byte on any connection (it
    /// accepts connections but does not serve).
    /// <see cref="Timeout.InfiniteTimeSpan"/> disables it.
    /// </summary>
    public TimeSpan InactivityTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long a failed connect to an endpoint is remembered (new connects fail at once). Default 15 s.</summary>
    public TimeSpan UnreachableMemory { get; init; } = TimeSpan.FromSeconds(15);

    internal void Validate()
    {
        if (ConnectTimeout <= TimeSpan.Zero || (InactivityTimeout <= TimeSpan.Zero && InactivityTimeout != Timeout.InfiniteTimeSpan) || UnreachableMemory < TimeSpan.Zero)
        {
            throw new ArgumentException($"invalid store timeouts {this}: ConnectTimeout and InactivityTimeout must be positive (InactivityTimeout may be infinite), UnreachableMemory not negative");
        }
    }
}
