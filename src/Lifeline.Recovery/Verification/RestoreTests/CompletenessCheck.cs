using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lifeline.Lake;
using Lifeline.Recovery.Components.Jobs;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Plan;
using Lifeline.Registry.Backup;
using Lifeline.Storage.FileSystem;
using Microsoft.Data.Sqlite;

namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>
/// <c>completeness</c>: what a restore of each component's newest point (per location) wrote, against what the source
/// held at that point: the manifest the adapter wrote when it captured it (configuration and jobs: every file and its
/// size and fingerprint, every variable; the registry: its counts of experiments, runs, metrics, models, versions and
/// artifacts, and every artifact's size), and for a lake table the live table itself at the point's version (version,
/// data files, rows). Every difference is named.
/// </summary>
internal sealed class CompletenessCheck : IRestoringCheck
{
    private const string ManifestFile = "manifest.json";

    /// <inheritdoc/>
    public string Name => "completeness";

    /// <inheritdoc/>
    public Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken) =>
        ScratchRestore.EachAsync(context, Evaluator(context, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ScratchEvaluator Evaluator(VerificationContext context, CancellationToken cancellationToken) =>
        new(Name, BootsTheRestore: false, async (subject, restore, dir, numbers) =>
        {
            var against = subject.Kind == ComponentKind.LakeTable ? "the live table at the point's version" : "the source's manifest at the recovery point";
            if (restore.Run is not { } run)
            {
                return (false, $"{subject.Component.Name} could not be restored from {subject.Location}, so nothing of it is there: {restore.Error}", against);
            }

            numbers["bytes"] = run.Bytes;
            numbers["files"] = run.Files;
            var differences = new List<string>();
            string said;
            try
            {
                said = subject.Kind switch
                {
                    ComponentKind.LakeTable => await TableAsync(subject, run, restore.Target, differences, numbers, cancellationToken),
                    ComponentKind.Registry => await RegistryAsync(context, subject, run, restore.Target, Path.Combine(dir, "point"), differences, numbers, cancellationToken),
                    _ => await FilesAsync(context, subject, run, restore.Target, Path.Combine(dir, "point"), differences, numbers, cancellationToken),
                };
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                said = "";
                differences.Add("the comparison could not be made: " + ScratchRestore.Line(e));
            }

            numbers["differences"] = differences.Count;
            var passed = differences.Count == 0;
            var head = $"point {run.Point.ShortId} of {subject.Component.Name} from {subject.Location}";
            return (passed, passed ? $"{head} is complete: {said}" : $"{head} is not complete: {ScratchRestore.First(differences)}", against);
        });

    /// <summary>A lake table: the restored table against the live one at the point's version (the version, the data
    /// files by name and size, the rows); the point's own version tag when the live table no longer reaches back.</summary>
    private static async Task<string> TableAsync(RestoreSubject subject, RestoreRunResult run, string target, List<string> differences, Dictionary<string, double> numbers, CancellationToken ct)
    {
        var restoredTable = new DeltaTable(new FileSystemObjectStore(target), "");
        var restored = await restoredTable.GetSnapshotAsync(null, ct);
        var rows = await restoredTable.CountRowsAsync(restored, ct);
        numbers["version"] = restored.Version;
        numbers["rows"] = rows;
        numbers["dataFiles"] = restored.Files.Count;
        if (run.Point.Tags.Version is { } tagged && tagged != restored.Version)
        {
            differences.Add($"table version {restored.Version} restored, the point is of version {tagged}");
        }

        if (subject.Adapter is not LakeTableComponent live)
        {
            return $"version {restored.Version}, {ScratchRestore.Count(rows, "row")} (no live table to compare with)";
        }

        Lake.Protocol.Snapshot source;
        try
        {
            source = await live.OpenLive().GetSnapshotAsync(run.Point.Tags.Version ?? restored.Version, ct);
        }
        catch (DeltaProtocolException e)
        {
            return $"version {restored.Version}, {ScratchRestore.Count(rows, "row")}; the live table no longer reaches back to it ({ScratchRestore.Line(e)})";
        }

        var sourceRows = source.RowCountFromStats ?? await live.OpenLive().CountRowsAsync(source, ct);
        numbers["sourceRows"] = sourceRows;
        numbers["sourceDataFiles"] = source.Files.Count;
        var restoredFiles = restored.Files.ToDictionary(f => f.RelativePath, f => f.Add.Size, StringComparer.Ordinal);
        foreach (var f in source.Files)
        {
            if (!restoredFiles.TryGetValue(f.RelativePath, out var size))
            {
                differences.Add($"data file {f.RelativePath} ({f.Add.Size} bytes) of version {source.Version} is not in the restored table");
            }
            else if (size != f.Add.Size)
            {
                differences.Add($"data file {f.RelativePath} is {size} bytes restored, {f.Add.Size} in the source");
            }
        }

        foreach (var extra in restoredFiles.Keys.Except(source.Files.Select(f => f.RelativePath), StringComparer.Ordinal))
        {
            differences.Add($"data file {extra} is in the restored table, not in the source's version {source.Version}");
        }

        if (rows != sourceRows)
        {
            differences.Add($"table {subject.Component.Name} has {rows} rows restored, {sourceRows} in the source at version {source.Version}");
        }

        return $"version {restored.Version}, {ScratchRestore.Count(rows, "row")} in {ScratchRestore.Count(restored.Files.Count, "data file")}, as the source at that version";
    }

    /// <summary>The registry: the restored database's counts and artifacts against the point's manifest.</summary>
    private static async Task<string> RegistryAsync(VerificationContext context, RestoreSubject subject, RestoreRunResult run, string target, string pointDir, List<string> differences, Dictionary<string, double> numbers, CancellationToken ct)
    {
        var manifestPath = await ScratchRestore.RestorePointFileAsync(context, subject, run.Point.Id, ManifestFile, pointDir, ct)
            ?? throw new InvalidDataException($"point {run.Point.ShortId} holds no {ManifestFile}");
        // only the manifest was read out of the point: its own field says the mode
        var mode = System.Text.Json.Nodes.JsonNode.Parse(await File.ReadAllBytesAsync(manifestPath, ct))?["mode"]?.GetValue<string>() ?? "native";
        var manifest = await NativeBackup.ReadManifestAsync(Path.GetDirectoryName(manifestPath)!, mode, ct);
        var database = Path.Combine(target, NativeBackup.DatabaseFile);
        if (!File.Exists(database))
        {
            differences.Add($"no {NativeBackup.DatabaseFile} was restored");
            return "";
        }

        // an API export is imported into a new registry (ids and the default experiment are its own): compare what it names
        string[] tables = manifest.Mode == "native" ? ["experiments", "runs", "metrics", "registered_models", "model_versions"] : ["registered_models", "model_versions"];
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
        {
            connection.Open();
            foreach (var table in tables)
            {
                if (!manifest.Counts.TryGetValue(table, out var expected))
                {
                    continue;
                }

                using var command = connection.CreateCommand();
                command.CommandText = $"SELECT COUNT(*) FROM {table}";
                var restored = Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
                numbers[table] = restored;
                if (restored != expected)
                {
                    differences.Add($"{table.Replace('_', ' ')}: {restored} restored, {expected} in the source's manifest");
                }
            }
        }

        var artifactsRoot = Path.Combine(target, "artifacts");
        var restoredArtifacts = Directory.Exists(artifactsRoot)
            ? Directory.EnumerateFiles(artifactsRoot, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(artifactsRoot, f).Replace('\\', '/'), f => new FileInfo(f).Length, StringComparer.Ordinal)
            : [];
        numbers["artifacts"] = restoredArtifacts.Count;
        foreach (var a in manifest.Artifacts)
        {
            if (!restoredArtifacts.TryGetValue(a.Path, out var size))
            {
                differences.Add($"artifact {a.Path} ({a.Size} bytes) is in the source's manifest, not restored");
            }
            else if (size != a.Size)
            {
                differences.Add($"artifact {a.Path} is {size} bytes restored, {a.Size} in the source's manifest");
            }
        }

        var named = manifest.Artifacts.Select(a => a.Path).ToHashSet(StringComparer.Ordinal);
        differences.AddRange(restoredArtifacts.Keys.Where(k => !named.Contains(k) && !k.Contains("/.tmp-", StringComparison.Ordinal)).Order(StringComparer.Ordinal)
            .Select(k => $"artifact {k} is restored but not in the source's manifest"));
        var counts = tables.Where(manifest.Counts.ContainsKey).Select(t => $"{manifest.Counts[t]} {t.Replace('_', ' ')}");
        return string.Join(", ", counts) + $", {ScratchRestore.Count(manifest.Artifacts.Count, "artifact")} as in the source's manifest";
    }

    /// <summary>Configuration and jobs: every file of the point's manifest restored with its size and fingerprint,
    /// nothing restored that it does not name, every variable restored with its value (compared by fingerprint).</summary>
    private static async Task<string> FilesAsync(VerificationContext context, RestoreSubject subject, RestoreRunResult run, string target, string pointDir, List<string> differences, Dictionary<string, double> numbers, CancellationToken ct)
    {
        var manifestPath = await ScratchRestore.RestorePointFileAsync(context, subject, run.Point.Id, ManifestFile, pointDir, ct)
            ?? throw new InvalidDataException($"point {run.Point.ShortId} holds no {ManifestFile}");
        var bytes = await File.ReadAllBytesAsync(manifestPath, ct);
        var expected = new List<(string Path, long Size, string Sha)>();
        IReadOnlyList<(string Name, string Sha)> variables = [];
        if (subject.Kind == ComponentKind.Jobs)
        {
            var jobs = JsonSerializer.Deserialize(bytes, JobsJson.Default.JobsManifest) ?? throw new InvalidDataException($"{ManifestFile} of point {run.Point.ShortId} is empty");
            expected.AddRange(jobs.Files.Select(f => (f.Path, f.Size, f.Sha)));
            if (jobs.Store is { } s)
            {
                expected.Add((s.Path, s.Size, s.Sha));
            }
        }
        else
        {
            var config = JsonSerializer.Deserialize(bytes, ConfigJson.Default.Manifest) ?? throw new InvalidDataException($"{ManifestFile} of point {run.Point.ShortId} is empty");
            expected.AddRange(config.Files.Select(f => (f.Path, f.Size, f.Sha)));
            variables = config.Env.Select(e => (e.Name, e.Sha)).ToList();
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (path, size, sha) in expected)
        {
            var file = StagedFilePaths.Destination(path, target, live: false);
            seen.Add(Path.GetFullPath(file));
            if (!File.Exists(file))
            {
                differences.Add($"{path} ({size} bytes) is in the source's manifest, not restored");
                continue;
            }

            var content = await File.ReadAllBytesAsync(file, ct);
            if (content.Length != size)
            {
                differences.Add($"{path} is {content.Length} bytes restored, {size} in the source's manifest");
            }
            else if (Secrets.Fingerprint(content) != sha)
            {
                differences.Add($"{path} differs from the source's manifest (same size, other content)");
            }
        }

        var envFile = Path.Combine(target, ConfigurationComponent.EnvFileName);
        foreach (var file in Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            if (!seen.Contains(Path.GetFullPath(file)) && !(subject.Kind == ComponentKind.Configuration && file == envFile))
            {
                differences.Add($"{Path.GetRelativePath(target, file).Replace('\\', '/')} is restored but not in the source's manifest");
            }
        }

        if (variables.Count > 0 || File.Exists(envFile))
        {
            IReadOnlyDictionary<string, string> restored = File.Exists(envFile) ? await ConfigurationComponent.ReadEnvFileAsync(envFile, ct) : new Dictionary<string, string>();
            foreach (var (name, sha) in variables)
            {
                if (!restored.TryGetValue(name, out var value))
                {
                    differences.Add($"variable {name} is in the source's manifest, not restored");
                }
                else if (Secrets.Fingerprint(name, value) != sha)
                {
                    differences.Add($"variable {name} is restored with another value than the source's manifest holds");
                }
            }

            foreach (var extra in restored.Keys.Except(variables.Select(v => v.Name), StringComparer.Ordinal))
            {
                differences.Add($"variable {extra} is restored but not in the source's manifest");
            }

            numbers["variables"] = restored.Count;
        }

        numbers["manifestFiles"] = expected.Count;
        numbers["manifestBytes"] = expected.Sum(e => e.Size);
        return $"{ScratchRestore.Count(expected.Count, "file")} ({expected.Sum(e => e.Size)} bytes)" + (variables.Count > 0 ? $" and {ScratchRestore.Count(variables.Count, "variable")}" : "") + " as in the source's manifest";
    }
}
