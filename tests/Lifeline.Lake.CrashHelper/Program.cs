// A writer that stops between writing its data files and committing, so a test can kill it there (SIGKILL).
// Usage: Lifeline.Lake.CrashHelper TABLE_DIR ROWS
using System.Globalization;
using Lifeline.Lake;
using Lifeline.Storage.FileSystem;

var table = new DeltaTable(new FileSystemObjectStore(args[0]), "");
var count = int.Parse(args[1], CultureInfo.InvariantCulture);
var rows = Enumerable.Range(0, count)
    .Select(i => (IReadOnlyDictionary<string, object?>)new Dictionary<string, object?> { ["id"] = (long)(1000 + i), ["part"] = i % 2 == 0 ? "even" : "odd" })
    .ToList();
await table.AppendAsync(rows, new WriteOptions
{
    BeforeCommit = async files =>
    {
        await Console.Out.WriteLineAsync("READY " + string.Join(',', files));
        await Console.Out.FlushAsync();
        await Task.Delay(Timeout.Infinite); // wait to be killed
    },
});
return 0;
