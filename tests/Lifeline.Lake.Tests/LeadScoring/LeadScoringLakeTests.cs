using Lifeline.Lake.LeadScoring;
using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Lake.Tests.LeadScoring;

public sealed class LeadScoringLakeTests
{
    private static readonly DateTimeOffset Start = new(2024, 12, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Generate_SameSeed_SameLeads()
    {
        var a = new LeadGenerator(42, Start).Generate(50);
        var b = new LeadGenerator(42, Start).Generate(50);
        Assert.Equal(a.Leads, b.Leads);
        Assert.Equal(a.Conversions, b.Conversions);
        Assert.NotEqual(a.Leads, new LeadGenerator(43, Start).Generate(50).Leads);
    }

    [Fact]
    public void Generate_Conversion_DependsOnFeaturesLearnably()
    {
        var (leads, conversions) = new LeadGenerator(7, Start).Generate(20000);
        var rate = conversions.Average(c => c.Converted ? 1.0 : 0.0);
        Assert.InRange(rate, 0.15, 0.85);
        double Rate(Func<LeadRecord, bool> where) => leads.Zip(conversions).Where(p => where(p.First)).Average(p => p.Second.Converted ? 1.0 : 0.0);
        Assert.True(Rate(l => l.ReferralSource == "Referral") > Rate(l => l.ReferralSource != "Referral") + 0.05);
        Assert.True(Rate(l => l.CompanySize == "Enterprise") > Rate(l => l.CompanySize == "Small") + 0.1);
        Assert.True(Rate(l => l.PageViews > 30) > Rate(l => l.PageViews < 10) + 0.2);
        // the observed rate tracks the model's probability
        var predicted = leads.Average(LeadGenerator.ConversionProbability);
        Assert.InRange(rate - predicted, -0.02, 0.02);
    }

    [Fact]
    public async Task OpenOrCreate_TypedAppends_RoundTripAndPartitionByDay()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        var lake = await LeadScoringLake.OpenOrCreateAsync(store, "lake");
        var generator = new LeadGenerator(1, Start);
        await lake.SeedAsync(generator, 3000, batches: 3);
        var leads = await lake.ReadLeadsAsync();
        Assert.Equal(3000, leads.Count);
        Assert.Equal(new LeadGenerator(1, Start).Generate(1).Leads[0], leads.OrderBy(l => l.LeadId, StringComparer.Ordinal).First());
        Assert.Equal(3000, (await lake.ReadConversionsAsync()).Count);
        var leadsSnapshot = await lake.Leads.GetSnapshotAsync();
        Assert.Equal(3, leadsSnapshot.Version);
        Assert.True(leadsSnapshot.Files.Count >= 3);
        Assert.All(leadsSnapshot.Files, f => Assert.StartsWith("created_date=2024-12-0", f.RelativePath, StringComparison.Ordinal));

        var lead = leads[0];
        await lake.AppendPredictionsAsync([new PredictionRecord(lead, 0.73, "High", "3", Start.AddDays(3), 1.5)]);
        await lake.AppendAuditLogsAsync([new AuditLogRecord(Start, "restore", "alice", "admin", "lake/leads", "{\"version\":3}", "127.0.0.1", "success")]);
        await lake.AppendMonitoringMetricsAsync([new MonitoringMetricRecord(Start, 1.2, 3.4, 5.6, 120, 0.001, 0.81, 0.7, 0.72, 0.69)]);
        var prediction = Assert.Single(await lake.ReadPredictionsAsync());
        Assert.Equal(new PredictionRecord(lead, 0.73, "High", "3", Start.AddDays(3), 1.5), prediction);
        var audit = Assert.Single(await lake.AuditLogs.ReadRowsAsync(await lake.AuditLogs.GetSnapshotAsync()));
        Assert.Equal("alice", audit["user"]);
        Assert.Equal(new DateOnly(2024, 12, 1), audit["date"]);

        // reopening finds the tables
        var again = await LeadScoringLake.OpenOrCreateAsync(store, "lake");
        Assert.Equal(3, (await again.Leads.GetSnapshotAsync()).Version);
    }

    [Fact]
    public async Task OpenOrCreate_NewLake_PredictionsKeepTenMinutesOfLogAndFilesAndTheOthersDeltasDefaults()
    {
        using var dir = new TempDir();
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(dir.Path), "lake");

        var predictions = await lake.Predictions.GetSnapshotAsync();
        Assert.Equal(0, predictions.Version); // created with them: no second commit
        Assert.Equal((TimeSpan.FromMinutes(10), TimeSpan.FromMinutes(10)), (DeltaTable.LogRetention(predictions), DeltaTable.DeletedFileRetention(predictions)));
        var leads = await lake.Leads.GetSnapshotAsync();
        Assert.Equal((TimeSpan.FromDays(30), TimeSpan.FromDays(7)), (DeltaTable.LogRetention(leads), DeltaTable.DeletedFileRetention(leads)));
    }

    [Fact]
    public async Task OpenOrCreate_PredictionsCreatedBeforeTheRetentionDefaults_GivenThemOnceAndTheRowsKept()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        var old = new DeltaTable(store, "lake/predictions");
        await old.CreateAsync(LeadScoringLake.Schemas["predictions"].Schema, LeadScoringLake.Schemas["predictions"].PartitionColumns, name: "predictions");
        var lead = new LeadGenerator(1, Start).Generate(1).Leads[0];
        var lake = await LeadScoringLake.OpenOrCreateAsync(store, "lake");
        await lake.AppendPredictionsAsync([new PredictionRecord(lead, 0.5, "Medium", "1", Start, 1.0)]);

        var reopened = await LeadScoringLake.OpenOrCreateAsync(store, "lake");

        var snapshot = await reopened.Predictions.GetSnapshotAsync();
        Assert.Equal(2, snapshot.Version); // 0 create, 1 the properties (the first open only), 2 the append
        Assert.Equal(TimeSpan.FromMinutes(10), DeltaTable.DeletedFileRetention(snapshot));
        Assert.Single(await reopened.ReadPredictionsAsync());
    }

    [Fact]
    public async Task OpenOrCreate_PredictionsRetentionSetByTheUser_LeftAsItIs()
    {
        using var dir = new TempDir();
        var store = new FileSystemObjectStore(dir.Path);
        await LeadScoringLake.OpenOrCreateAsync(store, "lake");
        var table = new DeltaTable(store, "lake/predictions");
        await table.SetPropertiesAsync(new Dictionary<string, string?> { ["delta.deletedFileRetentionDuration"] = "interval 7 days" });

        var lake = await LeadScoringLake.OpenOrCreateAsync(store, "lake");

        var snapshot = await lake.Predictions.GetSnapshotAsync();
        Assert.Equal(1, snapshot.Version);
        Assert.Equal(TimeSpan.FromDays(7), DeltaTable.DeletedFileRetention(snapshot));
        Assert.Equal(TimeSpan.FromMinutes(10), DeltaTable.LogRetention(snapshot));
    }
}
