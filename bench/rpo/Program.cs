// RPO benchmark. `driver` (the logger and killer) starts `primary` (a writer appending one row per commit to the
// Delta table `events`, and the ChangeProtector replicating it to the secondary), records every acknowledged write
// (id + time) to acks.log as the primary prints it, kills the primary with SIGKILL at a random moment, counts the
// acknowledged writes missing from the secondary's replica, restarts it, and so on. See docs/protection.md.
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Lifeline.Lake;
using Lifeline.Lake.Schema;
using Lifeline.Recovery;
using Lifeline.Recovery.Components.Lake;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Protection;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

var mode = args.Length > 0 ? args[0] : "driver";
var dir = Path.GetFullPath(Arg("--dir") ?? Path.Combine(Path.GetTempPath(), "lifeline-rpo-bench"));
return mode switch
{
    "primary" => await PrimaryAsync(dir),
    "driver" => await DriverAsync(dir, int.Parse(Arg("--kills") ?? "20", CultureInfo.InvariantCulture), double.Parse(Arg("--rate") ?? "20", CultureInfo.InvariantCulture),
        int.Parse(Arg("--seed") ?? "1", CultureInfo.InvariantCulture)),
    _ => Usage(),
};

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

static int Usage()
{
    Console.Error.WriteLine("usage: rpo [driver] [--dir DIR] [--kills N] [--rate WRITES_PER_S] [--seed S] | rpo primary --dir DIR");
    return 2;
}

static string PlanYaml() => """
    version: 1
    objectives:
      rto: { target: 1h, max: 4h }
      rpo: { target: 2s, max: 5s }
    components:
      events: { kind: lake-table, policy: live }
    policies:
      live:
        schedule: on-change
        coalesce: 1m
        retention: { keep-within: 1h, hourly: 24, daily: 31 }
        locations: { primary: a, secondary: b, tertiary: c }
    locations:
      a: { url: ./vault-a, region: region-a }
      b: { url: ./vault-b, region: region-b }
      c: { url: ./vault-c, region: object-storage }
    """;

static async Task<int> PrimaryAsync(string dir)
{
    var parsed = PlanFile.Parse(PlanYaml(), Path.Combine(dir, "lifeline.yaml"));
    var plan = parsed.Plan!;
    await using var locations = LocationSet.FromPlan(plan, new LocationSetOptions
    {
        Password = "rpo-bench", BaseDirectory = dir, InitializeMissing = true, InitOptions = VaultInitOptions.ForTests,
        OpenOptions = new VaultOpenOptions { LockTtl = TimeSpan.FromSeconds(30) },
    });
    var lake = new LakeAdapterOptions { Root = Path.Combine(dir, "lake") };
    var recovery = new RecoveryService(plan, locations, RecoveryService.BuiltInAdapters(plan, lake: lake), new RecoveryServiceOptions { WorkDirectory = Path.Combine(dir, "work") });
    await using var protector = new ChangeProtector(plan, locations, recovery, new ChangeProtectorOptions { Lake = lake });
    await protector.StartAsync(CancellationToken.None);
    var table = new DeltaTable(new FileSystemObjectStore(Path.Combine(dir, "lake", "events")), "");
    var id = await NewestIdAsync(table.Store, "") + 1;
    var rate = double.Parse(Environment.GetEnvironmentVariable("RPO_RATE") ?? "20", CultureInfo.InvariantCulture);
    var clock = Stopwatch.StartNew();
    var started = 0L;
    Console.Out.Flush();
    while (true)
    {
        var due = TimeSpan.FromSeconds(started / rate);
        if (clock.Elapsed < due)
        {
            await Task.Delay(due - clock.Elapsed);
        }

        started++;
        await table.AppendAsync([new Dictionary<string, object?> { ["id"] = id, ["written_at"] = DateTimeOffset.UtcNow }],
            new WriteOptions { AppId = "rpo-writer", TxnVersion = id });
        // acknowledged: the commit is durable in the primary lake
        Console.Out.WriteLine($"ACK {id} {DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()}");
        Console.Out.Flush();
        id++;
    }
}

static async Task<long> NewestIdAsync(Lifeline.Storage.IObjectStore store, string root)
{
    for (var v = await ProtectionLayout.LatestCommitAsync(store, root, CancellationToken.None); v >= 0; v--)
    {
        var text = System.Text.Encoding.UTF8.GetString(await store.GetAsync(ProtectionLayout.CommitKey(root, v)));
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.TryGetProperty("txn", out var txn) && txn.GetProperty("appId").GetString() == "rpo-writer")
            {
                return txn.GetProperty("version").GetInt64();
            }
        }
    }

    return 0;
}

static async Task<int> DriverAsync(string dir, int kills, double rate, int seed)
{
    if (Directory.Exists(dir))
    {
        Directory.Delete(dir, recursive: true);
    }

    Directory.CreateDirectory(dir);
    await File.WriteAllTextAsync(Path.Combine(dir, "lifeline.yaml"), PlanYaml());
    var events = new DeltaTable(new FileSystemObjectStore(Path.Combine(dir, "lake", "events")), "");
    await events.CreateAsync(new StructType([new StructField("id", PrimitiveType.Long, false), new StructField("written_at", PrimitiveType.Timestamp, false)]), name: "events");
    var random = new Random(seed);
    var secondary = new FileSystemObjectStore(Path.Combine(dir, "vault-b"));
    var replicaRoot = ProtectionLayout.ReplicaRoot("events");
    var heartbeatRoot = ProtectionLayout.ReplicaRoot(ProtectionLayout.HeartbeatTable);
    await using var acks = new StreamWriter(Path.Combine(dir, "acks.log"), append: false);
    var acked = new List<(long Id, DateTimeOffset Time)>();
    var rows = new List<(int Kill, int Acked, long Lost, double Window, double HeartbeatAge)>();
    var self = Environment.ProcessPath!;
    var dll = typeof(Program).Assembly.Location;
    var writing = TimeSpan.Zero;
    for (var k = 1; k <= kills; k++)
    {
        var start = new ProcessStartInfo(self) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            start.ArgumentList.Add(dll);
        }

        start.ArgumentList.Add("primary");
        start.ArgumentList.Add("--dir");
        start.ArgumentList.Add(dir);
        start.Environment["RPO_RATE"] = rate.ToString(CultureInfo.InvariantCulture);
        using var primary = Process.Start(start)!;
        var first = new TaskCompletionSource();
        var ackedThisRun = 0;
        primary.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (acks)
                {
                    File.AppendAllText(Path.Combine(dir, "primary.err"), e.Data + "\n");
                }
            }
        };
        primary.BeginErrorReadLine();
        var reader = Task.Run(async () =>
        {
            while (await primary.StandardOutput.ReadLineAsync() is { } line)
            {
                var parts = line.Split(' ');
                if (parts is ["ACK", var id, var ms])
                {
                    var entry = (long.Parse(id, CultureInfo.InvariantCulture), DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ms, CultureInfo.InvariantCulture)));
                    lock (acks)
                    {
                        acks.WriteLine(line);
                        acks.Flush();
                        acked.Add(entry);
                        ackedThisRun++;
                    }

                    first.TrySetResult();
                }
            }
        });
        await first.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var writingSince = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(2 + (random.NextDouble() * 6))); // a random moment 2-8 s into the run
        var killedAt = DateTimeOffset.UtcNow;
        writing += killedAt - writingSince;
        primary.Kill(); // SIGKILL
        await primary.WaitForExitAsync();
        await reader;

        // what the secondary holds right after the kill: the replica is a prefix of the table (commit order)
        var inSecondary = await NewestIdAsync(secondary, replicaRoot);
        var beat = await Heartbeat.NewestAsync(secondary, heartbeatRoot, CancellationToken.None);
        List<(long Id, DateTimeOffset Time)> lost;
        lock (acks)
        {
            lost = acked.Where(a => a.Id > inSecondary).ToList();
        }

        var window = lost.Count == 0 ? 0 : (killedAt - lost.Min(l => l.Time)).TotalSeconds;
        var heartbeatAge = beat is { } b ? (killedAt - b).TotalSeconds : double.NaN;
        rows.Add((k, ackedThisRun, lost.Count, window, heartbeatAge));
        Console.WriteLine($"kill {k,2}: {ackedThisRun,4} acked this run, {lost.Count,3} acknowledged writes missing from the secondary, loss window {window:0.000} s, heartbeat age {heartbeatAge:0.000} s");
    }

    // after the last kill, catch up as a restarted protector would, then read the replica's rows (not the txn):
    // every acknowledged write must be there, none lost for good
    var replica = new DeltaTable(secondary, replicaRoot);
    await Lifeline.Lake.Recovery.TableReplicator.ReplicateAsync(events, replica);
    var ids = new HashSet<long>();
    foreach (var row in await replica.ReadRowsAsync(await replica.GetSnapshotAsync()))
    {
        ids.Add((long)row["id"]!);
    }

    var lostForGood = acked.Count(a => !ids.Contains(a.Id));
    Console.WriteLine($"after catching up: {ids.Count} rows in the secondary, {lostForGood} acknowledged writes missing");
    var load = File.Exists("/proc/loadavg") ? (await File.ReadAllTextAsync("/proc/loadavg")).Trim() : "n/a";
    var windows = rows.Select(r => r.Window).Order().ToList();
    var ages = rows.Select(r => r.HeartbeatAge).Where(a => !double.IsNaN(a)).Order().ToList();
    Console.WriteLine();
    Console.WriteLine($"| kills | acknowledged writes | lost (total) | loss window p99 | loss window max | heartbeat age p99 | heartbeat age max | write rate asked / achieved | load average |");
    Console.WriteLine($"|---|---|---|---|---|---|---|---|---|");
    Console.WriteLine($"| {rows.Count} | {acked.Count} | {rows.Sum(r => r.Lost)} | {P99(windows):0.00} s | {windows.Max():0.00} s | {P99(ages):0.00} s | {(ages.Count == 0 ? double.NaN : ages.Max()):0.00} s | {rate}/s / {acked.Count / writing.TotalSeconds:0.0}/s | {load} |");
    Console.WriteLine($"(achieved rate = acknowledged writes / {writing.TotalSeconds:0} s of writing between each first ack and its kill)");
    return 0;

    static double P99(List<double> sorted) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(0.99 * sorted.Count) - 1)];
}
