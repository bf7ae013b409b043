using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;
using Microsoft.Data.Sqlite;

namespace Lifeline.Recovery.Components.Jobs;

/// <summary>Where the jobs adapter reads and restores. Every property has a documented default.</summary>
public sealed record JobsAdapterOptions
{
    /// <summary>The directory relative file patterns are taken from and where a live restore writes (the plan file's
    /// directory); default the current directory.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>The plan file, always part of a jobs point (it holds the plan's own schedules); default none.</summary>
    public string? PlanFile { get; init; }

    /// <summary>The scheduler's SQLite job store, backed up (online, consistently) when it exists; default none.</summary>
    public string? JobStore { get; init; }

    /// <summary>Where <c>--as NAME</c> restores go (as <c>ROOT/NAME</c>); default the parent of <see cref="BaseDirectory"/>.</summary>
    public string? RestoreRoot { get; init; }

    /// <summary>The clock of the capture time; default the system clock.</summary>
    public TimeProvider? Time { get; init; }
}

/// <summary>
/// The jobs adapter: the plan's "Databricks workspace", job definitions and their schedules, so that a workspace
/// recovery restores the jobs and when they run, not only the data. A point holds the job-definition files (the plan
/// file itself, whose policies, checks and drills are the scheduled jobs, and every file the component's
/// <c>files</c> name, e.g. <c>jobs/*.yaml</c>) and, when it exists, a consistent copy of the scheduler's SQLite job
/// store taken through SQLite's online backup API, with a SHA-256 manifest. Generic on purpose: it does not read
/// the files or the store's tables, so the scheduler's own format can change without it.
/// </summary>
public sealed class JobsComponent : IRecoveryPointSource, IRestorer, IVerifier, IHealthProbe
{
    internal const string StageName = "jobs";
    private const string FilesDir = "files";
    private const string StoreDir = "store";
    private const string ManifestJson = "manifest.json";

    private readonly PlanComponent _component;
    private readonly JobsAdapterOptions _options;
    private readonly string _base;

    /// <summary>Creates the adapter for the jobs component <paramref name="component"/>.</summary>
    public JobsComponent(PlanComponent component, JobsAdapterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(component);
        _component = component;
        _options = options ?? new JobsAdapterOptions();
        _base = Path.GetFullPath(_options.BaseDirectory ?? Directory.GetCurrentDirectory());
    }

    /// <inheritdoc/>
    public string Name => _component.Name;

    /// <inheritdoc/>
    public ComponentKind Kind => ComponentKind.Jobs;

    /// <inheritdoc/>
    public ComponentSelector AppliesTo => new(ComponentKind.Jobs, [_component.Name]);

    /// <summary>The job store's full path, if the adapter has one.</summary>
    public string? JobStore => _options.JobStore is { } s ? Path.GetFullPath(Path.Combine(_base, s)) : null;

    /// <inheritdoc/>
    public async Task<CapturedPoint> CaptureAsync(CaptureContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var stage = Path.Combine(context.WorkDirectory, StageName);
        Directory.CreateDirectory(Path.Combine(stage, FilesDir));
        var manifest = new JobsManifest();
        foreach (var file in ResolveFiles())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rel = StagedPath(file);
            var dest = Path.Combine(stage, FilesDir, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest, overwrite: true);
            File.SetLastWriteTimeUtc(dest, File.GetLastWriteTimeUtc(file));
            var bytes = await File.ReadAllBytesAsync(dest, cancellationToken);
            manifest.Files.Add(new JobsManifestFile { Path = rel.Replace('\\', '/'), Size = bytes.Length, Sha = Secrets.Fingerprint(bytes) });
            progress?.Report(new RecoveryProgress { OperationId = context.OperationId, Component = Name, Phase = "capture" });
        }

        if (JobStore is { } store && File.Exists(store))
        {
            var rel = StagedPath(store);
            var dest = Path.Combine(stage, StoreDir, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            OnlineCopy(store, dest);
            var bytes = await File.ReadAllBytesAsync(dest, cancellationToken);
            manifest.Store = new JobsManifestFile { Path = rel.Replace('\\', '/'), Size = bytes.Length, Sha = Secrets.Fingerprint(bytes) };
            progress?.Report(new RecoveryProgress { OperationId = context.OperationId, Component = Name, Phase = "capture", Location = store });
        }

        if (manifest.Files.Count == 0 && manifest.Store is null)
        {
            throw new RecoveryException($"component '{Name}' has nothing to back up: no job-definition file and no job store at {JobStore ?? "(none)"}; name the files in `files:`, or start the scheduler first");
        }

        var time = (_options.Time ?? TimeProvider.System).GetUtcNow();
        manifest.CapturedAt = time;
        await File.WriteAllBytesAsync(Path.Combine(stage, ManifestJson), JsonSerializer.SerializeToUtf8Bytes(manifest, JobsJson.Default.JobsManifest), cancellationToken);
        return new CapturedPoint([stage], new RecoveryPointTags { Component = Name, Time = time, Mode = manifest.Store is null ? "files" : "files+store" }) { Force = context.Full };
    }

    /// <inheritdoc/>
    public RestoreTarget ResolveTarget(string? asName)
    {
        if (asName is null)
        {
            return new RestoreTarget(_base, IsLive: true);
        }

        if (asName.Length == 0 || asName.IndexOfAny(['/', '\\']) >= 0 || asName is "." or "..")
        {
            throw new RecoveryException($"'{asName}' is not a name for --as: use letters, digits, '-' and '_'");
        }

        var root = _options.RestoreRoot ?? Path.GetDirectoryName(_base) ?? _base;
        return new RestoreTarget(Path.Combine(root, asName), IsLive: false);
    }

    /// <inheritdoc/>
    public async Task<ReinstateResult> ReinstateAsync(ReinstateContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var stage = Path.Combine(context.StagedDirectory, StageName);
        var manifest = await ReadManifestAsync(stage, cancellationToken)
            ?? throw new RecoveryException($"point {context.Point.ShortId} of '{Name}' holds no jobs manifest");
        var target = context.Target.Directory;
        var items = new List<(string From, string To, bool Store)>();
        items.AddRange(manifest.Files.Select(f => (Path.Combine(stage, FilesDir, f.Path), Destination(f.Path, context.Target), false)));
        if (manifest.Store is { } s)
        {
            items.Add((Path.Combine(stage, StoreDir, s.Path), Destination(s.Path, context.Target), true));
        }

        // refuse before writing anything: a restore never half-overwrites
        if (!context.Overwrite && items.FirstOrDefault(i => File.Exists(i.To)) is { To: { } existing })
        {
            throw new LiveDataProtectedException(existing);
        }

        Directory.CreateDirectory(target);
        foreach (var (from, to, isStore) in items)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Directory.CreateDirectory(Path.GetDirectoryName(to)!);
            var temp = to + ".lifeline-restore";
            File.Copy(from, temp, overwrite: true);
            File.SetLastWriteTimeUtc(temp, File.GetLastWriteTimeUtc(from));
            if (isStore)
            {
                // an old write-ahead log beside the store would be replayed into the restored database
                File.Delete(to + "-wal");
                File.Delete(to + "-shm");
            }

            File.Move(temp, to, overwrite: true); // whole file or the old one, never half
            progress?.Report(new RecoveryProgress { OperationId = context.Point.Id, Component = Name, Phase = "reinstate" });
        }

        var summary = $"{manifest.Files.Count} job-definition files" + (manifest.Store is null ? "" : " and the job store") + $" into {target}";
        return new ReinstateResult(target, items.Count, summary);
    }

    /// <inheritdoc/>
    public async Task<VerificationResult> VerifyAsync(RecoveryPoint point, string stagedDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(point);
        var stage = Path.Combine(stagedDirectory, StageName);
        var manifest = await ReadManifestAsync(stage, cancellationToken);
        if (manifest is null)
        {
            return new VerificationResult(false, [$"jobs point {point.ShortId} has no {ManifestJson}"]);
        }

        var problems = new List<string>();
        foreach (var (f, dir) in manifest.Files.Select(f => (f, FilesDir)).Concat(manifest.Store is { } s ? [(s, StoreDir)] : []))
        {
            var path = Path.Combine(stage, dir, f.Path);
            if (!File.Exists(path))
            {
                problems.Add($"{f.Path} is missing from point {point.ShortId}");
            }
            else if (Secrets.Fingerprint(await File.ReadAllBytesAsync(path, cancellationToken)) != f.Sha)
            {
                problems.Add($"{f.Path} in point {point.ShortId} does not match its manifest");
            }
            else if (dir == StoreDir && IntegrityCheck(path) is { } bad)
            {
                problems.Add($"the job store in point {point.ShortId} fails SQLite's integrity check: {bad}");
            }
        }

        return new VerificationResult(problems.Count == 0, problems);
    }

    /// <inheritdoc/>
    public Task<HealthResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var missing = _component.Files.Where(p => !Globs.IsGlob(p) && !File.Exists(Path.Combine(_base, p))).ToList();
        if (_options.PlanFile is { } plan && !File.Exists(plan))
        {
            missing.Insert(0, plan);
        }

        if (missing.Count > 0)
        {
            return Task.FromResult(new HealthResult(false, "missing: " + string.Join(", ", missing)));
        }

        if (JobStore is { } store && File.Exists(store) && IntegrityCheck(store, quick: true) is { } bad)
        {
            return Task.FromResult(new HealthResult(false, $"the job store {store} fails SQLite's quick check: {bad}"));
        }

        return Task.FromResult(new HealthResult(true, $"{ResolveFiles().Count()} job-definition files" + (JobStore is { } s && File.Exists(s) ? ", job store " + s : ", no job store yet")));
    }

    /// <summary>A consistent copy of a live SQLite database (other connections may be writing) by SQLite's online backup.</summary>
    internal static void OnlineCopy(string source, string destination)
    {
        File.Delete(destination);
        using (var from = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = source, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
        using (var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = destination, Pooling = false }.ToString()))
        {
            from.Open();
            to.Open();
            from.BackupDatabase(to);
            using var journal = to.CreateCommand();
            journal.CommandText = "PRAGMA journal_mode=DELETE"; // one self-contained file in the point
            journal.ExecuteNonQuery();
        }
    }

    /// <summary>SQLite's own verdict on a database file: null when ok, else its first complaint.</summary>
    internal static string? IntegrityCheck(string path, bool quick = false)
    {
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = quick ? "PRAGMA quick_check" : "PRAGMA integrity_check";
            var result = command.ExecuteScalar() as string;
            return result == "ok" ? null : result ?? "no answer";
        }
        catch (SqliteException e)
        {
            return e.Message.Split('\n')[0];
        }
    }

    private static string Destination(string stagedPath, RestoreTarget target) =>
        Configuration.StagedFilePaths.Destination(stagedPath, target.Directory, target.IsLive);

    private IEnumerable<string> ResolveFiles()
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        if (_options.PlanFile is { } plan)
        {
            var full = Path.GetFullPath(Path.Combine(_base, plan));
            if (!File.Exists(full))
            {
                throw new RecoveryException($"the plan file {full} of component '{Name}' does not exist");
            }

            seen.Add(full);
        }

        foreach (var pattern in _component.Files)
        {
            var matches = Globs.Expand(pattern, _base).ToList();
            if (matches.Count == 0 && !Globs.IsGlob(pattern))
            {
                throw new RecoveryException($"file '{pattern}' named by component '{Name}' does not exist (in {_base}): create it, or remove it from `files:`");
            }

            seen.UnionWith(matches.Select(Path.GetFullPath));
        }

        if (JobStore is { } store)
        {
            seen.Remove(store); // the store goes in through the online backup, never as a file copy
        }

        return seen;
    }

    private string StagedPath(string file) => Configuration.StagedFilePaths.Staged(_base, file);

    private static async Task<JobsManifest?> ReadManifestAsync(string stage, CancellationToken ct)
    {
        var path = Path.Combine(stage, ManifestJson);
        if (!File.Exists(path))
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(await File.ReadAllBytesAsync(path, ct), JobsJson.Default.JobsManifest);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    internal sealed class JobsManifest
    {
        public DateTimeOffset CapturedAt { get; set; }

        public List<JobsManifestFile> Files { get; set; } = [];

        public JobsManifestFile? Store { get; set; }
    }

    internal sealed class JobsManifestFile
    {
        public string Path { get; set; } = "";

        public long Size { get; set; }

        public string Sha { get; set; } = "";
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(JobsComponent.JobsManifest))]
internal sealed partial class JobsJson : JsonSerializerContext;
