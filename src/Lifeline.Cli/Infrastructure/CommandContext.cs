using System.CommandLine;
using Lifeline.Storage;
using Lifeline.Vault;

namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// What every command gets from the runner (<see cref="CommandRunner"/>): the parsed line, the console (all output
/// goes through it), the repository settings, time, and helpers to open a vault and show progress.
/// </summary>
internal sealed class CommandContext
{
    public CommandContext(ParseResult parse, CliConsole console, RepositorySettings settings, TimeProvider time)
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

    /// <summary>True with <c>--json</c>.</summary>
    public bool Json => Console.Json;

    /// <summary>The context of this process for a parsed command line.</summary>
    public static CommandContext ForProcess(ParseResult parse) =>
        new(parse, CliConsole.ForProcess(parse.GetValue(CommonOptions.Json)), RepositorySettings.ForProcess(), TimeProvider.System);

    /// <summary>The value of an option or argument of this command line.</summary>
    public T? Get<T>(Option<T> option) => Parse.GetValue(option);

    /// <inheritdoc cref="Get{T}(Option{T})"/>
    public T? Get<T>(Argument<T> argument) => Parse.GetValue(argument);

    /// <summary>The repository location from <c>--repo</c> or <c>LIFELINE_REPO</c>.</summary>
    public string Location => Settings.Location(Parse.GetValue(CommonOptions.Repo));

    /// <summary>Opens the existing repository named by <c>--repo</c> with the password from the usual places.</summary>
    public async Task<VaultRepository> OpenAsync(CancellationToken ct)
    {
        var location = Location;
        var password = Settings.Password(Parse.GetValue(CommonOptions.PasswordFile));
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

    /// <summary>
    /// Shows that long work without its own progress reports is running: a spinner with the elapsed time on a
    /// terminal, one plain line otherwise, nothing with --json.
    /// </summary>
    public Task<T> WithActivityAsync<T>(string title, Func<Task<T>> work) =>
        new ProgressDisplay(Console, Time).RunAsync(title, report =>
        {
            report(new ProgressUpdate(title, 0, 0, 0, 0, null));
            return work();
        });

    private sealed class ProgressAdapter(Action<ProgressUpdate> report) : IProgress<VaultProgress>
    {
        public void Report(VaultProgress value) =>
            report(new ProgressUpdate(value.Phase, value.FilesDone, value.FilesTotal ?? 0, value.BytesDone, value.BytesTotal ?? 0, value.Current));
    }
}

/// <summary>
/// The one command runner: a command's body gets its <see cref="CommandContext"/> and returns an exit code or throws;
/// <see cref="LifelineCommand.RunAsync"/> turns every exception into one line and a code through <see cref="ErrorTable"/>.
/// </summary>
internal static class CommandRunner
{
    /// <summary>Sets <paramref name="body"/> as the action of <paramref name="command"/>.</summary>
    public static void Run(this Command command, Func<CommandContext, CancellationToken, Task<int>> body) =>
        command.SetAction((parse, ct) => body(CommandContext.ForProcess(parse), ct));
}
