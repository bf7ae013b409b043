using Lifeline.Cli.Commands;
using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Lake.Recovery;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Cli.Demo;

/// <summary>
/// The lake part of <c>lifeline demo</c>: seed the lead-scoring lake, back the leads table up into a vault, keep
/// writing, lose the table, restore it as of the backed-up version and as of an earlier version, and replicate it.
/// </summary>
internal static class LakeDemo
{
    public static async Task<int> RunAsync(string workDir, TextWriter output, CancellationToken ct)
    {
        var lakeDir = Path.Combine(workDir, "region-a", "lake");
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(lakeDir), "", cancellationToken: ct);
        await lake.SeedAsync(new LeadGenerator(42, new DateTimeOffset(2024, 12, 1, 0, 0, 0, TimeSpan.Zero)), 5000, 5, ct);
        var leadsDir = Path.Combine(lakeDir, "leads");
        var leads = await lake.Leads.GetSnapshotAsync(null, ct);
        await output.WriteLineAsync($"lake: seeded {leads.RowCountFromStats} leads in {leads.Version} commits at {leadsDir}");

        await using var vault = await VaultRepository.InitAsync(new FileSystemObjectStore(Path.Combine(workDir, "vault")), "demo-password", VaultInitOptions.ForTests, null, ct);
        var backup = await LakeBackup.BackupAsync(vault, leadsDir, null, Path.Combine(workDir, "staging"), ct);
        await output.WriteLineAsync($"lake: backed up leads version {backup.Version} as snapshot {backup.Snapshot[..8]} ({backup.DataFiles} data files)");

        await lake.SeedAsync(new LeadGenerator(43, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), 100_000), 1000, 1, ct);
        var second = await LakeBackup.BackupAsync(vault, leadsDir, null, Path.Combine(workDir, "staging"), ct);
        await output.WriteLineAsync($"lake: incremental backup of version {second.Version}: {second.FilesNew} new files, {second.FilesUnmodified} unchanged");

        var replica = new DeltaTable(new FileSystemObjectStore(Path.Combine(workDir, "region-b", "lake", "leads")), "");
        var replicated = await TableReplicator.ReplicateAsync(lake.Leads, replica, null, ct);
        await output.WriteLineAsync($"lake: replicated leads to region-b: {replicated.VersionsCopied} versions, lag {replicated.LagVersions}");

        Directory.Delete(leadsDir, true);
        await output.WriteLineAsync("lake: leads table deleted (disaster)");
        var restored = await LakeBackup.RestoreAsync(vault, leadsDir, null, Path.Combine(workDir, "restored", "leads"), null, null, ct);
        await output.WriteLineAsync($"lake: restored leads at version {restored.Version}: {restored.Rows} rows");
        var earlier = await LakeBackup.RestoreAsync(vault, leadsDir, null, Path.Combine(workDir, "restored", "leads-v2"), 2, null, ct);
        await output.WriteLineAsync($"lake: restored leads as of version {earlier.Version}: {earlier.Rows} rows");
        var report = await TableVerifier.VerifyAsync(new DeltaTable(new FileSystemObjectStore(earlier.Target), ""), true, null, ct);
        await output.WriteLineAsync($"lake: verify restored table: {(report.Ok ? "ok" : string.Join("; ", report.Problems.Select(p => p.Message)))}");
        return report.Ok && restored.Rows == 6000 && earlier.Rows == 2000 ? ExitCodes.Ok : ExitCodes.CheckFailed;
    }
}
