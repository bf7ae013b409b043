using System.CommandLine;
using Lifeline.Storage;
using Lifeline.Vault;

namespace Lifeline.Cli.Infrastructure;

/// <summary>What every <c>lifeline vault</c> command needs: output, settings, time, and a way to open the repository.</summary>
internal sealed class VaultSession
{
    /// <summary>The repository location (path, file://, s3://, azure://); else <c>LIFELINE_REPO</c>.</summary>
    public static readonly Option<string?> Repo = new("--repo", "-r")
    {
        Description = "Repository location: a path, s3://bucket/prefix or azure://container/prefix (default: $LIFELINE_REPO)",
        Recursive = true,
    };

    /// <summary>A file whose first line is the password; else <c>LIFELINE_PASSWORD</c>.</summary>
    public static readonly Option<string?> PasswordFile = new("--password-file", "-p")
    {
        Description = "Read the repository password from this file (default: $LIFELINE_PASSWORD)",
        Recursive = true,
    };

    public VaultSession(ParseResult parse, CliConsole console, RepositorySettings settings, TimeProvider time)
    {
        Parse = parse;
        Console = console;
        Settings = settings;
        Time = time;
    }

    public ParseResult Parse { get; }

    public CliConsole Console { get; }

    public RepositorySettings Settings { get; }

    public TimeProvider Time { get; }

    /// <summary>The session of this process for a parsed command line.</summary>
    public static VaultSession ForProcess(ParseResult parse) =>
        new(parse, CliConsole.ForProcess(parse.GetValue(LifelineCommand.Json)), RepositorySettings.ForProcess(), TimeProvider.System);

    /// <summary>The repository location from <c>--repo</c> or <c>LIFELINE_REPO</c>.</summary>
    public string Location => Settings.Location(Parse.GetValue(Repo));

    /// <summary>Opens the existing repository named by <c>--repo</c> with the password from the usual places.</summary>
    public async Task<VaultRepository> OpenAsync(CancellationToken ct)
    {
        var location = Location;
        var password = Settings.Password(Parse.GetValue(PasswordFile));
        var store = Settings.OpenStore(location, create: false);
        return await VaultRepository.OpenAsync(store, password, Time, ct);
    }

    /// <summary>Opens another repository (the destination of copy), naming its own options in errors.</summary>
    public async Task<VaultRepository> OpenOtherAsync(string location, string? passwordFile, string locationOption, string fileOption, string variable, CancellationToken ct)
    {
        var password = Settings.Password(passwordFile, fileOption, variable);
        IObjectStore store;
        try
        {
            store = Settings.OpenStore(location, create: false);
        }
        catch (CliException e) when (e.ExitCode == ExitCodes.RepositoryNotFound)
        {
            throw new CliException(e.ExitCode, $"{locationOption}: {e.Message}");
        }

        try
        {
            return await VaultRepository.OpenAsync(store, password, Time, ct);
        }
        catch (RepositoryNotFoundException e)
        {
            throw new CliException(ExitCodes.RepositoryNotFound, $"no Lifeline vault at {location} given by {locationOption}: create it first with 'lifeline vault init --repo {location}'", e);
        }
        catch (WrongPasswordException e)
        {
            throw new CliException(ExitCodes.WrongPassword, $"wrong password for the vault at {location} given by {locationOption}: check {variable} / {fileOption}", e);
        }
    }

    /// <summary>Shows progress of <paramref name="work"/> (bar on a terminal, plain lines otherwise, nothing with --json).</summary>
    public Task<T> WithProgressAsync<T>(string title, Func<IProgress<VaultProgress>, Task<T>> work) =>
        new ProgressDisplay(Console, Time).RunAsync(title, report => work(new ProgressAdapter(report)));

    private sealed class ProgressAdapter(Action<ProgressUpdate> report) : IProgress<VaultProgress>
    {
        public void Report(VaultProgress value) =>
            report(new ProgressUpdate(value.Phase, value.FilesDone, value.FilesTotal ?? 0, value.BytesDone, value.BytesTotal ?? 0, value.Current));
    }
}
