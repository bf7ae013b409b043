using System.Diagnostics;
using Lifeline.Recovery.Configuration;

namespace Lifeline.Recovery.Hooks;

/// <summary>What a hook run did.</summary>
/// <param name="ExitCode">The process's exit code.</param>
/// <param name="Duration">How long it ran.</param>
/// <param name="Output">The last lines of its standard output and error (redacted), for the failure message.</param>
public sealed record HookResult(int ExitCode, TimeSpan Duration, string Output);

/// <summary>
/// Runs a component's pre- or post-backup hook as a real child process: <c>/bin/sh -c COMMAND</c> (<c>cmd /c</c> on
/// Windows) in the plan's directory, with <c>LIFELINE_COMPONENT</c>, <c>LIFELINE_HOOK</c> (pre/post) and, for post,
/// <c>LIFELINE_BACKUP_OUTCOME</c> (ok/failed) set. A non-zero exit or the timeout (the whole process tree is killed)
/// throws <see cref="HookFailedException"/> naming the component, the hook and the last output line.
/// </summary>
public static class HookRunner
{
    /// <summary>Runs <paramref name="command"/>; throws <see cref="HookFailedException"/> when it fails.</summary>
    public static async Task<HookResult> RunAsync(
        string component, string hook, string command, TimeSpan timeout, string? workingDirectory, IReadOnlyDictionary<string, string>? environment, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(command);
        var psi = OperatingSystem.IsWindows()
            ? new ProcessStartInfo("cmd.exe") { ArgumentList = { "/c", command } }
            : new ProcessStartInfo("/bin/sh") { ArgumentList = { "-c", command } };
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        psi.RedirectStandardInput = true;
        psi.UseShellExecute = false;
        psi.WorkingDirectory = workingDirectory ?? Directory.GetCurrentDirectory();
        psi.Environment["LIFELINE_COMPONENT"] = component;
        psi.Environment["LIFELINE_HOOK"] = hook;
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }

        var tail = new Queue<string>();
        string? lastError = null;
        void Collect(DataReceivedEventArgs e, bool isError)
        {
            if (e.Data is null)
            {
                return;
            }

            lock (tail)
            {
                tail.Enqueue(e.Data);
                if (tail.Count > 20)
                {
                    tail.Dequeue();
                }

                if (isError && e.Data.Trim().Length > 0)
                {
                    lastError = e.Data.Trim();
                }
            }
        }

        var start = Stopwatch.GetTimestamp();
        using var process = new Process { StartInfo = psi };
        process.OutputDataReceived += (_, e) => Collect(e, isError: false);
        process.ErrorDataReceived += (_, e) => Collect(e, isError: true);
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new HookFailedException($"{hook}-backup hook of component '{component}' could not start: {e.Message}");
        }

        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
            process.WaitForExit(); // drains the output readers
        }
        catch (OperationCanceledException)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // exited meanwhile
            }

            await process.WaitForExitAsync(CancellationToken.None);
            cancellationToken.ThrowIfCancellationRequested();
            throw new HookFailedException($"{hook}-backup hook of component '{component}' did not finish within {Plan.PlanDuration.Format(timeout)} and was killed: make it faster or raise hooks.timeout in the plan");
        }

        var output = Secrets.RedactText(string.Join('\n', Snapshot(tail)));
        var result = new HookResult(process.ExitCode, Stopwatch.GetElapsedTime(start), output);
        if (result.ExitCode != 0)
        {
            // the last line of standard error says why, as a rule; else the last line of output
            var last = (lastError is null ? null : Secrets.RedactText(lastError)) ?? output.Split('\n').LastOrDefault(l => l.Trim().Length > 0)?.Trim();
            throw new HookFailedException($"{hook}-backup hook of component '{component}' exited with code {result.ExitCode}{(last is null ? "" : ": " + last)}" + (hook == "pre" ? "; nothing was backed up" : "; the backup is recorded as failed"));
        }

        return result;
    }

    private static string[] Snapshot(Queue<string> tail)
    {
        lock (tail)
        {
            return [.. tail];
        }
    }
}
