using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Protection;
using Lifeline.Registry.Tests;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Recovery.Tests.Protection;

/// <summary>
/// <c>restore --all</c> over the cut records: registry writes and Delta commits interleaved under a running protector
/// (real clock, real registry server on a loopback port, three local vaults); a restore as of a moment between two cuts
/// brings back the earlier cut's registry state and table version, checked by content.
/// </summary>
public sealed class CutRestoreTests
{
    private static async Task<CutRecord> WaitForCutAsync(ProtectionFixture f, Func<CutRecord, bool> match, string what)
    {
        CutRecord? found = null;
        await ProtectionFixture.WaitForAsync(async () =>
            (found = (await CutLog.ListAsync(f.Locations.Store("b"), CancellationToken.None)).Select(c => c.Cut).LastOrDefault(match)) is not null, what, seconds: 60);
        return found!;
    }

    private static async Task<long> ReplicatedAsync(ProtectionFixture f) =>
        await ProtectionLayout.LatestCommitAsync(f.Locations.Store("b"), ProtectionLayout.ReplicaRoot("leads"), CancellationToken.None);

    [Fact]
    public async Task RestoreSet_AtMomentBetweenTwoCuts_BringsBackTheEarlierCutsRegistryAndTableVersion()
    {
        await using var f = await ProtectionFixture.CreateAsync(registry: true);
        var lake = await f.SeedLakeAsync();
        var leads = new LeadGenerator(11, DateTimeOffset.UnixEpoch, 5000);
        CutRecord earlier;
        long earlierVersion;
        await using (var registry = await RegistryTestServer.StartAsync(f.RegistryDirectory))
        {
            await registry.Client().CreateRegisteredModelAsync("first");
            await using var sut = f.CreateSut();
            await sut.StartAsync(CancellationToken.None);

            // era 1: two commits, then a registry write; its cut names both
            await lake.AppendLeadsAsync([leads.NextLead()]);
            await lake.AppendLeadsAsync([leads.NextLead()]);
            earlierVersion = await f.Leads.GetLatestVersionAsync();
            await ProtectionFixture.WaitForAsync(async () => await ReplicatedAsync(f) == earlierVersion, "era 1 replicated");
            var written = DateTimeOffset.UtcNow;
            await registry.Client().CreateRegisteredModelAsync("alpha");
            earlier = await WaitForCutAsync(f, c => c.Time >= written && c.RegistryPoint is not null && c.Tables["leads"].Version == earlierVersion, "the cut of era 1");

            // era 2: more commits and another registry write, after the cut of era 1 is recorded
            await lake.AppendLeadsAsync([leads.NextLead()]);
            await lake.AppendLeadsAsync([leads.NextLead()]);
            await lake.AppendLeadsAsync([leads.NextLead()]);
            var laterVersion = await f.Leads.GetLatestVersionAsync();
            await ProtectionFixture.WaitForAsync(async () => await ReplicatedAsync(f) == laterVersion, "era 2 replicated");
            var written2 = DateTimeOffset.UtcNow;
            await registry.Client().CreateRegisteredModelAsync("beta");
            await WaitForCutAsync(f, c => c.Time >= written2 && c.RegistryPoint is not null && c.Tables["leads"].Version == laterVersion, "the cut of era 2");
        }

        // a moment after the cut of era 1 and before the next cut, whatever else the protector recorded meanwhile
        var cuts = (await CutLog.ListAsync(f.Locations.Store("b"), CancellationToken.None)).Select(c => c.Cut).ToList();
        var next = cuts.First(c => c.Time > earlier.Time);
        var moment = earlier.Time + (next.Time - earlier.Time) / 2;

        var plan = await f.Service.RestoreSetAsync(new SetRestoreOptions { At = moment, As = "asof", DryRun = true });
        Assert.Equal(earlier.Time, plan.Cut!.Time);
        Assert.Equal("b", plan.CutLocation);
        Assert.Contains(plan.CutId!, plan.Basis);
        Assert.Equal(earlierVersion, plan.Items.Single(i => i.Component == "leads").Version);
        Assert.StartsWith("replica in b", plan.Items.Single(i => i.Component == "leads").From);
        Assert.Contains(earlier.RegistryPoint![..8], plan.Items.Single(i => i.Component == "registry").From);
        Assert.False(Directory.Exists(f.Dir.Combine("restored", "asof-leads")), "a dry run writes nothing");

        var result = await f.Service.RestoreSetAsync(new SetRestoreOptions { At = moment, As = "asof" });
        Assert.Null(result.FirstError);

        // by content: the registry of era 1 (alpha, no beta) and the leads table's rows at its version of era 1
        await using (var restored = await RegistryTestServer.StartAsync(f.Dir.Combine("asof-registry")))
        {
            Assert.NotNull(await restored.Client().GetRegisteredModelAsync("alpha"));
            Assert.Null(await restored.Client().GetRegisteredModelAsync("beta"));
        }

        var table = new Lifeline.Lake.DeltaTable(new FileSystemObjectStore(f.Dir.Combine("restored", "asof-leads")), "");
        var snapshot = await table.GetSnapshotAsync();
        Assert.Equal(earlierVersion, snapshot.Version);
        Assert.Equal(await f.Leads.CountRowsAsync(await f.Leads.GetSnapshotAsync(earlierVersion)), await table.CountRowsAsync(snapshot));
        Assert.NotEqual(await f.Leads.CountRowsAsync(await f.Leads.GetSnapshotAsync()), await table.CountRowsAsync(snapshot));
    }

    [Fact]
    public async Task RestoreSet_NoCutAtOrBefore_FallsBackToEachComponentsOwnPointsAndSaysSo()
    {
        await using var f = await ProtectionFixture.CreateAsync();
        await f.SeedLakeAsync();
        var backup = (await f.Service.BackupAsync(["leads"])).Single();

        var result = await f.Service.RestoreSetAsync(new SetRestoreOptions { At = DateTimeOffset.UtcNow.AddMinutes(1), As = "asof", DryRun = true });

        Assert.Null(result.Cut);
        Assert.StartsWith("no cut at or before", result.Basis);
        var item = result.Items.Single(i => i.Component == "leads");
        Assert.Contains("its own newest point", item.From);
        Assert.Equal(backup.Point!.Id, item.Point!.Id);
        await Assert.ThrowsAsync<NoSuchCutException>(() => f.Service.RestoreSetAsync(new SetRestoreOptions { CutId = "19990101", DryRun = true }));
    }
}
