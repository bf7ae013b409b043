using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Prometheus;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// The Prometheus metrics of a running <c>lifeline up</c> (<c>GET /metrics</c> on its status port), in a registry of
/// their own. The host keeps the service gauges current; the scheduler and the change protector feed the others
/// through <see cref="SetRecoveryPointTime"/>, <see cref="SetHeartbeatTime"/>, <see cref="SetNextRunTime"/> and
/// <see cref="SetLastRunTime"/>, or create their own gauges with <see cref="CreateGauge"/>. Times are Unix seconds,
/// the Prometheus convention (<c>time() - lifeline_recovery_point_timestamp_seconds</c> is the age).
/// </summary>
public sealed class DeploymentMetrics
{
    private static readonly DeploymentServiceStatus[] Statuses = Enum.GetValues<DeploymentServiceStatus>();
    private readonly Gauge _up;
    private readonly Gauge _state;
    private readonly Gauge _recoveryPoint;
    private readonly Gauge _heartbeat;
    private readonly Gauge _nextRun;
    private readonly Gauge _lastRun;
    private readonly Gauge _heapAfterGc;
    private readonly Gauge _liveAfterFullGc;
    private readonly Gauge _poolIdle;
    private readonly Gauge _poolIdleAtFullGc;
    private readonly StrongBox<long> _poolIdleAtFullGcValue;
    private readonly MetricFactory _factory;

    /// <summary>Creates the metrics; <paramref name="services"/> is read at every scrape for the service gauges;
    /// <paramref name="poolIdleBytes"/> reads the vault pool's idle bytes (default <see cref="Lifeline.Vault.VaultMemory.PooledIdleBytes"/>; tests give their own).</summary>
    public DeploymentMetrics(Func<IReadOnlyList<IDeploymentService>>? services = null, Func<long>? poolIdleBytes = null)
    {
        _factory = Metrics.WithCustomRegistry(Registry);
        _up = _factory.CreateGauge("lifeline_service_up", "1 when the service of lifeline up is running (or running degraded), else 0", "service");
        _state = _factory.CreateGauge("lifeline_service_state", "1 for the state the service is in (pending, starting, running, degraded, stopped, failed), 0 for the others", "service", "state");
        _recoveryPoint = _factory.CreateGauge("lifeline_recovery_point_timestamp_seconds", "Time of the component's newest recovery point in every required location (Unix seconds)", "component");
        _heartbeat = _factory.CreateGauge("lifeline_heartbeat_timestamp_seconds", "Time of the newest heartbeat record found in the component's latest recovery point (Unix seconds)", "component");
        _nextRun = _factory.CreateGauge("lifeline_job_next_run_timestamp_seconds", "When the job runs next (Unix seconds)", "job");
        _lastRun = _factory.CreateGauge("lifeline_job_last_run_timestamp_seconds", "When the job last finished (Unix seconds)", "job", "outcome");
        _heapAfterGc = _factory.CreateGauge("lifeline_gc_heap_after_last_gc_bytes", "The managed heap's size after the last garbage collection of any kind (the sum of every generation's size after it, from GC.GetGCMemoryInfo()); after a gen0 or gen1 collection this counts the dead objects of gen2 and the large object heap that only a full collection frees: it rises between full collections without a leak");
        _liveAfterFullGc = _factory.CreateGauge("lifeline_gc_live_bytes_after_last_full_gc", "The bytes the objects still alive after the last full (gen2) garbage collection hold: every generation's size after it minus its fragmentation (GC.GetGCMemoryInfo(GCKind.FullBlocking or Background)); what a leak grows; 0 before the first full collection");
        _poolIdle = _factory.CreateGauge("lifeline_vault_pool_idle_bytes", "The bytes of the buffers the vault's run pool keeps unused for the next backup or copy (let go of 30 s after their last use); live to the GC meanwhile");
        _poolIdleAtFullGc = _factory.CreateGauge("lifeline_vault_pool_idle_bytes_at_last_full_gc", "lifeline_vault_pool_idle_bytes as it was when the last full (gen2) collection ended: the part of lifeline_gc_live_bytes_after_last_full_gc that is the pool's idle buffers, not objects in use; 0 before the first full collection");
        _poolIdleAtFullGcValue = FullGcWatch.Start(this, poolIdleBytes ??= () => Lifeline.Vault.VaultMemory.PooledIdleBytes);
        Registry.AddBeforeCollectCallback(() =>
        {
            _heapAfterGc.Set(HeapAfterLastGc());
            _liveAfterFullGc.Set(LiveAfterLastFullGc());
            _poolIdle.Set(poolIdleBytes());
            _poolIdleAtFullGc.Set(Interlocked.Read(ref _poolIdleAtFullGcValue.Value));
        });
        if (services is not null)
        {
            Registry.AddBeforeCollectCallback(() => Observe(services()));
        }
    }

    /// <summary>The registry <c>GET /metrics</c> serves.</summary>
    public CollectorRegistry Registry { get; } = Metrics.NewCustomRegistry();

    /// <summary>Records the time of <paramref name="component"/>'s newest recovery point.</summary>
    public void SetRecoveryPointTime(string component, DateTimeOffset time) => _recoveryPoint.WithLabels(component).Set(time.ToUnixTimeMilliseconds() / 1000.0);

    /// <summary>Records the newest heartbeat of <paramref name="component"/> seen in a recovery point.</summary>
    public void SetHeartbeatTime(string component, DateTimeOffset time) => _heartbeat.WithLabels(component).Set(time.ToUnixTimeMilliseconds() / 1000.0);

    /// <summary>Records when <paramref name="job"/> runs next; null (paused, no next run) removes the series.</summary>
    public void SetNextRunTime(string job, DateTimeOffset? time)
    {
        if (time is { } t)
        {
            _nextRun.WithLabels(job).Set(t.ToUnixTimeMilliseconds() / 1000.0);
        }
        else
        {
            _nextRun.RemoveLabelled(job);
        }
    }

    /// <summary>Records when <paramref name="job"/> last finished and how (ok, failed, interrupted...).</summary>
    public void SetLastRunTime(string job, DateTimeOffset time, string outcome) => _lastRun.WithLabels(job, outcome).Set(time.ToUnixTimeMilliseconds() / 1000.0);

    /// <summary>A gauge of one's own in this registry (name <c>lifeline_...</c>, with a help text).</summary>
    public Gauge CreateGauge(string name, string help, params string[] labelNames) => _factory.CreateGauge(name, help, labelNames);

    /// <summary>Sets the service gauges from the services' states (called before each scrape).</summary>
    public void Observe(IReadOnlyList<IDeploymentService> services)
    {
        foreach (var service in services)
        {
            var status = service.State.Status;
            _up.WithLabels(service.Name).Set(status is DeploymentServiceStatus.Running or DeploymentServiceStatus.Degraded ? 1 : 0);
            foreach (var s in Statuses)
            {
                _state.WithLabels(service.Name, StatusText(s)).Set(s == status ? 1 : 0);
            }
        }
    }

    /// <summary>The bytes every generation (0, 1, 2, large and pinned objects) held after the last collection.</summary>
    private static long HeapAfterLastGc()
    {
        var info = GC.GetGCMemoryInfo();
        long total = 0;
        foreach (var generation in info.GenerationInfo)
        {
            total += generation.SizeAfterBytes;
        }

        return total;
    }

    /// <summary>The live bytes after the newest full collection (blocking or background), or 0 before the first.</summary>
    internal static long LiveAfterLastFullGc()
    {
        var blocking = GC.GetGCMemoryInfo(GCKind.FullBlocking);
        var background = GC.GetGCMemoryInfo(GCKind.Background);
        var info = background.Index > blocking.Index ? background : blocking;
        if (info.Index == 0)
        {
            return 0;
        }

        long total = 0;
        foreach (var generation in info.GenerationInfo)
        {
            total += generation.SizeAfterBytes - generation.FragmentationAfterBytes;
        }

        return total;
    }

    /// <summary>
    /// Reads a value right after each full collection into a box its owner keeps: an object nothing references, whose
    /// finalizer runs after each collection that finds it dead (once it is in gen2, each full one), stores the value
    /// and registers itself again (the runtime's own Gen2GcCallback does this; there is no public event for "a gen2
    /// collection ended"). It stops once its owner is collected.
    /// </summary>
    private sealed class FullGcWatch
    {
        // a handle, not a WeakReference: that is finalizable itself, and unreachable with the watch, its finalizer may
        // run first and free the handle, so the owner would look collected
        private readonly GCHandle _owner;
        private readonly StrongBox<long> _box;
        private readonly Func<long> _read;

        private FullGcWatch(object owner, StrongBox<long> box, Func<long> read) => (_owner, _box, _read) = (GCHandle.Alloc(owner, GCHandleType.Weak), box, read);

        /// <summary>Starts a watch for <paramref name="owner"/>; the box holds the value read at the last full collection (0 before it).</summary>
        public static StrongBox<long> Start(object owner, Func<long> read)
        {
            var box = new StrongBox<long>();
            _ = new FullGcWatch(owner, box, read);
            return box;
        }

        ~FullGcWatch()
        {
            if (_owner.Target is null)
            {
                _owner.Free();
                return;
            }

            Interlocked.Exchange(ref _box.Value, _read());
            GC.ReRegisterForFinalize(this);
        }
    }

    /// <summary>The lower-case word of a status, as status and the metrics show it.</summary>
    public static string StatusText(DeploymentServiceStatus status) => status.ToString().ToLowerInvariant();
}
