using System.CommandLine;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery;
using Lifeline.Recovery.Audit;
using Lifeline.Vault;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline vault ...</c>: the backup repository's command line, restic-like (docs/cli.md).</summary>
internal static class VaultCommands
{
    private static readonly Option<string?> SourceFilter = new("--source") { Description = "Only snapshots of this source" };
    private static readonly Option<string[]> TagFilter = new("--tag") { Description = "Only snapshots carrying this tag (repeatable: all must match)" };
    private static readonly Option<string?> HostFilter = new("--host") { Description = "Only snapshots from this host" };

    public static Command Create()
    {
        var vault = new Command("vault", "Encrypted, deduplicating, verified backup repository (restic-like)");
        vault.Options.Add(CommonOptions.Repo);
        vault.Options.Add(CommonOptions.PasswordFile);
        vault.Subcommands.Add(Init());
        vault.Subcommands.Add(Backup());
        vault.Subcommands.Add(Snapshots());
        vault.Subcommands.Add(Ls());
        vault.Subcommands.Add(Diff());
        vault.Subcommands.Add(Restore());
        vault.Subcommands.Add(Check());
        vault.Subcommands.Add(Forget());
        vault.Subcommands.Add(Prune());
        vault.Subcommands.Add(Copy());
        vault.Subcommands.Add(Key());
        vault.Subcommands.Add(Unlock());
        return vault;
    }

    private static Command Init()
    {
        var kdfMemory = CountOption("--kdf-memory-mib", "Argon2id memory per key derivation in MiB (default 64)");
        var kdfIterations = CountOption("--kdf-iterations", "Argon2id iterations (default 1)");
        var packSize = CountOption("--pack-size-mib", "Target pack file size in MiB (default 16)");
        var from = new Option<string?>("--from", "--from-repo") { Description = "Copy the chunker parameters of this repository, so that a copy target also deduplicates direct backups" };
        var copyMasterKey = new Option<bool>("--copy-master-key") { Description = "Also share the --from repository's master key (a second location of the same data: copies send its packs as they are; each repository keeps its own password)" };
        var fromPasswordFile = new Option<string?>("--from-password-file") { Description = "Read the --from repository's password from this file (default: $LIFELINE_FROM_PASSWORD)" };
        var command = new Command("init", "Create a new repository at --repo with one key for the password");
        command.Options.Add(from);
        command.Options.Add(fromPasswordFile);
        command.Options.Add(copyMasterKey);
        command.Options.Add(kdfMemory);
        command.Options.Add(kdfIterations);
        command.Options.Add(packSize);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            var location = session.Location;
            var password = session.Settings.Password(parse.GetValue(CommonOptions.PasswordFile));
            var options = new VaultInitOptions();
            if (parse.GetValue(kdfMemory) is { } mib)
            {
                options = options with { KdfMemoryKiB = Positive("--kdf-memory-mib", mib, "64") * 1024 };
            }

            if (parse.GetValue(kdfIterations) is { } iterations)
            {
                options = options with { KdfIterations = Positive("--kdf-iterations", iterations, "2") };
            }

            if (parse.GetValue(packSize) is { } pack)
            {
                if (pack < 9)
                {
                    throw new UsageException($"--pack-size-mib {pack} is too small: a pack must hold the largest chunk (8 MiB), use at least 9, e.g. --pack-size-mib 16");
                }

                options = options with { PackSize = pack * 1024 * 1024 };
            }

            VaultRepository? template = null;
            var shareKey = parse.GetValue(copyMasterKey);
            if (shareKey && parse.GetValue(from) is not { Length: > 0 })
            {
                throw new UsageException("--copy-master-key needs --from-repo LOCATION: the repository whose master key the new one shares");
            }

            if (parse.GetValue(from) is { Length: > 0 } fromLocation)
            {
                template = await session.OpenOtherAsync(
                    fromLocation, parse.GetValue(fromPasswordFile), "--from", "--from-password-file", RepositorySettings.FromPasswordVariable, ct);
                options = options with { CopyChunkerParamsFrom = template, CopyMasterKeyFrom = shareKey ? template : null };
            }

            await using var templateScope = template;
            var store = session.Settings.OpenStore(location, create: true);
            VaultRepository repo;
            try
            {
                repo = await VaultRepository.InitAsync(store, password, options, session.Time, ct);
            }
            catch (ArgumentException e)
            {
                // parameters the vault refuses (e.g. a pack size too small for the largest chunk)
                throw new UsageException($"invalid init options: {(e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal))}");
            }

            await using var _ = repo;
            session.Console.Document(new InitJson(repo.Id, store.Location));
            session.Console.Line($"created vault {Short(repo.Id)} at {store.Location}{(template is null ? "" : $" ({(shareKey ? "master key and chunker parameters" : "chunker parameters")} of {template.Store.Location})")}");
            session.Console.Line("keep the password safe: the data cannot be read without it");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Backup()
    {
        var paths = new Argument<string[]>("PATH") { Description = "Files or directories to back up", Arity = ArgumentArity.OneOrMore };
        var source = new Option<string?>("--source") { Description = "Source name (which component this is), default \"default\"" };
        var tags = new Option<string[]>("--tag") { Description = "Tag the snapshot (repeatable)" };
        var host = new Option<string?>("--host") { Description = "Host name stored in the snapshot (default: this machine)" };
        var parent = new Option<string?>("--parent") { Description = "Snapshot to compare against (default: the newest of the same source, host and paths)" };
        var force = new Option<bool>("--force") { Description = "Read every file even if unchanged since the parent" };
        var command = new Command("backup", "Back up files and directories into a new snapshot");
        command.Arguments.Add(paths);
        command.Options.Add(source);
        command.Options.Add(tags);
        command.Options.Add(host);
        command.Options.Add(parent);
        command.Options.Add(force);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            var request = new BackupRequest
            {
                Paths = parse.GetValue(paths) ?? [],
                Source = parse.GetValue(source) is { Length: > 0 } s ? s : "default",
                Tags = parse.GetValue(tags) ?? [],
                Host = parse.GetValue(host),
                ParentId = parse.GetValue(parent),
                Force = parse.GetValue(force),
            };
            foreach (var path in request.Paths)
            {
                if (!File.Exists(path) && !Directory.Exists(path) && !IsSymlink(path))
                {
                    throw new UsageException($"backup source '{path}' does not exist");
                }
            }

            await using var repo = await session.OpenAsync(ct);
            var result = await session.WithProgressAsync("backup", progress => repo.BackupAsync(request, progress, ct));
            foreach (var error in result.Errors)
            {
                session.Console.Warning($"not backed up: {error.Path}: {error.Message}");
            }

            session.Console.Document(new BackupJson(
                SnapshotJson.From(result.Snapshot), result.FilesNew, result.FilesChanged, result.FilesUnmodified,
                result.DirsNew, result.DirsChanged, result.DirsUnmodified, result.BlobsAdded, result.DataAdded,
                result.TotalFiles, result.TotalBytes, result.Duration.TotalSeconds,
                result.Errors.Select(e => new SourceErrorJson(e.Path, e.Message)).ToList()));
            var c = session.Console;
            c.Line($"files:       {result.FilesNew} new, {result.FilesChanged} changed, {result.FilesUnmodified} unmodified");
            c.Line($"directories: {result.DirsNew} new, {result.DirsChanged} changed, {result.DirsUnmodified} unmodified");
            c.Line($"added to the vault: {CliConsole.Bytes(result.DataAdded)} ({result.BlobsAdded} blobs)");
            c.Line($"processed {result.TotalFiles} files, {CliConsole.Bytes(result.TotalBytes)} in {result.Duration.TotalSeconds:0.00}s");
            c.Line($"snapshot {result.Snapshot.ShortId} saved (source {result.Snapshot.Source})");
            if (result.Errors.Count > 0)
            {
                c.Line($"partly backed up: {result.Errors.Count} source path(s) could not be read (listed on stderr)");
                return ExitCodes.PartialBackup;
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Snapshots()
    {
        var since = CommonOptions.Time("--since", "Only snapshots taken at or after this time");
        var until = CommonOptions.Time("--until", "Only snapshots taken at or before this time");
        var command = new Command("snapshots", "List snapshots, oldest first; a corrupt snapshot is listed as such (exit 4)");
        AddFilters(command);
        command.Options.Add(since);
        command.Options.Add(until);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            var filter = Filter(parse) with { Since = parse.GetValue(since), Until = parse.GetValue(until) };
            await using var repo = await session.OpenAsync(ct);
            var listing = await repo.ScanSnapshotsAsync(filter, ct);
            var list = listing.Snapshots;
            session.Console.Document(list.Select(SnapshotJson.From).Concat(listing.Corrupt.Select(SnapshotJson.FromCorrupt)).ToList());
            session.Console.Table(
                ["ID", "Time", "Host", "Source", "Tags", "Paths", "Size"],
                list.Select(s => (IReadOnlyList<string>)
                [
                    s.ShortId, CliConsole.Time(s.Time), s.Host, s.Source, string.Join(',', s.Tags), string.Join(' ', s.Paths),
                    s.Summary is null ? "" : CliConsole.Bytes(s.Summary.TotalBytes),
                ]).Concat(listing.Corrupt.Select(c => (IReadOnlyList<string>)[c.ShortId, "CORRUPT", "", "", "", c.Reason, ""])),
                new HashSet<int> { 6 });
            session.Console.Line($"{list.Count} snapshot(s){(listing.Corrupt.Count > 0 ? $", {listing.Corrupt.Count} corrupt" : "")}");
            if (listing.Corrupt.Count > 0)
            {
                var first = listing.Corrupt[0];
                var more = listing.Corrupt.Count > 1 ? $" (and {listing.Corrupt.Count - 1} more)" : "";
                throw new CliException(ExitCodes.CheckFailed, $"snapshot {first.ShortId} is corrupt ({first.Reason}){more}: it cannot be listed or restored; run 'lifeline vault check' and repair the vault from a copy");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Ls()
    {
        var snapshotArg = new Argument<string>("SNAPSHOT") { Description = "Snapshot id (prefix) or 'latest'" };
        var pathArg = new Argument<string?>("PATH") { Description = "Only entries at or below this path in the snapshot", Arity = ArgumentArity.ZeroOrOne };
        var longFormat = new Option<bool>("--long", "-l") { Description = "Show type, mode, size and modification time" };
        var command = new Command("ls", "List the files and directories of a snapshot");
        command.Arguments.Add(snapshotArg);
        command.Arguments.Add(pathArg);
        command.Options.Add(longFormat);
        AddFilters(command);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            await using var repo = await session.OpenAsync(ct);
            var snapshot = await repo.FindSnapshotAsync(parse.GetValue(snapshotArg)!, Filter(parse), null, ct);
            var nodes = new List<NodeJson>();
            var isLong = parse.GetValue(longFormat);
            var prefix = parse.GetValue(pathArg);
            if (!session.Console.Json)
            {
                session.Console.Line($"snapshot {snapshot.ShortId} of {string.Join(' ', snapshot.Paths)} at {CliConsole.Time(snapshot.Time)}:");
            }

            await foreach (var node in repo.ListNodesAsync(snapshot, prefix, ct))
            {
                if (session.Console.Json)
                {
                    nodes.Add(NodeJson.From(node));
                }
                else if (isLong)
                {
                    var n = NodeJson.From(node);
                    session.Console.Line($"{n.Type,-7} {n.Mode} {node.Size,12} {CliConsole.Time(node.ModTime)} {node.Path}{(node.LinkTarget is null ? "" : " -> " + node.LinkTarget)}");
                }
                else
                {
                    session.Console.Line(node.Path);
                }
            }

            session.Console.Document(new LsJson(SnapshotJson.From(snapshot), nodes));
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Diff()
    {
        var a = new Argument<string>("A") { Description = "The older snapshot (id prefix or 'latest')" };
        var b = new Argument<string>("B") { Description = "The newer snapshot (id prefix or 'latest')" };
        var command = new Command("diff", "Show what changed between two snapshots");
        command.Arguments.Add(a);
        command.Arguments.Add(b);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            await using var repo = await session.OpenAsync(ct);
            var from = await repo.FindSnapshotAsync(parse.GetValue(a)!, null, null, ct);
            var to = await repo.FindSnapshotAsync(parse.GetValue(b)!, null, null, ct);
            var diff = await repo.DiffAsync(from, to, ct);
            session.Console.Document(new DiffJson(SnapshotJson.From(from), SnapshotJson.From(to), diff.Added, diff.Removed, diff.Modified, diff.AddedBytes, diff.RemovedBytes));
            session.Console.Line($"comparing snapshot {from.ShortId} to {to.ShortId}:");
            foreach (var line in diff.Added.Select(p => "+    " + p).Concat(diff.Removed.Select(p => "-    " + p)).Concat(diff.Modified.Select(p => "M    " + p))
                         .OrderBy(l => l[5..], StringComparer.Ordinal))
            {
                session.Console.Line(line);
            }

            session.Console.Line($"{diff.Added.Count} added ({CliConsole.Bytes(diff.AddedBytes)}), {diff.Removed.Count} removed ({CliConsole.Bytes(diff.RemovedBytes)}), {diff.Modified.Count} modified");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Restore()
    {
        var snapshotArg = new Argument<string>("SNAPSHOT") { Description = "Snapshot id (prefix) or 'latest'" };
        var target = new Option<string>("--target", "-t") { Description = "Directory to restore into (must be empty unless --overwrite)", Required = true };
        var at = CommonOptions.At("With 'latest': the newest snapshot at or before this time");
        var include = new Option<string[]>("--include", "-i") { Description = "Restore only paths matching this glob (repeatable; '*', '?', '**')" };
        var overwrite = new Option<bool>("--overwrite") { Description = "Allow a non-empty target; existing files are replaced" };
        var command = new Command("restore", "Restore a snapshot into a directory");
        command.Arguments.Add(snapshotArg);
        command.Options.Add(target);
        command.Options.Add(at);
        command.Options.Add(include);
        command.Options.Add(overwrite);
        AddFilters(command);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            var which = parse.GetValue(snapshotArg)!;
            var atTime = parse.GetValue(at);
            if (atTime is not null && !string.Equals(which, "latest", StringComparison.OrdinalIgnoreCase))
            {
                throw new UsageException($"--at picks the newest snapshot at or before a time: use it with 'latest', e.g. restore latest --at '2026-11-26 14:30' (not with the id '{which}')");
            }

            var targetDir = Path.GetFullPath(parse.GetValue(target)!);
            if (File.Exists(targetDir))
            {
                throw new UsageException($"restore target '{targetDir}' is a file: --target needs a directory");
            }

            if (!parse.GetValue(overwrite) && Directory.Exists(targetDir) && Directory.EnumerateFileSystemEntries(targetDir).Any())
            {
                // refused before the repository is opened, as every restore command does
                throw new RestoreTargetNotEmptyException(targetDir);
            }

            await using var repo = await session.OpenAsync(ct);
            SnapshotInfo snapshot;
            try
            {
                snapshot = await repo.FindSnapshotAsync(which, Filter(parse), atTime, ct);
            }
            catch (SnapshotCorruptException e) when (e.AsLatest)
            {
                throw new CliException(ExitCodes.CheckFailed, CorruptLatest(e, previous => $"lifeline vault restore {previous} --target {targetDir}"), e);
            }

            var started = session.Time.GetTimestamp();
            var result = await session.WithProgressAsync("restore", progress => repo.RestoreAsync(new RestoreRequest
            {
                Snapshot = snapshot,
                TargetDirectory = targetDir,
                Include = parse.GetValue(include) ?? [],
                Overwrite = parse.GetValue(overwrite),
            }, progress, ct));
            var seconds = session.Time.GetElapsedTime(started).TotalSeconds;
            session.Console.Document(new RestoreJson(SnapshotJson.From(snapshot), targetDir, result.Files, result.Dirs, result.Bytes, seconds));
            session.Console.Line($"restored snapshot {snapshot.ShortId} ({CliConsole.Time(snapshot.Time)}) to {targetDir}");
            session.Console.Line($"{result.Files} files, {result.Dirs} directories, {CliConsole.Bytes(result.Bytes)} in {seconds:0.00}s");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Check()
    {
        var readData = new Option<bool>("--read-data") { Description = "Also read, decrypt and verify every blob of every pack" };
        var subset = new Option<string?>("--read-data-subset") { Description = "Read and verify part N of T of the packs, e.g. 1/5" };
        var command = new Command("check", "Verify the repository: snapshots, trees, index, packs, and with --read-data every blob");
        command.Options.Add(readData);
        command.Options.Add(subset);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            (int, int)? part = parse.GetValue(subset) is { } text ? TimeArguments.ParseSubset("--read-data-subset", text) : null;
            var options = new CheckOptions { ReadData = parse.GetValue(readData) || part is not null, ReadDataSubset = part };
            await using var repo = await session.OpenAsync(ct);
            var result = await session.WithProgressAsync("check", progress => repo.CheckAsync(options, progress, ct));
            session.Console.Document(new CheckJson(
                result.Ok, result.Errors, result.Warnings, result.Snapshots, result.Trees, result.Packs, result.Blobs,
                result.PacksRead, result.BytesRead, options.ReadData, part is { } p ? $"{p.Item1}/{p.Item2}" : null));
            foreach (var warning in result.Warnings)
            {
                session.Console.Line($"warning: {warning}");
            }

            foreach (var error in result.Errors)
            {
                session.Console.Line($"error: {error}");
            }

            var read = options.ReadData ? $", read {result.PacksRead} packs ({CliConsole.Bytes(result.BytesRead)})" : "";
            session.Console.Line($"checked {result.Snapshots} snapshots, {result.Trees} trees, {result.Packs} packs, {result.Blobs} blobs{read}");
            if (!result.Ok)
            {
                var more = result.Errors.Count > 1 ? $" (and {result.Errors.Count - 1} more)" : "";
                throw new CliException(ExitCodes.CheckFailed, $"check found {result.Errors.Count} error(s): {result.Errors[0]}{more}");
            }

            session.Console.Line("no errors were found");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Forget()
    {
        var keepLast = CountOption("--keep-last", "Keep the newest N snapshots");
        var keepHourly = CountOption("--keep-hourly", "Keep the newest snapshot of each of the last N hours");
        var keepDaily = CountOption("--keep-daily", "Keep the newest snapshot of each of the last N days");
        var keepWeekly = CountOption("--keep-weekly", "Keep the newest snapshot of each of the last N weeks");
        var keepMonthly = CountOption("--keep-monthly", "Keep the newest snapshot of each of the last N months");
        var keepYearly = CountOption("--keep-yearly", "Keep the newest snapshot of each of the last N years");
        var keepWithin = new Option<string?>("--keep-within") { Description = "Keep every snapshot within this duration of the newest, e.g. 30d, 2y, 7y, 12h, 1y6m" };
        var keepTag = new Option<string[]>("--keep-tag") { Description = "Keep every snapshot with this tag (repeatable)" };
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Show what would be removed; change nothing" };
        var prune = new Option<bool>("--prune") { Description = "Run prune afterwards to free the data" };
        var command = new Command("forget", "Remove snapshots that the retention policy does not keep");
        foreach (var option in new Option[] { keepLast, keepHourly, keepDaily, keepWeekly, keepMonthly, keepYearly, keepWithin, keepTag, dryRun, prune })
        {
            command.Options.Add(option);
        }

        AddFilters(command);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            int? Count(Option<int?> option)
            {
                var value = parse.GetValue(option);
                return value is < 0 ? throw new UsageException($"{option.Name} must be 0 or more, e.g. {option.Name} 7") : value;
            }

            var policy = new RetentionPolicy
            {
                KeepLast = Count(keepLast),
                KeepHourly = Count(keepHourly),
                KeepDaily = Count(keepDaily),
                KeepWeekly = Count(keepWeekly),
                KeepMonthly = Count(keepMonthly),
                KeepYearly = Count(keepYearly),
                KeepWithin = parse.GetValue(keepWithin) is { } w ? TimeArguments.ParseDuration("--keep-within", w).Approximate : null,
                KeepTags = parse.GetValue(keepTag) is { Length: > 0 } t ? t : null,
            };
            if (policy.IsEmpty)
            {
                throw new UsageException("forget needs a retention policy: pass at least one --keep-* option, e.g. --keep-daily 7 --keep-within 30d");
            }

            var isDry = parse.GetValue(dryRun);
            await using var repo = await session.OpenAsync(ct);
            var result = await repo.ForgetAsync(policy, Filter(parse), isDry, ct);
            PruneResult? pruned = null;
            if (parse.GetValue(prune) && !isDry && result.Remove.Count > 0)
            {
                pruned = await session.WithProgressAsync("prune", progress => repo.PruneAsync(false, progress, ct));
            }

            session.Console.Document(new ForgetJson(
                result.DryRun,
                result.Keep.Select(k => new KeptJson(SnapshotJson.From(k.Snapshot), k.Reasons)).ToList(),
                result.Remove.Select(SnapshotJson.From).ToList(),
                pruned is null ? null : PruneJson.From(pruned)));
            var c = session.Console;
            c.Line($"keep {result.Keep.Count} snapshot(s):");
            c.Table(
                ["ID", "Time", "Source", "Tags", "Reasons"],
                result.Keep.Select(k => (IReadOnlyList<string>)[k.Snapshot.ShortId, CliConsole.Time(k.Snapshot.Time), k.Snapshot.Source, string.Join(',', k.Snapshot.Tags), string.Join(", ", k.Reasons)]));
            c.Line($"{(result.DryRun ? "would remove" : "removed")} {result.Remove.Count} snapshot(s){(result.Remove.Count > 0 ? ":" : "")}");
            if (result.Remove.Count > 0)
            {
                c.Table(
                    ["ID", "Time", "Source", "Tags"],
                    result.Remove.Select(s => (IReadOnlyList<string>)[s.ShortId, CliConsole.Time(s.Time), s.Source, string.Join(',', s.Tags)]));
            }

            if (pruned is not null)
            {
                PrintPrune(c, pruned);
            }
            else if (!result.DryRun && result.Remove.Count > 0)
            {
                c.Line("run 'lifeline vault prune' to free the data");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Prune()
    {
        var dryRun = new Option<bool>("--dry-run", "-n") { Description = "Show what would be freed; change nothing" };
        var command = new Command("prune", "Delete data that no snapshot uses (new packs are written before anything is deleted)");
        command.Options.Add(dryRun);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            await using var repo = await session.OpenAsync(ct);
            var result = await session.WithProgressAsync("prune", progress => repo.PruneAsync(parse.GetValue(dryRun), progress, ct));
            session.Console.Document(PruneJson.From(result));
            PrintPrune(session.Console, result);
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// Opens two repositories at once (their key derivations in parallel); a failure of the first is reported before
    /// one of the second, and a repository opened when the other failed is closed.
    /// </summary>
    private static async Task<(VaultRepository First, VaultRepository Second)> OpenBothAsync(Func<Task<VaultRepository>> first, Func<Task<VaultRepository>> second)
    {
        var a = Task.Run(first);
        var b = Task.Run(second);
        try
        {
            await Task.WhenAll(a, b);
        }
        catch (Exception)
        {
            if (a.IsCompletedSuccessfully)
            {
                await a.Result.DisposeAsync();
            }

            if (b.IsCompletedSuccessfully)
            {
                await b.Result.DisposeAsync();
            }

            // the first repository's error first, as when they were opened one after the other
            await (a.IsFaulted || a.IsCanceled ? a : b);
            throw;
        }

        return (a.Result, b.Result);
    }

    private static Command Copy()
    {
        var to = new Option<string>("--to") { Description = "The destination repository (it must exist: 'lifeline vault init' it first)", Required = true };
        var toPasswordFile = new Option<string?>("--to-password-file") { Description = "Read the destination's password from this file (default: $LIFELINE_TO_PASSWORD)" };
        var verifyPlaintext = new Option<bool>("--verify-plaintext") { Description = "Also decompress every blob and hash its plaintext against its id (default: every blob is authenticated, and whole packs hashed)" };
        var command = new Command("copy", "Copy snapshots to another repository, sending only the data it lacks");
        command.Options.Add(to);
        command.Options.Add(toPasswordFile);
        command.Options.Add(verifyPlaintext);
        AddFilters(command);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            var destination = parse.GetValue(to)!;
            // the two key derivations (one per repository, each at full strength) run at once, one per core
            var (repo, target) = await OpenBothAsync(
                () => session.OpenAsync(ct),
                () => session.OpenOtherAsync(destination, parse.GetValue(toPasswordFile), "--to", "--to-password-file", RepositorySettings.ToPasswordVariable, ct));
            await using var repoScope = repo;
            await using var targetScope = target;
            var options = new CopyOptions { Filter = Filter(parse), VerifyPlaintext = parse.GetValue(verifyPlaintext) };
            var result = await session.WithProgressAsync("copy", progress => repo.CopyAsync(target, options, progress, ct));
            session.Console.Document(new CopyJson(target.Store.Location, result.SnapshotsCopied, result.SnapshotsSkipped, result.BlobsCopied, result.BytesCopied, result.PacksCopiedWhole, result.SharedMasterKey, result.PlaintextVerified));
            session.Console.Line($"copied {result.SnapshotsCopied} snapshot(s) to {target.Store.Location} ({result.SnapshotsSkipped} already there)");
            session.Console.Line($"sent {result.BlobsCopied} blobs, {CliConsole.Bytes(result.BytesCopied)}");
            if ((await repo.ScanSnapshotsAsync(null, ct)).Corrupt is { Count: > 0 } corrupt)
            {
                // never silently left out: the copy holds every readable snapshot, and says which one it could not read
                throw new CliException(ExitCodes.CheckFailed, $"snapshot {corrupt[0].ShortId} is corrupt ({corrupt[0].Reason}) and was not copied{(corrupt.Count > 1 ? $" (and {corrupt.Count - 1} more)" : "")}; run 'lifeline vault check' and repair the vault from a copy");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Key()
    {
        var key = new Command("key", "Manage the keys (passwords) that open the repository");
        var newPasswordFile = new Option<string?>("--new-password-file") { Description = "Read the new password from this file (default: $LIFELINE_NEW_PASSWORD)" };
        var add = new Command("add", "Add a key for another password");
        add.Options.Add(newPasswordFile);
        add.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            var newPassword = session.Settings.Password(parse.GetValue(newPasswordFile), "--new-password-file", RepositorySettings.NewPasswordVariable);
            await using var repo = await session.OpenAsync(ct);
            var added = await AuditedKeyChangeAsync(session, repo, () => repo.AddKeyAsync(newPassword, ct), k => $"added key {k.ShortId}", "adding a key", ct);
            session.Console.Document(KeyJson.From(added));
            session.Console.Line($"added key {added.ShortId}");
            return ExitCodes.Ok;
        });

        var list = new Command("list", "List the keys");
        list.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            await using var repo = await session.OpenAsync(ct);
            var keys = new List<KeyInfo>();
            await foreach (var k in repo.ListKeysAsync(ct))
            {
                keys.Add(k);
            }

            session.Console.Document(keys.Select(KeyJson.From).ToList());
            session.Console.Table(
                [" ", "ID", "Created", "Host"],
                keys.Select(k => (IReadOnlyList<string>)[k.Current ? "*" : "", k.ShortId, CliConsole.Time(k.Created), k.Host]));
            return ExitCodes.Ok;
        });

        var idArg = new Argument<string>("ID") { Description = "Key id (prefix) to remove; the key in use cannot be removed" };
        var remove = new Command("remove", "Remove a key");
        remove.Arguments.Add(idArg);
        remove.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            var id = parse.GetValue(idArg)!;
            await using var repo = await session.OpenAsync(ct);
            await AuditedKeyChangeAsync(session, repo, async () => { await repo.RemoveKeyAsync(id, ct); return id; }, _ => $"removed key {id}", $"removing key {id}", ct);
            session.Console.Document(new KeyRemovedJson(id));
            session.Console.Line($"removed key {id}");
            return ExitCodes.Ok;
        });

        key.Subcommands.Add(add);
        key.Subcommands.Add(list);
        key.Subcommands.Add(remove);
        return key;
    }

    /// <summary>Runs a key change and appends its audit record (also when it fails) to the vault's own audit log
    /// (docs/recovery.md, "Audit log"); a record that cannot be written is a warning, not a failed change.</summary>
    private static async Task<T> AuditedKeyChangeAsync<T>(CommandContext session, VaultRepository repo, Func<Task<T>> change, Func<T, string> done, string what, CancellationToken ct)
    {
        var started = session.Time.GetTimestamp();
        var arguments = session.Parse.Tokens.Select(t => t.Value).ToList();
        T result;
        try
        {
            result = await change();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            await AppendKeyAuditAsync(AuditOutcomes.Failed, $"{what} failed: {e.Message.Split('\n')[0]}");
            throw;
        }

        await AppendKeyAuditAsync(AuditOutcomes.Ok, done(result));
        return result;

        async Task AppendKeyAuditAsync(string outcome, string message)
        {
            try
            {
                await KeyChangeAudit.AppendAsync(repo.Store, outcome, message, session.Time.GetElapsedTime(started), arguments, session.Time, ct);
            }
            catch (Exception e) when (e is RecoveryException or IOException)
            {
                session.Console.Warning($"the key change is done but its audit record was not written: {e.Message.Split('\n')[0]}");
            }
        }
    }

    private static Command Unlock()
    {
        var removeAll = new Option<bool>("--remove-all") { Description = "Remove every lock, not only expired ones (only when no other process uses the repository)" };
        var command = new Command("unlock", "Remove stale locks left by processes that died");
        command.Options.Add(removeAll);
        command.Run(async (session, ct) =>
        {
            var parse = session.Parse;
            await using var repo = await session.OpenAsync(ct);
            var removed = await repo.UnlockAsync(parse.GetValue(removeAll), ct);
            session.Console.Document(new UnlockJson(removed));
            session.Console.Line($"removed {removed} lock(s)");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The message for a corrupt snapshot that "latest" may mean, naming the command that restores the previous one.</summary>
    internal static string CorruptLatest(SnapshotCorruptException e, Func<string, string> restoreCommand)
    {
        var c = e.Corrupt;
        var previous = e.Previous is { } p
            ? $"to restore the previous snapshot {p.ShortId} ({CliConsole.Time(p.Time)}) name it: {restoreCommand(p.ShortId)}"
            : "no intact snapshot is older";
        return $"snapshot {c.ShortId} is corrupt ({c.Reason}) and may be the newest, so nothing was restored; {previous}; run 'lifeline vault check' and repair the vault from a copy";
    }

    private static void PrintPrune(CliConsole c, PruneResult r)
    {
        var verb = r.DryRun ? "would free" : "freed";
        c.Line($"{verb} {CliConsole.Bytes(r.BytesFreed)}: {r.PacksDeleted} pack(s) deleted, {r.PacksRewritten} rewritten into {r.PacksWritten}, {r.BlobsRemoved} unused blob(s), {r.IndexFilesReplaced} index file(s) replaced");
    }

    /// <summary>An optional whole-number option whose bad value is a usage error naming it with an example.</summary>
    private static Option<int?> CountOption(string name, string description) => new(name)
    {
        Description = description,
        CustomParser = result =>
        {
            var token = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
            if (int.TryParse(token, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value))
            {
                return value;
            }

            result.AddError($"invalid value '{token}' for {name}: use a whole number, e.g. {name} 7");
            return null;
        },
    };

    private static void AddFilters(Command command)
    {
        command.Options.Add(SourceFilter);
        command.Options.Add(TagFilter);
        command.Options.Add(HostFilter);
    }

    private static SnapshotFilter Filter(ParseResult parse) => new()
    {
        Source = parse.GetValue(SourceFilter),
        Tags = parse.GetValue(TagFilter) is { Length: > 0 } tags ? tags : null,
        Host = parse.GetValue(HostFilter),
    };

    private static int Positive(string option, int value, string example) =>
        value > 0 ? value : throw new UsageException($"{option} must be a positive number, e.g. {option} {example}");

    private static string Short(string id) => id.Length > 8 ? id[..8] : id;

    private static bool IsSymlink(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget is not null;
        }
        catch (IOException)
        {
            return false;
        }
    }
}
