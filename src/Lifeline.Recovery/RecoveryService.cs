using System.Diagnostics;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Components;
using Lifeline.Recovery.Components.Jobs;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Hooks;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Retention;
using Lifeline.Recovery.Status;
using Lifeline.Recovery.Tags;
using Lifeline.Storage;
using Lifeline.Vault;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Recovery;

/// <summary>Options of <see cref="RecoveryService"/>. Every property has a documented default.</summary>
public sealed record RecoveryServiceOptions
{
    /// <summary>The clock; default the system clock.</summary>
    public TimeProvider? Time { get; init; }

    /// <summary>Where the service logs; default none.</summary>
    public ILogger? Logger { get; init; }

    /// <summary>Staging for captures and restores; default <c>TEMP/lifeline-recovery</c>, for a caller without a data
    /// directory (the CLI and <c>up</c> pass <see cref="Hosting.DeploymentLayout.RecoveryWork"/>, <c>DATA/work/recovery</c>:
    /// the captures keep hard links to the live files there, which need the same file system). Captures use a stable
    /// directory per component (so the vault finds the parent snapshot and reads only what changed).</summary>
    public string? WorkDirectory { get; init; }

    /// <summary>Where hooks run; default the current directory (the CLI passes the plan file's directory).</summary>
    public string? HookDirectory { get; init; }

    /// <summary>The audit log; default <see cref="ObjectStoreAuditLog"/> over the plan's locations (primaries first).</summary>
    public IAuditLog? Audit { get; init; }

    /// <summary>Who runs the commands, for the audit; default <see cref="Environment.UserName"/>.</summary>
    public string? Who { get; init; }

    /// <summary>The host, for the audit; default <see cref="Environment.MachineName"/>.</summary>
    public string? Host { get; init; }

    /// <summary>The command line, for the audit (redacted before it is stored); default none.</summary>
    public IReadOnlyList<string> Arguments { get; init; } = [];

    /// <summary>Where the read-back of packs (after-write, after-copy) records its failures and the verification
    /// checks keep their evidence; default the <see cref="Verification.ObjectStoreEvidenceLog"/> over the plan's locations.</summary>
    public Verification.IEvidenceLog? Evidence { get; init; }
}

/// <summary>How <see cref="RecoveryService.BuiltInAdapters(LifelinePlan, PlanAdapterOptions)"/> builds the adapters
/// from the plan alone. Every property has a documented default.</summary>
public sealed record PlanAdapterOptions
{
    /// <summary>The plan file's directory, where relative sources are taken from; default the directory of the plan's
    /// <see cref="PlanSource.File"/>.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>The environment <c>${VAR}</c> references, configuration variables and object-store credentials come
    /// from; default the process environment.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>Where <c>--as NAME</c> restores go (as <c>ROOT/NAME</c>); default beside each live component.</summary>
    public string? RestoreRoot { get; init; }

    /// <summary>The clock; default the system clock.</summary>
    public TimeProvider? Time { get; init; }
}

/// <summary>What a backup run does.</summary>
public sealed record BackupRunOptions
{
    /// <summary>Re-read every byte (the policy's "full"). Default false.</summary>
    public bool Full { get; init; }
}

/// <summary>A location's part in a backup.</summary>
/// <param name="Location">Its name.</param>
/// <param name="Role">primary, secondary or tertiary.</param>
/// <param name="Ok">True when the point is there and verified.</param>
/// <param name="Error">Why not, one line.</param>
public sealed record LocationResult(string Location, string Role, bool Ok, string? Error);

/// <summary>The outcome of one component's backup.</summary>
public sealed record ComponentBackupResult
{
    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>ok, partial (not in every location) or failed.</summary>
    public required string Outcome { get; init; }

    /// <summary>The point written, when one was.</summary>
    public RecoveryPoint? Point { get; init; }

    /// <summary>Per location of the policy.</summary>
    public IReadOnlyList<LocationResult> Locations { get; init; } = [];

    /// <summary>Why it failed or is partial, one line (redacted).</summary>
    public string? Message { get; init; }

    /// <summary>The error that failed it.</summary>
    public Exception? Error { get; init; }

    /// <summary>Bytes of the component's data.</summary>
    public long Bytes { get; init; }

    /// <summary>Taking the snapshot into the primary.</summary>
    public TimeSpan BackupDuration { get; init; }

    /// <summary>Copying to the other locations.</summary>
    public TimeSpan CopyDuration { get; init; }

    /// <summary>Verifying in every location.</summary>
    public TimeSpan VerifyDuration { get; init; }

    /// <summary>The whole run, hooks included.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>What a restore does.</summary>
public sealed record RestoreRunOptions
{
    /// <summary>Which point; default the newest.</summary>
    public RestorePointSpec Point { get; init; } = RestorePointSpec.Latest;

    /// <summary>Restore beside the live component under this name (<c>--as</c>); null = in place (needs <see cref="Overwrite"/>).</summary>
    public string? As { get; init; }

    /// <summary>Say what would be restored from where, change nothing.</summary>
    public bool DryRun { get; init; }

    /// <summary>Replace live (or existing) data; never the default.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Restore only from this location of the policy, with no fallback to the others (a restore test of one
    /// location); default null: every location of the policy, in order.</summary>
    public string? From { get; init; }

    /// <summary>Reinstate into this directory (new or empty; never the live place) instead of the live place or
    /// <see cref="As"/>'s (a restore test's scratch area); default null.</summary>
    public string? Into { get; init; }
}

/// <summary>One location tried during a restore.</summary>
/// <param name="Location">Its name.</param>
/// <param name="Served">True for the location that served the point.</param>
/// <param name="Error">Why it did not, one line.</param>
public sealed record RestoreAttempt(string Location, bool Served, string? Error);

/// <summary>The outcome (or, on a dry run, the plan) of a restore.</summary>
public sealed record RestoreRunResult
{
    /// <summary>The component.</summary>
    public required string Component { get; init; }

    /// <summary>The point chosen.</summary>
    public required RecoveryPoint Point { get; init; }

    /// <summary>Where it goes.</summary>
    public required RestoreTarget Target { get; init; }

    /// <summary>True when nothing was changed.</summary>
    public bool DryRun { get; init; }

    /// <summary>The location that served it (or would, on a dry run).</summary>
    public required string ServedBy { get; init; }

    /// <summary>Every location considered, in order, with what happened.</summary>
    public IReadOnlyList<RestoreAttempt> Attempts { get; init; } = [];

    /// <summary>The other locations that hold the point.</summary>
    public IReadOnlyList<string> AlsoIn { get; init; } = [];

    /// <summary>Files in the point (from its snapshot's statistics on a dry run).</summary>
    public long Files { get; init; }

    /// <summary>Bytes in the point.</summary>
    public long Bytes { get; init; }

    /// <summary>What reinstating did; null on a dry run.</summary>
    public ReinstateResult? Reinstated { get; init; }

    /// <summary>On a dry run: why the real run would refuse, if it would.</summary>
    public string? WouldRefuse { get; init; }

    /// <summary>How long it took.</summary>
    public TimeSpan Duration { get; init; }
}

/// <summary>
/// The recovery core the CLI (and the scheduler) calls: back up a component into its policy's primary and copy it to
/// every other location of the policy, restore one as of a time with fallback across locations, apply retention,
/// compute status, read the audit. Every changing action appends an audit record, also when it fails.
/// </summary>
public sealed partial class RecoveryService
{
    private readonly LifelinePlan _plan;
    private readonly LocationSet _locations;
    private readonly Dictionary<string, IProtectedComponent> _adapters;
    private readonly RecoveryServiceOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _work;

    // backups share it, forget and prune hold it alone: a waiting prune holds new backups back (writer first), so a
    // stream of on-change backups never starves it; across processes the vault locks' wait does the same
    private readonly Nito.AsyncEx.AsyncReaderWriterLock _upkeep = new();

    /// <summary>Creates the service over <paramref name="plan"/>, its <paramref name="locations"/> and the adapters
    /// that protect its components (one per component name).</summary>
    public RecoveryService(LifelinePlan plan, LocationSet locations, IEnumerable<IProtectedComponent> adapters, RecoveryServiceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(locations);
        ArgumentNullException.ThrowIfNull(adapters);
        _plan = plan;
        _locations = locations;
        _options = options ?? new RecoveryServiceOptions();
        _adapters = adapters.ToDictionary(a => a.Name, StringComparer.Ordinal);
        _time = _options.Time ?? TimeProvider.System;
        _logger = _options.Logger ?? NullLogger.Instance;
        _work = _options.WorkDirectory ?? Path.Combine(Path.GetTempPath(), "lifeline-recovery");
        Audit = _options.Audit ?? new ObjectStoreAuditLog(AuditStoresAsync, _time);
        Evidence = _options.Evidence ?? new Verification.ObjectStoreEvidenceLog(AuditStoresAsync);
    }

    /// <summary>The plan's locations this service backs up to and restores from.</summary>
    public LocationSet Locations => _locations;

    /// <summary>The audit log (for <c>lifeline audit</c>).</summary>
    public IAuditLog Audit { get; }

    /// <summary>The adapter protecting <paramref name="component"/>, or null (the restore tests read the live source
    /// through it).</summary>
    public IProtectedComponent? AdapterOf(string component) => _adapters.GetValueOrDefault(component);

    /// <summary>The measured history, from the audit log (for <c>plan check</c>): a new reader each time, which reads
    /// the log once, on first use.</summary>
    public AuditBackupHistory History => new(Audit);

    /// <summary>The evidence of verification checks, kept in every location (docs/verification.md).</summary>
    public Verification.IEvidenceLog Evidence { get; }

    /// <summary>The adapters of Lifeline's own component kinds for every component of <paramref name="plan"/>: the
    /// configuration adapter, the registry adapter (native, or through MLflow's API when
    /// <see cref="RegistryAdapterOptions.ApiUrl"/> is set), and one lake-table adapter per lake table, with options given by
    /// hand (jobs get none here); the CLI uses the overload that reads every source from the plan.</summary>
    public static IReadOnlyList<IProtectedComponent> BuiltInAdapters(LifelinePlan plan, ConfigurationOptions? configuration = null, RegistryAdapterOptions? registry = null, LakeAdapterOptions? lake = null)
    {
        ArgumentNullException.ThrowIfNull(plan);
        var adapters = new List<IProtectedComponent>();
        foreach (var c in plan.Components)
        {
            switch (PlanChecker.KindOf(c))
            {
                case ComponentKind.Configuration:
                    adapters.Add(new ConfigurationComponent(c, configuration));
                    break;
                case ComponentKind.Registry:
                    adapters.Add(new RegistryComponent(c, registry));
                    break;
                case ComponentKind.LakeTable:
                    adapters.Add(new LakeTableComponent(c, lake));
                    break;
            }
        }

        return adapters;
    }

    /// <summary>The adapters of every component of <paramref name="plan"/>, built from the plan alone: where each lives
    /// comes from its <c>sources</c> and component fields (<see cref="ComponentSources"/>: the registry in
    /// <c>DATA/registry</c> or through <c>api:</c>, each lake table at <c>LAKE/TABLE</c> or its <c>location:</c>, the
    /// jobs' files and job store, the configuration's files and variables). A component whose sources cannot be
    /// resolved (an unset <c>${VAR}</c>) gets a stand-in that fails its backup and restore with the reason, so the
    /// others still run.</summary>
    public static IReadOnlyList<IProtectedComponent> BuiltInAdapters(LifelinePlan plan, PlanAdapterOptions options)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(options);
        var sources = new ComponentSources(plan, options.BaseDirectory, options.Environment);
        var adapters = new List<IProtectedComponent>();
        foreach (var c in plan.Components)
        {
            if (PlanChecker.KindOf(c) is not { } kind)
            {
                continue;
            }

            try
            {
                adapters.Add(Adapter(c, kind, sources, options));
            }
            catch (RecoveryException e)
            {
                adapters.Add(new UnresolvedComponent(c, kind, e.Message));
            }
        }

        return adapters;
    }

    private static IProtectedComponent Adapter(PlanComponent c, ComponentKind kind, ComponentSources sources, PlanAdapterOptions options) => kind switch
    {
        ComponentKind.Configuration => new ConfigurationComponent(c, new ConfigurationOptions
        {
            BaseDirectory = sources.BaseDirectory, Environment = options.Environment, RestoreRoot = options.RestoreRoot, Time = options.Time,
        }),
        ComponentKind.Registry => new RegistryComponent(c, new RegistryAdapterOptions
        {
            Registry = new Lifeline.Registry.RegistryOptions { DataDirectory = sources.RegistryData(c), PostgresConnectionString = sources.RegistryPostgres(c) },
            ApiUrl = sources.RegistryApi(c),
            ApiToken = sources.RegistryToken(c),
            RestoreRoot = options.RestoreRoot,
            Time = options.Time,
        }),
        ComponentKind.LakeTable => new LakeTableComponent(c, new LakeAdapterOptions
        {
            Root = sources.LakeRoot,
            Tables = new Dictionary<string, string> { [c.Name] = sources.TableLocation(c) },
            RestoreRoot = options.RestoreRoot,
            Environment = options.Environment,
        }),
        _ => new JobsComponent(c, new JobsAdapterOptions
        {
            BaseDirectory = sources.BaseDirectory, PlanFile = sources.PlanFile, JobStore = sources.JobStore(c), RestoreRoot = options.RestoreRoot, Time = options.Time,
        }),
    };

    /// <summary>Backs up every component named (all of the plan's when empty), one after another; never throws for
    /// one component's failure (it is in its result and the audit).</summary>
    public async Task<IReadOnlyList<ComponentBackupResult>> BackupAsync(IReadOnlyList<string> components, BackupRunOptions? options = null, IProgress<RecoveryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(components);
        var names = components.Count == 0 ? _plan.Components.Select(c => c.Name).ToList() : components;
        foreach (var name in names)
        {
            try
            {
                _ = Component(name); // unknown names fail before anything runs
            }
            catch (UnknownComponentException e)
            {
                // nothing ran, but the attempt is in the history
                await AppendAuditAsync(new AuditRecord
                {
                    Time = _time.GetUtcNow(), Action = AuditActions.Backup, Who = Who, Host = Host, Arguments = _options.Arguments,
                    Component = name, Outcome = AuditOutcomes.Failed, Message = OneLine(e),
                }, cancellationToken);
                throw;
            }
        }

        var results = new List<ComponentBackupResult>();
        foreach (var name in names)
        {
            results.Add(await BackupOneAsync(name, options ?? new BackupRunOptions(), progress, cancellationToken));
        }

        return results;
    }

    /// <summary>Backs up one component; throws when it failed (after recording the failure).</summary>
    public async Task<ComponentBackupResult> BackupComponentAsync(string component, BackupRunOptions? options = null, IProgress<RecoveryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        _ = Component(component);
        var result = await BackupOneAsync(component, options ?? new BackupRunOptions(), progress, cancellationToken);
        if (result.Outcome == AuditOutcomes.Failed)
        {
            throw result.Error is RecoveryException or VaultException ? result.Error : new RecoveryException($"backup of '{component}' failed: {result.Message}", result.Error);
        }

        return result;
    }

    private async Task<ComponentBackupResult> BackupOneAsync(string name, BackupRunOptions options, IProgress<RecoveryProgress>? progress, CancellationToken ct)
    {
        using var shared = await _upkeep.ReaderLockAsync(ct);
        var started = _time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var opId = Guid.NewGuid().ToString("N")[..12];
        var component = Component(name);
        await AppendAuditAsync(StartRecord(started, AuditActions.Backup, name, opId), ct);
        var locationResults = new List<LocationResult>();
        RecoveryPoint? point = null;
        long bytes = 0;
        BackupResult? written = null;
        string? writingTo = null;
        TimeSpan backupTime = default, copyTime = default, verifyTime = default;
        var verifiedIn = new List<string>();
        string outcome;
        string? message = null;
        Exception? error = null;
        try
        {
            var source = _adapters.GetValueOrDefault(name) as IRecoveryPointSource
                ?? throw new UnknownComponentException(name, $"no adapter backs up components of kind {KindName(component)} here; this command cannot protect it yet");
            var policy = _plan.FindPolicy(component.Policy)
                ?? throw new RecoveryException($"component '{name}' has no backup policy: add `policy:` to it in the plan (lifeline plan check)");
            var named = _locations.For(policy);
            if (named.Count == 0)
            {
                throw new RecoveryException($"policy '{policy.Name}' names no location: add `locations: {{ primary: ..., secondary: ..., tertiary: ... }}`");
            }

            var hooks = component.Hooks;
            if (hooks?.Pre is { } pre)
            {
                Report(progress, opId, name, "hook-pre", null);
                await HookRunner.RunAsync(name, "pre", pre, hooks.Timeout ?? ComponentHooks.DefaultTimeout, _options.HookDirectory, null, ct);
            }

            try
            {
                var workDir = Path.Combine(_work, "capture", name);
                // the staging directory is stable per component: one backup of it at a time per work directory (the data directory's, or TEMP's)
                using var running = HoldCaptureLock(workDir + ".lock", name);
                ResetDirectory(workDir);
                Report(progress, opId, name, "capture", null);
                var phase = Stopwatch.StartNew();
                await using (var captured = await source.CaptureAsync(new CaptureContext { WorkDirectory = workDir, OperationId = opId, Full = options.Full, KeepDirectory = Path.Combine(_work, "keep", name) }, progress, ct))
                {
                    if (captured.Tags.Component != name)
                    {
                        throw new RecoveryException($"the adapter of '{name}' tagged its point as '{captured.Tags.Component}': the adapter is wrong");
                    }

                    var (primaryRole, primaryInfo) = named[0];
                    var primary = await _locations.OpenAsync(primaryInfo.Name, create: true, cancellationToken: ct);
                    writingTo = primaryInfo.Name;
                    Report(progress, opId, name, "backup", primaryInfo.Name);
                    var backup = await primary.BackupAsync(
                        new BackupRequest { Paths = captured.Paths, Source = name, Tags = captured.Tags.Encode(), Force = captured.Force },
                        VaultProgress(progress, opId, name, "backup", primaryInfo.Name), ct);
                    backupTime = phase.Elapsed;
                    written = backup;
                    bytes = backup.TotalBytes;
                    point = RecoveryPoint.From(backup.Snapshot)!;
                    Log.BackupWritten(_logger, name, point.ShortId, primaryInfo.Name, backup.TotalFiles, backup.DataAdded);
                    if (backup.Errors.Count > 0)
                    {
                        throw new RecoveryException($"{backup.Errors.Count} files of '{name}' could not be read (first: {backup.Errors[0].Path}: {backup.Errors[0].Message}); the point is incomplete");
                    }

                    var here = new List<(string Role, string Location, VaultRepository Vault)> { (primaryRole, primaryInfo.Name, primary) };
                    phase.Restart();
                    foreach (var (role, info) in named.Skip(1))
                    {
                        try
                        {
                            var dest = await _locations.OpenAsync(info.Name, create: true, chunkerFrom: primary, cancellationToken: ct);
                            Report(progress, opId, name, "copy", info.Name);
                            // every snapshot of the component missing there: also completes an earlier interrupted copy
                            var copy = await primary.CopyToAsync(dest, RecoveryPointTags.FilterFor(name), VaultProgress(progress, opId, name, "copy", info.Name), ct);
                            Log.Copied(_logger, point.ShortId, name, info.Name, copy.SnapshotsCopied, copy.BytesCopied);
                            here.Add((role, info.Name, dest));
                        }
                        catch (Exception e) when (e is not OperationCanceledException)
                        {
                            var reason = OneLine(e);
                            Log.CopyFailed(_logger, name, info.Name, reason);
                            locationResults.Add(new LocationResult(info.Name, role, false, reason));
                            if (e is PackReadBackException damaged)
                            {
                                await RecordReadBackAsync(damaged, name, info.Name, ct);
                            }
                        }
                    }

                    copyTime = phase.Elapsed;
                    phase.Restart();
                    foreach (var (role, location, vault) in here)
                    {
                        Report(progress, opId, name, "verify", location);
                        var problem = await VerifyInAsync(vault, point.Id, ct);
                        if (problem is null)
                        {
                            verifiedIn.Add(location);
                            locationResults.Add(new LocationResult(location, role, true, null));
                        }
                        else
                        {
                            Log.VerifyFailed(_logger, name, point.ShortId, location, problem);
                            locationResults.Add(new LocationResult(location, role, false, problem));
                        }
                    }

                    verifyTime = phase.Elapsed;
                }

                var missing = locationResults.Where(l => !l.Ok).ToList();
                outcome = missing.Count == 0 ? AuditOutcomes.Ok : AuditOutcomes.Partial;
                message = missing.Count == 0 ? $"point {point.ShortId} in {string.Join(", ", verifiedIn)}"
                    : $"point {point.ShortId} not in {string.Join(", ", missing.Select(m => $"{m.Location} ({m.Error})"))}; the next backup copies it";
            }
            catch (Exception e) when (e is not OperationCanceledException && hooks?.Post is not null)
            {
                await RunPostHookAsync(name, hooks, AuditOutcomes.Failed, ct, e);
                throw;
            }

            if (hooks?.Post is { } post)
            {
                Report(progress, opId, name, "hook-post", null);
                await HookRunner.RunAsync(name, "post", post, hooks.Timeout ?? ComponentHooks.DefaultTimeout, _options.HookDirectory,
                    new Dictionary<string, string> { ["LIFELINE_BACKUP_OUTCOME"] = outcome }, ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            outcome = AuditOutcomes.Failed;
            message = OneLine(e);
            error = e;
            Log.BackupFailed(_logger, name, message);
            if (e is PackReadBackException damaged)
            {
                await RecordReadBackAsync(damaged, name, writingTo, ct);
            }
        }

        var result = new ComponentBackupResult
        {
            Component = name,
            Outcome = outcome,
            Point = point,
            Locations = locationResults,
            Message = message,
            Error = error,
            Bytes = bytes,
            BackupDuration = backupTime,
            CopyDuration = copyTime,
            VerifyDuration = verifyTime,
            Duration = clock.Elapsed,
        };
        await AppendAuditAsync(new AuditRecord
        {
            Time = started,
            Action = AuditActions.Backup,
            Who = Who,
            Host = Host,
            Arguments = _options.Arguments,
            Component = name,
            Outcome = outcome,
            Message = message,
            Duration = result.Duration,
            Snapshot = point?.Id,
            Bytes = bytes,
            BackupDuration = backupTime,
            CopyDuration = copyTime,
            VerifyDuration = verifyTime,
            VerifiedIn = verifiedIn,
            Operation = opId,
            Full = options.Full,
            DataAdded = written?.DataAdded,
            RawDataAdded = written?.RawDataAdded,
            IncompressibleAdded = written?.IncompressibleAdded,
            FailureKind = error is PackReadBackException ? AuditFailureKinds.ReadBack : null,
        }, ct);
        return result;
    }

    /// <summary>A pack damaged on read-back is evidence too (check <c>after-write</c> or <c>after-copy</c>).</summary>
    private async Task RecordReadBackAsync(PackReadBackException damaged, string component, string? location, CancellationToken ct)
    {
        try
        {
            await Evidence.AppendAsync(new Verification.EvidenceRecord
            {
                Check = damaged.Phase,
                Component = component,
                Location = location,
                Against = "the pack as written (its id is its SHA-256)",
                Time = _time.GetUtcNow(),
                Passed = false,
                Summary = $"pack {damaged.Pack[..Math.Min(16, damaged.Pack.Length)]} in {location ?? damaged.Location}: {damaged.Problem}",
            }, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.AuditFailed(_logger, "evidence", OneLine(e));
        }
    }

    private async Task RunPostHookAsync(string name, ComponentHooks hooks, string outcome, CancellationToken ct, Exception original)
    {
        try
        {
            await HookRunner.RunAsync(name, "post", hooks.Post!, hooks.Timeout ?? ComponentHooks.DefaultTimeout, _options.HookDirectory,
                new Dictionary<string, string> { ["LIFELINE_BACKUP_OUTCOME"] = outcome }, ct);
        }
        catch (HookFailedException e)
        {
            Log.BackupFailed(_logger, name, "post hook after failure: " + OneLine(e) + "; original: " + OneLine(original));
        }
    }

    /// <summary>The point is in the vault and its whole tree reads back (every tree blob decrypted and hash-checked).</summary>
    private static async Task<string?> VerifyInAsync(VaultRepository vault, string pointId, CancellationToken ct)
    {
        try
        {
            SnapshotInfo? found = null;
            await foreach (var s in vault.ListSnapshotsAsync(ct: ct))
            {
                if (RecoveryPoint.IdentityOf(s) == pointId)
                {
                    found = s;
                }
            }

            if (found is null)
            {
                return $"point {pointId[..8]} is not in this location";
            }

            await foreach (var _ in vault.ListNodesAsync(found, ct: ct))
            {
            }

            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return OneLine(e);
        }
    }

    /// <summary>Restores <paramref name="component"/> (or, on a dry run, says what it would restore from where).
    /// The point is chosen once among every readable location of the policy; it is then restored from the first
    /// location that has it, falling back to the next on any failure (unreachable, missing data, corrupt).</summary>
    public async Task<RestoreRunResult> RestoreAsync(string component, RestoreRunOptions? options = null, IProgress<RecoveryProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options ??= new RestoreRunOptions();
        var started = _time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var opId = Guid.NewGuid().ToString("N")[..12];
        var plan = Component(component);
        var restorer = _adapters.GetValueOrDefault(component) as IRestorer
            ?? throw new UnknownComponentException(component, $"no adapter restores components of kind {KindName(plan)} here");
        var policy = _plan.FindPolicy(plan.Policy)
            ?? throw new RecoveryException($"component '{component}' has no backup policy, so no location to restore from: add `policy:` in the plan");
        var named = _locations.For(policy);
        if (options.From is { } from)
        {
            named = named.Where(n => n.Location.Name == from).ToList();
            if (named.Count == 0)
            {
                throw new RecoveryException($"location '{from}' is not one of policy '{policy.Name}' of '{component}' ({string.Join(", ", _locations.For(policy).Select(n => n.Location.Name))}): name one of those");
            }
        }

        var listings = new List<LocationListing>();
        foreach (var (_, info) in named)
        {
            listings.Add(await PointCatalog.ListAsync(_locations, info.Name, component, cancellationToken));
        }

        var point = options.Point.Choose(listings.SelectMany(l => l.Points).Select(p => p.Point))
            ?? throw new NoRecoveryPointException(component, options.Point.ToString(),
                string.Join("; ", listings.Select(l => l.Error is null ? $"{l.Location}: {l.Points.Count} points" : $"{l.Location}: {l.Error}")));
        var holders = listings.Where(l => l.Points.Any(p => p.Point.Id == point.Id)).ToList();
        var target = options.Into is { } into ? new RestoreTarget(Path.GetFullPath(into), IsLive: false) : restorer.ResolveTarget(options.As);
        var refuse = target.IsLive && !options.Overwrite ? new LiveDataProtectedException(target.Directory)
            : !target.IsLive && !options.Overwrite && Directory.Exists(target.Directory) && Directory.EnumerateFileSystemEntries(target.Directory).Any()
                ? new RecoveryException($"'{target.Directory}' already exists and is not empty: choose another --as name, or pass --overwrite")
                : null;
        var attempts = listings.Where(l => l.Error is not null).Select(l => new RestoreAttempt(l.Location, false, l.Error)).ToList();
        if (options.DryRun)
        {
            return new RestoreRunResult
            {
                Component = component,
                Point = point,
                Target = target,
                DryRun = true,
                ServedBy = holders[0].Location,
                AlsoIn = holders.Skip(1).Select(h => h.Location).ToList(),
                Attempts = attempts,
                Files = point.Summary?.TotalFiles ?? 0,
                Bytes = point.Summary?.TotalBytes ?? 0,
                WouldRefuse = refuse?.Message,
                Duration = clock.Elapsed,
            };
        }

        await AppendAuditAsync(StartRecord(started, AuditActions.Restore, component, opId), cancellationToken);
        try
        {
            if (refuse is not null)
            {
                throw refuse;
            }

            RemoveStale(Path.Combine(_work, "restore"), "*");
            var partial = PartialTarget(target, options, opId);
            foreach (var holder in holders)
            {
                var staging = Path.Combine(_work, "restore", opId);
                ResetDirectory(staging);
                try
                {
                    var vault = await _locations.OpenAsync(holder.Location, cancellationToken: cancellationToken);
                    var snapshot = holder.Points.First(p => p.Point.Id == point.Id).Snapshot;
                    Report(progress, opId, component, "restore", holder.Location);
                    var restored = await vault.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = staging },
                        VaultProgress(progress, opId, component, "restore", holder.Location), cancellationToken);
                    if (restorer is IVerifier verifier && await verifier.VerifyAsync(point, staging, cancellationToken) is { Ok: false } bad)
                    {
                        throw new RecoveryException(string.Join("; ", bad.Problems));
                    }

                    Report(progress, opId, component, "reinstate", holder.Location);
                    var reinstated = await restorer.ReinstateAsync(new ReinstateContext { Point = point, StagedDirectory = staging, Target = partial ?? target, Overwrite = options.Overwrite }, progress, cancellationToken);
                    if (partial is not null)
                    {
                        reinstated = Publish(partial, target, reinstated);
                    }

                    attempts.Add(new RestoreAttempt(holder.Location, true, null));
                    Log.RestoreServed(_logger, component, point.ShortId, holder.Location, target.Directory);
                    var result = new RestoreRunResult
                    {
                        Component = component,
                        Point = point,
                        Target = target,
                        ServedBy = holder.Location,
                        AlsoIn = holders.Where(h => h != holder).Select(h => h.Location).ToList(),
                        Attempts = attempts,
                        Files = restored.Files,
                        Bytes = restored.Bytes,
                        Reinstated = reinstated,
                        Duration = clock.Elapsed,
                    };
                    await AppendAuditAsync(RestoreRecord(started, component, AuditOutcomes.Ok, $"point {point.ShortId} from {holder.Location} into {target.Directory}", clock.Elapsed, point.Id, restored.Bytes, [$"{component}: {holder.Location}"]) with { Operation = opId }, cancellationToken);
                    return result;
                }
                catch (Exception e) when (e is not OperationCanceledException and not LiveDataProtectedException)
                {
                    var reason = OneLine(e);
                    Log.RestoreFellBack(_logger, component, point.ShortId, holder.Location, reason);
                    attempts.Add(new RestoreAttempt(holder.Location, false, reason));
                }
                finally
                {
                    TryDelete(staging);
                    if (partial is not null)
                    {
                        TryDelete(partial.Directory); // a failed attempt leaves nothing half-written at the target
                    }
                }
            }

            throw new RestoreFailedException($"no location could restore point {point.ShortId} of '{component}': {string.Join("; ", attempts.Select(a => $"{a.Location}: {a.Error}"))}");
        }
        catch (Exception e) when (e is RecoveryException)
        {
            await AppendAuditAsync(RestoreRecord(started, component, AuditOutcomes.Failed, OneLine(e), clock.Elapsed, point.Id, null, []) with { Operation = opId }, cancellationToken);
            throw;
        }
    }

    private AuditRecord RestoreRecord(DateTimeOffset started, string component, string outcome, string message, TimeSpan duration, string pointId, long? bytes, IReadOnlyList<string> servedBy) => new()
    {
        Time = started,
        Action = AuditActions.Restore,
        Who = Who,
        Host = Host,
        Arguments = _options.Arguments,
        Component = component,
        Outcome = outcome,
        Message = message,
        Duration = duration,
        Snapshot = pointId,
        Bytes = bytes,
        ServedBy = servedBy,
    };

    /// <summary>Applies each component's retention (all of the plan's when <paramref name="components"/> is empty) in
    /// every location of its policy. A component without retention, a rule that selects no snapshot in a location, and
    /// an unavailable location are findings: the result is then not <see cref="ForgetRunResult.Ok"/>.</summary>
    public async Task<ForgetRunResult> ForgetAsync(IReadOnlyList<string> components, bool dryRun, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(components);
        var started = _time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var names = components.Count == 0 ? _plan.Components.Select(c => c.Name).ToList() : components;
        var opId = Guid.NewGuid().ToString("N")[..12];
        using var alone = dryRun ? null : await _upkeep.WriterLockAsync(cancellationToken);
        if (!dryRun)
        {
            foreach (var name in names)
            {
                _ = Component(name); // unknown names fail before anything is recorded or removed
            }

            await AppendAuditAsync(StartRecord(started, AuditActions.Forget, names.Count == 1 ? names[0] : null, opId), cancellationToken);
        }

        var outcomes = new List<RetentionOutcome>();
        var findings = new List<RetentionFinding>();
        var corruptReported = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in names)
        {
            var c = Component(name);
            var policy = _plan.FindPolicy(c.Policy);
            if (policy is null)
            {
                findings.Add(new RetentionFinding(name, null, "retention-missing", "the component has no policy, so nothing says what to keep: add `policy:` in the plan"));
                continue;
            }

            var rules = RetentionRules.ToVault(policy.Retention);
            if (rules is null)
            {
                findings.Add(new RetentionFinding(name, null, "retention-missing", $"policy '{policy.Name}' has no retention, so every snapshot is kept: add `retention:` to it"));
                continue;
            }

            foreach (var (_, info) in _locations.For(policy))
            {
                try
                {
                    var vault = await _locations.OpenAsync(info.Name, cancellationToken: cancellationToken);
                    // a snapshot file that cannot be read is skipped by the vault's forget (never removed: whose it is
                    // cannot be known); it is reported once per location, and the run goes on
                    var scan = await vault.ScanSnapshotsAsync(RecoveryPointTags.FilterFor(name), cancellationToken);
                    if (scan.Corrupt.Count > 0 && corruptReported.Add(info.Name))
                    {
                        var first = scan.Corrupt[0];
                        findings.Add(new RetentionFinding(name, info.Name, "snapshot-corrupt",
                            $"{scan.Corrupt.Count} snapshot file{(scan.Corrupt.Count == 1 ? "" : "s")} cannot be read ({first.ShortId}: {LocationSet.FirstLine(first.Reason)}{(scan.Corrupt.Count > 1 ? $", and {scan.Corrupt.Count - 1} more" : "")}) and {(scan.Corrupt.Count == 1 ? "was" : "were")} skipped, neither kept nor removed: run 'lifeline vault check --repo {info.Url}' and repair the vault from a copy"));
                    }

                    var result = await vault.ForgetAsync(rules, RecoveryPointTags.FilterFor(name), dryRun, cancellationToken);
                    Log.Forgot(_logger, name, info.Name, result.Keep.Count, result.Remove.Count, dryRun);
                    outcomes.Add(new RetentionOutcome(name, info.Name, result));
                    if (result.Keep.Count == 0 && result.Remove.Count == 0)
                    {
                        findings.Add(new RetentionFinding(name, info.Name, "retention-selects-nothing",
                            $"no snapshot of '{name}' (source {name}, tag {RecoveryPointTags.ComponentTag(name)}) is in this location, so the rule applied to nothing: back the component up first, or check its name"));
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException and not WrongPasswordException)
                {
                    findings.Add(new RetentionFinding(name, info.Name, "location-unavailable", OneLine(e)));
                }
            }
        }

        foreach (var f in findings)
        {
            Log.RetentionFinding(_logger, f.ToString());
        }

        var run = new ForgetRunResult { Outcomes = outcomes, Findings = findings, DryRun = dryRun };
        if (!dryRun)
        {
            var removed = outcomes.Sum(o => o.Result.Remove.Count);
            await AppendAuditAsync(new AuditRecord
            {
                Time = started,
                Action = AuditActions.Forget,
                Who = Who,
                Host = Host,
                Arguments = _options.Arguments,
                Component = names.Count == 1 ? names[0] : null,
                Outcome = findings.Count == 0 ? AuditOutcomes.Ok : outcomes.Count == 0 ? AuditOutcomes.Failed : AuditOutcomes.Partial,
                Message = $"removed {removed} snapshots" + (findings.Count == 0 ? "" : $"; {findings.Count} findings: {findings[0]}"),
                Duration = clock.Elapsed,
                Operation = opId,
            }, cancellationToken);
        }

        return run;
    }

    /// <summary>Prunes every location a component's policy names (restic's <c>prune</c>): the data no snapshot uses
    /// any more is deleted, partly used packs rewritten. A location that cannot be opened or pruned is a
    /// <c>location-unavailable</c> finding; the others are still pruned. Appends one audit record (not on a dry run).</summary>
    public async Task<PruneRunResult> PruneAsync(bool dryRun, CancellationToken cancellationToken = default)
    {
        var started = _time.GetUtcNow();
        var clock = Stopwatch.StartNew();
        var opId = Guid.NewGuid().ToString("N")[..12];
        using var alone = dryRun ? null : await _upkeep.WriterLockAsync(cancellationToken);
        if (!dryRun)
        {
            await AppendAuditAsync(StartRecord(started, AuditActions.Prune, null, opId), cancellationToken);
        }

        var locations = _plan.Components.Select(c => _plan.FindPolicy(c.Policy)).OfType<BackupPolicy>()
            .SelectMany(p => _locations.For(p)).Select(l => l.Location).DistinctBy(l => l.Name).ToList();
        var outcomes = new List<PruneOutcome>();
        var findings = new List<RetentionFinding>();
        foreach (var info in locations)
        {
            try
            {
                var vault = await _locations.OpenAsync(info.Name, cancellationToken: cancellationToken);
                var result = await vault.PruneAsync(dryRun, progress: null, cancellationToken);
                Log.Pruned(_logger, info.Name, result.PacksDeleted, result.PacksRewritten, result.BytesFreed);
                outcomes.Add(new PruneOutcome(info.Name, result));
            }
            catch (Exception e) when (e is not OperationCanceledException and not WrongPasswordException)
            {
                findings.Add(new RetentionFinding("*", info.Name, "location-unavailable", OneLine(e)));
            }
        }

        foreach (var f in findings)
        {
            Log.RetentionFinding(_logger, f.ToString());
        }

        if (!dryRun)
        {
            var freed = outcomes.Sum(o => o.Result.BytesFreed);
            await AppendAuditAsync(new AuditRecord
            {
                Time = started,
                Action = AuditActions.Prune,
                Who = Who,
                Host = Host,
                Arguments = _options.Arguments,
                Outcome = findings.Count == 0 ? AuditOutcomes.Ok : outcomes.Count == 0 ? AuditOutcomes.Failed : AuditOutcomes.Partial,
                Message = $"pruned {outcomes.Count} locations: {outcomes.Sum(o => o.Result.PacksDeleted)} packs deleted, {freed} bytes freed"
                          + (findings.Count == 0 ? "" : $"; {findings.Count} findings: {findings[0]}"),
                Duration = clock.Elapsed,
                Operation = opId,
            }, cancellationToken);
        }

        return new PruneRunResult { Outcomes = outcomes, Findings = findings, DryRun = dryRun };
    }

    /// <summary>The status of every component, from the locations and the history.</summary>
    public async Task<StatusReport> StatusAsync(CancellationToken cancellationToken = default)
    {
        var report = await new StatusCalculator(_plan, _locations, History, _time).ComputeAsync(cancellationToken);
        return report with { Checks = await LastChecksAsync(cancellationToken) };
    }

    /// <summary>The newest evidence record of each check per component and location (the read-back's included).</summary>
    public async Task<IReadOnlyList<Verification.EvidenceRecord>> LastChecksAsync(CancellationToken cancellationToken = default)
    {
        var last = new Dictionary<(string, string?, string?), Verification.EvidenceRecord>();
        try
        {
            await foreach (var r in Evidence.ReadAsync(cancellationToken))
            {
                last[(r.Check, r.Component, r.Location)] = r; // oldest first: the newest wins
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.AuditFailed(_logger, "evidence read", OneLine(e));
        }

        // a read-back failure is recorded only when it happens: a later ok backup of the component supersedes it
        var okSince = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        if (last.Values.Any(r => r.Check is "after-write" or "after-copy"))
        {
            await foreach (var a in Audit.ReadAsync(cancellationToken))
            {
                if (a.Action == AuditActions.Backup && a.Outcome == AuditOutcomes.Ok && a.Component is { } c)
                {
                    okSince[c] = a.Time;
                }
            }
        }

        foreach (var key in last.Keys.ToList())
        {
            var r = last[key];
            if (r.Check is "after-write" or "after-copy" && r.Component is { } c && okSince.TryGetValue(c, out var ok) && ok >= r.Time)
            {
                last.Remove(key);
            }
        }

        return [.. last.Values.OrderBy(r => r.Component ?? "\uffff", StringComparer.Ordinal).ThenBy(r => r.Check, StringComparer.Ordinal).ThenBy(r => r.Location, StringComparer.Ordinal)];
    }

    /// <summary>Records an audited action the service did not run itself (a vault key change by the CLI).</summary>
    public Task<AuditRecord> RecordAsync(string action, string outcome, string? message, TimeSpan duration, string? component = null, CancellationToken cancellationToken = default) =>
        Audit.AppendAsync(new AuditRecord
        {
            Time = _time.GetUtcNow() - duration,
            Action = action,
            Who = Who,
            Host = Host,
            Arguments = _options.Arguments,
            Component = component,
            Outcome = outcome,
            Message = message,
            Duration = duration,
        }, cancellationToken);

    /// <summary>How old a partial restore target or a restore staging directory must be before a later run removes
    /// it (the one a live restore works in is younger).</summary>
    internal static readonly TimeSpan StaleAfter = TimeSpan.FromHours(1);

    /// <summary>The record stored when an action starts: a SIGKILL leaves it without its end record, and the audit
    /// reads that as interrupted.</summary>
    private AuditRecord StartRecord(DateTimeOffset started, string action, string? component, string opId) => new()
    {
        Time = started,
        Action = action,
        Who = Who,
        Host = Host,
        Arguments = _options.Arguments,
        Component = component,
        Outcome = AuditOutcomes.Started,
        Operation = opId,
    };

    /// <summary>A new local target (<c>--as NAME</c>) is reinstated into a hidden sibling and renamed into place when
    /// whole, so a crash leaves the target absent, never half-written; null when the target is live, overwritten or
    /// not a local directory (a lake table at an object-store URL).</summary>
    private RestoreTarget? PartialTarget(RestoreTarget target, RestoreRunOptions options, string opId)
    {
        if (target.IsLive || options.Overwrite || target.Directory.Contains("://", StringComparison.Ordinal) || !Path.IsPathRooted(target.Directory))
        {
            return null;
        }

        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(target.Directory));
        var parent = Path.GetDirectoryName(full)!;
        var name = Path.GetFileName(full);
        RemoveStale(parent, $".{name}.lifeline-partial-*");
        return new RestoreTarget(Path.Combine(parent, $".{name}.lifeline-partial-{opId}"), IsLive: false);
    }

    private static ReinstateResult Publish(RestoreTarget partial, RestoreTarget target, ReinstateResult reinstated)
    {
        if (Directory.Exists(target.Directory))
        {
            Directory.Delete(target.Directory); // empty (checked before): the rename needs it gone
        }

        Directory.Move(partial.Directory, target.Directory);
        return reinstated with { Target = target.Directory, Summary = reinstated.Summary.Replace(partial.Directory, target.Directory, StringComparison.Ordinal) };
    }

    /// <summary>Removes directories matching <paramref name="pattern"/> in <paramref name="parent"/> left by a killed
    /// run: only those untouched for <see cref="StaleAfter"/>.</summary>
    private void RemoveStale(string parent, string pattern)
    {
        if (!Directory.Exists(parent))
        {
            return;
        }

        var cutoff = _time.GetUtcNow().UtcDateTime - StaleAfter;
        foreach (var dir in Directory.EnumerateDirectories(parent, pattern))
        {
            if (Directory.GetLastWriteTimeUtc(dir) < cutoff)
            {
                TryDelete(dir);
            }
        }
    }

    private string Who => _options.Who ?? Environment.UserName;

    private string Host => _options.Host ?? Environment.MachineName;

    private async Task AppendAuditAsync(AuditRecord record, CancellationToken ct)
    {
        try
        {
            await Audit.AppendAsync(record, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.AuditFailed(_logger, record.Action, OneLine(e));
        }
    }

    private Task<IReadOnlyList<IObjectStore>> AuditStoresAsync(CancellationToken ct)
    {
        var primaries = _plan.Policies.Select(p => p.Locations.Primary).OfType<string>();
        var order = primaries.Concat(_plan.Locations.Select(l => l.Name)).Distinct(StringComparer.Ordinal);
        var stores = new List<IObjectStore>();
        foreach (var name in order)
        {
            try
            {
                stores.Add(_locations.Store(name));
            }
            catch (LocationUnavailableException)
            {
                // a malformed location: its records are skipped, appends go to the next
            }
        }

        return Task.FromResult<IReadOnlyList<IObjectStore>>(stores);
    }

    private PlanComponent Component(string name) => _plan.FindComponent(name)
        ?? throw new UnknownComponentException(name, $"the plan names {string.Join(", ", _plan.Components.Select(c => c.Name))}{Suggestions.DidYouMean(name, _plan.Components.Select(c => c.Name).ToList())}");

    private static string KindName(PlanComponent c) => PlanChecker.KindOf(c)?.ToString() ?? "unknown";

    private static string OneLine(Exception e) => LocationSet.FirstLine(Secrets.RedactText(e.Message));

    private static void Report(IProgress<RecoveryProgress>? progress, string opId, string component, string phase, string? location) =>
        progress?.Report(new RecoveryProgress { OperationId = opId, Component = component, Phase = phase, Location = location });

    private static SyncProgress? VaultProgress(IProgress<RecoveryProgress>? progress, string opId, string component, string phase, string location) =>
        progress is null ? null : new SyncProgress(v => progress.Report(new RecoveryProgress { OperationId = opId, Component = component, Phase = phase, Location = location, Vault = v }));

    /// <summary>Passes the vault's progress on synchronously (in order), unlike <see cref="Progress{T}"/>.</summary>
    private sealed class SyncProgress(Action<VaultProgress> report) : IProgress<VaultProgress>
    {
        public void Report(VaultProgress value) => report(value);
    }

    private static FileStream HoldCaptureLock(string path, string component)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
        }
        catch (IOException e)
        {
            throw new RecoveryException($"another backup of '{component}' is running on this host ({path} is held): wait for it, or run again when it has finished", e);
        }
    }

    private static void ResetDirectory(string path)
    {
        TryDelete(path);
        Directory.CreateDirectory(path);
    }

    private static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path))
            {
                Directory.Delete(path, recursive: true);
            }
        }
        catch (IOException)
        {
            // left for the next run's reset
        }
    }
}
