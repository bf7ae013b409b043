using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Protection;
using Lifeline.Recovery.Scheduling;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Hosting;

/// <summary>The plan's locations and the recovery service over them, shared by the scheduler and the protection.</summary>
/// <param name="Locations">The plan's locations, opened.</param>
/// <param name="Service">The recovery service over them and the plan's adapters.</param>
public sealed record RecoveryRuntime(LocationSet Locations, RecoveryService Service);

/// <summary>The two services of <c>up</c> that keep the plan: the scheduler and the protection on change.</summary>
internal static class PlanKeepers
{
    /// <summary>The plan's scheduler on the data directory's job store (<c>DATA/scheduler/jobs.db</c>, the file the jobs adapter backs up).</summary>
    public static IDeploymentService Scheduler(DeploymentContext c)
    {
        Directory.CreateDirectory(Path.Combine(c.Layout.Root, Path.GetDirectoryName(ComponentSources.JobStoreFile)!));
        return new PlanScheduler(c.Plan, new PlanSchedulerOptions
        {
            Store = SchedulerStoreOptions.Sqlite(Path.Combine(c.Layout.Root, ComponentSources.JobStoreFile)),
            Time = c.Time,
            Logger = c.LoggerFactory.CreateLogger("Lifeline.Scheduler"),
            // after a reload the runner asks with the reloaded plan: the runtime over that plan when up can open one
            Recovery = c.Options.Recovery is { } recovery
                ? async (plan, ct) => (c.Options.RecoveryFor is { } recoveryFor && !ReferenceEquals(plan, c.Plan) ? await recoveryFor(plan, ct) : await recovery(ct)).Service
                : null,
            WorkingDirectory = c.PlanPath is { } plan ? Path.GetDirectoryName(plan) : c.Layout.Root,
            // a failed check opens an incident through the incidents service started before the scheduler
            Signals = c.Started.OfType<Incidents.IIncidentSignals>().FirstOrDefault(),
            ScratchDirectory = Path.Combine(c.Layout.Root, "verification", "scratch"),
        });
    }
}

/// <summary>
/// The protection on change (<see cref="ChangeProtector"/>) as a service of <c>up</c>: built when it starts, from the
/// plan's locations and recovery service; without them (no plan file, no password) or without an on-change policy it
/// does not run, and its state says why.
/// </summary>
internal sealed class ProtectionDeploymentService(DeploymentContext context) : IDeploymentService, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ChangeProtector? _protector;
    private LifelinePlan _plan = context.Plan;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);

    public string Name => "protection";

    public DeploymentServiceState State => _protector?.State ?? _state;

    /// <summary>The plan the protection follows now.</summary>
    public LifelinePlan Plan => _plan;

    public Task StartAsync(CancellationToken cancellationToken) => StartForAsync(context.Plan, context.Options.Recovery, cancellationToken);

    /// <summary>Follows a reloaded plan: when what it protects on change differs (components, policies on/off, their
    /// locations), the protector of the old plan stops (its last round completes) and one of the new plan starts;
    /// otherwise nothing changes. Returns what it did, one line.</summary>
    public async Task<string> ReloadAsync(LifelinePlan plan, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Fingerprint(plan) == Fingerprint(_plan))
            {
                _plan = plan;
                return "protection unchanged";
            }

            if (_protector is { } old)
            {
                await old.StopAsync(cancellationToken);
                await old.DisposeAsync();
                _protector = null;
            }

            Func<CancellationToken, Task<RecoveryRuntime>>? recovery = context.Options.RecoveryFor is { } recoveryFor ? ct => recoveryFor(plan, ct) : context.Options.Recovery;
            await StartForAsync(plan, recovery, cancellationToken);
            _plan = plan;
            return $"protection restarted for {Describe(plan)}";
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task StartForAsync(LifelinePlan plan, Func<CancellationToken, Task<RecoveryRuntime>>? recovery, CancellationToken cancellationToken)
    {
        if (!plan.Policies.Any(p => p.Schedule.OnChange))
        {
            _state = new(DeploymentServiceStatus.Stopped, Detail: "no policy of the plan is on-change: nothing to protect on change");
            return;
        }

        if (recovery is null)
        {
            _state = new(DeploymentServiceStatus.Degraded, Detail: "not protecting on change: up runs without a plan file or a vault password (LIFELINE_PASSWORD or --password-file)");
            return;
        }

        try
        {
            var runtime = await recovery(cancellationToken);
            var sources = new ComponentSources(plan, context.PlanPath is { } planPath ? Path.GetDirectoryName(planPath) : context.Layout.Root);
            var registry = plan.Components.FirstOrDefault(c => PlanChecker.KindOf(c) == ComponentKind.Registry);
            var protector = new ChangeProtector(plan, runtime.Locations, runtime.Service, new ChangeProtectorOptions
            {
                Time = context.Time,
                Logger = context.LoggerFactory.CreateLogger("Lifeline.Protection"),
                Configuration = new Configuration.ConfigurationOptions { BaseDirectory = sources.BaseDirectory, Time = context.Time },
                Registry = registry is null ? null : new Components.Registry.RegistryAdapterOptions
                {
                    Registry = new Lifeline.Registry.RegistryOptions { DataDirectory = sources.RegistryData(registry), PostgresConnectionString = sources.RegistryPostgres(registry) },
                    Time = context.Time,
                },
                Lake = new Components.Lake.LakeAdapterOptions { Root = sources.LakeRoot },
                Jobs = plan.Components.FirstOrDefault(c => PlanChecker.KindOf(c) == ComponentKind.Jobs) is { } jobs
                    ? new Components.Jobs.JobsAdapterOptions { BaseDirectory = sources.BaseDirectory, PlanFile = context.PlanPath, JobStore = sources.JobStore(jobs) }
                    : null,
            });
            await protector.StartAsync(cancellationToken);
            _protector = protector;
        }
        catch (Exception e) when (e is RecoveryException or IOException or UnauthorizedAccessException or InvalidOperationException)
        {
            _state = new(DeploymentServiceStatus.Degraded, Detail: $"not protecting on change: {e.Message}");
        }
    }

    /// <summary>What the protection depends on: every on-change component with its kind, fields and policy, the
    /// policy's coalesce and locations, and those locations' URLs.</summary>
    internal static string Fingerprint(LifelinePlan plan)
    {
        var lines = new List<string>();
        foreach (var c in plan.Components)
        {
            if (plan.FindPolicy(c.Policy) is not { Schedule.OnChange: true } policy)
            {
                continue;
            }

            var locations = policy.Locations.Named().Select(n => $"{n.Role}={n.Location}@{plan.Locations.FirstOrDefault(l => l.Name == n.Location)?.Url}");
            lines.Add($"{c.Name}|{PlanChecker.KindOf(c)}|{c.Table}|{string.Join(',', c.Files)}|{policy.Name}|{policy.Coalesce}|{string.Join(',', locations)}");
        }

        return string.Join("\n", lines);
    }

    private static string Describe(LifelinePlan plan)
    {
        var names = plan.Components.Where(c => plan.FindPolicy(c.Policy) is { Schedule.OnChange: true }).Select(c => c.Name).ToList();
        return names.Count == 0 ? "no on-change component" : string.Join(", ", names);
    }

    public Task StopAsync(CancellationToken cancellationToken) => _protector?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public ValueTask DisposeAsync() => _protector?.DisposeAsync() ?? ValueTask.CompletedTask;
}
