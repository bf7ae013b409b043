using Lifeline.Lake;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Recovery.Components.Lake;

/// <summary>Where the lake-table adapters read and restore. Every property has a documented default.</summary>
public sealed record LakeAdapterOptions
{
    /// <summary>The lake: each table at <c>ROOT/TABLE</c> (a path, <c>s3://</c> or <c>azure://</c> location);
    /// default <c>./lifeline-data/lake</c>.</summary>
    public string? Root { get; init; }

    /// <summary>A location per component name, overriding <c>ROOT/TABLE</c>; default none.</summary>
    public IReadOnlyDictionary<string, string> Tables { get; init; } = new Dictionary<string, string>();

    /// <summary>Where <c>--as NAME</c> restores go (as <c>ROOT/NAME</c>); default <see cref="Root"/>.</summary>
    public string? RestoreRoot { get; init; }

    /// <summary>Environment variables with the object stores' credentials; default the process environment.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }
}

/// <summary>
/// The lake-table adapter, one per table of the plan (leads, predictions, conversions, audit_logs, monitoring_metrics):
/// a point is one consistent version of the table (<see cref="TableBackupView"/>); a restore writes it into an empty
/// location beside the live table (<c>--as</c>) or, asked explicitly, over the live one (the restored version's files
/// and log are written, later commits removed: the table is at the restored version, with its history up to it).
/// </summary>
public sealed class LakeTableComponent : IRecoveryPointSource, IRestorer, IVerifier, IHealthProbe
{
    /// <summary>The lake's default root.</summary>
    public const string DefaultRoot = "./lifeline-data/lake";

    private readonly PlanComponent _component;
    private readonly LakeAdapterOptions _options;

    /// <summary>Creates the adapter for the lake table <paramref name="component"/>.</summary>
    public LakeTableComponent(PlanComponent component, LakeAdapterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(component);
        _component = component;
        _options = options ?? new LakeAdapterOptions();
        Location = LakeTableVault.NormalizeLocation(_options.Tables.TryGetValue(component.Name, out var explicitLocation)
            ? explicitLocation
            : Join(_options.Root ?? DefaultRoot, component.Table ?? component.Name));
    }

    /// <inheritdoc/>
    public string Name => _component.Name;

    /// <summary>The live table's location.</summary>
    public string Location { get; }

    /// <summary>Opens the live table (for the restore tests to compare with).</summary>
    internal DeltaTable OpenLive() => LakeTableVault.OpenTable(Location, _options.Environment);

    /// <inheritdoc/>
    public ComponentKind Kind => ComponentKind.LakeTable;

    /// <inheritdoc/>
    public ComponentSelector AppliesTo => new(ComponentKind.LakeTable, [_component.Name]);

    /// <inheritdoc/>
    public async Task<CapturedPoint> CaptureAsync(CaptureContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var table = LakeTableVault.OpenTable(Location, _options.Environment);
        progress?.Report(new RecoveryProgress { OperationId = context.OperationId, Component = Name, Phase = "capture", Location = Location });
        var staging = Path.Combine(context.WorkDirectory, LakeTableVault.StageName);
        var view = await TableBackupView.MaterializeAsync(table, null, staging, cancellationToken);
        return new CapturedPoint([staging], LakeTableVault.Tags(Name, Location, view)) { Force = context.Full };
    }

    /// <inheritdoc/>
    public RestoreTarget ResolveTarget(string? asName)
    {
        if (asName is null)
        {
            return new RestoreTarget(Location, IsLive: true);
        }

        if (asName.Length == 0 || asName.IndexOfAny(['/', '\\', ':']) >= 0 || asName is "." or "..")
        {
            throw new RecoveryException($"'{asName}' is not a name for --as: use letters, digits, '-' and '_'");
        }

        return new RestoreTarget(LakeTableVault.NormalizeLocation(Join(_options.RestoreRoot ?? _options.Root ?? DefaultRoot, asName)), IsLive: false);
    }

    /// <inheritdoc/>
    public async Task<ReinstateResult> ReinstateAsync(ReinstateContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var staged = LakeTableVault.FindTableDirectory(context.StagedDirectory)
            ?? throw new RecoveryException($"point {context.Point.ShortId} of '{Name}' holds no lake table");
        var target = context.Target.Directory;
        var url = LakeTableVault.IsUrl(target);
        var store = url ? Lifeline.Storage.ObjectStores.Open(target, _options.Environment) : new FileSystemObjectStore(target);
        var hasData = false;
        await foreach (var _ in store.ListAsync("", cancellationToken))
        {
            hasData = true;
            break;
        }

        if (hasData && !context.Overwrite)
        {
            throw new LiveDataProtectedException(target);
        }

        progress?.Report(new RecoveryProgress { OperationId = context.Point.Id, Component = Name, Phase = "reinstate", Location = target });
        if (url)
        {
            await LakeTableVault.UploadAsync(staged, store, cancellationToken);
        }
        else
        {
            CopyKeepingTimes(staged, target);
        }

        var table = new DeltaTable(store, "");
        var restoredVersion = (await new DeltaTable(new FileSystemObjectStore(staged), "").GetSnapshotAsync(null, cancellationToken)).Version;
        if (hasData && (await table.GetSnapshotAsync(null, cancellationToken)).Version > restoredVersion)
        {
            await TableBackupView.TrimToVersionAsync(table, restoredVersion, cancellationToken);
        }

        var snapshot = await table.GetSnapshotAsync(null, cancellationToken);
        var rows = snapshot.RowCountFromStats ?? await table.CountRowsAsync(snapshot, cancellationToken);
        return new ReinstateResult(target, snapshot.Files.Count, $"table {Name} at version {snapshot.Version} into {target}: {snapshot.Files.Count} files, {rows} rows");
    }

    /// <inheritdoc/>
    public async Task<VerificationResult> VerifyAsync(RecoveryPoint point, string stagedDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(point);
        if (LakeTableVault.FindTableDirectory(stagedDirectory) is not { } staged)
        {
            return new VerificationResult(false, [$"point {point.ShortId} of '{Name}' holds no lake table (no _delta_log)"]);
        }

        var table = new DeltaTable(new FileSystemObjectStore(staged), "");
        try
        {
            var report = await TableVerifier.VerifyAsync(table, false, null, cancellationToken);
            var problems = report.Problems.Select(p => $"point {point.ShortId} of '{Name}': {p.Kind}: {p.Message}").ToList();
            if (point.Tags.Version is { } v && report.Version != v)
            {
                problems.Add($"point {point.ShortId} of '{Name}' holds version {report.Version}, its tag says {v}");
            }

            return new VerificationResult(problems.Count == 0, problems);
        }
        catch (DeltaProtocolException e)
        {
            return new VerificationResult(false, [$"point {point.ShortId} of '{Name}': {e.Message}"]);
        }
    }

    /// <inheritdoc/>
    public async Task<HealthResult> ProbeAsync(CancellationToken cancellationToken)
    {
        try
        {
            var snapshot = await LakeTableVault.OpenTable(Location, _options.Environment).GetSnapshotAsync(null, cancellationToken);
            return new HealthResult(true, $"{Location} at version {snapshot.Version}, {snapshot.Files.Count} files");
        }
        catch (Exception e) when (e is DeltaProtocolException or IOException or ArgumentException or TimeoutException or Lifeline.Storage.ObjectStoreAuthException)
        {
            return new HealthResult(false, $"{Location}: {e.Message}");
        }
    }

    private static string Join(string root, string name) =>
        LakeTableVault.IsUrl(root) ? ComponentSources.Join(root, name) : Path.Combine(root, name);

    private static void CopyKeepingTimes(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories)
                     .OrderBy(f => f.Contains("_delta_log", StringComparison.Ordinal) ? 1 : 0).ThenBy(f => f, StringComparer.Ordinal))
        {
            var dest = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            var temp = dest + ".lifeline-restore";
            File.Copy(file, temp, overwrite: true);
            File.SetLastWriteTimeUtc(temp, File.GetLastWriteTimeUtc(file));
            File.Move(temp, dest, overwrite: true);
        }
    }
}
