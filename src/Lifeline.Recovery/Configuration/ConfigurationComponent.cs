using System.Collections;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lifeline.Recovery.Components;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;

namespace Lifeline.Recovery.Configuration;

/// <summary>Where the configuration adapter reads and restores. Every property has a documented default.</summary>
public sealed record ConfigurationOptions
{
    /// <summary>The directory relative file patterns are taken from, and where a live restore writes (the plan file's
    /// directory); default the current directory.</summary>
    public string? BaseDirectory { get; init; }

    /// <summary>The environment variables to read; default the process environment.</summary>
    public IReadOnlyDictionary<string, string?>? Environment { get; init; }

    /// <summary>Where <c>--as NAME</c> restores go (as <c>ROOT/NAME</c>); default the parent of <see cref="BaseDirectory"/>.</summary>
    public string? RestoreRoot { get; init; }

    /// <summary>The clock of the capture time; default the system clock.</summary>
    public TimeProvider? Time { get; init; }
}

/// <summary>One entry of a configuration point, safe to print: a secret shows as <c>*** (sha256:…)</c>.</summary>
/// <param name="Kind"><c>file</c> or <c>env</c>.</param>
/// <param name="Name">The file's path (relative to the base directory) or the variable's name.</param>
/// <param name="Display">A file's size and fingerprint; a variable's value, or its redaction when it is a secret.</param>
/// <param name="Fingerprint">Changes exactly when the content changes.</param>
/// <param name="Secret">True for a secret (its value is never in <paramref name="Display"/>).</param>
public sealed record ConfigurationEntry(string Kind, string Name, string Display, string Fingerprint, bool Secret)
{
    /// <summary><c>env  NAME = VALUE</c> / <c>file PATH  SIZE bytes sha256:…</c>.</summary>
    public override string ToString() => Kind == "env" ? $"env  {Name} = {Display}" : $"file {Name}  {Display}";
}

/// <summary>
/// The configuration adapter: the plan component's files (paths and globs) and environment variables (names and
/// prefixes) captured as one recovery point, with a manifest. Values are stored only inside the vault snapshot
/// (encrypted); everything this class returns for display goes through <see cref="Secrets"/>. A restore writes the
/// files to their paths under the target and the variables, exactly, to <c>lifeline.env</c> (mode 0600).
/// </summary>
public sealed class ConfigurationComponent : IRecoveryPointSource, IRestorer, IVerifier, IHealthProbe
{
    /// <summary>The file a restore writes the variables to.</summary>
    public const string EnvFileName = "lifeline.env";

    internal const string StageName = "configuration";
    private const string FilesDir = "files";
    private const string EnvJson = "env.json";
    private const string ManifestJson = "manifest.json";

    private readonly PlanComponent _component;
    private readonly string _base;
    private readonly ConfigurationOptions _options;

    /// <summary>Creates the adapter for <paramref name="component"/>.</summary>
    public ConfigurationComponent(PlanComponent component, ConfigurationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(component);
        _component = component;
        _options = options ?? new ConfigurationOptions();
        _base = Path.GetFullPath(_options.BaseDirectory ?? Directory.GetCurrentDirectory());
    }

    /// <inheritdoc/>
    public string Name => _component.Name;

    /// <inheritdoc/>
    public ComponentKind Kind => ComponentKind.Configuration;

    /// <inheritdoc/>
    public ComponentSelector AppliesTo => new(ComponentKind.Configuration, [_component.Name]);

    /// <inheritdoc/>
    public async Task<CapturedPoint> CaptureAsync(CaptureContext context, IProgress<RecoveryProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        var stage = Path.Combine(context.WorkDirectory, StageName);
        Directory.CreateDirectory(Path.Combine(stage, FilesDir));
        var manifest = new Manifest();
        foreach (var file in ResolveFiles())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var rel = StagedPath(file);
            var dest = Path.Combine(stage, FilesDir, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest, overwrite: true);
            File.SetLastWriteTimeUtc(dest, File.GetLastWriteTimeUtc(file));
            var bytes = await File.ReadAllBytesAsync(dest, cancellationToken);
            manifest.Files.Add(new ManifestFile { Path = rel.Replace('\\', '/'), Size = bytes.Length, Sha = Secrets.Fingerprint(bytes), Secret = Secrets.IsSecret(Path.GetFileName(rel), _component.Secrets) });
            progress?.Report(new RecoveryProgress { OperationId = context.OperationId, Component = Name, Phase = "capture" });
        }

        var env = ResolveEnvironment();
        foreach (var (name, value) in env)
        {
            var secret = Secrets.IsSecret(name, _component.Secrets);
            manifest.Env.Add(new ManifestEnv { Name = name, Secret = secret, Sha = Secrets.Fingerprint(name, value), Value = secret ? null : value });
        }

        await WriteJsonAsync(Path.Combine(stage, EnvJson), env, cancellationToken);
        await WriteJsonAsync(Path.Combine(stage, ManifestJson), manifest, cancellationToken);
        var time = (_options.Time ?? TimeProvider.System).GetUtcNow();
        return new CapturedPoint([stage], new RecoveryPointTags { Component = Name, Time = time, Mode = "files+env" }) { Force = context.Full };
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
        var target = context.Target.Directory;
        Directory.CreateDirectory(target);
        long items = 0;
        var filesRoot = Path.Combine(stage, FilesDir);
        if (Directory.Exists(filesRoot))
        {
            foreach (var file in Directory.EnumerateFiles(filesRoot, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var rel = Path.GetRelativePath(filesRoot, file);
                var dest = StagedFilePaths.Destination(rel, target, context.Target.IsLive);
                if (File.Exists(dest) && !context.Overwrite)
                {
                    throw new LiveDataProtectedException(dest);
                }

                Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
                var temp = dest + ".lifeline-restore";
                File.Copy(file, temp, overwrite: true);
                File.SetLastWriteTimeUtc(temp, File.GetLastWriteTimeUtc(file));
                File.Move(temp, dest, overwrite: true); // whole file or the old one, never half
                items++;
                progress?.Report(new RecoveryProgress { OperationId = context.Point.Id, Component = Name, Phase = "reinstate" });
            }
        }

        var env = await ReadJsonAsync<SortedDictionary<string, string>>(Path.Combine(stage, EnvJson), cancellationToken) ?? [];
        var envFile = Path.Combine(target, EnvFileName);
        await WriteEnvFileAsync(envFile, env, cancellationToken);
        items += env.Count;
        return new ReinstateResult(target, items, $"{items - env.Count} files and {env.Count} variables (in {EnvFileName}) into {target}");
    }

    /// <inheritdoc/>
    public async Task<VerificationResult> VerifyAsync(RecoveryPoint point, string stagedDirectory, CancellationToken cancellationToken)
    {
        var stage = Path.Combine(stagedDirectory, StageName);
        var manifest = await ReadJsonAsync<Manifest>(Path.Combine(stage, ManifestJson), cancellationToken);
        if (manifest is null)
        {
            return new VerificationResult(false, [$"configuration point {point.ShortId} has no {ManifestJson}"]);
        }

        var problems = new List<string>();
        foreach (var f in manifest.Files)
        {
            var path = Path.Combine(stage, FilesDir, f.Path);
            if (!File.Exists(path))
            {
                problems.Add($"file {f.Path} is missing from point {point.ShortId}");
            }
            else if (Secrets.Fingerprint(await File.ReadAllBytesAsync(path, cancellationToken)) != f.Sha)
            {
                problems.Add($"file {f.Path} in point {point.ShortId} does not match its manifest");
            }
        }

        var env = await ReadJsonAsync<SortedDictionary<string, string>>(Path.Combine(stage, EnvJson), cancellationToken) ?? [];
        foreach (var e in manifest.Env)
        {
            if (!env.TryGetValue(e.Name, out var value) || Secrets.Fingerprint(e.Name, value) != e.Sha)
            {
                problems.Add($"variable {e.Name} in point {point.ShortId} does not match its manifest");
            }
        }

        return new VerificationResult(problems.Count == 0, problems);
    }

    /// <inheritdoc/>
    public Task<HealthResult> ProbeAsync(CancellationToken cancellationToken)
    {
        var missing = _component.Files.Where(p => !Globs.IsGlob(p) && !File.Exists(Path.Combine(_base, p))).ToList();
        return Task.FromResult(missing.Count == 0
            ? new HealthResult(true, $"{_component.Files.Count} file patterns, {_component.Env.Count} variable patterns")
            : new HealthResult(false, "missing: " + string.Join(", ", missing)));
    }

    /// <summary>The live configuration as printable entries (secrets redacted).</summary>
    public IReadOnlyList<ConfigurationEntry> ListLive()
    {
        var entries = new List<ConfigurationEntry>();
        foreach (var file in ResolveFiles())
        {
            var bytes = File.ReadAllBytes(file);
            entries.Add(FileEntry(StagedPath(file).Replace('\\', '/'), bytes.Length, Secrets.Fingerprint(bytes), Secrets.IsSecret(Path.GetFileName(file), _component.Secrets)));
        }

        entries.AddRange(ResolveEnvironment().Select(kv => EnvEntry(kv.Key, Secrets.IsSecret(kv.Key, _component.Secrets) ? null : kv.Value, Secrets.Fingerprint(kv.Key, kv.Value))));
        return entries;
    }

    /// <summary>A restored (staged) point as printable entries, read from its manifest (secrets redacted).</summary>
    public static async Task<IReadOnlyList<ConfigurationEntry>> ListAsync(string stagedDirectory, CancellationToken cancellationToken = default)
    {
        var manifest = await ReadJsonAsync<Manifest>(Path.Combine(stagedDirectory, StageName, ManifestJson), cancellationToken)
            ?? throw new RecoveryException($"{stagedDirectory} holds no configuration point (no {ManifestJson})");
        return
        [
            .. manifest.Files.Select(f => FileEntry(f.Path, f.Size, f.Sha, f.Secret)),
            .. manifest.Env.Select(e => EnvEntry(e.Name, e.Secret ? null : e.Value, e.Sha)),
        ];
    }

    /// <summary>What changed from <paramref name="before"/> to <paramref name="after"/>, one printable line each
    /// (<c>+</c> added, <c>-</c> removed, <c>~</c> changed); a changed secret shows only its fingerprints.</summary>
    public static IReadOnlyList<string> Diff(IReadOnlyList<ConfigurationEntry> before, IReadOnlyList<ConfigurationEntry> after)
    {
        var a = before.ToDictionary(e => (e.Kind, e.Name));
        var b = after.ToDictionary(e => (e.Kind, e.Name));
        var lines = new List<string>();
        foreach (var key in a.Keys.Union(b.Keys).OrderBy(k => k.Kind, StringComparer.Ordinal).ThenBy(k => k.Name, StringComparer.Ordinal))
        {
            var has1 = a.TryGetValue(key, out var x);
            var has2 = b.TryGetValue(key, out var y);
            if (has1 && has2 && x!.Fingerprint != y!.Fingerprint)
            {
                lines.Add($"~ {key.Kind} {key.Name}: {x.Display} -> {y.Display}");
            }
            else if (!has1)
            {
                lines.Add($"+ {y}");
            }
            else if (!has2)
            {
                lines.Add($"- {x}");
            }
        }

        return lines;
    }

    /// <summary>Reads a <see cref="EnvFileName"/> written by a restore.</summary>
    public static async Task<IReadOnlyDictionary<string, string>> ReadEnvFileAsync(string path, CancellationToken cancellationToken = default)
    {
        var result = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in await File.ReadAllLinesAsync(path, cancellationToken))
        {
            var eq = line.IndexOf('=', StringComparison.Ordinal);
            if (line.StartsWith('#') || eq <= 0)
            {
                continue;
            }

            result[line[..eq]] = JsonSerializer.Deserialize(line[(eq + 1)..], ConfigJson.Default.String) ?? "";
        }

        return result;
    }

    private static ConfigurationEntry FileEntry(string path, long size, string sha, bool secret) =>
        new("file", path, string.Create(CultureInfo.InvariantCulture, $"{size} bytes sha256:{sha}"), sha, secret);

    private static ConfigurationEntry EnvEntry(string name, string? plainValue, string sha) =>
        new("env", name, plainValue ?? $"{Secrets.Mask} (sha256:{sha})", sha, plainValue is null);

    private IEnumerable<string> ResolveFiles()
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var pattern in _component.Files)
        {
            var matches = Globs.Expand(pattern, _base).ToList();
            if (matches.Count == 0 && !Globs.IsGlob(pattern))
            {
                throw new RecoveryException($"configuration file '{pattern}' named by component '{Name}' does not exist (looked in {_base}): create it or remove it from 'files' in the plan");
            }

            seen.UnionWith(matches);
        }

        return seen;
    }

    private SortedDictionary<string, string> ResolveEnvironment()
    {
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var source = _options.Environment ?? ProcessEnvironment();
        foreach (var (name, value) in source)
        {
            if (value is not null && _component.Env.Any(p => Secrets.NameMatches(name, p)))
            {
                env[name] = value;
            }
        }

        return env;
    }

    private static Dictionary<string, string?> ProcessEnvironment()
    {
        var d = new Dictionary<string, string?>(StringComparer.Ordinal);
        foreach (DictionaryEntry e in System.Environment.GetEnvironmentVariables())
        {
            d[(string)e.Key] = e.Value as string;
        }

        return d;
    }

    private string StagedPath(string file) => StagedFilePaths.Staged(_base, file);

    private static async Task WriteEnvFileAsync(string path, SortedDictionary<string, string> env, CancellationToken ct)
    {
        var sb = new StringBuilder("# restored by lifeline: NAME=\"JSON string\"; secrets included, keep this file private\n");
        foreach (var (name, value) in env)
        {
            sb.Append(name).Append('=').Append(JsonSerializer.Serialize(value, ConfigJson.Default.String)).Append('\n');
        }

        var temp = path + ".lifeline-restore";
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        await using (var stream = new FileStream(temp, options))
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes(sb.ToString()), ct);
        }

        File.Move(temp, path, overwrite: true);
    }

    private static async Task WriteJsonAsync<T>(string path, T value, CancellationToken ct)
    {
        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ConfigJson.Default.GetTypeInfo(typeof(T))!;
        await File.WriteAllBytesAsync(path, JsonSerializer.SerializeToUtf8Bytes(value, info), ct);
    }

    private static async Task<T?> ReadJsonAsync<T>(string path, CancellationToken ct)
        where T : class
    {
        if (!File.Exists(path))
        {
            return null;
        }

        var info = (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T>)ConfigJson.Default.GetTypeInfo(typeof(T))!;
        return JsonSerializer.Deserialize(await File.ReadAllBytesAsync(path, ct), info);
    }

    internal sealed class Manifest
    {
        public List<ManifestFile> Files { get; init; } = [];

        public List<ManifestEnv> Env { get; init; } = [];
    }

    internal sealed class ManifestFile
    {
        public string Path { get; init; } = "";

        public long Size { get; init; }

        public string Sha { get; init; } = "";

        public bool Secret { get; init; }
    }

    internal sealed class ManifestEnv
    {
        public string Name { get; init; } = "";

        public bool Secret { get; init; }

        public string Sha { get; init; } = "";

        public string? Value { get; init; }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true)]
[JsonSerializable(typeof(ConfigurationComponent.Manifest))]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(string))]
internal sealed partial class ConfigJson : JsonSerializerContext;
