using Lifeline.Lake.LeadScoring;
using Lifeline.Recovery.Locations;
using Lifeline.Recovery.Plan;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests;

/// <summary>The set-up shared by the fixtures that build everything from a plan file alone (the templates'
/// <c>sources</c> layout, <c>sources.data: lifeline-data</c>): the lead-scoring lake and the scheduler's SQLite job
/// store under the data directory, the plan read back from its file, and its locations as local vaults.</summary>
internal static class PlanDataSetup
{
    /// <summary>Seeds <c>lifeline-data/lake</c> with <paramref name="leads"/> leads in <paramref name="batches"/>
    /// batches (on <paramref name="time"/>: a lake point's data time is its Delta commit's time on disk, so the fake
    /// clock should start at the real now) and writes <c>lifeline-data/scheduler/jobs.db</c> with one trigger.</summary>
    public static async Task SeedLakeAndJobStoreAsync(TempDirectory dir, FakeTimeProvider time, int leads, int batches)
    {
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(dir.Combine("lifeline-data", "lake")), "", new Lifeline.Lake.DeltaTableOptions { TimeProvider = time });
        await lake.SeedAsync(new LeadGenerator(7, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), 1), leads, batches, CancellationToken.None);
        Directory.CreateDirectory(dir.Combine("lifeline-data", "scheduler"));
        using var store = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dir.Combine("lifeline-data", "scheduler", "jobs.db"), Pooling = false }.ToString());
        store.Open();
        using var command = store.CreateCommand();
        command.CommandText = "CREATE TABLE triggers (name TEXT PRIMARY KEY, cron TEXT); INSERT INTO triggers VALUES ('backup-registry', '0 1 * * *')";
        command.ExecuteNonQuery();
    }

    /// <summary>The plan of <c>lifeline.yaml</c> in <paramref name="dir"/>, asserted valid.</summary>
    public static async Task<LifelinePlan> LoadPlanAsync(TempDirectory dir)
    {
        var parsed = await PlanFile.LoadAsync(dir.Combine("lifeline.yaml"));
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        return parsed.Plan!;
    }

    /// <summary>The plan's locations (relative URLs under <paramref name="dir"/>), created on first use with the test
    /// key derivation.</summary>
    public static LocationSet Locations(LifelinePlan plan, TempDirectory dir, string password, TimeProvider time) =>
        LocationSet.FromPlan(plan, new LocationSetOptions
        {
            Password = password,
            BaseDirectory = dir.Path,
            InitializeMissing = true,
            InitOptions = VaultInitOptions.ForTests,
        }, time);
}
