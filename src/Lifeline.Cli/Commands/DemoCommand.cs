using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using Lifeline.Cli.Demo;
using Lifeline.Cli.Infrastructure;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline demo</c>: the main job on embedded defaults; it grows with each area.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var dir = new Option<string?>("--dir") { Description = "Work in this (empty or new) directory and keep it (default: a fresh temporary directory, removed afterwards)" };
        var keep = new Option<bool>("--keep") { Description = "Keep the temporary directory to look at afterwards" };
        var command = new Command("demo", "Run the whole recovery story on embedded defaults in a temporary directory");
        command.Options.Add(dir);
        command.Options.Add(keep);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var given = parse.GetValue(dir);
            string directory;
            if (given is not null)
            {
                directory = Path.GetFullPath(given);
                if (Directory.Exists(directory) && Directory.EnumerateFileSystemEntries(directory).Any())
                {
                    throw new UsageException($"--dir '{directory}' is not empty: give a new or empty directory");
                }

                Directory.CreateDirectory(directory);
            }
            else
            {
                directory = Directory.CreateTempSubdirectory("lifeline-demo-").FullName;
            }

            var removeAfter = given is null && !parse.GetValue(keep);
            try
            {
                return await RunAsync(new DemoSteps(console, context.Time), directory, keepsDirectory: !removeAfter, ct);
            }
            finally
            {
                if (removeAfter)
                {
                    try
                    {
                        Directory.Delete(directory, recursive: true);
                    }
                    catch (IOException)
                    {
                    }
                }
            }
        });
        return command;
    }

    /// <summary>
    /// The story, part after part (plan, vault, lake, registry and scoring, up, verification), stopping after a part that fails; then the
    /// summary: the JSON document, or the table and one closing line per part, and the directory's fate last.
    /// </summary>
    private static async Task<int> RunAsync(DemoSteps steps, string directory, bool keepsDirectory, CancellationToken ct)
    {
        var console = steps.Console;
        // A fresh random password, unless LIFELINE_PASSWORD gives one: then the kept vaults can be opened afterwards
        // (`lifeline vault check --read-data --repo DIR/vault-primary`) to verify the demo independently.
        var password = Environment.GetEnvironmentVariable("LIFELINE_PASSWORD") is { Length: > 0 } given
            ? given
            : Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        // the plan first: the recommended plan checks clean, the customer's shows its contradictions
        var plan = await PlanDemo.RunAsync(directory, steps, ct);
        VaultDemoResult? vault = null;
        LakeDemoResult? lake = null;
        RegistryDemoResult? registry = null;
        ScoringDemoSummary? scoring = null;
        var code = plan.ExitCode;
        if (code == ExitCodes.Ok)
        {
            vault = await new VaultDemo(steps, password).RunAsync(directory, ct);
            code = vault.ExitCode;
        }

        if (code == ExitCodes.Ok)
        {
            // the lake and the registry back up into the primary vault of the vault part
            await using var primary = await steps.RunAsync("open primary vault", async () =>
            {
                var repo = await VaultRepository.OpenAsync(new FileSystemObjectStore(VaultDemo.PrimaryDirectory(directory)), password, steps.Time, ct);
                return (repo, $"{repo.Id[..8]}: the lake and the registry back up into it");
            });
            lake = await LakeDemo.RunAsync(Path.Combine(directory, "lake-demo"), primary, steps, ct);
            code = lake.ExitCode;
            if (code == ExitCodes.Ok)
            {
                (registry, scoring, code) = await new RegistryDemo(steps).RunAsync(directory, lake.LakeDirectory, primary, ct);
            }
        }

        // lifeline up: the deployment as a child process on the restored registry; written to, killed, restarted, nothing lost
        UpDemoResult? up = null;
        if (code == ExitCodes.Ok)
        {
            up = await UpDemo.RunAsync(directory, Path.Combine(directory, "registry", "data"), password, steps, ct);
            code = up.ExitCode;
        }

        // the daily checks on a small plan of their own: pass, find a pack cut short, open an incident and its notice,
        // pass again after the repair and resolve it
        VerifyDemoResult? verify = null;
        if (code == ExitCodes.Ok)
        {
            verify = await VerifyDemo.RunAsync(directory, password, steps, ct);
            code = verify.ExitCode;
        }

        console.Document(new DemoJson(directory, code == ExitCodes.Ok, vault?.Verified ?? false, vault?.Files ?? 0, vault?.Bytes ?? 0, vault?.FullBackupAdded ?? 0,
            vault?.SecondBackupAdded ?? 0, lake, registry, scoring, steps.Steps, Math.Round(steps.TotalSeconds, 3), plan, up, verify));
        if (!console.Json)
        {
            steps.PrintTable();
            console.Line(plan.Ok
                ? $"plan: Lifeline's recommended plan ({PlanDemo.RecommendedFile}) checks clean; the customer's plan ({PlanDemo.CustomerFile}) has {plan.CustomerErrors} errors: 'lifeline plan check --file {PlanDemo.CustomerFile}' lists them"
                : $"plan: check NOT as expected: the recommended plan has {plan.Errors} errors, the customer's {plan.CustomerErrors}");
            if (vault is not null)
            {
                console.Line(vault.Verified
                    ? $"vault: restore verified: {vault.Files} files, {CliConsole.Bytes(vault.Bytes)}, byte-identical with modification times"
                    : "vault: restore NOT verified: see the steps above");
            }

            if (lake is not null)
            {
                console.Line(lake.Verified
                    ? $"lake: leads restored at version {lake.LeadsVersion} ({lake.LeadsRows} rows) and as of version {lake.EarlierVersion} ({lake.EarlierRows} rows), verified"
                    : "lake: restore NOT verified: see the steps above");
            }

            if (registry is not null && scoring is not null)
            {
                console.Line(registry.Identical
                    ? $"registry: Production v{registry.RestoredProductionVersion} restored from the vault with a byte-identical artifact (sha256 {registry.RestoredArtifactSha256[..16]}…)"
                    : $"registry: restore NOT identical: Production v{registry.ProductionVersion} → v{registry.RestoredProductionVersion}");
                console.Line($"scoring: {scoring.Scored} of {scoring.Requested} leads scored over HTTP by v{scoring.ModelVersion} from the restored registry");
            }

            if (up is not null)
            {
                console.Line(up.NothingLost
                    ? $"up: the deployment ran as a child 'lifeline up', was killed with SIGKILL and restarted: {up.Recorded} of {up.Acknowledged} acknowledged predictions recorded, nothing lost"
                    : $"up: LOST predictions: {up.Recorded} of {up.Acknowledged} acknowledged ones recorded");
                console.Line(up.ProtectionRunning
                    ? $"up: protection on change running ({up.Protection})"
                    : $"up: protection NOT running: {up.Protection}");
            }

            if (verify is not null)
            {
                console.Line(verify.Ok
                    ? $"verify: the daily checks passed, then found a pack cut short in b: incident {verify.IncidentId} opened and its notice recorded for on-call; b repaired from a, the checks passed and the incident resolved itself ({verify.Notices.Count} notices in the outbox)"
                    : $"verify: NOT as expected: checks passed {verify.ChecksPassed}, damage found {verify.DamageFound}, incident {verify.IncidentId ?? "none"}, resolved {verify.Resolved}");
            }

            console.Line(string.Create(CultureInfo.InvariantCulture,
                $"total {steps.TotalSeconds:0.00}s in {directory}{(keepsDirectory ? "" : " (removed now; --keep or --dir keeps it)")}"));
        }

        return code;
    }
}
