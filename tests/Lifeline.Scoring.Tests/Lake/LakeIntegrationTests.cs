using System.Net;
using Lifeline.Lake.LeadScoring;
using Lifeline.Scoring.Lake;
using Lifeline.Scoring.Sinks;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.DependencyInjection;

namespace Lifeline.Scoring.Tests.Lake;

public class LakeIntegrationTests
{
    [Fact]
    public async Task Train_OnLakeLeadsAndConversions_RecordsTableVersionsAsLineage()
    {
        using var dir = new TempDir();
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(dir.Sub("lake")));
        await lake.SeedAsync(new LeadGenerator(3, new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), 3000);
        var target = new DirectoryModelSource(dir.Sub("models"));

        var outcome = await TrainingJob.RunLocalAsync(new LakeTrainingData(lake, "lake"), target, "lead-scoring", new TrainingOptions { Trees = 30 },
            dir.Sub("work"), TimeProvider.System, CancellationToken.None);

        Assert.True(outcome.Promoted);
        Assert.Equal("leads+conversions", outcome.TrainingTable);
        Assert.Equal($"leads@v{await lake.Leads.GetLatestVersionAsync()};conversions@v{await lake.Conversions.GetLatestVersionAsync()}", outcome.TrainingTableVersion);
        Assert.InRange(outcome.Metrics.Auc, 0.7, 1.0);
        Assert.Equal(600, outcome.Metrics.Count);
    }

    [Fact]
    public async Task Serve_WithDeltaSinks_EveryPredictionAndAuditRecordInTheLakeAfterStop()
    {
        using var dir = new TempDir();
        var lake = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(dir.Sub("lake")));
        var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path, services: s =>
        {
            s.AddSingleton<IPredictionSink>(new DeltaPredictionSink(lake));
            s.AddSingleton<IAuditSink>(new DeltaAuditSink(lake));
        });
        for (var i = 0; i < 40; i++)
        {
            var body = i % 2 == 0
                ? $$"""{"lead_id":"lead-{{i}}","company_size":"Large","industry":"Retail","page_views":{{i}},"created_at":"2026-11-01T10:00:00Z"}"""
                : $$"""{"lead_id":"lead-{{i}}"}""";
            using var response = await server.PostJsonAsync("/score-lead", body);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await server.DisposeAsync();

        var predictions = await lake.ReadPredictionsAsync();
        Assert.Equal(40, predictions.Count);
        var first = predictions.Single(p => p.Lead.LeadId == "lead-0");
        Assert.Equal("Large", first.Lead.CompanySize);
        Assert.Equal(new DateTimeOffset(2026, 11, 1, 10, 0, 0, TimeSpan.Zero), first.Lead.CreatedAt);
        Assert.Equal("1", first.ModelVersion);
        var audit = await lake.AuditLogs.ReadRowsAsync(await lake.AuditLogs.GetSnapshotAsync());
        Assert.Contains(audit, r => (string?)r["action"] == "model.activate");
    }
}
