using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery;
using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Incidents;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Verification;

namespace Lifeline.Cli.Demo;

/// <summary>What the verification part of the demo showed.</summary>
/// <param name="ChecksPassed">The daily checks passed on the fresh backup.</param>
/// <param name="DamageFound">The checks failed once the pack was cut short.</param>
/// <param name="IncidentId">The incident the failure opened (null when none did).</param>
/// <param name="IncidentTitle">Its title.</param>
/// <param name="Notices">The notices recorded in the outbox, <c>ID → CHANNEL (STATE)</c>, in order.</param>
/// <param name="Resolved">The incident resolved itself once the checks passed again after the repair.</param>
internal sealed record VerifyDemoResult(bool ChecksPassed, bool DamageFound, string? IncidentId, string? IncidentTitle, IReadOnlyList<string> Notices, bool Resolved, int ExitCode)
{
    /// <summary>The whole story went as it should.</summary>
    public bool Ok => ChecksPassed && DamageFound && IncidentId is not null && Resolved && Notices.Count >= 2;
}

/// <summary>
/// The verification part of <c>lifeline demo</c>, in-process on its own small plan (<see cref="PlanFileName"/>: the
/// configuration component in two local vaults, the daily checks, one <c>manual</c> notification channel, so nothing
/// needs a network): back up; run the plan's daily checks through the runner <c>lifeline verify run</c> uses; cut a
/// pack short in the secondary, as a torn write leaves it; run the checks again: they fail, the failure opens an
/// incident (the incident store <c>lifeline incidents</c> reads) and its first notice goes into the notification
/// outbox (<c>lifeline notify ls</c>); repair the secondary from the primary (the damaged vault moved aside, the next
/// backup initialises it and copies every point into it); run the checks a third time: they pass, and the incident
/// resolves itself, its resolve notice recorded too.
/// </summary>
internal static class VerifyDemo
{
    /// <summary>The plan of this part, in its directory.</summary>
    public const string PlanFileName = "lifeline.yaml";

    /// <summary>The directory of this part below the demo directory.</summary>
    public static string DirectoryOf(string directory) => Path.Combine(directory, "verify-demo");

    private const string Component = "configuration";
    private const string Secondary = "b";
    private const string Daily = "daily";

    private const string Yaml = """
        version: 1
        objectives:
          rto: { target: 4h, max: 8h }
          rpo: { target: 1h, max: 4h }
        components:
          configuration: { policy: hourly, files: [conf/*.json] }
        policies:
          hourly:
            schedule: "0 * * * *"
            retention: { keep-last: 5 }
            locations: { primary: a, secondary: b }
        locations:
          a: { url: ./vaults/a, region: region-a }
          b: { url: ./vaults/b, region: region-b }
        verification:
          checks:
            daily: { schedule: "0 6 * * *", run: [backup-completed, size-in-range, integrity, replication] }
        notifications:
          channels:
            on-call: { kind: manual, target: the on-call engineer, for: [immediate, status, stakeholders] }
        """;

    public static async Task<VerifyDemoResult> RunAsync(string demoDirectory, string password, DemoSteps steps, CancellationToken ct)
    {
        var directory = DirectoryOf(demoDirectory);
        var planPath = Path.Combine(directory, PlanFileName);
        var data = Path.Combine(directory, "data");
        Directory.CreateDirectory(Path.Combine(directory, "conf"));
        await File.WriteAllTextAsync(Path.Combine(directory, "conf", "api.json"), "{ \"port\": 8080, \"workers\": 4 }\n", ct);
        await File.WriteAllTextAsync(Path.Combine(directory, "conf", "scoring.json"), "{ \"model\": \"lead-scoring\", \"threshold\": 0.5 }\n", ct);
        await PlanFile.WriteAsync(planPath, Yaml, overwrite: true, ct);
        var parsed = await PlanFile.LoadAsync(planPath, ct);
        var plan = parsed.Plan ?? throw new InvalidOperationException($"the demo's verification plan does not parse: {parsed.Errors[0]}");

        var incidents = IncidentStore.ForData(data);
        await incidents.MigrateAsync(ct);
        var outbox = NotificationOutbox.InDataDirectory(plan, data, steps.Time);
        await outbox.CountsAsync(ct); // creates the outbox
        // with a timeline the manager sends each due notice at once (in `lifeline up` its incidents service does)
        var manager = new IncidentManager(incidents, plan, steps.Time, new IncidentTimeline(incidents, plan, outbox, steps.Time));

        VerificationRunResult first, second;
        IReadOnlyList<IncidentRecord> opened;
        await using (var session = Open(plan, directory, data, password, steps.Time))
        {
            await steps.RunAsync("verify: back up", async () =>
            {
                var r = Single(await session.Service.BackupAsync([Component], cancellationToken: ct));
                return (r, $"{Component}: point {r.Point?.ShortId} in {string.Join(", ", r.Locations.Where(l => l.Ok).Select(l => l.Location))}");
            });
            first = await steps.RunAsync("verify: run the daily checks", async () =>
            {
                var r = await RunChecksAsync(plan, session, manager, directory, steps.Time, ct);
                return (r, Describe(r));
            });
            await steps.RunAsync("verify: damage a pack in b", async () =>
            {
                var (file, from, to) = await CutShortAsync(Path.Combine(directory, "vaults", Secondary, "data"), ct);
                return (file, $"pack {Path.GetFileName(file)[..8]} cut from {from} to {to} bytes, as a torn write leaves it");
            });
            second = await steps.RunAsync("verify: the checks find it", async () =>
            {
                var r = await RunChecksAsync(plan, session, manager, directory, steps.Time, ct);
                var open = await incidents.ListAsync(openOnly: true, ct);
                return (r, $"{Describe(r)}; {open.Count} incident{(open.Count == 1 ? "" : "s")} opened: " +
                    string.Join("; ", open.Select(i => $"{i.Id} ({i.Cause}, {i.Severity})")));
            });
            opened = await incidents.ListAsync(openOnly: true, ct);
            await steps.RunAsync("verify: the notice", async () =>
            {
                var list = await outbox.ListAsync(limit: 100, cancellationToken: ct);
                var triggers = list.Where(d => opened.Any(i => d.NoticeId == IncidentTimeline.TriggerId(i.Id))).ToList();
                return (list, triggers.Count == 0
                    ? "no notice was recorded"
                    : string.Join("; ", triggers.Select(t => $"{t.NoticeId} to {t.Channel} ({t.State}): {t.Summary}")) + " (in the outbox: 'lifeline notify ls')");
            });
        }

        // the repair: the damaged secondary moved aside (kept to look at); the next backup initialises it and copies
        // every point of the component from the primary
        var damaged = Path.Combine(directory, "vaults", Secondary + ".damaged");
        Directory.Move(Path.Combine(directory, "vaults", Secondary), damaged);
        VerificationRunResult third;
        await using (var session = Open(plan, directory, data, password, steps.Time))
        {
            await steps.RunAsync("verify: repair b from a", async () =>
            {
                var r = Single(await session.Service.BackupAsync([Component], cancellationToken: ct));
                return (r, $"the damaged vault moved to {Path.GetFileName(damaged)}; a backup rebuilt b: point {r.Point?.ShortId} in {string.Join(", ", r.Locations.Where(l => l.Ok).Select(l => l.Location))}");
            });
            third = await steps.RunAsync("verify: the checks pass again", async () =>
            {
                var r = await RunChecksAsync(plan, session, manager, directory, steps.Time, ct);
                var states = new List<string>();
                foreach (var i in opened)
                {
                    states.Add($"{i.Id} {(await incidents.GetAsync(i.Id, ct))?.State ?? "not found"}");
                }

                return (r, $"{Describe(r)}; incident{(opened.Count == 1 ? "" : "s")} {(states.Count == 0 ? "-" : string.Join(", ", states))}");
            });
        }

        var resolved = opened.Count > 0;
        foreach (var i in opened)
        {
            resolved &= (await incidents.GetAsync(i.Id, ct))?.State == IncidentStates.Resolved;
        }

        var ids = opened.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        var notices = (await outbox.ListAsync(limit: 100, cancellationToken: ct))
            .Where(d => ids.Contains(d.IncidentId))
            .OrderBy(d => d.Seq)
            .Select(d => $"{d.NoticeId} → {d.Channel} ({d.State})")
            .ToList();
        var result = new VerifyDemoResult(first.Passed, !second.Passed, opened.FirstOrDefault()?.Id, opened.FirstOrDefault()?.Title, notices, resolved && third.Passed, ExitCodes.Ok);
        return result.Ok ? result : result with { ExitCode = ExitCodes.VerificationFailed };
    }

    /// <summary>The plan's locations and recovery service, built as the CLI's commands build theirs (one per command).</summary>
    private static Session Open(LifelinePlan plan, string directory, string data, string password, TimeProvider time)
    {
        var locations = LocationSet.FromPlan(plan, new LocationSetOptions { Password = password, BaseDirectory = directory, InitializeMissing = true }, time);
        var adapters = RecoveryService.BuiltInAdapters(plan, new PlanAdapterOptions { BaseDirectory = directory, Time = time });
        return new Session(locations, new RecoveryService(plan, locations, adapters, new RecoveryServiceOptions
        {
            Time = time,
            HookDirectory = directory,
            WorkDirectory = DeploymentLayout.For(data).RecoveryWork,
            Arguments = ["demo"],
        }));
    }

    private static ComponentBackupResult Single(IReadOnlyList<ComponentBackupResult> results)
    {
        var r = results.Single();
        return r.Outcome == AuditOutcomes.Ok ? r : throw new CliException(ExitCodes.VerificationFailed, $"the demo's backup of {r.Component} was {r.Outcome}: {r.Message}");
    }

    /// <summary>The plan's daily checks, through the runner of <c>lifeline verify run</c>; failures raise signals into the manager.</summary>
    private static async Task<VerificationRunResult> RunChecksAsync(LifelinePlan plan, Session session, IncidentManager manager, string directory, TimeProvider time, CancellationToken ct)
    {
        var scratch = Path.Combine(directory, "scratch");
        Directory.CreateDirectory(scratch);
        return await VerificationRunner.BuiltIn().RunAsync(new VerificationContext
        {
            Plan = plan,
            Service = session.Service,
            Locations = session.Locations,
            Run = Daily,
            ScratchDirectory = scratch,
            Time = time,
            Signals = manager,
        }, VerificationRunner.ChecksOf(plan, Daily), ct);
    }

    private static string Describe(VerificationRunResult r)
    {
        var records = r.Records.ToList();
        var failed = records.Where(x => !x.Passed).ToList();
        return failed.Count == 0
            ? $"{r.Checks.Count} checks ({string.Join(", ", r.Checks.Select(c => c.Check))}): {records.Count} records, all passed"
            : $"{failed.Count} of {records.Count} records failed; {failed[0].Check} {failed[0].Location ?? failed[0].Component}: {failed[0].Summary}";
    }

    /// <summary>Cuts the end off the largest pack below <paramref name="packs"/> (100 bytes, at most half of it):
    /// rewritten under the same name, as a store that lost the end of a write leaves it.</summary>
    private static async Task<(string File, long From, long To)> CutShortAsync(string packs, CancellationToken ct)
    {
        var largest = new DirectoryInfo(packs).EnumerateFiles("*", SearchOption.AllDirectories).MaxBy(f => f.Length)
            ?? throw new InvalidOperationException($"no pack in {packs}");
        var bytes = await File.ReadAllBytesAsync(largest.FullName, ct);
        var kept = bytes.Length - Math.Min(100, bytes.Length / 2);
        File.Delete(largest.FullName); // packs are written read-only
        await File.WriteAllBytesAsync(largest.FullName, bytes.AsMemory(0, kept), ct);
        return (largest.FullName, bytes.Length, kept);
    }

    private sealed class Session(LocationSet locations, RecoveryService service) : IAsyncDisposable
    {
        public LocationSet Locations { get; } = locations;

        public RecoveryService Service { get; } = service;

        public ValueTask DisposeAsync() => Locations.DisposeAsync();
    }
}
