using System.Net;
using System.Net.Http.Json;
using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Lake.Schema;
using Lifeline.Scoring.Monitoring;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Scoring.Tests.Monitoring;

public class MetricsRecorderTests
{
    private const string ValidLead = """{"lead_id":"lead-1","company_size":"Large","industry":"Retail","page_views":12}""";

    private static DeltaTable Table(string path) => new(new FileSystemObjectStore(path), "");

    private static Task<ScoringServer> StartAsync(TempDir dir, int versions = 1) =>
        TestModels.SourceAsync(dir.Sub("registry"), versions).ContinueWith(
            async source => await ScoringServer.StartAsync(await source, dir.Path, o => o.Monitoring.Table = dir.Sub("metrics")),
            TaskScheduler.Default).Unwrap();

    /// <summary>Moves the fake clock on in small steps until the table holds a row (the spool drainer waits on the same clock).</summary>
    private static async Task<List<MonitoringMetricRecord>> WaitForRowsAsync(ScoringServer server, string path, int rows)
    {
        var recorder = server.Get<MetricsRecorder>();
        await Eventually.TrueAsync(() =>
        {
            if (recorder.Written < rows)
            {
                server.Time.Advance(TimeSpan.FromMilliseconds(250));
            }

            return Task.FromResult(recorder.Written >= rows);
        }, $"{rows} monitoring rows in the table");
        return await LeadScoringLake.ReadMonitoringMetricsAsync(Table(path));
    }

    [Fact]
    public async Task Recorder_RequestsThenOneInterval_RowHasRequestCountErrorsAndModelVersion()
    {
        using var dir = new TempDir();
        await using var server = await StartAsync(dir);
        var start = server.Time.GetUtcNow();
        for (var i = 0; i < 5; i++)
        {
            using var ok = await server.PostJsonAsync("/score-lead", ValidLead);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        using (var malformed = await server.PostJsonAsync("/score-lead", "{"))
        using (var invalid = await server.PostJsonAsync("/score-lead", """{"lead_id":"x","page_views":-3}"""))
        {
            Assert.Equal(4, (int)malformed.StatusCode / 100);
            Assert.Equal(4, (int)invalid.StatusCode / 100);
        }

        server.Time.Advance(TimeSpan.FromSeconds(10));
        var row = (await WaitForRowsAsync(server, dir.Sub("metrics"), 1))[0];

        Assert.Equal(start.AddSeconds(10), row.Timestamp);
        Assert.Equal(10, row.IntervalSeconds);
        Assert.Equal(7, row.Requests);
        Assert.Equal(0.7, row.RequestsPerSecond!.Value, 6);
        Assert.Equal(2, row.Errors4xx);
        Assert.Equal(0, row.Errors5xx);
        Assert.Equal(0, row.ErrorRate);
        Assert.Equal(5, row.Predictions);
        Assert.Equal(0, row.PredictionErrors);
        Assert.Equal("lead-scoring", row.ModelName);
        Assert.Equal("1", row.ModelVersion);
        Assert.Equal(0, row.Rollbacks);
        Assert.Equal("lifeline-scoring", row.Service);
        Assert.Equal(Environment.MachineName, row.Instance);
        Assert.NotNull(row.LatencyP50Ms);
        Assert.True(row.LatencyP50Ms <= row.LatencyP95Ms && row.LatencyP95Ms <= row.LatencyP99Ms);

        // GET /metrics exports the same registry: the same request count
        var scrape = PrometheusSnapshot.Parse(await server.Client.GetStringAsync("/metrics"));
        Assert.Equal(7, scrape.Sum("lifeline_scoring_requests_total"));
        Assert.Equal(0, scrape.Sum("lifeline_scoring_failovers_total"));
    }

    [Fact]
    public async Task Recorder_RollbackInInterval_RowCountsTheRollbackAndThePreviousVersion()
    {
        using var dir = new TempDir();
        await using var server = await StartAsync(dir, versions: 2);
        using var rollback = new HttpRequestMessage(HttpMethod.Post, "/admin/rollback")
        {
            Headers = { { "Authorization", "Bearer test-admin-token" } },
            Content = JsonContent.Create(new { reason = "drill" }),
        };
        using (var response = await server.Client.SendAsync(rollback))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        server.Time.Advance(TimeSpan.FromSeconds(10));
        var rows = await WaitForRowsAsync(server, dir.Sub("metrics"), 1);

        var row = rows[0];
        Assert.Equal(1, row.Rollbacks);
        Assert.Equal(0, row.Failovers);
        Assert.Equal("1", row.ModelVersion);
        Assert.Equal(0, row.Requests);
        Assert.Null(row.LatencyP99Ms);
    }

    [Fact]
    public async Task Recorder_AutomaticFailoverInInterval_RowCountsAFailover()
    {
        using var dir = new TempDir();
        var source = await TestModels.SourceAsync(dir.Sub("registry"), versions: 2);
        await using var server = await ScoringServer.StartAsync(source, dir.Path, o =>
        {
            o.Monitoring.Table = dir.Sub("metrics");
            o.Failover.MinRequests = 10;
        });
        var monitor = server.Get<Lifeline.Scoring.Failover.FailoverMonitor>();
        var current = server.Get<Lifeline.Scoring.Models.ModelManager>().Current!;
        for (var i = 0; i < 10; i++)
        {
            monitor.Record(current, failed: true, 1);
        }

        await monitor.LastRollback!;
        server.Time.Advance(TimeSpan.FromSeconds(10));
        var row = (await WaitForRowsAsync(server, dir.Sub("metrics"), 1))[0];

        Assert.Equal(1, row.Rollbacks);
        Assert.Equal(1, row.Failovers);
        Assert.Equal("1", row.ModelVersion);
    }

    [Fact]
    public async Task Stop_BeforeTheIntervalEnds_RecordsTheIntervalInProgress()
    {
        using var dir = new TempDir();
        var server = await StartAsync(dir);
        for (var i = 0; i < 3; i++)
        {
            using var ok = await server.PostJsonAsync("/score-lead", ValidLead);
            Assert.Equal(HttpStatusCode.OK, ok.StatusCode);
        }

        server.Time.Advance(TimeSpan.FromSeconds(4));
        await server.DisposeAsync();

        var row = Assert.Single(await LeadScoringLake.ReadMonitoringMetricsAsync(Table(dir.Sub("metrics"))));
        Assert.Equal(3, row.Requests);
        Assert.Equal(4, row.IntervalSeconds);
    }

    [Fact]
    public async Task Append_TableWithTheOriginalColumnsOnly_WritesTheColumnsItHas()
    {
        using var dir = new TempDir();
        var table = Table(dir.Sub("old"));
        var original = LeadScoringLake.Schemas["monitoring_metrics"].Schema.Fields
            .Where(f => f.Name is "timestamp" or "latency_p50_ms" or "requests_per_second" or "error_rate" or "date").ToList();
        await table.CreateAsync(new StructType(original), ["date"]);
        var sink = new DeltaMonitoringSink(table);

        await sink.AppendAsync([new MonitoringMetricRecord(new DateTimeOffset(2026, 1, 1, 0, 0, 10, TimeSpan.Zero), 1.5, 2, 3, 4, 0, null, null, null, null)
        {
            Requests = 40,
            ModelVersion = "3",
        }], "spool", 10, CancellationToken.None);

        var row = Assert.Single(await LeadScoringLake.ReadMonitoringMetricsAsync(table));
        Assert.Equal(1.5, row.LatencyP50Ms);
        Assert.Equal(4, row.RequestsPerSecond);
        Assert.Null(row.Requests);
        Assert.Equal(10, await sink.GetCommittedPositionAsync("spool", CancellationToken.None));
    }

    [Theory]
    [InlineData(0.25, 0.15)]
    [InlineData(0.5, 0.2)]
    [InlineData(0.9, 0.36)]
    [InlineData(1.0, 0.4)]
    public void Quantile_IntervalOfTwoHistograms_InterpolatesWithinTheBucketLikeHistogramQuantile(double q, double expected)
    {
        // before: 10 observations ≤ 0.1; after: +10 in (0.1, 0.2] and +10 in (0.2, 0.4] (the interval's 20)
        var before = PrometheusSnapshot.Parse("""
            h_bucket{endpoint="a",le="0.1"} 10
            h_bucket{endpoint="a",le="0.2"} 10
            h_bucket{endpoint="a",le="0.4"} 10
            h_bucket{endpoint="a",le="+Inf"} 10
            """).Buckets("h");
        var after = PrometheusSnapshot.Parse("""
            # HELP h a histogram
            h_bucket{endpoint="a",le="0.1"} 10
            h_bucket{endpoint="a",le="0.2"} 15
            h_bucket{endpoint="b",le="0.2"} 5
            h_bucket{endpoint="a",le="0.4"} 30
            h_bucket{endpoint="a",le="+Inf"} 30
            """).Buckets("h");

        Assert.Equal(expected, PrometheusSnapshot.Quantile(q, before, after)!.Value, 9);
        Assert.Null(PrometheusSnapshot.Quantile(q, after, after));
    }
}
