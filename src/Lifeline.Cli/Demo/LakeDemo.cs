using Lifeline.Cli.Commands;
using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Cli.Demo;

/// <summary>What the lake part of the demo did (the <c>lake</c> object of the demo's JSON document).</summary>
internal sealed record LakeDemoResult(string LakeDirectory, long LeadsVersion, long LeadsRows, long EarlierVersion, long EarlierRows, bool Verified, int ExitCode);

/// <summary>
/// The lake part of <c>lifeline demo</c>: seed the lead-scoring lake, back the leads table up into a vault, keep
/// writing, replicate it, lose the table, restore it in place from the vault (so the lake is whole again for
/// training) and as of an earlier version into a new directory, and verify that one with a full read.
/// </summary>
internal static class LakeDemo
{
    /// <summary>The lake's directory below the lake demo's work directory.</summary>
    public static string LakeDirectory(string workDir) => Path.Combine(workDir, "region-a", "lake");

    public static async Task<LakeDemoResult> RunAsync(string workDir, VaultRepository vault, DemoSteps steps, CancellationToken ct)
    {
        var lakeDir = LakeDirectory(workDir);
        var leadsDir = Path.Combine(lakeDir, "leads");
        var staging = Path.Combine(workDir, "staging");
        var lake = await steps.RunAsync("lake: seed", async () =>
        {
            var l = await LakeCommands.OpenLeadScoringLakeAsync(lakeDir, ct);
            await l.SeedAsync(new LeadGenerator(42, new DateTimeOffset(2024, 12, 1, 0, 0, 0, TimeSpan.Zero)), 5000, 5, ct);
            var leads = await l.Leads.GetSnapshotAsync(null, ct);
            return (l, $"{leads.RowCountFromStats} leads with their conversions in {leads.Version} commits at {Path.GetRelativePath(workDir, lakeDir)}");
        });

        await steps.RunAsync("lake: backup leads", async () =>
        {
            var b = await LakeTableVault.BackupAsync(vault, leadsDir, null, staging, ct);
            return (b, $"version {b.Version} as snapshot {b.Snapshot[..8]} ({b.DataFiles} data files)");
        });

        await steps.RunAsync("lake: write, backup again", async () =>
        {
            await lake.SeedAsync(new LeadGenerator(43, new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero), 100_000), 1000, 1, ct);
            var b = await LakeTableVault.BackupAsync(vault, leadsDir, null, staging, ct);
            return (b, $"1000 new leads; incremental backup of version {b.Version}: {b.FilesNew} new files, {b.FilesUnmodified} unchanged");
        });

        await steps.RunAsync("lake: replicate", async () =>
        {
            var replica = new DeltaTable(new FileSystemObjectStore(Path.Combine(workDir, "region-b", "lake", "leads")), "");
            var r = await TableReplicator.ReplicateAsync(lake.Leads, replica, null, ct);
            return (r, $"leads to region-b: {r.VersionsCopied} versions, lag {r.LagVersions}");
        });

        await steps.RunAsync("lake: lose leads table", () =>
        {
            Directory.Delete(leadsDir, true);
            return Task.FromResult((0, $"{Path.GetRelativePath(workDir, leadsDir)} deleted (disaster)"));
        });

        var restored = await steps.RunAsync("lake: restore leads", async () =>
        {
            var r = await LakeTableVault.RestoreAsync(vault, leadsDir, null, leadsDir, null, null, ct);
            return (r, $"restored leads in place at version {r.Version}: {r.Rows} rows");
        });

        var earlier = await steps.RunAsync("lake: restore as of v2", async () =>
        {
            var r = await LakeTableVault.RestoreAsync(vault, leadsDir, null, Path.Combine(workDir, "restored", "leads-v2"), 2, null, ct);
            return (r, $"restored leads as of version {r.Version}: {r.Rows} rows into {Path.GetRelativePath(workDir, r.Target)}");
        });

        var report = await steps.RunAsync("lake: verify restored v2", async () =>
        {
            var r = await TableVerifier.VerifyAsync(new DeltaTable(new FileSystemObjectStore(earlier.Target), ""), true, null, ct);
            return (r, r.Ok ? "verify restored table: ok (full read)" : "verify restored table: " + string.Join("; ", r.Problems.Select(p => p.Message)));
        });

        var ok = report.Ok && restored.Rows == 6000 && earlier.Rows == 2000;
        return new LakeDemoResult(lakeDir, restored.Version, restored.Rows, earlier.Version, earlier.Rows, ok, ok ? ExitCodes.Ok : ExitCodes.CheckFailed);
    }
}
