using System.Diagnostics;
using Lifeline.Lake.Schema;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Lake.Tests.Write;

/// <summary>A writer process killed (SIGKILL) between its data files and its commit.</summary>
public sealed class CrashTests
{
    [Fact]
    public async Task Append_WriterKilledBeforeCommit_TableReadsAsBeforeAndVacuumRemovesOrphans()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        var table = new DeltaTable(store, "");
        await table.CreateAsync(new StructType([new("id", PrimitiveType.Long), new("part", PrimitiveType.String)]), ["part"]);
        await table.AppendAsync([new Dictionary<string, object?> { ["id"] = 1L, ["part"] = "even" }]);
        var before = await table.GetSnapshotAsync();

        var helper = Path.Combine(AppContext.BaseDirectory, "Lifeline.Lake.CrashHelper.dll");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(helper);
        psi.ArgumentList.Add(dir.Path);
        psi.ArgumentList.Add("100");
        using var child = Process.Start(psi)!;
        string[] orphans;
        try
        {
            var line = await child.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromSeconds(60));
            Assert.NotNull(line);
            Assert.StartsWith("READY ", line, StringComparison.Ordinal);
            orphans = line["READY ".Length..].Split(',');
        }
        finally
        {
            child.Kill(); // SIGKILL on Unix: no cleanup runs
            await child.WaitForExitAsync();
        }

        Assert.Equal(2, orphans.Length);
        Assert.All(orphans, o => Assert.True(File.Exists(Path.Combine(dir.Path, o)), o));

        // the table is exactly as before the crash
        var after = await table.GetSnapshotAsync();
        Assert.Equal(before.Version, after.Version);
        Assert.Equal([1L], (await table.ReadRowsAsync(after)).Select(r => (long)r["id"]!));

        // writes go on
        await table.AppendAsync([new Dictionary<string, object?> { ["id"] = 2L, ["part"] = "odd" }]);

        // a vacuum inside the retention keeps the orphans (they could belong to a writer still running) ...
        Assert.Empty((await table.VacuumAsync()).Deleted);

        // ... and one after the retention removes them
        var later = new DeltaTable(store, "", new DeltaTableOptions { TimeProvider = new FakeTimeProvider(DateTimeOffset.UtcNow.AddDays(8)) });
        var vacuum = await later.VacuumAsync();
        Assert.Equal(orphans.Order(), vacuum.Deleted.Order());
        Assert.All(orphans, o => Assert.False(File.Exists(Path.Combine(dir.Path, o))));
        Assert.Equal([1L, 2L], (await table.ReadRowsAsync(await table.GetSnapshotAsync())).Select(r => (long)r["id"]!).Order());

        // explicit zero retention with the override also works (and keeps live files)
        Assert.Empty((await table.VacuumAsync(TimeSpan.Zero, allowShortRetention: true)).Deleted);
        Assert.Equal(2, (await table.ReadRowsAsync(await table.GetSnapshotAsync())).Count);
    }
}
