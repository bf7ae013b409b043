using System.CommandLine;
using System.Globalization;
using Lifeline.Cli.Infrastructure;
using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Lake.Recovery;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Storage;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline lake</c>: Delta tables. A table is any object-store location holding <c>_delta_log/</c>: a
/// directory, <c>s3://bucket/prefix</c> or <c>azure://container/prefix</c> (as the vault's <c>--repo</c>).</summary>
internal static class LakeCommands
{
    public static Command Create()
    {
        var lake = new Command("lake", "Delta Lake tables: seed, list, history, show, verify, vacuum, optimize, replicate, backup, restore");
        lake.Subcommands.Add(Seed());
        lake.Subcommands.Add(Ls());
        lake.Subcommands.Add(History());
        lake.Subcommands.Add(Show());
        lake.Subcommands.Add(Verify());
        lake.Subcommands.Add(Vacuum());
        lake.Subcommands.Add(Optimize());
        lake.Subcommands.Add(Replicate());
        lake.Subcommands.Add(Backup());
        lake.Subcommands.Add(Restore());
        lake.Subcommands.Add(Demo());
        return lake;
    }

    private static Argument<string> TableArgument(string name = "table", string description = "The Delta table: a directory, s3://bucket/prefix or azure://container/prefix")
    {
        var argument = new Argument<string>(name) { Description = description };
        argument.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
            {
                result.AddError($"the {name} argument is empty: name the table (a directory, s3://bucket/prefix or azure://container/prefix)");
            }
        });
        return argument;
    }

    /// <summary>Opens a table at any object-store location; a missing directory is reported as "not a Delta table" without creating it.</summary>
    internal static DeltaTable OpenTable(string location) => LakeTableVault.OpenTable(location);

    /// <summary>The store at <paramref name="location"/>: a path (made absolute), <c>s3://</c> or <c>azure://</c>.</summary>
    internal static IObjectStore StoreOf(string location) =>
        LakeTableVault.IsUrl(location) ? ObjectStores.Open(location) : new FileSystemObjectStore(Path.GetFullPath(location));

    /// <summary>
    /// The lead-scoring lake whose tables are directly below <paramref name="path"/> (<c>PATH/leads</c>, ...), as
    /// <c>lake seed</c> writes it and <c>train --lake</c> and <c>scoring serve --lake</c> read it; missing tables are created.
    /// </summary>
    internal static Task<LeadScoringLake> OpenLeadScoringLakeAsync(string path, CancellationToken ct) =>
        LeadScoringLake.OpenOrCreateAsync(StoreOf(path), "", cancellationToken: ct);

    private static Command Seed()
    {
        var dir = TableArgument("directory", "Directory to create the lead-scoring lake in (one table per sub-directory)");
        var leads = new Option<int>("--leads") { Description = "Number of leads to generate", DefaultValueFactory = _ => 10_000 };
        var batches = new Option<int>("--batches") { Description = "Commits per table", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Random seed", DefaultValueFactory = _ => 42 };
        var command = new Command("seed", "Create (or extend) the lead-scoring lake with synthetic leads, conversions, predictions, audit logs and metrics");
        command.Arguments.Add(dir);
        command.Options.Add(leads);
        command.Options.Add(batches);
        command.Options.Add(seed);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var count = parse.GetValue(leads);
            var commits = parse.GetValue(batches);
            if (count < 0 || commits < 1)
            {
                throw new UsageException("--leads must be 0 or more and --batches 1 or more, e.g. --leads 10000 --batches 5");
            }

            var path = LakeTableVault.NormalizeLocation(parse.GetValue(dir)!);
            var lake = await OpenLeadScoringLakeAsync(path, ct);
            var start = new DateTimeOffset(2024, 12, 1, 0, 0, 0, TimeSpan.Zero);
            var generator = new LeadGenerator(parse.GetValue(seed), start, firstId: (await lake.Leads.GetSnapshotAsync(null, ct)).RowCountFromStats + 1 ?? 1);
            await lake.SeedAsync(generator, count, commits, ct);
            var sample = (await lake.ReadLeadsAsync(cancellationToken: ct)).Take(Math.Min(count, 100)).ToList();
            await lake.AppendPredictionsAsync([.. sample.Select(l => new PredictionRecord(l, LeadGenerator.ConversionProbability(l),
                LeadGenerator.ConversionProbability(l) >= 0.6 ? "High" : "Low", "seed", l.CreatedAt.AddMinutes(1), 1.0))], cancellationToken: ct);
            await lake.AppendAuditLogsAsync([new AuditLogRecord(start, "lake.seed", Environment.UserName, "admin", path, $"{{\"leads\":{count}}}", "127.0.0.1", "success")], cancellationToken: ct);
            await lake.AppendMonitoringMetricsAsync([new MonitoringMetricRecord(start, 1.1, 2.5, 4.0, 100, 0.0, 0.8, 0.7, 0.7, 0.7)], cancellationToken: ct);
            var tables = new List<object>();
            foreach (var (name, table) in lake.Tables)
            {
                var s = await table.GetSnapshotAsync(null, ct);
                tables.Add(new { name, path = LakeTableVault.IsUrl(path) ? path + "/" + name : Path.Combine(path, name), version = s.Version, files = s.Files.Count, rowCount = s.RowCountFromStats });
            }

            if (json)
            {
                console.Document(new { directory = path, tables });
            }
            else
            {
                console.Line($"seeded {count} leads into {path}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Ls()
    {
        var dir = TableArgument("directory", "Directory to search for Delta tables");
        var command = new Command("ls", "List the Delta tables under a directory with their version, files and rows");
        command.Arguments.Add(dir);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var root = Path.GetFullPath(parse.GetValue(dir)!);
            if (!Directory.Exists(root))
            {
                throw new CliException(ExitCodes.Failure, $"{root}: the directory does not exist");
            }

            var rows = new List<LsRow>();
            foreach (var log in Directory.GetDirectories(root, "_delta_log", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
            {
                var tableDir = Path.GetDirectoryName(log)!;
                var relative = Path.GetRelativePath(root, tableDir);
                try
                {
                    var s = await OpenTable(tableDir).GetSnapshotAsync(null, ct);
                    rows.Add(new LsRow(relative, s.Version, s.Files.Count, s.RowCountFromStats, null));
                }
                catch (DeltaProtocolException e)
                {
                    rows.Add(new LsRow(relative, null, null, null, e.Message));
                }
            }

            if (json)
            {
                console.Document(rows);
            }
            else
            {
                foreach (var r in rows)
                {
                    console.Line(r.Error is null ? $"{r.Table}\tv{r.Version}\t{r.Files} files\t{r.RowCount?.ToString(CultureInfo.InvariantCulture) ?? "?"} rows" : $"{r.Table}\tERROR {r.Error}");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private sealed record LsRow(string Table, long? Version, int? Files, long? RowCount, string? Error);

    private static Command History()
    {
        var table = TableArgument();
        var command = new Command("history", "Show the commits still in the table's log");
        command.Arguments.Add(table);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var history = await OpenTable(parse.GetValue(table)!).GetHistoryAsync(true, ct);
            var rows = history.Select(h => new
            {
                version = h.Version,
                timestamp = h.Timestamp,
                operation = h.Operation,
                operationParameters = h.CommitInfo?["operationParameters"]?.ToJsonString(),
                file = "_delta_log/" + h.FileName,
            }).ToList();
            if (json)
            {
                console.Document(rows);
            }
            else
            {
                foreach (var r in rows)
                {
                    console.Line($"{r.version}\t{r.timestamp:O}\t{r.operation}\t{r.operationParameters}");
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show()
    {
        var table = TableArgument();
        var version = new Option<long?>("--version") { Description = "Show this version (time travel)" };
        var at = CommonOptions.At("Show the version current at this time");
        var command = new Command("show", "Show a table version: files (relative to the table root), row count, schema");
        command.Arguments.Add(table);
        command.Options.Add(version);
        command.Options.Add(at);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var t = OpenTable(parse.GetValue(table)!);
            var v = parse.GetValue(version);
            var time = parse.GetValue(at);
            if (v is not null && time is not null)
            {
                throw new UsageException("use either --version or --at, not both");
            }

            var snapshot = time is { } when ? await t.GetSnapshotAtAsync(when, ct) : await t.GetSnapshotAsync(v, ct);
            var rowCount = snapshot.RowCountFromStats ?? await t.CountRowsAsync(snapshot, ct);
            var result = new
            {
                table = t.Location,
                version = snapshot.Version,
                timestamp = snapshot.Timestamp,
                protocol = new { snapshot.Protocol.MinReaderVersion, snapshot.Protocol.MinWriterVersion, snapshot.Protocol.ReaderFeatures, snapshot.Protocol.WriterFeatures },
                partitionColumns = snapshot.Metadata.PartitionColumns,
                schema = snapshot.Schema.Fields.Select(f => new { f.Name, type = f.Type is Lake.Schema.PrimitiveType p ? p.Name : f.Type.ToJson().ToJsonString(), f.Nullable }),
                files = snapshot.Files.Select(f => f.RelativePath),
                rowCount,
                checkpointVersion = snapshot.CheckpointVersion,
            };
            if (json)
            {
                console.Document(result);
            }
            else
            {
                console.Line($"{t.Location} version {snapshot.Version} ({snapshot.Timestamp:O}): {snapshot.Files.Count} files, {rowCount} rows");
                foreach (var f in result.files)
                {
                    console.Line("  " + f);
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Verify()
    {
        var table = TableArgument();
        var full = new Option<bool>("--full") { Description = "Read every row of every file, not only the footers" };
        var command = new Command("verify", "Check the log is contiguous and every referenced file is present, of the logged size and readable");
        command.Arguments.Add(table);
        command.Options.Add(full);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var report = await TableVerifier.VerifyAsync(OpenTable(parse.GetValue(table)!), parse.GetValue(full), null, ct);
            if (json)
            {
                console.Document(report);
            }
            else
            {
                console.Line(report.Ok
                    ? $"{report.Table} version {report.Version}: ok ({report.FilesChecked} files, {report.RowsRead} rows)"
                    : $"{report.Table} version {report.Version}: {report.Problems.Count} problem(s)");
                foreach (var p in report.Problems)
                {
                    console.Line($"  {p.Kind}: {p.Message}");
                }
            }

            return report.Ok ? ExitCodes.Ok : ExitCodes.CheckFailed;
        });
        return command;
    }

    private static Command Vacuum()
    {
        var table = TableArgument();
        var hours = new Option<double?>("--retention-hours") { Description = "Keep unreferenced files younger than this (default: the table's delta.deletedFileRetentionDuration, 7 days)" };
        var dryRun = new Option<bool>("--dry-run") { Description = "List what would be deleted" };
        var force = new Option<bool>("--force") { Description = "Allow a retention shorter than the table's (unsafe with concurrent readers)" };
        var command = new Command("vacuum", "Delete data files the table no longer references, after the retention period");
        command.Arguments.Add(table);
        command.Options.Add(hours);
        command.Options.Add(dryRun);
        command.Options.Add(force);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var h = parse.GetValue(hours);
            var result = await OpenTable(parse.GetValue(table)!).VacuumAsync(h is null ? null : TimeSpan.FromHours(h.Value), parse.GetValue(dryRun), parse.GetValue(force), ct);
            if (json)
            {
                console.Document(result);
            }
            else
            {
                console.Line($"{(result.DryRun ? "would delete" : "deleted")} {result.Deleted.Count} files ({result.BytesFreed} bytes)");
                foreach (var f in result.Deleted)
                {
                    console.Line("  " + f);
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Optimize()
    {
        var table = TableArgument();
        var target = new Option<string?>("--target-size") { Description = "Size the compacted files aim for: bytes or with a unit (KiB, MiB, GiB; default 128MiB)" };
        target.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && ParseSize(result.Tokens[0].Value) is null)
            {
                result.AddError($"--target-size '{result.Tokens[0].Value}' is not a size: give a positive number of bytes or e.g. 64MiB, 1GiB");
            }
        });
        var command = new Command("optimize", "Compact each partition's small files into files of about the target size (Delta OPTIMIZE; the old files stay until vacuum's retention)");
        command.Arguments.Add(table);
        command.Options.Add(target);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var location = parse.GetValue(table)!;
            var delta = OpenTable(location);
            var options = parse.GetValue(target) is { } t ? new OptimizeOptions { TargetFileSize = ParseSize(t)!.Value } : new OptimizeOptions();
            var result = await delta.OptimizeAsync(options, ct);
            if (console.Json)
            {
                console.Document(result);
            }
            else
            {
                console.Line(result.Describe(location));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>A size in bytes: <c>1048576</c>, <c>64KiB</c>, <c>128MiB</c>, <c>1GiB</c> (also KB/MB/GB as powers of 1024); null when not a positive size.</summary>
    internal static long? ParseSize(string text)
    {
        var s = text.Trim();
        var units = new (string Suffix, long Factor)[] { ("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("B", 1) };
        long factor = 1;
        foreach (var (suffix, f) in units)
        {
            if (s.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
            {
                s = s[..^suffix.Length].Trim();
                factor = f;
                break;
            }
        }

        return double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) && n > 0 && n * factor < long.MaxValue && n * factor >= 1
            ? (long)(n * factor) : null;
    }

    /// <summary><c>--init</c>: opens the vault named by <c>--repo</c>, creating it first when the location is empty.</summary>
    private static async Task<Vault.VaultRepository> OpenOrInitAsync(CommandContext session, CancellationToken ct)
    {
        var store = session.Settings.OpenStore(session.Location, create: true);
        var password = session.Settings.Password(session.Parse.GetValue(CommonOptions.PasswordFile));
        return await store.ListAsync("", ct).AnyAsync(ct)
            ? await Vault.VaultRepository.OpenAsync(store, password, session.Time, ct)
            : await Vault.VaultRepository.InitAsync(store, password, null, session.Time, ct);
    }

    private static Command Backup()
    {
        var table = TableArgument();
        var version = new Option<long?>("--version") { Description = "Back up this version (default: the latest)" };
        var staging = new Option<string?>("--staging") { Description = "Staging directory kept between backups (default: under the temp directory)" };
        var init = new Option<bool>("--init") { Description = "Create the vault if it does not exist" };
        var command = new Command("backup", "Back up a table at one consistent version into the vault (only new files are stored)");
        command.Arguments.Add(table);
        command.Options.Add(CommonOptions.Repo);
        command.Options.Add(CommonOptions.PasswordFile);
        command.Options.Add(version);
        command.Options.Add(staging);
        command.Options.Add(init);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            await using var vault = parse.GetValue(init) ? await OpenOrInitAsync(context, ct) : await context.OpenAsync(ct);
            var result = await context.WithActivityAsync("lake backup", () => LakeTableVault.BackupAsync(vault, parse.GetValue(table)!, parse.GetValue(version), parse.GetValue(staging), ct));
            if (json)
            {
                console.Document(result);
            }
            else
            {
                console.Line($"snapshot {result.Snapshot[..8]}: {result.Table} version {result.Version}, {result.LogFiles} log files, {result.DataFiles} data files ({result.FilesNew} new, {result.DataAdded} bytes added)");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Restore()
    {
        var target = TableArgument("target", "New directory (or empty s3:// or azure:// location) to restore the table into");
        var from = new Option<string?>("--from") { Description = "The backed-up table's location (as given to backup)" };
        var snapshotId = new Option<string?>("--snapshot") { Description = "A vault snapshot id (prefix) instead of --from" };
        var version = new Option<long?>("--version") { Description = "Restore as of this version" };
        var at = CommonOptions.At("Restore as of this time");
        var command = new Command("restore", "Restore a table from the vault as of a version or time into a new directory (history kept)");
        command.Arguments.Add(target);
        command.Options.Add(CommonOptions.Repo);
        command.Options.Add(CommonOptions.PasswordFile);
        command.Options.Add(from);
        command.Options.Add(snapshotId);
        command.Options.Add(version);
        command.Options.Add(at);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var time = parse.GetValue(at);

            if (time is not null && parse.GetValue(version) is not null)
            {
                throw new UsageException("use either --version or --at, not both");
            }

            var targetDir = LakeTableVault.NormalizeLocation(parse.GetValue(target)!);
            if (!LakeTableVault.IsUrl(targetDir))
            {
                RestoreTargets.RequireEmpty(targetDir, "TARGET");
            }

            if (parse.GetValue(from) is null && parse.GetValue(snapshotId) is null)
            {
                throw new UsageException("give the backed-up table (--from LOCATION) or a snapshot id (--snapshot ID)");
            }

            await using var vault = await context.OpenAsync(ct);
            LakeRestoreResult result;
            try
            {
                result = await context.WithActivityAsync("lake restore", () => LakeTableVault.RestoreAsync(vault, parse.GetValue(from), parse.GetValue(snapshotId), targetDir, parse.GetValue(version), time, ct));
            }
            catch (Vault.SnapshotCorruptException e) when (e.AsLatest)
            {
                throw new CliException(ExitCodes.CheckFailed, VaultCommands.CorruptLatest(e, previous => $"lifeline lake restore {targetDir} --snapshot {previous}"), e);
            }
            if (json)
            {
                console.Document(result);
            }
            else
            {
                console.Line($"restored {result.Target} at version {result.Version} from snapshot {result.Snapshot[..8]} (version {result.SnapshotVersion}): {result.Files} files, {result.Rows} rows");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Demo()
    {
        var dir = new Option<string?>("--dir") { Description = "Work directory (default: a new temporary directory)" };
        var command = new Command("demo", "Seed the lake, back up, lose and restore a table (also as of an earlier version), replicate it");
        command.Options.Add(dir);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var work = parse.GetValue(dir) ?? Path.Combine(Path.GetTempPath(), "lifeline-lake-demo-" + Guid.NewGuid().ToString("N")[..8]);
            Directory.CreateDirectory(work);
            await using var vault = await Vault.VaultRepository.InitAsync(new FileSystemObjectStore(Path.Combine(work, "vault")), "demo-password", Vault.VaultInitOptions.ForTests, null, ct);
            var steps = new Lifeline.Cli.Demo.DemoSteps(console, context.Time);
            var result = await Lifeline.Cli.Demo.LakeDemo.RunAsync(work, vault, steps, ct);
            steps.Console.Document(new { lake = result, steps = steps.Steps });
            steps.PrintTable();
            return result.ExitCode;
        });
        return command;
    }

    private static Command Replicate()
    {
        var source = TableArgument("source", "The source table: a directory, s3:// or azure:// location");
        var target = TableArgument("target", "The replica: a directory (created if missing), s3:// or azure:// location");
        var status = new Option<bool>("--status") { Description = "Only report the replica's lag" };
        var command = new Command("replicate", "Bring a replica up to date, version by version (incremental, resumable, idempotent)");
        command.Arguments.Add(source);
        command.Arguments.Add(target);
        command.Options.Add(status);
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var console = context.Console;
            var json = console.Json;
            var src = OpenTable(parse.GetValue(source)!);
            var dst = new DeltaTable(DelayingObjectStore.WrapFromEnvironment(StoreOf(parse.GetValue(target)!)), "");
            object result = parse.GetValue(status)
                ? await TableReplicator.GetLagAsync(src, dst, ct)
                : await context.WithActivityAsync("lake replicate", () => TableReplicator.ReplicateAsync(src, dst, null, ct));
            if (json)
            {
                console.Document(result);
            }
            else if (result is ReplicationResult r)
            {
                console.Line($"replica at version {r.TargetVersion} (was {r.TargetVersionBefore}): {r.VersionsCopied} versions, {r.FilesCopied} files, {r.BytesCopied} bytes copied; lag {r.LagVersions} versions, {r.LagSeconds:0.#} s");
            }
            else if (result is ReplicaLag lag)
            {
                console.Line($"source version {lag.SourceVersion}, replica version {lag.TargetVersion}: lag {lag.LagVersions} versions, {lag.LagSeconds:0.#} s");
            }

            return ExitCodes.Ok;
        });
        return command;
    }
}
