// RPO benchmark. `driver` (the logger and killer) starts `primary` (a writer appending one row per commit to the
// Delta table `events`, and the ChangeProtector replicating it to the secondary), records every acknowledged write
// (id + time) to acks.log as the primary prints it, kills the primary with SIGKILL at a random moment, counts the
// acknowledged writes missing from the secondary's replica, restarts it, and so on. The primary writes every stage of
// every replication round to rounds.jsonl (ChangeProtectorOptions.RoundObserver); the driver says which round each
// slow kill fell in and sums the rounds up. See docs/protection.md.
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
        int.Parse(Arg("--seed") ?? "1", CultureInfo.InvariantCulture), RunSeconds().Min, RunSeconds().Max),
    _ => Usage(),
};

string? Arg(string name)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}

(double Min, double Max) RunSeconds()
{
    // --run-seconds MIN-MAX: how long after its first acknowledgement a run is killed (uniform), default 2-8
    var text = Arg("--run-seconds") ?? "2-8";
    var parts = text.Split('-');
    return (double.Parse(parts[0], CultureInfo.InvariantCulture), double.Parse(parts[^1], CultureInfo.InvariantCulture));
}

static int Usage()
{
    Console.Error.WriteLine("usage: rpo [driver] [--dir DIR] [--kills N] [--rate WRITES_PER_S] [--seed S] [--run-seconds MIN-MAX] | rpo primary --dir DIR");
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
    // every stage of every replication round, and the process's own milestones, to rounds.jsonl (one line each,
    // written through at once so a SIGKILL loses none): the driver says which round a slow kill fell in
    var run = int.Parse(Environment.GetEnvironmentVariable("RPO_RUN") ?? "0", CultureInfo.InvariantCulture);
    await using var timeline = new StreamWriter(new FileStream(Path.Combine(dir, "rounds.jsonl"), FileMode.Append, FileAccess.Write, FileShare.ReadWrite)) { AutoFlush = true };
    void Note(TimelineEntry entry)
    {
        lock (timeline)
        {
            timeline.WriteLine(JsonSerializer.Serialize(entry with { Run = run }));
        }
    }

    Note(TimelineEntry.Milestone("process", Process.GetCurrentProcess().StartTime.ToUniversalTime()));
    if (Environment.GetEnvironmentVariable("RPO_PREOPEN") == "1")
    {
        // diagnosis (docs/protection.md, "What stalled a round"): open the vaults (Argon2id) before anything is written
        foreach (var l in new[] { "a", "b", "c" })
        {
            await locations.OpenAsync(l, create: true);
        }

        Note(TimelineEntry.Milestone("vaults opened", DateTimeOffset.UtcNow));
    }
    await using var protector = new ChangeProtector(plan, locations, recovery, new ChangeProtectorOptions
    {
        Lake = lake,
        RoundObserver = r => Note(TimelineEntry.Of(r)),
    });
    await protector.StartAsync(CancellationToken.None);
    Note(TimelineEntry.Milestone("protector started", DateTimeOffset.UtcNow));
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

static async Task<List<TimelineEntry>> TimelineAsync(string dir, int run)
{
    var path = Path.Combine(dir, "rounds.jsonl");
    if (!File.Exists(path))
    {
        return [];
    }

    var list = new List<TimelineEntry>();
    await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
    using var reader = new StreamReader(stream);
    while (await reader.ReadLineAsync() is { } line)
    {
        try
        {
            if (JsonSerializer.Deserialize<TimelineEntry>(line) is { } e && e.Run == run)
            {
                list.Add(e);
            }
        }
        catch (JsonException)
        {
            // a line torn by the kill
        }
    }

    return list;
}

// Which round should have copied the oldest lost write (the first that started after its acknowledgement) and where
// it stood at the kill; or, when none started, the round that was running then.
static (string Summary, RoundSummary? Round) Explain(List<TimelineEntry> timeline, DateTimeOffset ack, DateTimeOffset killedAt)
{
    var rounds = timeline.Where(e => e.Kind == "round").GroupBy(e => e.Sequence).Select(g => g.MaxBy(e => e.ElapsedMs)!).OrderBy(e => e.Sequence).ToList();
    var process = timeline.FirstOrDefault(e => e.Kind == "milestone" && e.Stage == "process")?.At;
    var started = timeline.FirstOrDefault(e => e.Kind == "milestone" && e.Stage == "protector started")?.At;
    string Since(DateTimeOffset t) => process is { } p ? $"run +{(t - p).TotalSeconds:0.00} s" : "run +?";
    var covering = rounds.FirstOrDefault(r => r.At >= ack);
    var round = covering ?? rounds.LastOrDefault(r => r.At < ack);
    var context = $"ack at {Since(ack)} (protector started at {(started is { } s ? Since(s) : "?")}), kill at {Since(killedAt)}";
    if (round is null)
    {
        return ($"{context}; no round on record", null);
    }

    var summary = round.Stage == "ended" ? RoundSummary.Of(round, ended: true)
        : new RoundSummary($"running for {(killedAt - round.At).TotalSeconds:0.000} s at the kill, last stage '{round.Stage}' " + RoundSummary.Of(round, ended: false).Text);
    var what = covering is not null
        ? $"round #{round.Sequence} ({round.Trigger}) started {(round.At - ack).TotalSeconds:0.000} s after the ack"
        : $"no round started after the ack; round #{round.Sequence} ({round.Trigger}) had started {(ack - round.At).TotalSeconds:0.000} s before it";
    return ($"{context}; {what}: {summary}", summary);
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

static async Task<int> DriverAsync(string dir, int kills, double rate, int seed, double runMin, double runMax)
{
    const double SlowWindow = 0.5; // a kill losing more than this is explained round by round
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
    var runs = new List<List<TimelineEntry>>();
    var slow = new List<(int Kill, double Window, string Why, RoundSummary? Round)>();
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
        start.Environment["RPO_RUN"] = k.ToString(CultureInfo.InvariantCulture);
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
        await Task.Delay(TimeSpan.FromSeconds(runMin + (random.NextDouble() * (runMax - runMin)))); // a random moment 2-8 s into the run
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
        var timeline = await TimelineAsync(dir, k);
        runs.Add(timeline);
        Console.WriteLine($"kill {k,2}: {ackedThisRun,4} acked this run, {lost.Count,3} acknowledged writes missing from the secondary, loss window {window:0.000} s, heartbeat age {heartbeatAge:0.000} s");
        if (window >= SlowWindow)
        {
            var (why, round) = Explain(timeline, lost.Min(l => l.Time), killedAt);
            slow.Add((k, window, why, round));
            Console.WriteLine($"         slow: {why}");
        }
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
    var p = windows.Count == 0 ? double.NaN : windows[windows.Count / 2];
    Console.WriteLine($"loss window p50 {p:0.000} s, p90 {Pct(windows, 0.90):0.000} s, p99 {P99(windows):0.000} s; kills over 2 s: {windows.Count(w => w > 2)}, over {SlowWindow} s: {slow.Count}");

    // the rounds themselves, over every run: how long they took and on what
    var ended = runs.SelectMany(t => t.Where(e => e.Kind == "round" && e.Stage == "ended" && e.Trigger != "start")).ToList();
    if (ended.Count > 0)
    {
        var durations = ended.Select(e => e.ElapsedMs).Order().ToList();
        var lates = ended.Select(e => e.LateMs).Order().ToList();
        Console.WriteLine($"rounds after the start (poll and watch): {ended.Count}; duration p50 {durations[durations.Count / 2]:0} ms, p99 {Pct(durations, 0.99):0} ms, max {durations[^1]:0} ms; "
            + $"late wake-up p50 {lates[lates.Count / 2]:0} ms, p99 {Pct(lates, 0.99):0} ms, max {lates[^1]:0} ms");
        var withVault = ended.Where(e => e.VaultWork is not null).Select(e => e.ElapsedMs).Order().ToList();
        var without = ended.Where(e => e.VaultWork is null).Select(e => e.ElapsedMs).Order().ToList();
        Console.WriteLine($"  while the vault worker was busy: {withVault.Count} rounds, p99 {Pct(withVault, 0.99):0} ms; idle: {without.Count} rounds, p99 {Pct(without, 0.99):0} ms");
        foreach (var e in ended.Where(e => e.ElapsedMs + e.LateMs >= 1000).OrderByDescending(e => e.ElapsedMs + e.LateMs).Take(10))
        {
            Console.WriteLine($"  slow round: run {e.Run} #{e.Sequence}: {RoundSummary.Of(e, ended: true)}");
        }
    }

    var starts = runs.Select(t => t.Where(e => e.Kind == "round" && e.Trigger == "start").MaxBy(e => e.ElapsedMs)).OfType<TimelineEntry>().Select(e => e.ElapsedMs).Order().ToList();
    if (starts.Count > 0)
    {
        Console.WriteLine($"start-up rounds: p50 {starts[starts.Count / 2]:0} ms, max {starts[^1]:0} ms");
    }

    return 0;

    static double Pct(List<double> sorted, double q) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, Math.Max(0, (int)Math.Ceiling(q * sorted.Count) - 1))];

    static double P99(List<double> sorted) => sorted.Count == 0 ? double.NaN : sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(0.99 * sorted.Count) - 1)];
}

/// <summary>One line of rounds.jsonl: a stage of a replication round (<see cref="ReplicationRound"/>) or a milestone of
/// the primary (kind <c>milestone</c>, its name in <c>Stage</c>). Times in Unix milliseconds.</summary>
internal sealed record TimelineEntry
{
    public int Run { get; init; }
    public string Kind { get; init; } = "round";
    public long Sequence { get; init; }
    public string Trigger { get; init; } = "";
    public string Stage { get; init; } = "";
    public long AtMs { get; init; }
    public double ElapsedMs { get; init; }
    public double LateMs { get; init; }
    public int Versions { get; init; }
    public int Files { get; init; }
    public long Bytes { get; init; }
    public double PollingMs { get; init; }
    public double CopyingMs { get; init; }
    public double HeartbeatMs { get; init; }
    public string? VaultWork { get; init; }
    public int PoolThreads { get; init; }
    public long PoolPending { get; init; }
    public double GcMs { get; init; }
    public double JitMs { get; init; }
    public string? Error { get; init; }

    [System.Text.Json.Serialization.JsonIgnore]
    public DateTimeOffset At => DateTimeOffset.FromUnixTimeMilliseconds(AtMs);

    public static TimelineEntry Milestone(string name, DateTimeOffset at) => new() { Kind = "milestone", Stage = name, AtMs = at.ToUnixTimeMilliseconds() };

    public static TimelineEntry Of(ReplicationRound r) => new()
    {
        Sequence = r.Sequence, Trigger = r.Trigger, Stage = r.Stage, AtMs = r.Started.ToUnixTimeMilliseconds(), ElapsedMs = r.Elapsed.TotalMilliseconds,
        LateMs = r.Late.TotalMilliseconds, Versions = r.VersionsCopied, Files = r.FilesCopied, Bytes = r.BytesCopied, PollingMs = r.Polling.TotalMilliseconds,
        CopyingMs = r.Copying.TotalMilliseconds, HeartbeatMs = r.HeartbeatCopying.TotalMilliseconds, VaultWork = r.VaultWork, PoolThreads = r.PoolThreads,
        PoolPending = r.PoolPending, GcMs = r.GcPause.TotalMilliseconds, JitMs = r.JitTime.TotalMilliseconds, Error = r.Error,
    };
}

/// <summary>A round as the driver prints it.</summary>
internal sealed record RoundSummary(string Text)
{
    public static RoundSummary Of(TimelineEntry e, bool ended) => new(
        $"{(ended ? "ended" : "reported")} after {e.ElapsedMs:0} ms (woke {e.LateMs:0} ms late; polling {e.PollingMs:0} ms, copying {e.CopyingMs:0} ms, "
        + $"heartbeat {e.HeartbeatMs:0} ms; {e.Versions} versions, {e.Files} files, {e.Bytes} B; vault worker: {e.VaultWork ?? "idle"}; "
        + $"pool {e.PoolThreads} threads, {e.PoolPending} queued; GC {e.GcMs:0} ms, JIT {e.JitMs:0} ms{(e.Error is null ? "" : "; error: " + e.Error)})");

    public override string ToString() => Text;
}
