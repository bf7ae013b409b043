using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Lifeline.Scoring.Failover;
using Lifeline.Scoring.Sinks;
using Microsoft.Extensions.DependencyInjection;

namespace Lifeline.Scoring.Tests.Sinks;

/// <summary>Issue 8, "predictions lost without a word": every answered prediction reaches the sink.</summary>
public class DurablePredictionTests
{
    private static string LeadJson(string id, string extra = "") =>
        $$"""{"lead_id":"{{id}}","company_size":"Large","industry":"Retail","page_views":7{{extra}}}""";

    private static HashSet<string> RecordedIds(string path, out int lines)
    {
        var all = File.Exists(path) ? File.ReadAllLines(path) : [];
        lines = all.Length;
        return [.. all.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("lead_id").GetString()!)];
    }

    [Fact]
    public async Task ScoreLead_OnePoisonLeadAmong200_Poison422AndEveryAnsweredLeadRecorded()
    {
        using var dir = new TempDir();
        var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path);
        var answered = new List<string>();
        for (var i = 0; i < 201; i++)
        {
            var id = $"lead-{i:D3}";
            using var response = await server.PostJsonAsync("/score-lead", i == 100 ? LeadJson(id, ",\"time_on_site\":1e999") : LeadJson(id));
            if (response.IsSuccessStatusCode)
            {
                answered.Add(id);
            }
            else
            {
                Assert.Equal(100, i);
                Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
            }
        }

        await server.DisposeAsync();

        Assert.Equal(200, answered.Count);
        var recorded = RecordedIds(Path.Combine(dir.Sub("sinks"), "predictions.jsonl"), out var lines);
        Assert.Equal(200, lines);
        Assert.Equal(answered.ToHashSet(), recorded);
    }

    [Fact]
    public async Task Drain_SinkRefusesOneRecordInTheBatch_IsolatedToDeadLetterCountedAlertedRestWritten()
    {
        using var dir = new TempDir();
        var alerts = new ConcurrentQueue<Alert>();
        var sink = new RefusingSink(new JsonLinesPredictionSink(dir.Sub("predictions.jsonl")), "lead-poison");
        var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path, services: s =>
        {
            s.AddSingleton<IPredictionSink>(sink);
            s.AddSingleton<IAlertSink>(new QueueAlertSink(alerts));
        });
        var answered = new List<string>();
        for (var i = 0; i < 201; i++)
        {
            var id = i == 100 ? "lead-poison" : $"lead-{i:D3}";
            using var response = await server.PostJsonAsync("/score-lead", LeadJson(id));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            answered.Add(id);
        }

        var log = server.Get<PredictionLog>();
        var metrics = server.Get<ScoringMetrics>();
        await server.DisposeAsync();

        var recorded = RecordedIds(dir.Sub("predictions.jsonl"), out var lines);
        Assert.Equal(200, lines);
        Assert.Equal(answered.Where(id => id != "lead-poison").ToHashSet(), recorded);
        var deadLetters = await File.ReadAllLinesAsync(log.Drainer!.DeadLetterPath);
        var dead = Assert.Single(deadLetters);
        Assert.Contains("lead-poison", dead, StringComparison.Ordinal);
        Assert.Contains("ArgumentException", dead, StringComparison.Ordinal);
        Assert.Equal(1, metrics.SinkDeadLetters.WithLabels("predictions").Value);
        Assert.Contains(alerts, a => a.Kind == "sink-dead-letter");
    }

    [Fact]
    public async Task ScoreLead_MoreLoadThanTheSinkAbsorbs_503WithRetryAfterAndAnsweredEqualsRecorded()
    {
        using var dir = new TempDir();
        var gate = new SemaphoreSlim(0);
        var sink = new GatedSink(new JsonLinesPredictionSink(dir.Sub("predictions.jsonl")), gate);
        var server = await ScoringServer.StartAsync(await TestModels.SourceAsync(dir.Sub("registry")), dir.Path,
            o => o.SpoolMaxBytes = 1 << 20, s => s.AddSingleton<IPredictionSink>(sink));
        var answered = new ConcurrentBag<string>();
        var refused = 0;
        var padding = new string('r', 200);
        await Task.WhenAll(Enumerable.Range(0, 16).Select(c => Task.Run(async () =>
        {
            for (var i = 0; i < 300; i++)
            {
                var id = $"c{c:D2}-{i:D3}";
                using var response = await server.PostJsonAsync("/score-lead", LeadJson(id, $",\"referral_source\":\"{padding}\""));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    answered.Add(id);
                }
                else
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                    Assert.Equal("1", response.Headers.RetryAfter?.ToString());
                    Interlocked.Increment(ref refused);
                }
            }
        })));

        var metrics = server.Get<ScoringMetrics>();
        Assert.True(refused > 0, "the spool's budget was reached");
        Assert.Equal(refused, metrics.SpoolRejected.WithLabels("predictions").Value);
        gate.Release(int.MaxValue / 2); // the sink catches up
        await server.DisposeAsync();

        var recorded = RecordedIds(dir.Sub("predictions.jsonl"), out var lines);
        Assert.Equal(answered.Count, lines);
        Assert.Equal(answered.ToHashSet(), recorded);
        Assert.Equal(16 * 300, answered.Count + refused);
    }

    private sealed class RefusingSink(JsonLinesPredictionSink inner, string refusedLeadId) : IPredictionSink, IPositionedSink<PredictionRecord>
    {
        public Task AppendAsync(IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken) =>
            Refuse(batch) ?? inner.AppendAsync(batch, cancellationToken);

        public Task AppendAsync(IReadOnlyList<PredictionRecord> batch, string spoolId, long endPosition, CancellationToken cancellationToken) =>
            Refuse(batch) ?? inner.AppendAsync(batch, spoolId, endPosition, cancellationToken);

        public Task<long?> GetCommittedPositionAsync(string spoolId, CancellationToken cancellationToken) => inner.GetCommittedPositionAsync(spoolId, cancellationToken);

        private Task? Refuse(IReadOnlyList<PredictionRecord> batch) =>
            batch.Any(p => p.LeadId == refusedLeadId) ? Task.FromException(new ArgumentException($"the sink cannot store lead {refusedLeadId}")) : null;
    }

    private sealed class GatedSink(JsonLinesPredictionSink inner, SemaphoreSlim gate) : IPredictionSink
    {
        public async Task AppendAsync(IReadOnlyList<PredictionRecord> batch, CancellationToken cancellationToken)
        {
            await gate.WaitAsync(CancellationToken.None);
            await inner.AppendAsync(batch, cancellationToken);
        }
    }

    private sealed class QueueAlertSink(ConcurrentQueue<Alert> alerts) : IAlertSink
    {
        public Task RaiseAsync(Alert alert, CancellationToken cancellationToken)
        {
            alerts.Enqueue(alert);
            return Task.CompletedTask;
        }
    }
}
