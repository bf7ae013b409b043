using System.Diagnostics;
using System.Text;
using System.Text.Json;

namespace Lifeline.Cli.Tests.Infrastructure;

/// <summary>The outcome of one run of the real <c>lifeline</c> executable.</summary>
internal sealed record CliResult(int ExitCode, string Stdout, string Stderr, string CommandLine)
{
    public JsonElement Json => JsonDocument.Parse(Stdout).RootElement;

    public string[] StderrLines => Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);

    public override string ToString() => $"$ {CommandLine}\nexit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";

    /// <summary>Asserts success and returns this result (the whole output is shown on failure).</summary>
    public CliResult ShouldSucceed()
    {
        Assert.True(ExitCode == 0, ToString());
        return this;
    }

    /// <summary>
    /// Asserts a failure with <paramref name="exitCode"/> and exactly one stderr line "lifeline: ..." without a stack
    /// trace; returns that line.
    /// </summary>
    public string ShouldFailWith(int exitCode)
    {
        Assert.True(ExitCode == exitCode, $"expected exit {exitCode}\n{this}");
        var lines = StderrLines;
        Assert.True(lines.Length == 1, $"expected exactly one stderr line\n{this}");
        Assert.StartsWith("lifeline: ", lines[0]);
        Assert.DoesNotContain("   at ", Stderr);
        Assert.DoesNotContain("Exception:", Stderr);
        return lines[0];
    }
}

/// <summary>
/// Runs the real built <c>lifeline</c> (lifeline.dll next to the test assembly, through the <c>dotnet</c> host) as a
/// child process with a clean environment: no LIFELINE_* variable leaks in from the test runner.
/// </summary>
internal sealed class LifelineRunner
{
    private static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(90);

    public LifelineRunner(string workingDirectory)
    {
        WorkingDirectory = workingDirectory;
    }

    /// <summary>Path of the built command line (copied next to the tests by the project reference).</summary>
    public static string Dll
    {
        get
        {
            var path = Path.Combine(AppContext.BaseDirectory, "lifeline.dll");
            Assert.True(File.Exists(path), $"lifeline.dll not found at {path}: build tests/Lifeline.Cli.Tests (it references src/Lifeline.Cli)");
            return path;
        }
    }

    public string WorkingDirectory { get; }

    /// <summary>Environment variables every run gets (e.g. LIFELINE_REPO, LIFELINE_PASSWORD).</summary>
    public Dictionary<string, string?> Environment { get; } = new(StringComparer.Ordinal);

    /// <summary>When set (uid, gid), runs the child as that user through setpriv (to test permissions as root).</summary>
    public (int Uid, int Gid)? RunAs { get; init; }

    /// <summary>Runs <c>lifeline args...</c> to completion.</summary>
    public async Task<CliResult> RunAsync(params string[] args) => await RunAsync(args, null, DefaultTimeout);

    /// <summary>Runs with extra environment variables (null removes one).</summary>
    public async Task<CliResult> RunAsync(string[] args, IReadOnlyDictionary<string, string?>? environment, TimeSpan? timeout = null)
    {
        using var running = Start(args, environment);
        return await running.WaitAsync(timeout ?? DefaultTimeout);
    }

    /// <summary>Starts <c>lifeline args...</c> and returns the running child (to be killed by crash tests).</summary>
    public RunningLifeline Start(string[] args, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var info = new ProcessStartInfo
        {
            WorkingDirectory = WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (RunAs is { } user)
        {
            info.FileName = "setpriv";
            foreach (var a in new[] { $"--reuid={user.Uid}", $"--regid={user.Gid}", "--clear-groups", "--", DotnetHost() })
            {
                info.ArgumentList.Add(a);
            }
        }
        else
        {
            info.FileName = DotnetHost();
        }

        info.ArgumentList.Add(Dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("LIFELINE_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_CLI_HOME"] = WorkingDirectory;
        info.Environment["HOME"] = WorkingDirectory;
        foreach (var (key, value) in Environment.Concat(environment ?? new Dictionary<string, string?>()))
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        var commandLine = "lifeline " + string.Join(' ', args.Select(a => a.Contains(' ', StringComparison.Ordinal) ? $"'{a}'" : a));
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start lifeline");
        process.StandardInput.Close();
        return new RunningLifeline(process, commandLine);
    }

    private static string DotnetHost()
    {
        var fromHost = System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        return !string.IsNullOrEmpty(fromHost) && File.Exists(fromHost) ? fromHost : "dotnet";
    }
}

/// <summary>A running child <c>lifeline</c>.</summary>
internal sealed class RunningLifeline : IDisposable
{
    private readonly Task<string> _stdout;
    private readonly Task<string> _stderr;

    public RunningLifeline(Process process, string commandLine)
    {
        Process = process;
        CommandLine = commandLine;
        _stdout = process.StandardOutput.ReadToEndAsync();
        _stderr = process.StandardError.ReadToEndAsync();
    }

    public Process Process { get; }

    public string CommandLine { get; }

    public bool HasExited => Process.HasExited;

    /// <summary>Waits for the exit; kills the child and fails the test if it runs longer than <paramref name="timeout"/>.</summary>
    public async Task<CliResult> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Process.Kill(entireProcessTree: true);
            await Process.WaitForExitAsync(CancellationToken.None);
            Assert.Fail($"{CommandLine} did not finish within {timeout.TotalSeconds:0}s\n--- stdout\n{await _stdout}\n--- stderr\n{await _stderr}");
        }

        return new CliResult(Process.ExitCode, await _stdout, await _stderr, CommandLine);
    }

    /// <summary>For a child <c>lifeline up</c> on the data directory <paramref name="data"/>: waits (deadline, no sleep)
    /// until its state file says every service runs, and fails the test with its output if it exits first.</summary>
    public async Task<Lifeline.Recovery.Hosting.DeploymentState> WaitReadyAsync(string data, TimeSpan deadline)
    {
        var layout = Lifeline.Recovery.Hosting.DeploymentLayout.For(data);
        Lifeline.Recovery.Hosting.DeploymentState? state = null;
        var ready = await TestData.WaitUntilAsync(() => (state = Lifeline.Recovery.Hosting.DeploymentStateFile.TryRead(layout)) is { Ready: true } && state.Pid == Process.Id,
            deadline, giveUp: () => HasExited);
        if (!ready)
        {
            var result = await WaitAsync(TimeSpan.FromSeconds(1));
            Assert.Fail($"lifeline up did not become ready\n{result}");
        }

        return state!;
    }

    /// <summary>SIGKILLs the child and its whole tree (no cleanup runs), and waits until it is gone.</summary>
    public async Task<bool> KillAsync()
    {
        var wasRunning = !Process.HasExited;
        Process.Kill(entireProcessTree: true);
        await Process.WaitForExitAsync(CancellationToken.None);
        return wasRunning;
    }

    public void Dispose()
    {
        if (!Process.HasExited)
        {
            Process.Kill(entireProcessTree: true);
        }

        Process.Dispose();
    }
}
