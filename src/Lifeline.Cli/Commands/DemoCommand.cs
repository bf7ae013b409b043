using System.CommandLine;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline demo</c>: the main job on embedded defaults; it grows with each area.</summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var command = new Command("demo", "Run the whole recovery story on embedded defaults in a temporary directory");
        command.SetAction((parse, ct) => Task.FromResult(ExitCodes.Ok));
        return command;
    }
}
