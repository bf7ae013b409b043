using System.Security.Cryptography;
using Lifeline.Cli.Infrastructure;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Cli.Demo;

/// <summary>One step of the demo, as shown in the summary.</summary>
internal sealed record DemoStep(string Step, string Result, double Seconds);

/// <summary>The demo's JSON document.</summary>
internal sealed record DemoJson(string Directory, bool Verified, int Files, long Bytes, long FullBackupAdded, long SecondBackupAdded, IReadOnlyList<DemoStep> Steps);

/// <summary>
/// The vault part of <c>lifeline demo</c>: a lead data set backed up to a primary vault, changed and backed up again
/// (deduplicated), copied to a secondary vault, verified with a full data read in both, restored from the secondary
/// into a fresh folder and proven identical (SHA-256, sizes, modification times, modes).
/// </summary>
internal sealed class VaultDemo
{
    private const int RowsPerMonth = 12_000;
    private const int ModelBytes = 16 * 1024 * 1024;
    private readonly CliConsole _console;
    private readonly TimeProvider _time;
    private readonly List<DemoStep> _steps = [];
    private readonly bool _keepsDirectory;

    public VaultDemo(CliConsole console, TimeProvider time, bool keepsDirectory)
    {
        _console = console;
        _time = time;
        _keepsDirectory = keepsDirectory;
    }

    /// <summary>Runs the story in <paramref name="directory"/>; returns the exit code (0 when the restore is proven identical).</summary>
    public async Task<int> RunAsync(string directory, CancellationToken ct)
    {
        var data = Path.Combine(directory, "data");
        var primaryDir = Path.Combine(directory, "vault-primary");
        var secondaryDir = Path.Combine(directory, "vault-secondary");
        var restoreDir = Path.Combine(directory, "restored");
        var password = Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));

        var generated = await StepAsync("generate lead data", async () =>
        {
            var bytes = await LeadDataGenerator.WriteInitialAsync(data, RowsPerMonth, ModelBytes, ct);
            return (bytes, $"{CliConsole.Bytes(bytes)}: 3 months of leads (CSV) + model v1 + config");
        });

        await using var primary = await StepAsync("init primary vault", async () =>
        {
            var repo = await VaultRepository.InitAsync(new FileSystemObjectStore(primaryDir), password, null, _time, ct);
            return (repo, $"{repo.Id[..8]} at {primaryDir}");
        });
        await using var secondary = await StepAsync("init secondary vault", async () =>
        {
            var repo = await VaultRepository.InitAsync(new FileSystemObjectStore(secondaryDir), password, null, _time, ct);
            return (repo, $"{repo.Id[..8]} at {secondaryDir}");
        });

        var request = new BackupRequest { Paths = [data], Source = "leads", Tags = ["demo"] };
        var first = await StepAsync("backup 1", async () =>
        {
            var r = await primary.BackupAsync(request, null, ct);
            return (r, $"snapshot {r.Snapshot.ShortId}: {r.TotalFiles} files, {CliConsole.Bytes(r.TotalBytes)}, added {CliConsole.Bytes(r.DataAdded)}");
        });

        await StepAsync("change data", async () =>
        {
            await LeadDataGenerator.ChangeAsync(data, RowsPerMonth, ModelBytes, ct);
            return (0, "new leads appended, a new month, model v2 (last tenth retrained), config v2");
        });

        var second = await StepAsync("backup 2", async () =>
        {
            var r = await primary.BackupAsync(request, null, ct);
            return (r, $"snapshot {r.Snapshot.ShortId}: {r.FilesNew} new, {r.FilesChanged} changed, {r.FilesUnmodified} unmodified; added {CliConsole.Bytes(r.DataAdded)} for {CliConsole.Bytes(r.TotalBytes)} (dedup)");
        });

        await StepAsync("copy to secondary", async () =>
        {
            var r = await primary.CopyToAsync(secondary, null, null, ct);
            return (r, $"{r.SnapshotsCopied} snapshots, {r.BlobsCopied} blobs, {CliConsole.Bytes(r.BytesCopied)}");
        });

        foreach (var (name, repo) in new[] { ("primary", primary), ("secondary", secondary) })
        {
            var check = await StepAsync($"check --read-data {name}", async () =>
            {
                var r = await repo.CheckAsync(new CheckOptions { ReadData = true }, null, ct);
                return (r, r.Ok ? $"ok: {r.Snapshots} snapshots, {r.PacksRead} packs, {CliConsole.Bytes(r.BytesRead)} read" : $"{r.Errors.Count} error(s): {r.Errors[0]}");
            });
            if (!check.Ok)
            {
                return Finish(directory, verified: false, 0, 0, first.DataAdded, second.DataAdded, ExitCodes.CheckFailed);
            }
        }

        await StepAsync("restore latest from secondary", async () =>
        {
            var snapshot = await secondary.FindSnapshotAsync("latest", new SnapshotFilter { Source = "leads" }, null, ct);
            var r = await secondary.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = restoreDir }, null, ct);
            return (r, $"snapshot {snapshot.ShortId}: {r.Files} files, {CliConsole.Bytes(r.Bytes)} into {restoreDir}");
        });

        var (differences, files, bytes) = await StepAsync("verify byte-identical", async () =>
        {
            var expected = await TreeComparer.FingerprintAsync(data, ct);
            var actual = await TreeComparer.FingerprintAsync(Path.Combine(restoreDir, RestoredSubpath(data)), ct);
            var diff = TreeComparer.Compare(expected, actual);
            var result = (diff, expected.Count, expected.Sum(f => f.Size));
            return (result, diff.Count == 0
                ? $"{expected.Count} files identical (SHA-256, size, mtime, mode)"
                : $"{diff.Count} difference(s), first: {diff[0]}");
        });

        _ = generated;
        return Finish(directory, differences.Count == 0, files, bytes, first.DataAdded, second.DataAdded, differences.Count == 0 ? ExitCodes.Ok : ExitCodes.Failure);
    }

    /// <summary>Where a backed-up path lands below the restore target: the root tree names each path by its last segment.</summary>
    internal static string RestoredSubpath(string sourcePath) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(sourcePath)));

    private int Finish(string directory, bool verified, int files, long bytes, long firstAdded, long secondAdded, int exitCode)
    {
        _console.Document(new DemoJson(directory, verified, files, bytes, firstAdded, secondAdded, _steps));
        if (!_console.Json)
        {
            _console.Line();
            _console.Table(["Step", "Result", "Seconds"], _steps.Select(s => (IReadOnlyList<string>)[s.Step, s.Result, s.Seconds.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture)]), new HashSet<int> { 2 });
            _console.Line(verified
                ? $"restore verified: {files} files, {CliConsole.Bytes(bytes)}, byte-identical with modification times"
                : "restore NOT verified: see the steps above");
            _console.Line($"total {_steps.Sum(s => s.Seconds):0.00}s in {directory}{(_keepsDirectory ? "" : " (removed now; --keep or --dir keeps it)")}");
        }

        return exitCode;
    }

    private async Task<T> StepAsync<T>(string name, Func<Task<(T Value, string Result)>> step)
    {
        var started = _time.GetTimestamp();
        if (_console.IsTerminal)
        {
            _console.Out.Write($"{name} ... ");
        }

        var (value, result) = await step();
        var seconds = _time.GetElapsedTime(started).TotalSeconds;
        _steps.Add(new DemoStep(name, result, Math.Round(seconds, 3)));
        if (_console.IsTerminal)
        {
            _console.Out.WriteLine($"{seconds:0.00}s");
        }
        else
        {
            _console.Line($"{name} ... {seconds:0.00}s");
        }

        return value;
    }
}
