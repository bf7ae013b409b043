using System.CommandLine;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;
using Lifeline.Registry;
using Microsoft.Extensions.Logging;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline up</c>: runs the plan's whole deployment in one data directory (<see cref="DeploymentHost"/>): the
/// registry, the lake tables, the scoring service and the services that keep the plan, until Ctrl-C or SIGTERM; then
/// stops them in reverse order, gracefully, and exits 0. A second <c>up</c> on the same directory is refused (exit
/// <see cref="ExitCodes.AlreadyRunning"/>). docs/up.md.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var plan = new Option<string?>("--plan", "--file", "-f") { Description = $"The plan file (default ./{PlanFile.DefaultFileName}; Lifeline's recommended plan when there is none)" };
        var data = new Option<string?>("--data") { Description = "The data directory (registry/, lake/, scoring/, lifeline.lock, lifeline.state.json); default lifeline-data beside the plan file" };
        var registryPort = new Option<int>("--registry-port") { Description = "Port of the registry's MLflow REST API on 127.0.0.1 (0 = any free port)", DefaultValueFactory = _ => 5100 };
        var scoringPort = new Option<int>("--scoring-port") { Description = "Port of the scoring service on 127.0.0.1 (0 = any free port)", DefaultValueFactory = _ => 5200 };
        var statusPort = new Option<int>("--status-port") { Description = "Port of the status endpoint (GET /status, GET /metrics) on 127.0.0.1 (0 = any free port)", DefaultValueFactory = _ => 5300 };
        var noTrain = new Option<bool>("--no-train") { Description = "When the registry has no Production model, start the scoring service without one (readiness false) instead of training one" };
        var verbose = new Option<bool>("--verbose") { Description = "Log at Information level (stderr)" };
        var services = new Option<string>("--services") { Description = "all: every service; core: only the registry, the lake and the scoring service (to measure what protection costs)", DefaultValueFactory = _ => "all" };
        services.AcceptOnlyFromAmong("all", "core");
        var command = new Command("up", $"Run the plan's deployment (registry, lake, scoring service, ...) in one data directory until Ctrl-C or SIGTERM (exit {ExitCodes.AlreadyRunning} when another up runs on it)")
        {
            plan, data, registryPort, scoringPort, statusPort, noTrain, services, verbose,
        };
        command.Run(async (context, ct) =>
        {
            var (lifelinePlan, planPath) = await LoadPlanAsync(context.Get(plan), ct);
            var ports = new[] { ("--registry-port", context.Get(registryPort)), ("--scoring-port", context.Get(scoringPort)), ("--status-port", context.Get(statusPort)) };
            foreach (var (name, port) in ports)
            {
                if (port is < 0 or > 65535)
                {
                    throw new UsageException($"{name} {port} is out of range: give 0 (any free port) to 65535");
                }
            }

            var dataDirectory = Path.GetFullPath(context.Get(data) is { Length: > 0 } d ? d : DeploymentLayout.DefaultDataDirectory(planPath ?? PlanFile.DefaultFileName));
            if (File.Exists(dataDirectory))
            {
                throw new UsageException($"--data '{dataDirectory}' is a file: give a directory");
            }

            // --data names where everything lives: the adapters the scheduler and the protection back up read the same place
            lifelinePlan = lifelinePlan with { Sources = lifelinePlan.Sources with { Data = dataDirectory } };
            await using var runtime = planPath is null ? null : new PlanRuntime(context, planPath, lifelinePlan);
            var options = new DeploymentOptions
            {
                DataDirectory = dataDirectory,
                RegistryPort = context.Get(registryPort),
                ScoringPort = context.Get(scoringPort),
                StatusPort = context.Get(statusPort),
                TrainWhenNoModel = !context.Get(noTrain),
                RegistryTokens = [.. RegistryTokensFromEnvironment()],
                ScoringAdminToken = Environment.GetEnvironmentVariable(ScoringCommands.AdminTokenVariable),
                // the scheduler's backups and the protection on change: the plan's locations, opened once (docs/up.md)
                Recovery = runtime is null ? null : runtime.GetAsync,
                RecoveryFor = runtime is null ? null : runtime.GetForAsync, // a reloaded plan's locations and adapters
            };
            using var logging = LoggerFactory.Create(b =>
            {
                b.AddSimpleConsole(o => o.SingleLine = true);
                b.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
                b.SetMinimumLevel(context.Get(verbose) ? LogLevel.Information : LogLevel.Warning);
            });
            await using var host = new DeploymentHost(lifelinePlan, planPath, options, context.Get(services) == "core" ? DeploymentServices.Core : DeploymentServices.All, logging, context.Time);
            await host.StartAsync(ct);
            // SIGHUP reloads the plan file now (it is also watched): docs/up.md, "Plan reload"
            using var hangup = OperatingSystem.IsWindows() ? null : PosixSignalRegistration.Create(PosixSignal.SIGHUP, signal =>
            {
                signal.Cancel = true;
                host.Services.OfType<PlanReloadService>().FirstOrDefault()?.RequestReload(force: true);
            });
            var report = host.Report();
            context.Console.Document(new
            {
                pid = report.Pid,
                dataDirectory = report.DataDirectory,
                plan = report.Plan,
                statusUrl = host.StatusUrl!.ToString().TrimEnd('/'),
                metricsUrl = new Uri(host.StatusUrl!, "metrics").ToString(),
                services = report.Services,
            });
            context.Console.Line($"lifeline up: {(planPath is null ? $"Lifeline's recommended plan (no {PlanFile.DefaultFileName} here)" : planPath)}, data in {dataDirectory}");
            context.Console.Table(["service", "state", "listening on", "detail"],
                report.Services.Select(s => (IReadOnlyList<string>)[s.Name, s.Status, s.Endpoint ?? "-", s.Detail ?? ""]));
            var status = host.StatusUrl!.ToString().TrimEnd('/');
            context.Console.Line($"status: {status}/status, metrics: {status}/metrics; pid {report.Pid}; Ctrl-C or SIGTERM stops it gracefully");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C or SIGTERM: the normal way to stop
            }

            await host.StopAsync(CancellationToken.None);
            context.Console.Line("lifeline up: stopped; every service drained and closed");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The plan of <paramref name="given"/> (exit 50 when it cannot be read), or of ./lifeline.yaml, or the recommended plan (path null) when that is absent.</summary>
    private static async Task<(LifelinePlan Plan, string? Path)> LoadPlanAsync(string? given, CancellationToken ct)
    {
        var path = given ?? PlanFile.DefaultFileName;
        if (given is null && !File.Exists(path))
        {
            var recommended = PlanFile.Parse(PlanTemplates.Recommended(), "(recommended plan)");
            return (recommended.Plan!, null);
        }

        var result = await PlanFile.LoadAsync(path, ct);
        if (!result.Succeeded)
        {
            var first = result.Errors.Count > 0 ? result.Errors[0].ToString() : "the plan cannot be read";
            throw new CliException(ExitCodes.PlanHasErrors, $"{path}: the plan cannot be read: {first}");
        }

        return (result.Plan!, Path.GetFullPath(path));
    }

    /// <summary>The plan's locations and recovery service, opened once for the scheduler and the protection (the
    /// password from LIFELINE_PASSWORD or --password-file); a failure is a <see cref="RecoveryException"/> they report.</summary>
    private sealed class PlanRuntime(CommandContext context, string planPath, LifelinePlan initial) : IAsyncDisposable
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<LifelinePlan, Task<RecoverySession>> _sessions = new(ReferenceEqualityComparer.Instance);

        /// <summary>The runtime of the plan up started with.</summary>
        public Task<RecoveryRuntime> GetAsync(CancellationToken cancellationToken) => GetForAsync(initial, cancellationToken);

        /// <summary>The runtime over <paramref name="plan"/> (a reloaded one: its locations and adapters), opened once per plan.</summary>
        public async Task<RecoveryRuntime> GetForAsync(LifelinePlan plan, CancellationToken cancellationToken)
        {
            Task<RecoverySession> task;
            lock (_gate)
            {
                if (!_sessions.TryGetValue(plan, out task!) || task.IsFaulted || task.IsCanceled)
                {
                    task = OpenAsync(plan);
                    _sessions[plan] = task;
                }
            }

            var session = await task.WaitAsync(cancellationToken);
            return new RecoveryRuntime(session.Locations, session.Service);
        }

        private async Task<RecoverySession> OpenAsync(LifelinePlan plan)
        {
            try
            {
                return await RecoverySession.OpenAsync(context, planPath, initializeMissing: true, restoreRoot: null, CancellationToken.None, plan: plan);
            }
            catch (CliException e)
            {
                throw new RecoveryException(e.Message);
            }
        }

        public async ValueTask DisposeAsync()
        {
            List<Task<RecoverySession>> sessions;
            lock (_gate)
            {
                sessions = [.. _sessions.Values];
            }

            foreach (var task in sessions.Where(t => t.IsCompletedSuccessfully))
            {
                await task.Result.DisposeAsync();
            }
        }
    }

    private static IEnumerable<RegistryToken> RegistryTokensFromEnvironment()
    {
        foreach (var (variable, role) in new[] { ("LIFELINE_REGISTRY_ADMIN_TOKEN", RegistryRole.Admin), ("LIFELINE_REGISTRY_WRITE_TOKEN", RegistryRole.Write), ("LIFELINE_REGISTRY_READ_TOKEN", RegistryRole.Read) })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } token)
            {
                yield return new RegistryToken { Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token))), Role = role };
            }
        }
    }
}

/// <summary>The live part of <c>lifeline status</c>: the services of an <c>up</c> running on the data directory.</summary>
internal static class UpStatus
{
    /// <summary>The <c>--data</c> option of <c>status</c> (default: lifeline-data beside the plan file, as <c>up</c>).</summary>
    public static Option<string?> DataOption() => new("--data") { Description = "The data directory of 'lifeline up', for the live state of its services (default lifeline-data beside the plan file)" };

    /// <summary>Probes the data directory of <paramref name="planPath"/> (or <paramref name="data"/>).</summary>
    public static Task<DeploymentProbeResult> ProbeAsync(string? data, string planPath, CancellationToken ct) =>
        DeploymentProbe.ProbeAsync(data is { Length: > 0 } d ? d : DeploymentLayout.DefaultDataDirectory(planPath), TimeSpan.FromSeconds(3), ct);

    /// <summary>The probe as the JSON document's <c>deployment</c> member.</summary>
    public static object Json(DeploymentProbeResult probe) => new
    {
        dataDirectory = probe.DataDirectory,
        running = probe.Running,
        pid = probe.State?.Pid,
        statusUrl = probe.State?.StatusUrl,
        message = probe.Message,
        services = probe.Report?.Services,
    };

    /// <summary>Prints the probe: one line, then one row per service when it answered.</summary>
    public static void Print(CommandContext context, DeploymentProbeResult probe)
    {
        context.Console.Line(probe.Message);
        if (probe.Report is { } report)
        {
            context.Console.Table(["service", "state", "listening on", "detail"],
                report.Services.Select(s => (IReadOnlyList<string>)[s.Name, s.Status, s.Endpoint ?? "-", s.Detail ?? ""]),
                cellColor: (row, column) => column == 1 ? ColorOf(report.Services[row].Status) : null);
        }
    }

    private static Spectre.Console.Color? ColorOf(string status) => status switch
    {
        "running" => Spectre.Console.Color.Green,
        "degraded" or "starting" or "pending" => Spectre.Console.Color.Yellow,
        _ => Spectre.Console.Color.Red,
    };
}
