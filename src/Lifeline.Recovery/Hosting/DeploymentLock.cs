using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lifeline.Recovery.Hosting;

/// <summary>Another <c>lifeline up</c> already runs on the data directory (it holds <c>lifeline.lock</c>).</summary>
public sealed class DeploymentAlreadyRunningException(string dataDirectory, int? pid, string? statusUrl)
    : RecoveryException($"another 'lifeline up' already runs on {dataDirectory}" + (pid is null ? "" : $" (pid {pid}" + (statusUrl is null ? ")" : $", status {statusUrl})"))
        + ": stop it (Ctrl-C or kill -TERM) or give another --data directory")
{
    /// <summary>The data directory.</summary>
    public string DataDirectory { get; } = dataDirectory;

    /// <summary>The pid of the running process, as its state file says, if readable.</summary>
    public int? Pid { get; } = pid;
}

/// <summary>
/// One <c>up</c> per data directory: <c>lifeline.lock</c> opened with <see cref="FileShare.None"/> and held for the life
/// of the process. On Linux .NET takes an exclusive <c>flock</c>, which the kernel releases when the process dies, also
/// after SIGKILL: the next <c>up</c> starts normally, no stale lock to remove.
/// </summary>
internal sealed class DeploymentLock : IDisposable
{
    private readonly FileStream _stream;

    private DeploymentLock(FileStream stream) => _stream = stream;

    /// <summary>Takes the lock or throws <see cref="DeploymentAlreadyRunningException"/>.</summary>
    public static DeploymentLock Acquire(DeploymentLayout layout)
    {
        try
        {
            var stream = new FileStream(layout.LockFile, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            return new DeploymentLock(stream);
        }
        catch (IOException)
        {
            var state = DeploymentStateFile.TryRead(layout);
            throw new DeploymentAlreadyRunningException(layout.Root, state?.Pid, state?.StatusUrl);
        }
    }

    /// <summary>True when some process holds the lock of <paramref name="layout"/> now (probed by opening it exclusively).</summary>
    public static bool IsHeld(DeploymentLayout layout)
    {
        if (!File.Exists(layout.LockFile))
        {
            return false;
        }

        try
        {
            using var probe = new FileStream(layout.LockFile, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
        catch (UnauthorizedAccessException)
        {
            return true;
        }
    }

    public void Dispose() => _stream.Dispose();
}

/// <summary>One service as the state file lists it.</summary>
/// <param name="Name">The service's name.</param>
/// <param name="Endpoint">Where it listens, if it listens.</param>
public sealed record DeploymentStateService(string Name, string? Endpoint);

/// <summary>
/// <c>&lt;data&gt;/lifeline.state.json</c>: what a running <c>up</c> tells <c>lifeline status</c> and scripts (no secret).
/// Written atomically (temporary file, then rename) when the deployment is up, removed on a graceful stop; after a
/// SIGKILL it stays behind, and its readers see that the lock is free (nothing runs).
/// </summary>
public sealed record DeploymentState
{
    /// <summary>The up process.</summary>
    public required int Pid { get; init; }

    /// <summary>When it started.</summary>
    public required DateTimeOffset StartedAt { get; init; }

    /// <summary>The data directory.</summary>
    public required string DataDirectory { get; init; }

    /// <summary>The plan file it runs.</summary>
    public string? Plan { get; init; }

    /// <summary>The status endpoint (<c>GET /status</c>, <c>GET /metrics</c>).</summary>
    public required string StatusUrl { get; init; }

    /// <summary>True once every service has started.</summary>
    public bool Ready { get; init; }

    /// <summary>The services in start order.</summary>
    public IReadOnlyList<DeploymentStateService> Services { get; init; } = [];
}

/// <summary>Reads and writes <see cref="DeploymentState"/>.</summary>
public static class DeploymentStateFile
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>The state file of <paramref name="layout"/>, or null when there is none or it cannot be read.</summary>
    public static DeploymentState? TryRead(DeploymentLayout layout)
    {
        try
        {
            return File.Exists(layout.StateFile) ? JsonSerializer.Deserialize<DeploymentState>(File.ReadAllText(layout.StateFile), Json) : null;
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    internal static void Write(DeploymentLayout layout, DeploymentState state)
    {
        var temporary = layout.StateFile + ".tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(state, Json));
        File.Move(temporary, layout.StateFile, overwrite: true);
    }

    internal static void Delete(DeploymentLayout layout)
    {
        try
        {
            File.Delete(layout.StateFile);
        }
        catch (IOException)
        {
            // a stale file is harmless: readers check the lock
        }
    }
}
