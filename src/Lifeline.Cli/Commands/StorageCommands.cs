using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Lifeline.Storage;
using Lifeline.Storage.Probing;

namespace Lifeline.Cli.Commands;

/// <summary><c>lifeline storage</c>: commands about object stores themselves (docs/storage.md).</summary>
internal static class StorageCommands
{
    private static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

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
        probe.SetAction(async (ParseResult parse, CancellationToken ct) =>
        {
            IObjectStore store;
            try
            {
                store = ObjectStores.Open(parse.GetValue(location)!);
            }
            catch (ArgumentException e)
            {
                await Console.Error.WriteLineAsync($"lifeline storage probe: {e.Message.Split(" (Parameter", 2)[0]}");
                return ExitCodes.Usage;
            }

            try
            {
                var report = await ObjectStoreProbe.RunAsync(store, cancellationToken: ct);
                if (parse.GetValue(LifelineCommand.Json))
                {
                    Console.WriteLine(JsonSerializer.Serialize(new { report.Location, report.Passed, report.Checks }, JsonOptions));
                }
                else
                {
                    Console.WriteLine($"probe of {report.Location}");
                    foreach (var check in report.Checks)
                    {
                        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  {(check.Passed ? "ok    " : "FAILED")}  {check.Name} ({check.Milliseconds:F1} ms): {check.Detail}"));
                    }

                    Console.WriteLine(report.Passed ? "all guarantees hold" : "some guarantees do not hold: see docs/storage.md before using this location for a repository");
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
