using System.CommandLine;
using System.CommandLine.Invocation;
using System.Runtime.InteropServices;
using Lifeline.Cli.Commands;
using Lifeline.Cli.Infrastructure;

namespace Lifeline.Cli;

/// <summary>The root of the <c>lifeline</c> command: each area adds its command group in one line here.</summary>
internal static class LifelineCommand
{
    /// <summary>Prints machine-readable JSON instead of text; accepted by every command (<see cref="CommonOptions.Json"/>).</summary>
    public static Option<bool> Json => CommonOptions.Json;

    public static RootCommand Create()
    {
        var root = new RootCommand("Lifeline: disaster recovery for machine-learning deployments");
        root.Options.Add(Json);
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(LakeCommands.Create());
        RecoveryCommands.AddTo(root);
        // area command groups: one line each
        root.Subcommands.Add(VaultCommands.Create());
        root.Subcommands.Add(StorageCommands.Create());
        root.Subcommands.Add(RegistryCommands.Create());
        root.Subcommands.Add(TrainCommands.Create());
        root.Subcommands.Add(ScoringCommands.Create());
        root.Subcommands.Add(ScoringCommands.CreateModel());
        root.Subcommands.Add(PlanCommands.Create());
        root.Subcommands.Add(JobsCommands.Create());
        root.Subcommands.Add(IncidentsCommands.Create());
        root.Subcommands.Add(UpCommand.Create());
        root.Subcommands.Add(VerifyCommands.Create());
        root.Subcommands.Add(ReportCommands.Create());
        root.Subcommands.Add(NotifyCommands.Create());
        return root;
    }

    /// <summary>
    /// The one command runner: parses and runs a command. Usage errors print one line and exit 2; a command returns its
    /// exit code or throws, and every exception goes through <see cref="ErrorTable"/> (one line on stderr, a documented
    /// exit code, no stack trace); Ctrl-C and SIGTERM cancel the command's token and exit 130.
    /// </summary>
    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
        {
            context.Cancel = true;
            cts.Cancel();
        });

        var parse = Create().Parse(args);
        if (parse.Action is ParseErrorAction && parse.Errors.Count > 0)
        {
            var command = parse.CommandResult.Command;
            var path = CommandPath(parse).ToList();
            if (command.Action is null && command.Subcommands.Count > 0 && parse.Errors.Count == 1 && parse.UnmatchedTokens.Count == 0)
            {
                // a command group without its subcommand (e.g. plain `lifeline vault`): show what it offers
                await Create().Parse([.. path.Skip(1), "--help"]).InvokeAsync(new InvocationConfiguration(), cts.Token);
                CliConsole.ForProcess(json: false).ErrorLine($"'{string.Join(' ', path)}' needs a command (listed above)");
                return ExitCodes.Usage;
            }

            CliConsole.ForProcess(json: false).ErrorLine($"{parse.Errors[0].Message} (see '{string.Join(' ', path)} --help')");
            return ExitCodes.Usage;
        }

        try
        {
            var configuration = new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };
            return await parse.InvokeAsync(configuration, cts.Token);
        }
        catch (Exception e)
        {
            await Console.Out.FlushAsync(CancellationToken.None);
            var reported = e switch
            {
                CliException => e,
                _ when cts.IsCancellationRequested => new OperationCanceledException(),
                // not cancelled by the user: a cancellation is some timeout running out
                OperationCanceledException when e.InnerException is not TimeoutException => new TimeoutException("the operation was cancelled before it finished", e),
                _ => e,
            };
            return ErrorReporter.Report(reported, Console.Error, Environment.GetEnvironmentVariable);
        }
    }

    private static IEnumerable<string> CommandPath(ParseResult parse)
    {
        var names = new Stack<string>();
        for (var result = parse.CommandResult; result is not null; result = result.Parent as System.CommandLine.Parsing.CommandResult)
        {
            names.Push(result.Parent is null ? "lifeline" : result.Command.Name);
        }

        return names;
    }
}
