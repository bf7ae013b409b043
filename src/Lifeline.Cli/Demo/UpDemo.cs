using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Reflection;
using System.Runtime.InteropServices;
using Lifeline.Cli.Infrastructure;
using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;
using Lifeline.Scoring;
using Lifeline.Scoring.Apis;
using Lifeline.Scoring.Training;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Cli.Demo;

/// <summary>What the up part of the demo proved.</summary>
internal sealed record UpDemoResult(int Acknowledged, int Recorded, bool NothingLost, int ExitCode, bool ProtectionRunning = false, string? Protection = null);

/// <summary>
/// The <c>lifeline up</c> part of <c>lifeline demo</c>: start the deployment as a real child process <c>lifeline up</c>
/// (on a copy of the restored registry, so no training), score a batch of leads through it, show its live status,
/// kill it with SIGKILL, start it again (the lock is free, the spool replays), stop it with SIGTERM and show that every
/// acknowledged prediction is in the lake's predictions table. The child runs its own plan (<see cref="PlanFileName"/>:
/// the recommended plan over three local vaults, reachable on any machine) and gets the demo's vault password through
/// its environment, so its protection on change runs (not degraded) and the status step shows it.
/// </summary>
internal static class UpDemo
{
    public const int Leads = 50;
    /// <summary>The plan the up child runs, in the demo directory.</summary>
    public const string PlanFileName = "up-plan.yaml";

    private static readonly TimeSpan ReadyDeadline = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan ProtectionDeadline = TimeSpan.FromSeconds(60);

    public static async Task<UpDemoResult> RunAsync(string directory, string restoredRegistry, string password, DemoSteps steps, CancellationToken ct)
    {
        var data = Path.Combine(directory, "up-data");
        var layout = DeploymentLayout.For(data);
        CopyDirectory(restoredRegistry, layout.Registry);
        // its own vaults, so the earlier parts' vaults stay as they were (the demo's checks read them)
        var planFile = Path.Combine(directory, PlanFileName);
        await PlanFile.WriteAsync(planFile, PlanTemplates.Recommended(new PlanTemplateOptions
        {
            PrimaryUrl = "./up-vaults/primary",
            SecondaryUrl = "./up-vaults/secondary",
            TertiaryUrl = "./up-vaults/tertiary",
        }), overwrite: true, ct);
        List<Process> children = [];
        try
        {
            return await RunStepsAsync(directory, planFile, password, data, layout, children, steps, ct);
        }
        finally
        {
            foreach (var child in children)
            {
                // a step that failed must not leave a deployment running behind the demo
                if (!child.HasExited)
                {
                    child.Kill(entireProcessTree: true);
                    await child.WaitForExitAsync(CancellationToken.None);
                }

                child.Dispose();
            }
        }
    }

    private static async Task<UpDemoResult> RunStepsAsync(string directory, string planFile, string password, string data, DeploymentLayout layout, List<Process> children, DemoSteps steps, CancellationToken ct)
    {
        var first = await steps.RunAsync("up: start the deployment", async () =>
        {
            var child = Start(directory, planFile, password, data);
            children.Add(child);
            var state = await WaitReadyAsync(child, layout, ct);
            return (child, $"child 'lifeline up' pid {state.Pid}: {Listening(state)}");
        });
        var scoringUrl = DeploymentStateFile.TryRead(layout)!.Services.Single(s => s.Name == "scoring").Endpoint!;
        var acknowledged = await steps.RunAsync("up: score leads", async () =>
        {
            var ids = await ScoreAsync(scoringUrl, ct);
            return (ids, $"{ids.Count} leads scored over HTTP, each answer acknowledged after its prediction is in the spool");
        });
        var protection = await steps.RunAsync("up: status", async () =>
        {
            // the protection runs once its first round is in the secondary: waited on with a deadline
            var probe = await DeploymentProbe.ProbeAsync(data, TimeSpan.FromSeconds(10), ct);
            var deadline = DateTime.UtcNow + ProtectionDeadline;
            while (ProtectionOf(probe) is not { Status: "running" } && DateTime.UtcNow < deadline)
            {
                await Task.Delay(250, ct);
                probe = await DeploymentProbe.ProbeAsync(data, TimeSpan.FromSeconds(10), ct);
            }

            var services = probe.Report?.Services ?? [];
            var shown = ProtectionOf(probe);
            return (shown, $"{services.Count(s => s.Status == "running")} of {services.Count} services running: "
                + string.Join(", ", services.Select(s => $"{s.Name} {s.Status}" + (s.Name is "scoring" or "protection" ? $" ({s.Detail})" : ""))));
        });
        await steps.RunAsync("up: kill -9", async () =>
        {
            first.Kill(entireProcessTree: true);
            await first.WaitForExitAsync(ct);
            var probe = await DeploymentProbe.ProbeAsync(data, TimeSpan.FromSeconds(10), ct);
            return (probe, $"SIGKILL, no clean-up ran; {probe.Message}");
        });
        var second = await steps.RunAsync("up: restart", async () =>
        {
            var child = Start(directory, planFile, password, data);
            children.Add(child);
            var state = await WaitReadyAsync(child, layout, ct);
            return (child, $"pid {state.Pid}: the lock was free, the spool replays into the lake; {Listening(state)}");
        });
        return await steps.RunAsync("up: stop, nothing lost", async () =>
        {
            Terminate(second.Id);
            await second.WaitForExitAsync(ct);
            var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(layout.Lake), "", cancellationToken: ct);
            var recorded = (await lake.ReadPredictionsAsync(cancellationToken: ct)).Select(p => p.Lead.LeadId).ToHashSet(StringComparer.Ordinal);
            var found = acknowledged.Count(recorded.Contains);
            var ok = second.ExitCode == 0 && found == acknowledged.Count;
            var protecting = protection is { Status: "running" };
            return (new UpDemoResult(acknowledged.Count, found, ok, ok && protecting ? ExitCodes.Ok : ExitCodes.CheckFailed, protecting,
                    protection is null ? "not reported" : $"{protection.Status}: {protection.Detail}"),
                $"SIGTERM, exit {second.ExitCode}; {found} of {acknowledged.Count} acknowledged predictions in the lake's predictions table");
        });
    }

    private static DeploymentServiceReport? ProtectionOf(DeploymentProbeResult probe) =>
        probe.Report?.Services.FirstOrDefault(s => s.Name == "protection");

    private static string Listening(DeploymentState state) =>
        string.Join(", ", state.Services.Where(s => s.Endpoint is not null).Select(s => $"{s.Name} {s.Endpoint}")) + $", status {state.StatusUrl}";

    /// <summary>Starts this very executable as <c>lifeline up</c> (through the dotnet host when that is how we run).</summary>
    private static Process Start(string directory, string planFile, string password, string data)
    {
        var info = new ProcessStartInfo
        {
            FileName = Environment.ProcessPath!,
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        info.Environment["LIFELINE_PASSWORD"] = password; // the environment, never the command line: the protection opens the vaults with it
        if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
        {
            info.ArgumentList.Add(Assembly.GetEntryAssembly()!.Location);
        }

        foreach (var arg in new[] { "up", "--plan", planFile, "--data", data, "--registry-port", "0", "--scoring-port", "0", "--status-port", "0", "--no-train" })
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info) ?? throw new CliException(ExitCodes.Failure, "could not start 'lifeline up'");
        process.StandardInput.Close();
        // drain the child's output so it never blocks on a full pipe
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task<DeploymentState> WaitReadyAsync(Process child, DeploymentLayout layout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(ReadyDeadline);
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        while (await timer.WaitForNextTickAsync(deadline.Token))
        {
            if (DeploymentStateFile.TryRead(layout) is { Ready: true } state && state.Pid == child.Id)
            {
                return state;
            }

            if (child.HasExited)
            {
                throw new CliException(ExitCodes.Failure, $"'lifeline up' exited with code {child.ExitCode} before it was ready");
            }
        }

        throw new CliException(ExitCodes.Failure, "'lifeline up' was not ready in time");
    }

    private static async Task<List<string>> ScoreAsync(string scoringUrl, CancellationToken ct)
    {
        using var http = new HttpClient { BaseAddress = new Uri(scoringUrl), Timeout = TimeSpan.FromSeconds(30) };
        var request = new ScoreLeadsRequest
        {
            Leads = [.. SyntheticLeads.Generate(Leads, 2027).Select((l, i) => new ScoreLeadRequest
            {
                LeadId = string.Create(CultureInfo.InvariantCulture, $"up-demo-{i}"),
                CompanySize = l.CompanySize,
                Industry = l.Industry,
                PageViews = l.PageViews,
                TimeOnSite = l.TimeOnSite,
                FormCompletionTime = l.FormCompletionTime,
                ReferralSource = l.ReferralSource,
            })],
        };
        using var response = await http.PostAsJsonAsync("/score-leads", request, ScoringJsonContext.Default.ScoreLeadsRequest, ct);
        if (!response.IsSuccessStatusCode)
        {
            throw new CliException(ExitCodes.Failure, $"the deployment's scoring service answered {(int)response.StatusCode}");
        }

        var scored = (await response.Content.ReadFromJsonAsync(ScoringJsonContext.Default.ScoreLeadsResponse, ct))!;
        return [.. scored.Predictions.Select(p => p.LeadId)];
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }

    private static void Terminate(int pid)
    {
        if (Kill(pid, 15) != 0)
        {
            throw new CliException(ExitCodes.Failure, $"could not send SIGTERM to 'lifeline up' (pid {pid})");
        }
    }

    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
