using System.CommandLine;
using System.Globalization;
using Lifeline.Cli.Infrastructure;
using Lifeline.Storage;
using Lifeline.Storage.Probing;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline storage</c>: commands about object stores themselves (docs/storage.md).</summary>
internal static class StorageCommands
{
    public static Command Create()
    {
        var storage = new Command("storage", "Object stores: check that a location keeps the guarantees Lifeline relies on");
        storage.Subcommands.Add(CreateProbe());
        return storage;
    }

    private static Command CreateProbe()
    {
        var location = new Argument<string>("location") { Description = "A path, file:///path, s3://bucket/prefix or azure://container/prefix (credentials from the environment)" };
        var probe = new Command("probe", "Write, read, race and list below a temporary prefix of LOCATION, then remove it; exit 4 if a guarantee does not hold");
        probe.Arguments.Add(location);
        probe.Run(async (context, ct) =>
        {
            IObjectStore store;
            try
            {
                store = ObjectStores.Open(context.Get(location)!);
            }
            catch (ArgumentException e)
            {
                throw new UsageException(e.Message.Split(" (Parameter", 2)[0]);
            }

            try
            {
                var report = await context.WithActivityAsync("storage probe", () => ObjectStoreProbe.RunAsync(store, cancellationToken: ct));
                var console = context.Console;
                console.Document(new { report.Location, report.Passed, report.Checks });
                console.Line($"probe of {report.Location}");
                foreach (var check in report.Checks)
                {
                    console.Line(string.Create(CultureInfo.InvariantCulture, $"  {(check.Passed ? "ok    " : "FAILED")}  {check.Name} ({check.Milliseconds:F1} ms): {check.Detail}"));
                }

                console.Line(report.Passed ? "all guarantees hold" : "some guarantees do not hold: see docs/storage.md before using this location for a repository");
                if (!report.Passed)
                {
                    // like every failing command: one line on stderr, the report above on stdout
                    console.ErrorLine($"{report.Checks.Count(c => !c.Passed)} of {report.Checks.Count} checks failed at {report.Location}: do not use it for a repository (docs/storage.md)");
                }

                return report.Passed ? ExitCodes.Ok : ExitCodes.CheckFailed;
            }
            finally
            {
                (store as IDisposable)?.Dispose();
            }
        });
        return probe;
    }
}
