using Lifeline.Cli.Infrastructure;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Cli.Demo;

/// <summary>
/// The demo's JSON document: <c>ok</c> (every part proved its restore), the vault part's fields (<c>verified</c>,
/// <c>files</c>, <c>bytes</c>, <c>fullBackupAdded</c>, <c>secondBackupAdded</c>), one object per other part (null when
/// it did not run) and every step.
/// </summary>
internal sealed record DemoJson(
    string Directory, bool Ok, bool Verified, int Files, long Bytes, long FullBackupAdded, long SecondBackupAdded,
    LakeDemoResult? Lake, RegistryDemoResult? Registry, ScoringDemoSummary? Scoring, IReadOnlyList<DemoStep> Steps, double TotalSeconds,
    PlanDemoResult? Plan, UpDemoResult? Up = null, VerifyDemoResult? Verify = null);

/// <summary>What the vault part of the demo proved (the top-level fields of the demo's JSON document).</summary>
internal sealed record VaultDemoResult(bool Verified, int Files, long Bytes, long FullBackupAdded, long SecondBackupAdded, int ExitCode);

/// <summary>
/// The vault part of <c>lifeline demo</c>: a lead data set backed up to a primary vault, changed and backed up again
/// (deduplicated), copied to a secondary vault, verified with a full data read in both, restored from the secondary
/// into a fresh folder and proven identical (SHA-256, sizes, modification times, modes).
/// </summary>
internal sealed class VaultDemo
{
    private const int RowsPerMonth = 12_000;
    private const int ModelBytes = 16 * 1024 * 1024;
    private readonly DemoSteps _steps;
    private readonly TimeProvider _time;
    private readonly string _password;

    /// <param name="steps">Where the steps are recorded.</param>
    /// <param name="password">The password of both vaults (the later parts of the demo open the primary with it).</param>
    public VaultDemo(DemoSteps steps, string password)
    {
        _steps = steps;
        _time = steps.Time;
        _password = password;
    }

    /// <summary>The primary vault's directory below the demo directory (the registry part backs up into it).</summary>
    public static string PrimaryDirectory(string directory) => Path.Combine(directory, "vault-primary");

    /// <summary>The secondary vault's directory below the demo directory.</summary>
    public static string SecondaryDirectory(string directory) => Path.Combine(directory, "vault-secondary");

    /// <summary>Runs the story in <paramref name="directory"/>; the exit code is 0 when the restore is proven identical.</summary>
    public async Task<VaultDemoResult> RunAsync(string directory, CancellationToken ct)
    {
        var data = Path.Combine(directory, "data");
        var primaryDir = PrimaryDirectory(directory);
        var secondaryDir = SecondaryDirectory(directory);
        var restoreDir = Path.Combine(directory, "restored");
        var password = _password;

        var generated = await _steps.RunAsync("generate lead data", async () =>
        {
            var bytes = await LeadDataGenerator.WriteInitialAsync(data, RowsPerMonth, ModelBytes, ct);
            return (bytes, $"{CliConsole.Bytes(bytes)}: 3 months of leads (CSV) + model v1 + config");
        });

        await using var primary = await _steps.RunAsync("init primary vault", async () =>
        {
            var repo = await VaultRepository.InitAsync(new FileSystemObjectStore(primaryDir), password, null, _time, ct);
            return (repo, $"{repo.Id[..8]} at {primaryDir}");
        });
        await using var secondary = await _steps.RunAsync("init secondary vault", async () =>
        {
            var repo = await VaultRepository.InitAsync(new FileSystemObjectStore(secondaryDir), password, null, _time, ct);
            return (repo, $"{repo.Id[..8]} at {secondaryDir}");
        });

        var request = new BackupRequest { Paths = [data], Source = "leads", Tags = ["demo"] };
        var first = await _steps.RunAsync("backup 1", async () =>
        {
            var r = await primary.BackupAsync(request, null, ct);
            return (r, $"snapshot {r.Snapshot.ShortId}: {r.TotalFiles} files, {CliConsole.Bytes(r.TotalBytes)}, added {CliConsole.Bytes(r.DataAdded)}");
        });

        await _steps.RunAsync("change data", async () =>
        {
            await LeadDataGenerator.ChangeAsync(data, RowsPerMonth, ModelBytes, ct);
            return (0, "new leads appended, a new month, model v2 (last tenth retrained), config v2");
        });

        var second = await _steps.RunAsync("backup 2", async () =>
        {
            var r = await primary.BackupAsync(request, null, ct);
            return (r, $"snapshot {r.Snapshot.ShortId}: {r.FilesNew} new, {r.FilesChanged} changed, {r.FilesUnmodified} unmodified; added {CliConsole.Bytes(r.DataAdded)} for {CliConsole.Bytes(r.TotalBytes)} (dedup)");
        });

        await _steps.RunAsync("copy to secondary", async () =>
        {
            var r = await primary.CopyToAsync(secondary, null, null, ct);
            return (r, $"{r.SnapshotsCopied} snapshots, {r.BlobsCopied} blobs, {CliConsole.Bytes(r.BytesCopied)}");
        });

        foreach (var (name, repo) in new[] { ("primary", primary), ("secondary", secondary) })
        {
            var check = await _steps.RunAsync($"check --read-data {name}", async () =>
            {
                var r = await repo.CheckAsync(new CheckOptions { ReadData = true }, null, ct);
                return (r, r.Ok ? $"ok: {r.Snapshots} snapshots, {r.PacksRead} packs, {CliConsole.Bytes(r.BytesRead)} read" : $"{r.Errors.Count} error(s): {r.Errors[0]}");
            });
            if (!check.Ok)
            {
                return new VaultDemoResult(false, 0, 0, first.DataAdded, second.DataAdded, ExitCodes.CheckFailed);
            }
        }

        await _steps.RunAsync("restore latest from secondary", async () =>
        {
            var snapshot = await secondary.FindSnapshotAsync("latest", new SnapshotFilter { Source = "leads" }, null, ct);
            var r = await secondary.RestoreAsync(new RestoreRequest { Snapshot = snapshot, TargetDirectory = restoreDir }, null, ct);
            return (r, $"snapshot {snapshot.ShortId}: {r.Files} files, {CliConsole.Bytes(r.Bytes)} into {restoreDir}");
        });

        var (differences, files, bytes) = await _steps.RunAsync("verify byte-identical", async () =>
        {
            var expected = await TreeComparer.FingerprintAsync(data, ct);
            var actual = await TreeComparer.FingerprintAsync(Path.Combine(restoreDir, RestoredSubpath(data)), ct);
            var diff = TreeComparer.Compare(expected, actual);
            var fileCount = expected.Count(f => !f.IsDirectory);
            var result = (diff, fileCount, expected.Sum(f => f.Size));
            return (result, diff.Count == 0
                ? $"{fileCount} files and {expected.Count - fileCount} directories identical (SHA-256, size, mtime, mode)"
                : $"{diff.Count} difference(s), first: {diff[0]}");
        });

        _ = generated;
        return new VaultDemoResult(differences.Count == 0, files, bytes, first.DataAdded, second.DataAdded, differences.Count == 0 ? ExitCodes.Ok : ExitCodes.Failure);
    }

    /// <summary>Where a backed-up path lands below the restore target: the root tree names each path by its last segment.</summary>
    internal static string RestoredSubpath(string sourcePath) =>
        Path.GetFileName(Path.TrimEndingDirectorySeparator(Path.GetFullPath(sourcePath)));
}
