using System.CommandLine;
using Lifeline.Cli.Commands;

namespace Lifeline.Cli;

/// <summary>The root of the <c>lifeline</c> command: each area adds its command group in one line here.</summary>
internal static class LifelineCommand
{
    /// <summary>Prints machine-readable JSON instead of text; accepted by every command.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Print JSON instead of text", Recursive = true };

    public static RootCommand Create()
    {
        var root = new RootCommand("Lifeline: disaster recovery for machine-learning deployments");
        root.Options.Add(Json);
        root.Subcommands.Add(DemoCommand.Create());
        // area command groups: one line each
        root.Subcommands.Add(TrainCommands.Create());
        root.Subcommands.Add(ScoringCommands.Create());
        root.Subcommands.Add(ScoringCommands.CreateModel());
        return root;
    }

    public static async Task<int> RunAsync(string[] args)
    {
        using var cts = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            e.Cancel = true;
            cts.Cancel();
        };
        var parse = Create().Parse(args);
        try
        {
            return await parse.InvokeAsync(new InvocationConfiguration(), cts.Token);
        }
        catch (OperationCanceledException)
        {
            await Console.Error.WriteLineAsync("lifeline: interrupted");
            return ExitCodes.Interrupted;
        }
    }
}
