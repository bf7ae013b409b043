using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Lifeline.Lake.LeadScoring;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Scoring.Tests.Cli;

/// <summary>
/// The real <c>lifeline scoring serve</c> process under concurrent load, killed with SIGKILL or stopped with SIGTERM:
/// every prediction it answered 200 must be in the sink afterwards (after a restart for SIGKILL), exactly once.
/// </summary>
public class ScoringCrashTests
{
    private static string Lifeline => Path.Combine(AppContext.BaseDirectory, "lifeline.dll");

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartServe(TempDir dir, string url, bool lake)
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in (string[])[Lifeline, "scoring", "serve", "--model-dir", dir.Sub("models"), "--urls", url, "--poll-seconds", "600",
            "--cache-dir", dir.Sub("cache"), "--sink-dir", dir.Sub("sinks"), "--sink-flush-ms", "100"])
        {
            info.ArgumentList.Add(arg);
        }

        if (lake)
        {
            info.ArgumentList.Add("--lake");
            info.ArgumentList.Add(dir.Sub("lake"));
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

    /// <summary>8 clients scoring unique leads until the server goes away; every 200 is kept with its lead id.</summary>
    private static Task LoadAsync(HttpClient http, ConcurrentBag<string> acknowledged, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, 8).Select(c => Task.Run(async () =>
        {
            for (var n = 0; !stop.IsCancellationRequested; n++)
            {
                var id = string.Create(CultureInfo.InvariantCulture, $"k{c}-{n}");
                try
                {
                    using var content = new StringContent($$"""{"lead_id":"{{id}}","company_size":"Small","page_views":{{n % 50}}}""", Encoding.UTF8, "application/json");
                    using var response = await http.PostAsync("/score-lead", content, stop);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        acknowledged.Add(id);
                    }
                }
                catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or IOException)
                {
                    return; // the server was killed or is stopping
                }
            }
        })));

    private static async Task<List<string>> RecordedAsync(TempDir dir, bool lake)
    {
        if (lake)
        {
            var table = await LeadScoringLake.OpenOrCreateAsync(new FileSystemObjectStore(dir.Sub("lake")), "");
            return [.. (await table.ReadPredictionsAsync()).Select(p => p.Lead.LeadId)];
        }

        var path = Path.Combine(dir.Sub("sinks"), "predictions.jsonl");
        if (!File.Exists(path))
        {
            return [];
        }

        using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(file);
        var ids = new List<string>();
        while (await reader.ReadLineAsync() is { } line)
        {
            try
            {
                ids.Add(JsonDocument.Parse(line).RootElement.GetProperty("lead_id").GetString()!);
            }
            catch (JsonException)
            {
                // a line being written right now
            }
        }

        return ids;
    }

    private static async Task StopAsync(Process process, string signal)
    {
        Process.Start("kill", [signal, process.Id.ToString(CultureInfo.InvariantCulture)])!.WaitForExit();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
    }

    private static async Task<ConcurrentBag<string>> LoadUntilAsync(HttpClient http, int acknowledgedBeforeStop, Func<Task> stopServer)
    {
        var acknowledged = new ConcurrentBag<string>();
        using var stop = new CancellationTokenSource();
        var load = LoadAsync(http, acknowledged, stop.Token);
        await Eventually.TrueAsync(() => Task.FromResult(acknowledged.Count >= acknowledgedBeforeStop), $"{acknowledgedBeforeStop} answers", 120);
        await stopServer(); // mid-load: the clients are still sending
        await stop.CancelAsync();
        await load;
        return acknowledged;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Serve_SigkillMidLoadThenRestart_EveryAcknowledgedPredictionInTheSinkOnce(bool lake)
    {
        using var dir = new TempDir();
        await TestModels.SourceAsync(dir.Sub("models"));
        var url = $"http://127.0.0.1:{FreePort()}";
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        using var first = StartServe(dir, url, lake);
        ConcurrentBag<string> acknowledged;
        try
        {
            await WaitReadyAsync(http);
            acknowledged = await LoadUntilAsync(http, 1500, async () =>
            {
                first.Kill(); // SIGKILL: no shutdown, no drain
                await first.WaitForExitAsync();
            });
        }
        finally
        {
            if (!first.HasExited)
            {
                first.Kill();
            }
        }

        using var second = StartServe(dir, url, lake);
        try
        {
            await WaitReadyAsync(http);
            // the restarted service drains what the killed one had spooled, without being asked to stop
            await Eventually.TrueAsync(async () => (await RecordedAsync(dir, lake)).ToHashSet().IsSupersetOf(acknowledged),
                "every acknowledged prediction drained after the restart", 90);
            await StopAsync(second, "-TERM");
        }
        finally
        {
            if (!second.HasExited)
            {
                second.Kill();
            }
        }

        var recorded = await RecordedAsync(dir, lake);
        Assert.Subset(recorded.ToHashSet(), acknowledged.ToHashSet());
        Assert.Equal(recorded.Count, recorded.Distinct().Count()); // effectively-once: nothing written twice
    }

    [Fact]
    public async Task Serve_SigtermMidLoad_EveryAcknowledgedPredictionInTheSinkAfterExit()
    {
        using var dir = new TempDir();
        await TestModels.SourceAsync(dir.Sub("models"));
        var url = $"http://127.0.0.1:{FreePort()}";
        using var http = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        using var serve = StartServe(dir, url, lake: false);
        ConcurrentBag<string> acknowledged;
        try
        {
            await WaitReadyAsync(http);
            acknowledged = await LoadUntilAsync(http, 1500, () => StopAsync(serve, "-TERM"));
        }
        finally
        {
            if (!serve.HasExited)
            {
                serve.Kill();
            }
        }

        Assert.Equal(0, serve.ExitCode);
        var recorded = await RecordedAsync(dir, lake: false);
        Assert.Subset(recorded.ToHashSet(), acknowledged.ToHashSet());
        Assert.Equal(recorded.Count, recorded.Distinct().Count());
    }
}
