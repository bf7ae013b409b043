using System.Runtime.CompilerServices;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;

namespace Lifeline.Recovery.Audit;

/// <summary>What <see cref="PlanHistory.ReadAsync"/> found: the measured history and where it came from.</summary>
public sealed record PlanHistoryRead
{
    /// <summary>The history over every record read.</summary>
    public required AuditBackupHistory History { get; init; }

    /// <summary>The audit records read (merged across locations by id).</summary>
    public int Records { get; init; }

    /// <summary>The locations whose audit records were read.</summary>
    public IReadOnlyList<string> Reachable { get; init; } = [];

    /// <summary>The locations that could not be read, each with why (one line).</summary>
    public IReadOnlyList<(string Location, string Error)> Unreachable { get; init; } = [];
}

/// <summary>Reads the measured history of a plan (the audit records of its locations: backup, copy, verification
/// and restore durations) for <c>plan check</c>, every location at once and each within a deadline, so a location
/// that does not answer makes the check say so instead of hanging.</summary>
public static class PlanHistory
{
    /// <summary>Reads the audit records of every location of <paramref name="plan"/> in <paramref name="locations"/>.</summary>
    public static async Task<PlanHistoryRead> ReadAsync(LifelinePlan plan, LocationSet locations, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(locations);
        var reads = plan.Locations.Select(l => ReadOneAsync(l.Name, locations, timeout, cancellationToken)).ToList();
        var results = await Task.WhenAll(reads);
        var merged = new SortedDictionary<string, AuditRecord>(StringComparer.Ordinal);
        foreach (var (_, records, _) in results)
        {
            foreach (var r in records ?? [])
            {
                merged.TryAdd(r.Id, r);
            }
        }

        return new PlanHistoryRead
        {
            History = new AuditBackupHistory(new ListAuditLog(merged.Values.ToList())),
            Records = merged.Count,
            Reachable = results.Where(r => r.Records is not null).Select(r => r.Location).ToList(),
            Unreachable = results.Where(r => r.Records is null).Select(r => (r.Location, r.Error ?? "unreadable")).ToList(),
        };
    }

    private static async Task<(string Location, List<AuditRecord>? Records, string? Error)> ReadOneAsync(string name, LocationSet locations, TimeSpan timeout, CancellationToken ct)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        try
        {
            var info = locations.Get(name);
            if (info.Kind == LocationKind.FileSystem && !Directory.Exists(info.Url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(info.Url).LocalPath : info.Url))
            {
                return (name, [], null); // nothing backed up there yet; a check must not create the directory
            }

            var store = locations.Store(name);
            // the listing answers whether the location is reachable; the log's own read skips what it cannot read
            await foreach (var _ in store.ListAsync(ObjectStoreAuditLog.Prefix, deadline.Token))
            {
                break;
            }

            var records = new List<AuditRecord>();
            await foreach (var r in new ObjectStoreAuditLog([store]).ReadAsync(deadline.Token))
            {
                records.Add(r);
            }

            return (name, records, null);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return (name, null, $"no answer within {PlanDuration.Format(timeout)}");
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var message = System.Text.RegularExpressions.Regex.Replace(LocationSet.FirstLine(Configuration.Secrets.RedactText(e.Message)), @" \(Parameter '[^']*'\)", "");
            return (name, null, message);
        }
    }

    /// <summary>Records already read.</summary>
    private sealed class ListAuditLog(IReadOnlyList<AuditRecord> records) : IAuditLog
    {
        public Task<AuditRecord> AppendAsync(AuditRecord record, CancellationToken cancellationToken = default) =>
            throw new InvalidOperationException("the plan's history is read only");

        public async IAsyncEnumerable<AuditRecord> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var r in records)
            {
                cancellationToken.ThrowIfCancellationRequested();
                yield return r;
            }

            await Task.CompletedTask;
        }
    }
}
