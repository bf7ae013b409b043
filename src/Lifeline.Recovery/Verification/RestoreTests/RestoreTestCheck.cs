using System.Diagnostics;
using System.Text.Json;
using Lifeline.Lake;
using Lifeline.Recovery.Components.Jobs;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Configuration;
using Lifeline.Recovery.Plan;
using Lifeline.Storage.FileSystem;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Lifeline.Recovery.Verification.RestoreTests;

/// <summary>
/// <c>restore-test</c>: each component's newest point in each location of its policy, restored into the scratch area
/// and booted: the registry serves every model's Production version through its own API and the lead model scores the
/// golden leads as the live one does; a lake table's snapshot is read and every row scanned; configuration and job
/// files are present and parse (JSON, YAML, the restored variables); a SQLite store passes <c>integrity_check</c>.
/// </summary>
internal sealed class RestoreTestCheck : IRestoringCheck
{
    /// <summary>The registered models that must load and score as lead models (others are scored when their signature
    /// says they are lead models); default the deployment's <c>lead-scoring</c>.</summary>
    public IReadOnlyCollection<string> LeadModels { get; init; } = ["lead-scoring"];

    /// <inheritdoc/>
    public string Name => "restore-test";

    /// <inheritdoc/>
    public Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken) =>
        ScratchRestore.EachAsync(context, Evaluator(context, cancellationToken), cancellationToken);

    /// <inheritdoc/>
    public ScratchEvaluator Evaluator(VerificationContext context, CancellationToken cancellationToken) =>
        new(Name, BootsTheRestore: true, async (subject, restore, dir, numbers) =>
        {
            var against = "the restored point booted in a scratch area" + (subject.Kind == ComponentKind.Registry ? "; scores against the live model" : "");
            numbers["seconds"] = restore.Elapsed.TotalSeconds;
            if (restore.Run is not { } run)
            {
                return (false, $"{subject.Component.Name} could not be restored from {subject.Location}: {restore.Error}", against);
            }

            numbers["bytes"] = run.Bytes;
            numbers["files"] = run.Files;
            List<string> problems;
            string said;
            try
            {
                (problems, said) = await BootAsync(subject, restore.Target, Path.Combine(dir, "boot"), numbers, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // what was restored does not start (a corrupt database the registry refuses, ...): a failed record
                (problems, said) = ([$"it does not start: {ScratchRestore.Line(e)}"], "");
            }

            var passed = problems.Count == 0;
            var head = $"point {run.Point.ShortId} of {subject.Component.Name} from {subject.Location}";
            return (passed, passed ? $"{head} restored and booted: {said}" : $"{head} restored but does not boot: {ScratchRestore.First(problems)}", against);
        });

    private async Task<(List<string> Problems, string Said)> BootAsync(RestoreSubject subject, string target, string work, Dictionary<string, double> numbers, CancellationToken ct)
    {
        var problems = new List<string>();
        switch (subject.Kind)
        {
            case ComponentKind.Registry:
            {
                var boot = await RegistryProbe.BootAsync(target, subject.Adapter as RegistryComponent, LeadModels, work, ct);
                numbers["models"] = boot.Models;
                numbers["served"] = boot.Served;
                numbers["scored"] = boot.Scored;
                problems.AddRange(boot.Problems);
                return (problems, $"{ScratchRestore.Count(boot.Models, "model")}; " + string.Join("; ", boot.Detail.Concat(boot.Notes).DefaultIfEmpty("nothing to serve")));
            }

            case ComponentKind.LakeTable:
            {
                try
                {
                    var table = new DeltaTable(new FileSystemObjectStore(target), "");
                    var snapshot = await table.GetSnapshotAsync(null, ct);
                    long rows = 0;
                    await foreach (var batch in table.ReadAsync(snapshot, cancellationToken: ct))
                    {
                        rows += batch.RowCount;
                    }

                    numbers["rows"] = rows;
                    numbers["version"] = snapshot.Version;
                    numbers["dataFiles"] = snapshot.Files.Count;
                    return (problems, $"table at version {snapshot.Version} scans: {ScratchRestore.Count(rows, "row")} in {ScratchRestore.Count(snapshot.Files.Count, "data file")}");
                }
                catch (Exception e) when (e is DeltaProtocolException or DeltaUnsupportedFeatureException or IOException or InvalidDataException)
                {
                    problems.Add("the restored table does not scan: " + ScratchRestore.Line(e));
                    return (problems, "");
                }
            }

            default:
                return await FilesAsync(target, problems, numbers, ct);
        }
    }

    /// <summary>Every restored file present and, where its kind is known, parsing: JSON, YAML, the restored variables,
    /// a SQLite database through <c>integrity_check</c>.</summary>
    private static async Task<(List<string> Problems, string Said)> FilesAsync(string target, List<string> problems, Dictionary<string, double> numbers, CancellationToken ct)
    {
        long files = 0, parsed = 0, stores = 0, variables = 0;
        foreach (var file in Directory.EnumerateFiles(target, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            files++;
            var rel = Path.GetRelativePath(target, file).Replace('\\', '/');
            string? problem = null;
            try
            {
                if (Path.GetFileName(file) == ConfigurationComponent.EnvFileName)
                {
                    variables = (await ConfigurationComponent.ReadEnvFileAsync(file, ct)).Count;
                    parsed++;
                }
                else if (IsSqlite(file))
                {
                    stores++;
                    problem = JobsComponent.IntegrityCheck(file) is { } bad ? "fails SQLite's integrity_check: " + bad : null;
                }
                else if (Path.GetExtension(file).ToLowerInvariant() is ".json")
                {
                    using var _ = JsonDocument.Parse(await File.ReadAllBytesAsync(file, ct));
                    parsed++;
                }
                else if (Path.GetExtension(file).ToLowerInvariant() is ".yaml" or ".yml")
                {
                    new YamlStream().Load(new StringReader(await File.ReadAllTextAsync(file, ct)));
                    parsed++;
                }
            }
            catch (Exception e) when (e is JsonException or YamlException or IOException or FormatException)
            {
                problem = "does not parse: " + LocationsLine(e);
            }

            if (problem is not null)
            {
                problems.Add($"{rel} {problem}");
            }
        }

        numbers["files"] = files;
        numbers["parsed"] = parsed;
        if (stores > 0)
        {
            numbers["stores"] = stores;
        }

        numbers["variables"] = variables;
        if (files == 0)
        {
            problems.Add("the restored point holds no file");
        }

        return (problems, $"{ScratchRestore.Count(files, "file")} present, {parsed} parsed" + (stores > 0 ? $", {ScratchRestore.Count(stores, "SQLite store")} intact" : "") + (variables > 0 ? $", {ScratchRestore.Count(variables, "variable")} restored" : ""));
    }

    // a parse error's message may quote the file's text (a secret's value): the position only
    private static string LocationsLine(Exception e) => e switch
    {
        JsonException j => $"invalid JSON at line {(j.LineNumber ?? 0) + 1}",
        YamlException y => $"invalid YAML at line {y.Start.Line}",
        _ => ScratchRestore.Line(e),
    };

    private static bool IsSqlite(string path)
    {
        Span<byte> header = stackalloc byte[16];
        using var f = File.OpenRead(path);
        return f.ReadAtLeast(header, 16, throwOnEndOfStream: false) == 16 && header.SequenceEqual("SQLite format 3\0"u8);
    }
}
