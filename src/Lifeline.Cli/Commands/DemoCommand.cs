using System.CommandLine;
using Lifeline.Cli.Demo;
using Lifeline.Cli.Infrastructure;

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
        command.SetAction(async (parse, ct) =>
        {
            var console = CliConsole.ForProcess(parse.GetValue(LifelineCommand.Json));
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
                var code = await new VaultDemo(console, TimeProvider.System, keepsDirectory: !removeAfter).RunAsync(directory, ct);
                if (code == ExitCodes.Ok)
                {
                    // the lake: seed, back up, lose a table, restore it (also as of an earlier version), replicate
                    console.Line();
                    code = await LakeDemo.RunAsync(Path.Combine(directory, "lake-demo"), console.Json ? TextWriter.Null : console.Out, ct);
                }

                return code;
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
}
