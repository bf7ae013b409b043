namespace Lifeline.Storage;

/// <summary>
/// The store's endpoint cannot be reached: the connection was refused, timed out (after
/// <see cref="ObjectStoreTimeouts.ConnectTimeout"/>) or the host name does not resolve, or the endpoint accepts
/// connections but has never sent a byte back within <see cref="ObjectStoreTimeouts.InactivityTimeout"/>. Not retried:
/// the endpoint is wrong or down, and waiting would only delay the answer.
/// </summary>
public sealed class ObjectStoreUnavailableException : IOException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="location">The store's <see cref="IObjectStore.Location"/>, or <c>null</c> when not known yet.</param>
    /// <param name="endpoint">The <c>host:port</c> that could not be reached.</param>
    /// <param name="reason">What happened, e.g. "connect timed out after 5 s" or "connection refused".</param>
    /// <param name="inner">The underlying exception.</param>
    public ObjectStoreUnavailableException(string? location, string endpoint, string reason, Exception? inner = null)
        : base($"cannot reach {location ?? endpoint} at {endpoint}: {reason}; check the endpoint", inner)
    {
        Location = location;
        Endpoint = endpoint;
        Reason = reason;
    }

    /// <summary>The store's location, when known.</summary>
    public string? Location { get; }

    /// <summary>The <c>host:port</c> that could not be reached.</summary>
    public string Endpoint { get; }

    /// <summary>What happened, without the location.</summary>
    public string Reason { get; }
}

/// <summary>
/// A request to the store made no progress (no byte sent or received) for
/// <see cref="ObjectStoreTimeouts.InactivityTimeout"/>. Transient: the retry decorator retries it.
/// </summary>
public sealed class ObjectStoreTimeoutException : TimeoutException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="location">The store's <see cref="IObjectStore.Location"/>, or <c>null</c> when not known yet.</param>
    /// <param name="endpoint">The <c>host:port</c> that went silent.</param>
    /// <param name="inactivity">How long nothing moved.</param>
    /// <param name="inner">The underlying exception.</param>
    public ObjectStoreTimeoutException(string? location, string endpoint, TimeSpan inactivity, Exception? inner = null)
        : base($"no answer from {location ?? endpoint} at {endpoint} for {Seconds(inactivity)} (inactivity timeout); check the endpoint and the network", inner)
    {
        Location = location;
        Endpoint = endpoint;
        Inactivity = inactivity;
    }

    /// <summary>The store's location, when known.</summary>
    public string? Location { get; }

    /// <summary>The <c>host:port</c> that went silent.</summary>
    public string Endpoint { get; }

    /// <summary>How long nothing moved.</summary>
    public TimeSpan Inactivity { get; }

    internal static string Seconds(TimeSpan t) => $"{t.TotalSeconds.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture)} s";
}

/// <summary>
/// The store refused the credentials, or there are none: missing or invalid keys, an expired token, access denied.
/// Permanent (never retried); the message says which credentials to set.
/// </summary>
public sealed class ObjectStoreAuthException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="location">The store's <see cref="IObjectStore.Location"/>.</param>
    /// <param name="problem">What is wrong and what to do, e.g. "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY".</param>
    /// <param name="inner">The underlying exception.</param>
    public ObjectStoreAuthException(string location, string problem, Exception? inner = null)
        : base($"{location}: {problem}", inner)
    {
        Location = location;
        Problem = problem;
    }

    /// <summary>The store's location.</summary>
    public string Location { get; }

    /// <summary>What is wrong and what to do, without the location.</summary>
    public string Problem { get; }
}
