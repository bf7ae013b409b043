using System.Globalization;
using System.Net.Http.Json;
using Lifeline.Scoring.Apis;
using Lifeline.Scoring.Hosting;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeline.Scoring.Demo;

/// <summary>What the scoring part of <c>lifeline demo</c> did.</summary>
public sealed record ScoringDemoResult(string ModelVersion, double HeldOutAuc, int Scored, IReadOnlyDictionary<string, int> Categories, string Address);

/// <summary>A batch scored over HTTP: where the service listened, its response, the count per category and a one-line summary of them.</summary>
public sealed record ScoredBatch(string Address, ScoreLeadsResponse Response, IReadOnlyDictionary<string, int> Categories, string Summary);

/// <summary>
/// The scoring part of <c>lifeline demo</c>: train a model into a directory model source under
/// <paramref name="directory"/>, start the service on a free loopback port, score a batch of leads over HTTP
/// (<c>POST /score-leads</c>), stop gracefully (the predictions are then in <c>scoring/sinks/predictions.jsonl</c>).
/// </summary>
public static class ScoringDemo
{
    public static async Task<ScoringDemoResult> RunAsync(string directory, TextWriter output, int leads = 50, CancellationToken cancellationToken = default)
    {
        var root = Path.Combine(directory, "scoring");
        var models = new DirectoryModelSource(Path.Combine(root, "models"));
        var trained = await TrainingJob.RunLocalAsync(new SyntheticTrainingData(5000, 1), models, "lead-scoring", new TrainingOptions(),
            Path.Combine(root, "train"), TimeProvider.System, cancellationToken);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"scoring: trained lead-scoring v{trained.Version} on 5000 generated leads, held-out AUC {trained.Metrics.Auc:0.000}; {trained.Decision}"));

        var batch = await ScoreBatchAsync(models, root, leads, LogLevel.Warning, cancellationToken);
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"scoring: served on {batch.Address}; scored {batch.Response.Count} leads with v{batch.Response.ModelVersion} in {batch.Response.LatencyMs:0.0} ms: {batch.Summary}"));
        return new ScoringDemoResult(batch.Response.ModelVersion, trained.Metrics.Auc, batch.Response.Count, batch.Categories, batch.Address);
    }

    /// <summary>
    /// Starts the scoring service on a free loopback port over <paramref name="source"/> (cache and sinks below
    /// <paramref name="root"/>), scores <paramref name="leads"/> generated leads in one <c>POST /score-leads</c> over
    /// HTTP, and stops it gracefully (the predictions are then in <c>sinks/predictions.jsonl</c> below the root).
    /// </summary>
    public static async Task<ScoredBatch> ScoreBatchAsync(IModelSource source, string root, int leads, LogLevel logLevel, CancellationToken cancellationToken)
    {
        var app = ScoringHost.Build("http://127.0.0.1:0", o =>
        {
            o.CacheDirectory = Path.Combine(root, "cache");
            o.SinkDirectory = Path.Combine(root, "sinks");
        }, s => s.AddSingleton(source), logLevel);
        await using (app)
        {
            await app.StartAsync(cancellationToken);
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            using var http = new HttpClient { BaseAddress = new Uri(address) };
            var batch = new ScoreLeadsRequest
            {
                Leads = [.. SyntheticLeads.Generate(leads, 2026).Select(l => new ScoreLeadRequest
                {
                    LeadId = l.LeadId,
                    CompanySize = l.CompanySize,
                    Industry = l.Industry,
                    PageViews = l.PageViews,
                    TimeOnSite = l.TimeOnSite,
                    FormCompletionTime = l.FormCompletionTime,
                    ReferralSource = l.ReferralSource,
                })],
            };
            using var response = await http.PostAsJsonAsync("/score-leads", batch, ScoringJsonContext.Default.ScoreLeadsRequest, cancellationToken);
            response.EnsureSuccessStatusCode();
            var scored = (await response.Content.ReadFromJsonAsync(ScoringJsonContext.Default.ScoreLeadsResponse, cancellationToken))!;
            var categories = scored.Predictions.GroupBy(p => p.ScoreCategory).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
            var summary = string.Join(", ", new[] { "Very High", "High", "Medium", "Low" }
                .Select(c => string.Create(CultureInfo.InvariantCulture, $"{(categories.TryGetValue(c, out var n) ? n : 0)} {c}")));
            await app.StopAsync(cancellationToken);
            return new ScoredBatch(address, scored, categories, summary);
        }
    }
}
