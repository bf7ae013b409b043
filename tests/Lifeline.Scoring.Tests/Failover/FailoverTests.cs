using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lifeline.Scoring.Failover;
using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Sinks;
using Lifeline.Scoring.Sources;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Scoring.Tests.Failover;

public class FailoverTests
{
    private static readonly string[] Industries = [.. LeadFeatures.Industries];

    [Fact]
    public async Task FailingVersion_TrafficThroughHttp_RolledBackWithinTheWindowBound()
    {
        using var dir = new TempDir();
        var source = await TestModels.SourceAsync(dir.Sub("registry")); // version 1, good
        var alerts = new RecordingAlertSink();
        const int minRequests = 60;
        const int concurrency = 8;
        await using var server = await ScoringServer.StartAsync(source, dir.Path,
            o =>
            {
                o.Failover.MinRequests = minRequests;
                o.Failover.FailureShare = 0.05;
                o.Failover.Window = TimeSpan.FromSeconds(60);
            },
            s =>
            {
                s.AddSingleton<IModelLoader>(new FaultyVersionLoader("2"));
                s.AddSingleton<IAlertSink>(alerts);
            });

        // Version 2 throws for Retail and gives NaN for Finance: 2 of 6 industries, a third of the traffic.
        var v2 = await source.AddVersionAsync((await TestModels.GetAsync()).ArtifactDirectory, CancellationToken.None);
        await source.PromoteAsync(v2, CancellationToken.None);
        server.Time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(async () => (await server.GetJsonAsync<JsonElement>("/model-info")).GetProperty("model_version").GetString() == "2",
            "version 2 served");

        var outcomes = new ConcurrentQueue<(int Index, HttpStatusCode Status, string? Version, long Started, long Finished)>();
        var next = -1;
        var clock = 0L; // one logical clock for request starts and finishes, to order them across clients
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < 600)
            {
                var body = $$"""{"lead_id":"lead-{{i}}","industry":"{{Industries[i % 6]}}","page_views":{{i % 40}}}""";
                var started = Interlocked.Increment(ref clock);
                using var response = await server.PostJsonAsync("/score-lead", body);
                var finished = Interlocked.Increment(ref clock);
                string? version = null;
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    version = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("model_version").GetString();
                }

                outcomes.Enqueue((i, response.StatusCode, version, started, finished));
            }
        }));

        var failures = outcomes.Count(o => o.Status != HttpStatusCode.OK);
        var info = await server.GetJsonAsync<JsonElement>("/model-info");
        Assert.Equal("1", info.GetProperty("model_version").GetString());
        Assert.Equal(["2"], info.GetProperty("rejected_versions").EnumerateArray().Select(v => v.GetString()));
        Assert.All(outcomes.Where(o => o.Status != HttpStatusCode.OK), o => Assert.Equal(HttpStatusCode.ServiceUnavailable, o.Status));
        // The bound: the share is judged once MinRequests outcomes are in, and the switch follows the failure that
        // crossed it; requests already running on version 2 (at most one per client) may still fail.
        Assert.InRange(failures, 1, minRequests + concurrency);
        // Once version 1 has answered a request, no request started after that fails (rollback is a single swap);
        // requests already in flight on version 2 may still fail, and they are counted in the bound above.
        var firstBack = outcomes.Where(o => o.Version == "1").Min(o => o.Finished);
        Assert.DoesNotContain(outcomes, o => o.Started > firstBack && o.Status != HttpStatusCode.OK);
        Assert.True(outcomes.Count(o => o.Version == "1") >= 600 - minRequests - concurrency);

        var alert = Assert.Single(alerts.Alerts);
        Assert.Equal("model-rollback", alert.Kind);
        Assert.Contains("from version 2 to 1", alert.Message, StringComparison.Ordinal);
        var metrics = await server.Client.GetStringAsync("/metrics");
        Assert.Contains("lifeline_scoring_rollbacks_total 1", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeline_scoring_prediction_errors_total{kind=\"exception\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("lifeline_scoring_prediction_errors_total{kind=\"invalid_score\"}", metrics, StringComparison.Ordinal);

        // The rollback is in the audit log (flushed on the fake clock), and version 2 stays rejected on later polls.
        server.Time.Advance(TimeSpan.FromSeconds(30));
        await Eventually.TrueAsync(() => Task.FromResult(
            File.Exists(Path.Combine(dir.Path, "sinks", "audit_logs.jsonl"))
            && File.ReadAllText(Path.Combine(dir.Path, "sinks", "audit_logs.jsonl")).Contains("model.rollback", StringComparison.Ordinal)),
            "rollback audited");
        Assert.Equal("1", (await server.GetJsonAsync<JsonElement>("/model-info")).GetProperty("model_version").GetString());
    }

    [Fact]
    public async Task LatencyOverBudget_SlowVersionThroughHttp_RolledBackByTheCheckTimerOnceSustained()
    {
        // Real time end to end: the latency is what the service measures around real HTTP requests to a model that
        // takes 80 ms per prediction, and only the monitor's own timer evaluates it (nothing here calls the check).
        using var dir = new TempDir();
        var source = await TestModels.SourceAsync(dir.Sub("registry"), versions: 2); // serving 2, 1 before it
        var alerts = new RecordingAlertSink();
        var sustain = TimeSpan.FromSeconds(1);
        await using var server = await ScoringServer.StartAsync(source, dir.Path, o =>
        {
            o.Failover.MinRequests = 10;
            o.Failover.LatencyBudget = TimeSpan.FromMilliseconds(50);
            o.Failover.LatencySustain = sustain;
            o.Failover.CheckInterval = TimeSpan.FromMilliseconds(100);
            o.Failover.PredictionTimeout = TimeSpan.FromSeconds(5); // slow is not failed: only the latency trigger may fire
        }, s =>
        {
            s.AddSingleton(TimeProvider.System);
            s.AddSingleton<IModelLoader>(new SlowVersionLoader("2", TimeSpan.FromMilliseconds(80)));
            s.AddSingleton<IAlertSink>(alerts);
        });
        Assert.Equal("2", (await server.GetJsonAsync<JsonElement>("/model-info")).GetProperty("model_version").GetString());
        var startedAt = DateTimeOffset.UtcNow;

        var slowLatencies = new ConcurrentQueue<double>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var rolledBack = 0;
        await Task.WhenAll(Enumerable.Range(0, 4).Select(async client =>
        {
            for (var i = 0; Volatile.Read(ref rolledBack) == 0 && DateTime.UtcNow < deadline; i++)
            {
                using var response = await server.PostJsonAsync("/score-lead", $$"""{"lead_id":"lead-{{client}}-{{i}}","page_views":{{i % 40}}}""");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode); // slow, never failed
                var body = await response.Content.ReadFromJsonAsync<JsonElement>();
                if (body.GetProperty("model_version").GetString() == "1")
                {
                    Volatile.Write(ref rolledBack, 1);
                }
                else
                {
                    slowLatencies.Enqueue(body.GetProperty("latency_ms").GetDouble());
                }
            }
        }));

        Assert.True(rolledBack == 1, $"no rollback within 30 s after {slowLatencies.Count} slow requests");
        Assert.True(slowLatencies.Count >= 10);
        Assert.All(slowLatencies, l => Assert.True(l >= 80, $"measured {l} ms for an 80 ms prediction"));
        await server.Get<FailoverMonitor>().LastRollback!; // the swap comes first, the audit record and the alert after it
        var alert = Assert.Single(alerts.Alerts, a => a.Kind == "model-rollback");
        Assert.Contains("from version 2 to 1", alert.Message, StringComparison.Ordinal);
        Assert.Contains("p99 latency", alert.Message, StringComparison.Ordinal);
        Assert.Contains("over the 50 ms budget", alert.Message, StringComparison.Ordinal);
        // Not before the excess was sustained: over budget could start no earlier than the first requests.
        Assert.True(alert.At - startedAt >= sustain, $"rolled back {(alert.At - startedAt).TotalMilliseconds:0} ms after the first request");
        Assert.Equal("1", (await server.GetJsonAsync<JsonElement>("/model-info")).GetProperty("model_version").GetString());
    }

    [Fact]
    public async Task CheckLatency_OverBudgetOnTheFakeClock_RollsBackOnlyOnceSustained()
    {
        // The sustain rule at its edges on a fake clock, the outcomes recorded directly (the end-to-end path over HTTP
        // with the real timer is the test above).
        using var dir = new TempDir();
        var source = await TestModels.SourceAsync(dir.Sub("registry"), versions: 2);
        await using var server = await ScoringServer.StartAsync(source, dir.Path, o =>
        {
            o.Failover.MinRequests = 10;
            o.Failover.LatencyBudget = TimeSpan.FromMilliseconds(50);
            o.Failover.LatencySustain = TimeSpan.FromSeconds(5);
            o.Failover.CheckInterval = TimeSpan.FromSeconds(1);
        });
        var monitor = server.Get<FailoverMonitor>();
        var models = server.Get<ModelManager>();
        var current = models.Current!;
        Assert.Equal("2", current.Version);

        for (var i = 0; i < 20; i++)
        {
            monitor.Record(current, failed: false, latencyMs: 120);
        }

        monitor.CheckLatency(); // over budget: the clock starts
        server.Time.Advance(TimeSpan.FromSeconds(4));
        monitor.CheckLatency();
        Assert.Equal("2", models.Current!.Version); // not yet sustained
        server.Time.Advance(TimeSpan.FromSeconds(1));
        monitor.CheckLatency();
        await monitor.LastRollback!;

        Assert.Equal("1", models.Current!.Version);
    }

    [Fact]
    public void Window_FailuresAndLatency_ExpireAfterTheWindow()
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero));
        var window = new OutcomeWindow(TimeSpan.FromSeconds(60), time);
        for (var i = 0; i < 95; i++)
        {
            window.Record(false, 1.0);
        }

        for (var i = 0; i < 5; i++)
        {
            window.Record(true, 200.0);
        }

        var snapshot = window.Read();
        Assert.Equal(100, snapshot.Total);
        Assert.Equal(0.05, snapshot.FailureShare, 9);
        Assert.InRange(snapshot.P99Ms, 200.0, 300.0);

        time.Advance(TimeSpan.FromSeconds(30));
        window.Record(false, 1.0);
        Assert.Equal(101, window.Read().Total);
        time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(1, window.Read().Total); // the first 100 fell out of the window
        time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(0, window.Read().Total);
    }

    [Fact]
    public async Task Rollback_NoPreviousInMemory_LoadsThePreviousProductionFromTheSource()
    {
        using var dir = new TempDir();
        var source = await TestModels.SourceAsync(dir.Sub("registry"), versions: 3); // history 1,2,3; serving 3 from start
        await using var server = await ScoringServer.StartAsync(source, dir.Path);
        var models = server.Get<ModelManager>();
        Assert.Null(models.Previous);

        var result = await models.RollbackAsync("test", "admin", CancellationToken.None);

        Assert.NotNull(result);
        Assert.Equal("2", models.Current!.Version);
        var again = await models.RollbackAsync("test again", "admin", CancellationToken.None);
        Assert.Equal("1", again!.ToVersion);
        Assert.Null(await models.RollbackAsync("nothing left", "admin", CancellationToken.None));
    }

    private sealed class RecordingAlertSink : IAlertSink
    {
        public ConcurrentQueue<Alert> Alerts { get; } = new();

        public Task RaiseAsync(Alert alert, CancellationToken cancellationToken)
        {
            Alerts.Enqueue(alert);
            return Task.CompletedTask;
        }
    }

    /// <summary>Loads artifacts normally, but wraps one version in a model that fails for some industries.</summary>
    private sealed class FaultyVersionLoader(string faultyVersion) : IModelLoader
    {
        public async Task<(ILeadModel Model, ModelSignature Signature)> LoadAsync(string directory, ModelVersionInfo version, CancellationToken cancellationToken)
        {
            var (model, signature) = await ModelArtifact.LoadAsync(directory, cancellationToken);
            return version.Version == faultyVersion ? (new FaultyModel(model), signature) : (model, signature);
        }
    }

    /// <summary>Loads artifacts normally, but makes one version take <paramref name="delay"/> per prediction.</summary>
    private sealed class SlowVersionLoader(string slowVersion, TimeSpan delay) : IModelLoader
    {
        public async Task<(ILeadModel Model, ModelSignature Signature)> LoadAsync(string directory, ModelVersionInfo version, CancellationToken cancellationToken)
        {
            var (model, signature) = await ModelArtifact.LoadAsync(directory, cancellationToken);
            return version.Version == slowVersion ? (new SlowModel(model, delay), signature) : (model, signature);
        }
    }

    private sealed class SlowModel(ILeadModel inner, TimeSpan delay) : ILeadModel
    {
        public float Score(ReadOnlySpan<float> features)
        {
            Thread.Sleep(delay); // the model's own slowness, the behaviour under test (not synchronisation)
            return inner.Score(features);
        }
    }

    private sealed class FaultyModel(ILeadModel inner) : ILeadModel
    {
        public float Score(ReadOnlySpan<float> features) => features[LeadFeatures.Industry] switch
        {
            3 => throw new InvalidOperationException("broken for Retail"),
            1 => float.NaN,
            _ => inner.Score(features),
        };
    }
}

public class FailoverNoPreviousTests
{
    [Fact]
    public async Task FailingOnlyVersion_NoPrevious_OneAlertPerWindowNotPerFailure()
    {
        using var dir = new TempDir();
        var source = await TestModels.SourceAsync(dir.Sub("registry"));
        var alerts = new List<Lifeline.Scoring.Failover.Alert>();
        await using var server = await ScoringServer.StartAsync(source, dir.Path, o => o.Failover.MinRequests = 10, s =>
            s.AddSingleton<Lifeline.Scoring.Failover.IAlertSink>(new ListAlertSink(alerts)));
        var monitor = server.Get<Lifeline.Scoring.Failover.FailoverMonitor>();
        var current = server.Get<Lifeline.Scoring.Models.ModelManager>().Current!;

        for (var i = 0; i < 50; i++)
        {
            monitor.Record(current, failed: true, 1);
            if (monitor.LastRollback is { } running)
            {
                await running;
            }
        }

        Assert.Single(alerts);
        Assert.Equal("model-failover-impossible", alerts[0].Kind);
        server.Time.Advance(TimeSpan.FromSeconds(61));
        monitor.Record(current, failed: true, 1); // the old failures left the window: not enough outcomes yet
        for (var i = 0; i < 10; i++)
        {
            monitor.Record(current, failed: true, 1);
        }

        await monitor.LastRollback!;
        Assert.Equal(2, alerts.Count);
    }

    private sealed class ListAlertSink(List<Lifeline.Scoring.Failover.Alert> alerts) : Lifeline.Scoring.Failover.IAlertSink
    {
        public Task RaiseAsync(Lifeline.Scoring.Failover.Alert alert, CancellationToken cancellationToken)
        {
            lock (alerts)
            {
                alerts.Add(alert);
            }

            return Task.CompletedTask;
        }
    }
}
