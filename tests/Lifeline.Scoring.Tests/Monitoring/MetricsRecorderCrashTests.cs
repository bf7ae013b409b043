using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Lifeline.Lake;
using Lifeline.Lake.LeadScoring;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Scoring.Tests.Monitoring;

/// <summary>The real <c>lifeline scoring serve --lake</c> process recording monitoring rows, killed with SIGKILL and restarted.</summary>
public class MetricsRecorderCrashTests
{
    private static string Lifeline => Path.Combine(AppContext.BaseDirectory, "lifeline.dll");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartServe(TempDir dir, string url)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Lifeline, "scoring", "serve", "--model-dir", dir.Sub("models"), "--urls", url, "--poll-seconds", "600",
            "--cache-dir", dir.Sub("cache"), "--sink-dir", dir.Sub("sinks"), "--lake", dir.Sub("lake"), "--sink-flush-ms", "100",
            "--metrics-interval-seconds", "1"])
        {
            info.ArgumentList.Add(arg);
        }

        var process = Process.Start(info)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    private static async Task WaitReadyAsync(HttpClient http) =>
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                using var response = await http.GetAsync("/health/ready");
                return response.IsSuccessStatusCode;
            }
            catch (HttpRequestException)
            {
                return false;
            }
        }, "lifeline scoring serve ready", 90);

    private static async Task ScoreAsync(HttpClient http, string prefix, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var content = new StringContent($$"""{"lead_id":"{{prefix}}-{{i}}","company_size":"Small","page_views":{{i}}}""", Encoding.UTF8, "application/json");
            using var response = await http.PostAsync("/score-lead", content);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static async Task<List<MonitoringMetricRecord>> RowsAsync(TempDir dir)
    {
        var table = new DeltaTable(new FileSystemObjectStore(dir.Sub("lake")), "monitoring_metrics");
        return await table.ExistsAsync() ? await LeadScoringLake.ReadMonitoringMetricsAsync(table) : [];
    }

    private static async Task WaitForRequestsAsync(TempDir dir, long requests) =>
        await Eventually.TrueAsync(async () => (await RowsAsync(dir)).Sum(r => r.Requests ?? 0) >= requests, $"{requests} requests in the monitoring rows", 90);

    [Fact]
    public async Task Serve_SigkillThenRestart_RowsKeptAndNeverWrittenTwice()
    {
        using var dir = new TempDir();
        await TestModels.SourceAsync(dir.Sub("models"));
        var url = $"http://127.0.0.1:{FreePort()}";
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        using (var first = StartServe(dir, url))
        {
            try
            {
                await WaitReadyAsync(http);
                await ScoreAsync(http, "a", 20);
                await WaitForRequestsAsync(dir, 20);
            }
            finally
            {
                first.Kill(); // SIGKILL: no last interval, no drain
                await first.WaitForExitAsync();
            }
        }

        var beforeRestart = await RowsAsync(dir);
        using var second = StartServe(dir, url);
        try
        {
            await WaitReadyAsync(http);
            await ScoreAsync(http, "b", 5);
            await WaitForRequestsAsync(dir, 25);
            Process.Start("kill", ["-TERM", second.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await second.WaitForExitAsync(timeout.Token);
        }
        finally
        {
            if (!second.HasExited)
            {
                second.Kill();
            }
        }

        var rows = await RowsAsync(dir);
        Assert.Equal(25, rows.Sum(r => r.Requests ?? 0)); // every request counted once: no row replayed after the restart
        Assert.Equal(rows.Count, rows.Select(r => (r.Instance, r.Timestamp)).Distinct().Count());
        Assert.All(beforeRestart, r => Assert.Contains(r, rows));
        Assert.All(rows.Where(r => r.Requests > 0), r => Assert.Equal("1", r.ModelVersion));
    }
}
