using System.Diagnostics;
using System.Globalization;
using Lifeline.Recovery.Audit;

namespace Lifeline.Recovery.Verification.Checks;

/// <summary>The thresholds of <see cref="SizeInRangeCheck"/> (docs/verification.md says why each is what it is).</summary>
internal sealed record SizeThresholds
{
    /// <summary>Backups of the same kind the newest is compared with (the most recent ones). Default 20.</summary>
    public int History { get; init; } = 20;

    /// <summary>Backups of the same kind needed before a size is judged; fewer: passed, "learning". Default 5.</summary>
    public int MinHistory { get; init; } = 5;

    /// <summary>Flag a backup at or below this fraction of the median (80 % smaller). Default 0.2.</summary>
    public double SmallerRatio { get; init; } = 0.2;

    /// <summary>Flag a backup at or above this multiple of the median. Default 5.</summary>
    public double LargerRatio { get; init; } = 5;

    /// <summary>And only when it is also this many robust standard deviations (1.4826 × MAD) from the median, so a
    /// component whose size always swings widely is not flagged for a usual swing. Default 3.</summary>
    public double MinRobustZ { get; init; } = 3;

    /// <summary>Incompressible bytes added must exceed this multiple of their median to be a spike. Default 5.</summary>
    public double SpikeRatio { get; init; } = 5;

    /// <summary>And this many robust standard deviations above the median. Default 6.</summary>
    public double SpikeRobustZ { get; init; } = 6;

    /// <summary>And be at least half of the new data (ransomware rewrites what it encrypts). Default 0.5.</summary>
    public double SpikeShare { get; init; } = 0.5;

    /// <summary>And at least this many bytes (a few new photos are not an attack). Default 1 MiB.</summary>
    public long SpikeFloorBytes { get; init; } = 1L << 20;
}

/// <summary>
/// <c>size-in-range</c>: the newest backup of each component against the component's own history of the same kind
/// (full or incremental) in the audit: flagged with the numbers when it is 80 % smaller or 5 times larger than the
/// median and far outside the history's spread (MAD). A second record per component, check <c>incompressible</c>, is
/// the ransomware-like alarm: a spike of new content that did not compress, against the component's history of it.
/// Too little history passes, saying "learning (n of N)".
/// </summary>
internal sealed class SizeInRangeCheck(SizeThresholds? thresholds = null) : IVerificationCheck
{
    /// <summary>The check name of the incompressible-data alarm's records.</summary>
    public const string IncompressibleCheck = "incompressible";

    private readonly SizeThresholds _t = thresholds ?? new SizeThresholds();

    public string Name => "size-in-range";

    public async Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var now = context.Time.GetUtcNow();
        var audit = await context.Service.Audit.ReadAsync(cancellationToken).ToListAsync(cancellationToken);
        var records = new List<EvidenceRecord>();
        foreach (var component in VerificationRunner.ComponentsOf(context))
        {
            var backups = audit.Where(r => r.Action == AuditActions.Backup && r.Component == component.Name && r.Bytes is not null && r.Snapshot is not null
                && r.Outcome is AuditOutcomes.Ok or AuditOutcomes.Partial).OrderBy(r => r.Time).ToList();
            if (backups.Count == 0)
            {
                records.Add(Record(context, now, clock, component.Name, Name, true, "no backup yet: nothing to compare", "the audit's backups", new()));
                records.Add(Record(context, now, clock, component.Name, IncompressibleCheck, true, "no backup yet: nothing to compare", "the audit's backups", new()));
                continue;
            }

            records.Add(Size(context, now, clock, component.Name, backups));
            records.Add(Incompressible(context, now, clock, component.Name, backups));
        }

        return records;
    }

    private EvidenceRecord Size(VerificationContext context, DateTimeOffset now, Stopwatch clock, string component, List<AuditRecord> backups)
    {
        var newest = backups[^1];
        var full = newest.Full == true;
        var kind = full ? "full" : "incremental";
        var history = backups.Take(backups.Count - 1).Where(b => (b.Full == true) == full).TakeLast(_t.History).Select(b => (double)b.Bytes!.Value).ToArray();
        var size = (double)newest.Bytes!.Value;
        var against = $"the last {history.Length} {kind} backups of {component}";
        var numbers = new Dictionary<string, double> { ["bytes"] = size, ["history"] = history.Length };
        if (history.Length < _t.MinHistory)
        {
            return Record(context, now, clock, component, Name, true, $"learning ({history.Length} of {_t.MinHistory} {kind} backups): {Bytes(size)}", against, numbers);
        }

        var median = RobustStatistics.Median(history);
        var mad = RobustStatistics.Mad(history, median);
        var z = RobustStatistics.RobustZ(size, median, mad);
        var ratio = median > 0 ? size / median : size > 0 ? double.PositiveInfinity : 1;
        numbers["median"] = median;
        numbers["mad"] = mad;
        numbers["ratio"] = Math.Round(double.IsInfinity(ratio) ? double.MaxValue : ratio, 4);
        numbers["robustZ"] = Math.Round(double.IsInfinity(z) ? double.MaxValue : z, 2);
        var where = $"{Bytes(size)} against a median of {Bytes(median)} (MAD {Bytes(mad)}) over {history.Length} {kind} backups";
        if (ratio <= _t.SmallerRatio && z >= _t.MinRobustZ)
        {
            return Record(context, now, clock, component, Name, false,
                $"the {kind} backup {ShortId(newest)} is {Percent(1 - ratio)} smaller than usual: {where}", against, numbers);
        }

        if (ratio >= _t.LargerRatio && z >= _t.MinRobustZ)
        {
            return Record(context, now, clock, component, Name, false,
                $"the {kind} backup {ShortId(newest)} is {ratio.ToString("0.#", CultureInfo.InvariantCulture)}x larger than usual: {where}", against, numbers);
        }

        return Record(context, now, clock, component, Name, true, $"in range: {where}", against, numbers);
    }

    private EvidenceRecord Incompressible(VerificationContext context, DateTimeOffset now, Stopwatch clock, string component, List<AuditRecord> backups)
    {
        var measured = backups.Where(b => b.IncompressibleAdded is not null).ToList();
        var against = $"the incompressible bytes added by the last backups of {component}";
        if (measured.Count == 0 || measured[^1] != backups[^1])
        {
            return Record(context, now, clock, component, IncompressibleCheck, true, "the newest backup did not record its incompressible bytes (an older Lifeline)", against, new());
        }

        var newest = measured[^1];
        var history = measured.Take(measured.Count - 1).TakeLast(_t.History).Select(b => (double)b.IncompressibleAdded!.Value).ToArray();
        var value = (double)newest.IncompressibleAdded!.Value;
        var added = (double)(newest.RawDataAdded ?? 0);
        var share = added > 0 ? value / added : 0;
        var numbers = new Dictionary<string, double> { ["incompressibleBytes"] = value, ["newBytes"] = added, ["share"] = Math.Round(share, 4), ["history"] = history.Length };
        if (history.Length < _t.MinHistory)
        {
            return Record(context, now, clock, component, IncompressibleCheck, true, $"learning ({history.Length} of {_t.MinHistory} backups): {Bytes(value)} incompressible of {Bytes(added)} new", against, numbers);
        }

        var median = RobustStatistics.Median(history);
        var mad = RobustStatistics.Mad(history, median);
        var z = RobustStatistics.RobustZ(value, median, mad);
        numbers["median"] = median;
        numbers["mad"] = mad;
        numbers["robustZ"] = Math.Round(double.IsInfinity(z) ? double.MaxValue : z, 2);
        var where = $"{Bytes(value)} of new data did not compress ({Percent(share)} of {Bytes(added)} new) against a median of {Bytes(median)} (MAD {Bytes(mad)}) over {history.Length} backups";
        var spike = value >= _t.SpikeFloorBytes && value > _t.SpikeRatio * median && z >= _t.SpikeRobustZ && share >= _t.SpikeShare;
        return spike
            ? Record(context, now, clock, component, IncompressibleCheck, false, $"a spike of new incompressible data in backup {ShortId(newest)}, as when ransomware encrypts the source: {where}", against, numbers)
            : Record(context, now, clock, component, IncompressibleCheck, true, $"no spike: {where}", against, numbers);
    }

    private static EvidenceRecord Record(VerificationContext context, DateTimeOffset now, Stopwatch clock, string component, string check, bool passed, string summary, string against, Dictionary<string, double> numbers) => new()
    {
        Check = check,
        Run = context.Run,
        Component = component,
        Against = against,
        Time = now,
        Duration = clock.Elapsed,
        Passed = passed,
        Summary = summary,
        Numbers = numbers,
    };

    private static string ShortId(AuditRecord r) => r.Snapshot is { Length: > 8 } s ? s[..8] : r.Snapshot ?? "?";

    private static string Percent(double fraction) => (fraction * 100).ToString("0", CultureInfo.InvariantCulture) + " %";

    internal static string Bytes(double bytes) => bytes switch
    {
        < 1024 => bytes.ToString("0", CultureInfo.InvariantCulture) + " B",
        < 1024 * 1024 => (bytes / 1024).ToString("0.0", CultureInfo.InvariantCulture) + " KiB",
        < 1024L * 1024 * 1024 => (bytes / (1024 * 1024)).ToString("0.0", CultureInfo.InvariantCulture) + " MiB",
        _ => (bytes / (1024L * 1024 * 1024)).ToString("0.00", CultureInfo.InvariantCulture) + " GiB",
    };
}
