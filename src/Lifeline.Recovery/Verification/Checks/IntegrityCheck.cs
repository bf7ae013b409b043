using System.Diagnostics;
using Lifeline.Recovery.Locations;
using Lifeline.Vault;

namespace Lifeline.Recovery.Verification.Checks;

/// <summary>
/// <c>integrity</c>: every location's vault, daily: the full metadata check (snapshots, trees, index, packs listed)
/// and the data of one seventh of the packs, the subset chosen by the day number (<see cref="SubsetOf"/>), so that
/// every pack of every location is read at least once in any 7 consecutive daily runs. One record per location.
/// </summary>
internal sealed class IntegrityCheck : IVerificationCheck
{
    /// <summary>The rolling read's period in daily runs.</summary>
    public const int Days = 7;

    public string Name => "integrity";

    /// <summary>The 1-based subset of <see cref="Days"/> read on the UTC day of <paramref name="time"/>: the packs whose
    /// id's first 32 bits are <c>n - 1</c> modulo 7 (the vault's partition), so 7 consecutive days read every pack.</summary>
    public static int SubsetOf(DateTimeOffset time) => (int)(DayNumber(time) % Days) + 1;

    public static long DayNumber(DateTimeOffset time) => (long)Math.Floor((time.UtcDateTime - DateTime.UnixEpoch).TotalDays);

    public async Task<IReadOnlyList<EvidenceRecord>> RunAsync(VerificationContext context, CancellationToken cancellationToken)
    {
        var now = context.Time.GetUtcNow();
        var subset = SubsetOf(now);
        var records = new List<EvidenceRecord>();
        foreach (var location in VerificationRunner.LocationsOf(context))
        {
            var clock = Stopwatch.StartNew();
            var against = $"the vault's own index and hashes; data subset {subset} of {Days} (day {DayNumber(now)})";
            try
            {
                var vault = await context.Locations.OpenAsync(location.Name, cancellationToken: cancellationToken);
                var result = await vault.CheckAsync(new CheckOptions { ReadDataSubset = (subset, Days) }, ct: cancellationToken);
                var numbers = new Dictionary<string, double>
                {
                    ["snapshots"] = result.Snapshots, ["trees"] = result.Trees, ["packs"] = result.Packs, ["blobs"] = result.Blobs,
                    ["packsRead"] = result.PacksRead, ["bytesRead"] = result.BytesRead, ["errors"] = result.Errors.Count, ["subset"] = subset,
                };
                records.Add(new EvidenceRecord
                {
                    Check = Name, Run = context.Run, Location = location.Name, Against = against, Time = now, Duration = clock.Elapsed,
                    Passed = result.Ok, Numbers = numbers,
                    Summary = result.Ok
                        ? $"metadata of {result.Snapshots} snapshots and {result.Packs} packs consistent; read {result.PacksRead} packs ({SizeInRangeCheck.Bytes(result.BytesRead)}) of subset {subset}/{Days}, all intact"
                        : $"{result.Errors.Count} problems in {location.Name}; first: {LocationSet.FirstLine(result.Errors[0])}",
                });
            }
            catch (Exception e) when (VerificationRunner.IsUnreadable(e))
            {
                records.Add(VerificationRunner.Unreadable(context, Name, location.Name, null, now, clock.Elapsed, e));
            }
            catch (Exception e) when (e is VaultException or IOException or Storage.ObjectNotFoundException)
            {
                records.Add(new EvidenceRecord
                {
                    Check = Name, Run = context.Run, Location = location.Name, Against = against, Time = now, Duration = clock.Elapsed,
                    Passed = false, Summary = $"the check of {location.Name} stopped: {LocationSet.FirstLine(e.Message)}",
                });
            }
        }

        return records;
    }
}
