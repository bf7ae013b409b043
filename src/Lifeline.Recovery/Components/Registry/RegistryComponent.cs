using System.Security.Cryptography;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;
using Lifeline.Registry;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;

namespace Lifeline.Recovery.Components.Registry;

/// <summary>Where the registry adapter reads and restores. Every property has a documented default.</summary>
public sealed record RegistryAdapterOptions
{
    /// <summary>The native registry (data directory, optionally PostgreSQL metadata); default <c>./lifeline-data/registry</c>
    /// with SQLite. Ignored for capture when <see cref="ApiUrl"/> is set.</summary>
    public RegistryOptions? Registry { get; init; }

    /// <summary>Back up (and restore in place) through MLflow's REST API of this server instead; default none (native).</summary>
    public Uri? ApiUrl { get; init; }

    /// <summary>The bearer token for <see cref="ApiUrl"/>; default none. Never logged or tagged.</summary>
    public string? ApiToken { get; init; }

    /// <summary>Where <c>--as NAME</c> restores go (as <c>ROOT/NAME</c>, a new data directory); default the parent of
    /// the registry's data directory.</summary>
    public string? RestoreRoot { get; init; }

    /// <summary>The clock; default the system clock.</summary>
    public TimeProvider? Time { get; init; }
}

/// <summary>
/// The registry adapter: native (SQLite online backup or a consistent PostgreSQL export, plus the artifacts with a
/// SHA-256 manifest) or, with <see cref="RegistryAdapterOptions.ApiUrl"/>, through MLflow's REST API for any MLflow
/// server. A restore goes into an empty data directory (<c>--as</c>, or the live one only when it holds no registry),
/// or through the API into the live server; the point is verified against its manifest first.
/// </summary>
public sealed class RegistryComponent : IRecoveryPointSource, IRestorer, IVerifier, IHealthProbe
{
    internal const string StageName = "registry";

    private readonly PlanComponent _component;
    private readonly RegistryAdapterOptions _options;
    private readonly RegistryOptions _registry;
    private readonly TimeProvider _time;

    /// <summary>Creates the adapter for <paramref name="component"/>.</summary>
    public RegistryComponent(PlanComponent component, RegistryAdapterOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(component);
        _component = component;
        _options = options ?? new RegistryAdapterOptions();
        _registry = _options.Registry ?? new RegistryOptions();
        _time = _options.Time ?? TimeProvider.System;
    }

    /// <inheritdoc/>
    public string Name => _component.Name;

    /// <inheritdoc/>
    public ComponentKind Kind => ComponentKind.Registry;

    /// <inheritdoc/>
    public ComponentSelector AppliesTo => new(ComponentKind.Registry, [_component.Name]);

    /// <summary><c>api</c> when the adapter works through a server's REST API, else <c>native</c>.</summary>
    public string Mode => _options.ApiUrl is null ? "native" : "api";

    /// <summary>The live registry (its data directory, PostgreSQL metadata), for the restore tests to compare with.</summary>
    internal RegistryOptions Live => _registry;

    /// <summary>The live server's API in API mode, and its token (never logged).</summary>
    internal (Uri? Url, string? Token) LiveApi => (_options.ApiUrl, _options.ApiToken);

    /// <inheritdoc/>
    public async Task<CapturedPoint> CaptureAsync(CaptureContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var stage = Path.Combine(context.WorkDirectory, StageName);
        Directory.CreateDirectory(stage);
        progress?.Report(new RecoveryProgress { OperationId = context.OperationId, Component = Name, Phase = "capture" });
        RegistryBackupManifest manifest;
        if (_options.ApiUrl is { } url)
        {
            using var http = Http(url);
            manifest = await ApiExport.ExportAsync(new MlflowClient(http, _options.ApiToken), stage, _time, cancellationToken);
        }
        else
        {
            if (_registry.PostgresConnectionString is null && !File.Exists(Path.Combine(_registry.DataDirectory, "registry.db")))
            {
                throw new RecoveryException($"no registry at {Path.GetFullPath(_registry.DataDirectory)} (no registry.db): start it there ('lifeline up'), or point the plan's components.{Name}.data (or sources.data) at its data directory, or back it up through `api:`");
            }

            if (context.KeepDirectory is { } keep)
            {
                // the staged artifacts are kept between captures as hard links, so unchanged ones are neither hashed nor read again
                var kept = Path.Combine(keep, StageName);
                var (point, staging) = await NativeBackup.CreateAsync(_registry, kept, _time, cancellationToken, keepStaging: true);
                return new CapturedPoint([kept], RegistryVault.Tags(point.Mode, point.CreatedAt, Name), () =>
                {
                    NativeBackup.ClearAllBut(kept, "artifacts");
                    if (!staging.AllLinked)
                    {
                        ArtifactMirror.Delete(kept); // copies, not links: keeping them would hold a second copy of the artifacts
                    }

                    return ValueTask.CompletedTask;
                }) { Force = context.Full };
            }

            manifest = await NativeBackup.CreateAsync(_registry, stage, _time, cancellationToken);
        }

        return new CapturedPoint([stage], RegistryVault.Tags(manifest.Mode, manifest.CreatedAt, Name)) { Force = context.Full };
    }

    /// <inheritdoc/>
    public RestoreTarget ResolveTarget(string? asName)
    {
        if (asName is null)
        {
            return _options.ApiUrl is { } url ? new RestoreTarget(url.ToString(), IsLive: true) : new RestoreTarget(Path.GetFullPath(_registry.DataDirectory), IsLive: true);
        }

        if (asName.Length == 0 || asName.IndexOfAny(['/', '\\']) >= 0 || asName is "." or "..")
        {
            throw new RecoveryException($"'{asName}' is not a name for --as: use letters, digits, '-' and '_'");
        }

        var root = _options.RestoreRoot ?? Path.GetDirectoryName(Path.GetFullPath(_registry.DataDirectory)) ?? Directory.GetCurrentDirectory();
        return new RestoreTarget(Path.Combine(root, asName), IsLive: false);
    }

    /// <inheritdoc/>
    public async Task<ReinstateResult> ReinstateAsync(ReinstateContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var directory = RegistryVault.FindBackupDirectory(context.StagedDirectory);
        RegistryBackupManifest manifest;
        ImportResult? import;
        try
        {
            if (context.Target.IsLive && _options.ApiUrl is { } url)
            {
                using var http = Http(url);
                (manifest, import) = await RegistryVault.ReinstateAsync(directory, null, new MlflowClient(http, _options.ApiToken), context.Point.ShortId, _time, cancellationToken);
            }
            else
            {
                // the live registry keeps its PostgreSQL metadata; a restore beside it is a new SQLite registry
                var target = context.Target.IsLive ? _registry with { DataDirectory = context.Target.Directory } : new RegistryOptions { DataDirectory = context.Target.Directory };
                (manifest, import) = await RegistryVault.ReinstateAsync(directory, target, null, context.Point.ShortId, _time, cancellationToken);
            }
        }
        catch (InvalidOperationException e) when (e.Message.Contains("already holds", StringComparison.Ordinal))
        {
            // restoring never merges into a registry that has data: the same refusal as live data
            throw new LiveDataProtectedException(context.Target.Directory);
        }

        var items = manifest.Counts.Values.Sum();
        var summary = $"{manifest.Mode} registry point {context.Point.ShortId} into {context.Target.Directory}: " + string.Join(", ", manifest.Counts.Select(c => $"{c.Value} {c.Key.Replace('_', ' ')}"))
            + (import is { } i ? $"; {i.Created} created, {i.Skipped} already there" : "");
        return new ReinstateResult(context.Target.Directory, items, summary);
    }

    /// <inheritdoc/>
    public async Task<VerificationResult> VerifyAsync(RecoveryPoint point, string stagedDirectory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(point);
        string directory;
        RegistryBackupManifest manifest;
        try
        {
            directory = RegistryVault.FindBackupDirectory(stagedDirectory);
            manifest = await NativeBackup.ReadManifestAsync(directory, RegistryVault.ModeOf(directory), cancellationToken);
        }
        catch (InvalidDataException e)
        {
            return new VerificationResult(false, [$"registry point {point.ShortId}: {e.Message}"]);
        }

        var problems = new List<string>();
        if (manifest.Mode == "native" && !HasSqliteHeader(Path.Combine(directory, NativeBackup.DatabaseFile)))
        {
            problems.Add($"registry point {point.ShortId}: {NativeBackup.DatabaseFile} is not a SQLite database");
        }

        foreach (var entry in manifest.Artifacts)
        {
            var path = Path.Combine(directory, "artifacts", entry.Path);
            if (!File.Exists(path))
            {
                problems.Add($"artifact {entry.Path} is missing from registry point {point.ShortId}");
                continue;
            }

            await using var stream = File.OpenRead(path);
            var sha = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
            if (!string.Equals(sha, entry.Sha256, StringComparison.OrdinalIgnoreCase))
            {
                problems.Add($"artifact {entry.Path} in registry point {point.ShortId} does not match its SHA-256 in the manifest");
            }
        }

        return new VerificationResult(problems.Count == 0, problems);
    }

    /// <inheritdoc/>
    public async Task<HealthResult> ProbeAsync(CancellationToken cancellationToken)
    {
        if (_options.ApiUrl is { } url)
        {
            try
            {
                using var http = Http(url);
                var models = await new MlflowClient(http, _options.ApiToken).ListRegisteredModelsAsync(cancellationToken: cancellationToken).CountAsync(cancellationToken);
                return new HealthResult(true, $"{url} answers: {models} registered models");
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or Lifeline.Registry.Contracts.MlflowException)
            {
                return new HealthResult(false, $"{url} does not answer: {Configuration.Secrets.RedactText(e.Message)}");
            }
        }

        if (!string.IsNullOrEmpty(_registry.PostgresConnectionString))
        {
            return new HealthResult(true, "PostgreSQL metadata (not probed), artifacts in " + Path.GetFullPath(_registry.DataDirectory));
        }

        var db = Path.Combine(_registry.DataDirectory, NativeBackup.DatabaseFile);
        return HasSqliteHeader(db)
            ? new HealthResult(true, $"{Path.GetFullPath(db)} is a SQLite registry")
            : new HealthResult(false, $"no registry in {Path.GetFullPath(_registry.DataDirectory)} ({NativeBackup.DatabaseFile} missing or not SQLite)");
    }

    private static HttpClient Http(Uri url) => new() { BaseAddress = url, Timeout = TimeSpan.FromMinutes(10) };

    private static bool HasSqliteHeader(string path)
    {
        if (!File.Exists(path))
        {
            return false;
        }

        Span<byte> header = stackalloc byte[16];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(header, 16, throwOnEndOfStream: false) == 16 && header.SequenceEqual("SQLite format 3\0"u8);
    }
}
