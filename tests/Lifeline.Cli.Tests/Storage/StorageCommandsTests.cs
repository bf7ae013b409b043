using System.Diagnostics;
using System.Text.Json;

namespace Lifeline.Cli.Tests.Storage;

/// <summary><c>lifeline storage probe</c>, run as a real child process.</summary>
public sealed class StorageCommandsTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "lifeline-cli-storage-tests", Guid.NewGuid().ToString("N"));

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    [Fact]
    public async Task Probe_LocalDirectory_PrintsEveryCheckOkAndExitsZero()
    {
        var (exit, stdout, stderr) = await RunAsync("storage", "probe", _dir);
        Assert.True(exit == 0, $"exit {exit}: {stdout} {stderr}");
        Assert.Contains("put-if-absent, 8 racers", stdout, StringComparison.Ordinal);
        Assert.Contains("all guarantees hold", stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("FAILED", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_Json_PrintsTheReport()
    {
        var (exit, stdout, _) = await RunAsync("storage", "probe", _dir, "--json");
        Assert.Equal(0, exit);
        using var json = JsonDocument.Parse(stdout);
        Assert.True(json.RootElement.GetProperty("passed").GetBoolean());
        Assert.Equal(7, json.RootElement.GetProperty("checks").GetArrayLength());
    }

    [Fact]
    public async Task Probe_LocationThatFailsChecks_ReportOnStdoutOneErrorLineAndExit4()
    {
        // found by the CLI fuzz long run: /proc/self cannot hold objects, and the failure had no stderr line
        var (exit, stdout, stderr) = await RunAsync("storage", "probe", "/proc/self");

        Assert.Equal(ExitCodes.CheckFailed, exit);
        Assert.Contains("FAILED", stdout);
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("lifeline: ", lines[0]);
        Assert.Contains("checks failed", lines[0]);
    }

    [Fact]
    public async Task Probe_UnsupportedScheme_PrintsOneLineAndExitsWithUsage()
    {
        var (exit, stdout, stderr) = await RunAsync("storage", "probe", "gs://bucket/x");
        Assert.Equal(ExitCodes.Usage, exit);
        Assert.Empty(stdout);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("unsupported store scheme 'gs'", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", stderr, StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "lifeline.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        start.ArgumentList.Add(cli);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lifeline {string.Join(' ', args)} did not exit within 60 s");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}
