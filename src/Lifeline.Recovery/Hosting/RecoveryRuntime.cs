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
            Recovery = c.Options.Recovery is { } recovery ? async (_, ct) => (await recovery(ct)).Service : null,
            WorkingDirectory = c.PlanPath is { } plan ? Path.GetDirectoryName(plan) : c.Layout.Root,
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
    private ChangeProtector? _protector;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);

    public string Name => "protection";

    public DeploymentServiceState State => _protector?.State ?? _state;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!context.Plan.Policies.Any(p => p.Schedule.OnChange))
        {
            _state = new(DeploymentServiceStatus.Stopped, Detail: "no policy of the plan is on-change: nothing to protect on change");
            return;
        }

        if (context.Options.Recovery is not { } recovery)
        {
            _state = new(DeploymentServiceStatus.Degraded, Detail: "not protecting on change: up runs without a plan file or a vault password (LIFELINE_PASSWORD or --password-file)");
            return;
        }

        try
        {
            var runtime = await recovery(cancellationToken);
            var sources = new ComponentSources(context.Plan, context.PlanPath is { } plan ? Path.GetDirectoryName(plan) : context.Layout.Root);
            var registry = context.Plan.Components.FirstOrDefault(c => PlanChecker.KindOf(c) == ComponentKind.Registry);
            var protector = new ChangeProtector(context.Plan, runtime.Locations, runtime.Service, new ChangeProtectorOptions
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
                Jobs = context.Plan.Components.FirstOrDefault(c => PlanChecker.KindOf(c) == ComponentKind.Jobs) is { } jobs
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

    public Task StopAsync(CancellationToken cancellationToken) => _protector?.StopAsync(cancellationToken) ?? Task.CompletedTask;

    public ValueTask DisposeAsync() => _protector?.DisposeAsync() ?? ValueTask.CompletedTask;
}
