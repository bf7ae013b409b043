using System.Net.Http.Json;

namespace Lifeline.Recovery.Hosting;

/// <summary>What <see cref="DeploymentProbe"/> found in a data directory.</summary>
/// <param name="DataDirectory">The data directory looked at.</param>
/// <param name="Running">True when an <c>up</c> holds the directory's lock.</param>
/// <param name="State">Its state file, if any (after a SIGKILL a stale one stays behind).</param>
/// <param name="Report">The live answer of its status endpoint, when it answered.</param>
/// <param name="Message">One line for a human: running, not running, or running but not answering.</param>
public sealed record DeploymentProbeResult(string DataDirectory, bool Running, DeploymentState? State, DeploymentStatusReport? Report, string Message);

/// <summary>
/// Looks for a running <c>lifeline up</c> on a data directory, for <c>lifeline status</c>: the lock says whether one
/// runs, the state file where its status endpoint is, and the endpoint the live state of each service.
/// </summary>
public static class DeploymentProbe
{
    /// <summary>Probes <paramref name="dataDirectory"/>; never throws for an absent or stopped deployment.</summary>
    public static async Task<DeploymentProbeResult> ProbeAsync(string dataDirectory, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var layout = DeploymentLayout.For(dataDirectory);
        var state = DeploymentStateFile.TryRead(layout);
        if (!DeploymentLock.IsHeld(layout))
        {
            return new(layout.Root, false, state, null, state is null
                ? $"lifeline up is not running on {layout.Root}"
                : $"lifeline up is not running on {layout.Root}: the last one (pid {state.Pid}) ended without stopping (killed or crashed); the next 'lifeline up' resumes");
        }

        if (state is null)
        {
            return new(layout.Root, true, null, null, $"lifeline up is starting on {layout.Root} (no state file yet)");
        }

        try
        {
            using var http = new HttpClient { Timeout = timeout };
            var report = await http.GetFromJsonAsync<DeploymentStatusReport>(new Uri(new Uri(state.StatusUrl + "/"), "status"), DeploymentStateFile.Json, cancellationToken);
            return new(layout.Root, true, state, report, $"lifeline up is running on {layout.Root} (pid {state.Pid}, status {state.StatusUrl})"
                + (state.Ready ? "" : ": still starting"));
        }
        catch (Exception e) when ((e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException) && !cancellationToken.IsCancellationRequested)
        {
            return new(layout.Root, true, state, null, $"lifeline up holds {layout.Root} (pid {state.Pid}) but its status endpoint {state.StatusUrl} does not answer: {e.Message}");
        }
    }
}
