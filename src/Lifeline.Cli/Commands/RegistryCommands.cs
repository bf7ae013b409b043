using System.CommandLine;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Components.Registry;
using Lifeline.Recovery.Tags;
using Lifeline.Registry;
using Lifeline.Registry.Backup;
using Lifeline.Registry.Client;
using Lifeline.Registry.Contracts;
using Lifeline.Registry.Hosting;
using Microsoft.Extensions.Logging;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline registry serve|backup|restore|export|import|ls|show</c>: the MLflow-compatible model registry and its
/// recovery. Tokens come from the environment (<c>LIFELINE_REGISTRY_TOKEN</c> for a client; for the server
/// <c>LIFELINE_REGISTRY_ADMIN_TOKEN</c>, <c>..._WRITE_TOKEN</c>, <c>..._READ_TOKEN</c>) or a <c>--config</c> file holding
/// SHA-256 hashes, never from the command line, and are never printed.
/// </summary>
internal static class RegistryCommands
{
    private const string ClientTokenVariable = "LIFELINE_REGISTRY_TOKEN";

    private static readonly Option<string?> DataDir = CommonOptions.DataDir("Registry data directory (registry.db + artifacts/); default ./lifeline-data/registry");
    private static readonly Option<string?> ViaApi = new("--via-api") { Description = "URL of an MLflow-compatible server to work through its REST API (token from $LIFELINE_REGISTRY_TOKEN)" };
    private static readonly Option<string?> Repo = CommonOptions.Repo;
    private static readonly Option<string?> PasswordFile = CommonOptions.PasswordFile;
    private static readonly Option<string?> WorkDir = new("--work-dir") { Description = "Directory for staging files (default: the system temp directory)" };
    private static readonly Option<string?> Postgres = new("--postgres") { Description = "PostgreSQL connection string of the registry's metadata instead of SQLite (default: $LIFELINE_REGISTRY_POSTGRES)" };

    public static Command Create()
    {
        var registry = new Command("registry", "The MLflow-compatible model registry: serve it, back it up, restore it, look inside");
        registry.Subcommands.Add(Serve());
        registry.Subcommands.Add(BackupCommand());
        registry.Subcommands.Add(RestoreCommand());
        registry.Subcommands.Add(ExportCommand());
        registry.Subcommands.Add(ImportCommand());
        registry.Subcommands.Add(List());
        registry.Subcommands.Add(Show());
        return registry;
    }

    // ---------------- serve ----------------

    private static Command Serve()
    {
        var urls = CommonOptions.Urls("http://127.0.0.1:5100", loopbackOnly: false);
        var config = new Option<string?>("--config") { Description = "JSON file with a \"Registry\" section (Tokens with Sha256 and Role, RequireTokenForReads, ...)" };
        var anonymous = new Option<bool>("--allow-anonymous-writes") { Description = "Accept writes without a token when none is configured (local demos only)" };
        var command = new Command("serve", "Serve the registry's MLflow REST API and artifact proxy") { DataDir, urls, config, Postgres, anonymous };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var json = context.Json;
            var options = await LoadOptionsAsync(parse.GetValue(config), ct) with
            {
                DataDirectory = DataDirectory(parse),
                PostgresConnectionString = PostgresOf(parse),
                AllowAnonymousWrites = parse.GetValue(anonymous),
            };
            options = options with { Tokens = [.. options.Tokens, .. TokensFromEnvironment()] };
            var gate = new HostStartGate();
            await using var app = await RegistryServer.StartAsync(options, parse.GetValue(urls)!, logging =>
            {
                logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Information).AddFilter("Microsoft", LogLevel.Warning);
                gate.AddTo(logging);
            }, cancellationToken: ct);
            gate.Open();
            var address = app.Address();
            Print(context, new { url = address.ToString(), dataDirectory = Path.GetFullPath(options.DataDirectory), tokens = options.Tokens.Count }, $"registry listening on {address} (data in {Path.GetFullPath(options.DataDirectory)}); Ctrl-C to stop");
            try
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            catch (OperationCanceledException)
            {
                // Ctrl-C: stop cleanly
            }

            await app.StopAsync(CancellationToken.None);
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<RegistryOptions> LoadOptionsAsync(string? path, CancellationToken ct)
    {
        if (path is null)
        {
            return new RegistryOptions();
        }

        try
        {
            using var doc = JsonDocument.Parse(await File.ReadAllTextAsync(path, ct));
            var section = doc.RootElement.TryGetProperty("Registry", out var r) ? r : doc.RootElement;
            return section.Deserialize<RegistryOptions>(new JsonSerializerOptions { PropertyNameCaseInsensitive = true, Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter() } }) ?? new RegistryOptions();
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            throw new UsageException($"cannot read --config {path}: {e.Message}");
        }
    }

    private static IEnumerable<RegistryToken> TokensFromEnvironment()
    {
        foreach (var (variable, role) in new[] { ("LIFELINE_REGISTRY_ADMIN_TOKEN", RegistryRole.Admin), ("LIFELINE_REGISTRY_WRITE_TOKEN", RegistryRole.Write), ("LIFELINE_REGISTRY_READ_TOKEN", RegistryRole.Read) })
        {
            if (Environment.GetEnvironmentVariable(variable) is { Length: > 0 } token)
            {
                yield return new RegistryToken { Sha256 = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(token))), Role = role };
            }
        }
    }

    // ---------------- backup / restore ----------------

    private static Command BackupCommand()
    {
        var command = new Command("backup", "Back the registry up into the vault: natively (--data-dir, online SQLite backup + artifacts) or through the API (--via-api URL)") { DataDir, Postgres, ViaApi, Repo, PasswordFile, WorkDir };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var json = context.Json;
            await using var vault = await context.OpenAsync(ct);
            var work = WorkDirectory(parse);
            var result = await context.WithActivityAsync("registry backup", async () => parse.GetValue(ViaApi) is { } url
                ? await RegistryVault.BackupViaApiAsync(vault, ClientFor(url), work, context.Time, ct)
                : await RegistryVault.BackupNativeAsync(vault, Target(parse), work, context.Time, ct));
            Print(context, new
            {
                snapshot = result.Snapshot.Id,
                mode = result.Manifest.Mode,
                source = result.Manifest.Source,
                counts = result.Manifest.Counts,
                artifactBytes = result.Manifest.Artifacts.Sum(a => a.Size),
                seconds = result.Duration.TotalSeconds,
            }, $"registry backup ({result.Manifest.Mode}) saved as snapshot {result.Snapshot.ShortId}: {Counts(result.Manifest)} in {result.Duration.TotalSeconds:F1}s");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command RestoreCommand()
    {
        var snapshot = new Option<string?>("--snapshot") { Description = "Snapshot id (prefix); default the newest registry snapshot" };
        var at = CommonOptions.At("Restore the newest registry backup at or before this time");
        var incremental = new Option<bool>("--incremental") { Description = "Restore a native point into the --data-dir an earlier restore made, reading only the artifacts that differ (the database is replaced)" };
        var replaceChanged = new Option<bool>("--replace-changed") { Description = "With --incremental: replace the target even if its registry changed since that restore (what it holds since is lost)" };
        var command = new Command("restore", "Restore the registry from the vault into an EMPTY data directory (--data-dir) or through the API (--via-api URL)") { DataDir, Postgres, ViaApi, Repo, PasswordFile, WorkDir, snapshot, at, incremental, replaceChanged };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var json = context.Json;
            var when = parse.GetValue(at);
            if (parse.GetValue(replaceChanged) && !parse.GetValue(incremental))
            {
                throw new UsageException("--replace-changed goes with --incremental (a plain restore goes into an empty directory only)");
            }

            if (parse.GetValue(incremental))
            {
                if (parse.GetValue(ViaApi) is not null || PostgresOf(parse) is not null)
                {
                    throw new UsageException("--incremental restores into a SQLite --data-dir only: drop --via-api/--postgres ($LIFELINE_REGISTRY_POSTGRES), or restore without --incremental");
                }

                return await RestoreIncrementalAsync(context, parse.GetValue(snapshot) is { } sid ? RestorePointSpec.ById(sid) : when is { } w ? RestorePointSpec.AtOrBefore(w) : RestorePointSpec.Latest, parse.GetValue(replaceChanged), ct);
            }

            var api = parse.GetValue(ViaApi) is { } url ? ClientFor(url) : null;
            if (api is null && PostgresOf(parse) is null)
            {
                // the same rule as every restore: an empty or new directory, checked before anything is read
                RestoreTargets.RequireEmpty(DataDirectory(parse), "--data-dir");
            }

            await using var vault = await context.OpenAsync(ct);
            RegistryRestoreResult result;
            var point = parse.GetValue(snapshot) is { } id ? RestorePointSpec.ById(id) : when is { } t ? RestorePointSpec.AtOrBefore(t) : RestorePointSpec.Latest;
            try
            {
                result = await context.WithActivityAsync("registry restore", () =>
                    RegistryVault.RestoreAsync(vault, point, api is null ? Target(parse) : null, api, WorkDirectory(parse), context.Time, ct));
            }
            catch (Vault.SnapshotCorruptException e) when (e.AsLatest)
            {
                throw new CliException(ExitCodes.CheckFailed, VaultCommands.CorruptLatest(e, previous => $"lifeline registry restore --snapshot {previous} ..."), e);
            }

            Print(context, new
            {
                snapshot = result.Snapshot.Id,
                snapshotTime = result.Snapshot.Time,
                mode = result.Manifest.Mode,
                counts = result.Manifest.Counts,
                created = result.Import?.Created,
                skipped = result.Import?.Skipped,
                seconds = result.Duration.TotalSeconds,
            }, $"registry restored from snapshot {result.Snapshot.ShortId} ({result.Manifest.Mode}, taken {result.Snapshot.Time:u}): {Counts(result.Manifest)}"
               + (result.Import is { } i ? $"; {i.Created} created, {i.Skipped} already there" : "") + $" in {result.Duration.TotalSeconds:F1}s");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static async Task<int> RestoreIncrementalAsync(CommandContext context, RestorePointSpec point, bool replaceChanged, CancellationToken ct)
    {
        var parse = context.Parse;
        var target = DataDirectory(parse);
        await using var vault = await context.OpenAsync(ct);
        RegistryRestoreResult result;
        try
        {
            result = await context.WithActivityAsync("registry restore (incremental)", () =>
                RegistryVault.RestoreIncrementalAsync(vault, point, target, WorkDirectory(parse), context.Time, ct, replaceChanged));
        }
        catch (Vault.SnapshotCorruptException e) when (e.AsLatest)
        {
            throw new CliException(ExitCodes.CheckFailed, VaultCommands.CorruptLatest(e, previous => $"lifeline registry restore --incremental --snapshot {previous} ..."), e);
        }

        var stats = result.Incremental!;
        Print(context, new
        {
            snapshot = result.Snapshot.Id,
            snapshotTime = result.Snapshot.Time,
            mode = result.Manifest.Mode,
            counts = result.Manifest.Counts,
            incremental = new { stats.ReusedFiles, stats.ReusedBytes, stats.HashedFiles, stats.FetchedFiles, stats.FetchedBytes, stats.RemovedFiles },
            seconds = result.Duration.TotalSeconds,
        }, $"registry restored incrementally from snapshot {result.Snapshot.ShortId} (taken {result.Snapshot.Time:u}) into {Path.GetFullPath(target)}: "
           + $"{stats.FetchedFiles} artifacts fetched ({stats.FetchedBytes} bytes), {stats.ReusedFiles} kept, {stats.RemovedFiles} removed, database replaced in {result.Duration.TotalSeconds:F1}s");
        return ExitCodes.Ok;
    }

    private static Command ExportCommand()
    {
        var output = new Option<string>("--out") { Description = "Empty directory to write the export into", Required = true };
        var command = new Command("export", "Export an MLflow-compatible server through its API into a local directory (no vault)") { ViaApi, output };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var json = context.Json;
            var url = parse.GetValue(ViaApi) ?? throw new UsageException("export needs --via-api URL");
            var manifest = await context.WithActivityAsync("registry export", () => ApiExport.ExportAsync(ClientFor(url), parse.GetValue(output)!, context.Time, ct));
            Print(context, new { counts = manifest.Counts, directory = Path.GetFullPath(parse.GetValue(output)!) }, $"exported {Counts(manifest)} to {parse.GetValue(output)}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command ImportCommand()
    {
        var input = new Option<string>("--from") { Description = "Directory written by 'lifeline registry export'", Required = true };
        var command = new Command("import", "Import a local export through the API (--via-api URL) or into an empty data directory (--data-dir); idempotent") { ViaApi, DataDir, input };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var json = context.Json;
            var from = parse.GetValue(input)!;
            if (parse.GetValue(ViaApi) is null)
            {
                RestoreTargets.RequireEmpty(DataDirectory(parse), "--data-dir");
            }

            var result = parse.GetValue(ViaApi) is { } url
                ? await ApiImport.ImportAsync(ClientFor(url), from, ct)
                : await RegistryVault.ImportIntoEmbeddedAsync(from, DataDirectory(parse), ct);
            Print(context, new { created = result.Created, skipped = result.Skipped }, $"imported: {result.Created} created, {result.Skipped} already there");
            return ExitCodes.Ok;
        });
        return command;
    }

    // ---------------- ls / show ----------------

    private static Command List()
    {
        var command = new Command("ls", "List registered models with their Production and Staging versions") { DataDir, ViaApi };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var json = context.Json;
            var models = await WithClientAsync(parse, async client => await client.ListRegisteredModelsAsync(cancellationToken: ct).ToListAsync(ct), ct);
            if (json)
            {
                context.Console.Document(new { registeredModels = models });
                return ExitCodes.Ok;
            }

            context.Console.Line($"{"NAME",-32} {"PRODUCTION",-10} {"STAGING",-10} {"ALIASES",-24} UPDATED");
            foreach (var m in models)
            {
                string Stage(string s) => m.LatestVersions.FirstOrDefault(v => v.CurrentStage == s)?.Version ?? "-";
                var aliases = string.Join(",", m.Aliases.Select(a => $"{a.Alias}={a.Version}"));
                context.Console.Line($"{m.Name,-32} {Stage("Production"),-10} {Stage("Staging"),-10} {(aliases.Length == 0 ? "-" : aliases),-24} {DateTimeOffset.FromUnixTimeMilliseconds(m.LastUpdatedTimestamp ?? 0):u}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show()
    {
        var name = new Argument<string>("name") { Description = "Registered model name" };
        var command = new Command("show", "Show a registered model: every version with its stage, run, source and tags") { name, DataDir, ViaApi };
        command.Run(async (context, ct) =>
        {
            var parse = context.Parse;
            var json = context.Json;
            var modelName = parse.GetValue(name)!;
            var (model, versions) = await WithClientAsync(parse, async client =>
            {
                var model = await client.GetRegisteredModelAsync(modelName, ct)
                    ?? throw new MlflowException(ErrorCodes.ResourceDoesNotExist, $"Registered Model with name={modelName} not found");
                var versions = await client.ListModelVersionsAsync($"name='{modelName}'", ct).ToListAsync(ct);
                return (model, versions);
            }, ct);
            if (json)
            {
                context.Console.Document(new { registeredModel = model, modelVersions = versions });
                return ExitCodes.Ok;
            }

            context.Console.Line($"{model.Name}: {model.Description}");
            foreach (var tag in model.Tags)
            {
                context.Console.Line($"  tag {tag.Key}={tag.Value}");
            }

            context.Console.Line($"  {"VERSION",-8} {"STAGE",-11} {"RUN",-34} {"ALIASES",-16} SOURCE");
            foreach (var v in versions.OrderBy(v => long.Parse(v.Version, CultureInfo.InvariantCulture)))
            {
                context.Console.Line($"  {v.Version,-8} {v.CurrentStage,-11} {v.RunId ?? "-",-34} {(v.Aliases.Count == 0 ? "-" : string.Join(",", v.Aliases)),-16} {v.Source}");
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Runs <paramref name="work"/> with a client: on the URL given, or on a private loopback server over the data directory.</summary>
    private static async Task<T> WithClientAsync<T>(ParseResult parse, Func<MlflowClient, Task<T>> work, CancellationToken ct)
    {
        if (parse.GetValue(ViaApi) is { } url)
        {
            return await work(ClientFor(url));
        }

        var dataDir = DataDirectory(parse);
        if (!File.Exists(Path.Combine(dataDir, NativeBackup.DatabaseFile)))
        {
            throw new UsageException($"no registry in {Path.GetFullPath(dataDir)}: pass --data-dir DIR or --via-api URL");
        }

        await using var app = await RegistryServer.StartAsync(new RegistryOptions { DataDirectory = dataDir }, "http://127.0.0.1:0", cancellationToken: ct);
        using var http = new HttpClient { BaseAddress = app.Address() };
        var result = await work(new MlflowClient(http));
        await app.StopAsync(ct);
        return result;
    }

    // ---------------- plumbing ----------------

    private static string DataDirectory(ParseResult parse) => parse.GetValue(DataDir) ?? new RegistryOptions().DataDirectory;

    private static string? PostgresOf(ParseResult parse) => parse.GetValue(Postgres) ?? Environment.GetEnvironmentVariable("LIFELINE_REGISTRY_POSTGRES");

    private static RegistryOptions Target(ParseResult parse) => new() { DataDirectory = DataDirectory(parse), PostgresConnectionString = PostgresOf(parse) };

    private static string WorkDirectory(ParseResult parse)
    {
        var work = parse.GetValue(WorkDir) ?? Path.Combine(Path.GetTempPath(), "lifeline-registry-work");
        Directory.CreateDirectory(work);
        return work;
    }

    private static MlflowClient ClientFor(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new UsageException($"--via-api '{url}' is not an http(s) URL, e.g. http://127.0.0.1:5100");
        }

        return new MlflowClient(new HttpClient { BaseAddress = uri, Timeout = TimeSpan.FromMinutes(10) }, Environment.GetEnvironmentVariable(ClientTokenVariable));
    }

    internal static string Counts(RegistryBackupManifest manifest) =>
        string.Join(", ", manifest.Counts.Select(c => $"{c.Value} {c.Key.Replace('_', ' ')}"));

    /// <summary>Prints the command's result: the document with --json, else the line.</summary>
    private static void Print(CommandContext context, object value, string text)
    {
        context.Console.Document(value);
        context.Console.Line(text);
    }
}
