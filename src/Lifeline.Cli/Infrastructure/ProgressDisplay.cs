using Spectre.Console;

namespace Lifeline.Cli.Infrastructure;

/// <summary>One progress report, independent of the library that sends it.</summary>
internal readonly record struct ProgressUpdate(string Phase, long FilesDone, long FilesTotal, long BytesDone, long BytesTotal, string? Current);

/// <summary>
/// Shows progress of long work: a Spectre.Console progress bar when stdout is a terminal (and not <c>--json</c>);
/// otherwise plain lines on stdout, one when the phase changes and at most one every few seconds in between;
/// nothing at all in JSON mode (stdout carries only the document).
/// </summary>
internal sealed class ProgressDisplay
{
    private static readonly TimeSpan PlainInterval = TimeSpan.FromSeconds(5);
    private readonly CliConsole _console;
    private readonly TimeProvider _time;

    public ProgressDisplay(CliConsole console, TimeProvider time)
    {
        _console = console;
        _time = time;
    }

    /// <summary>Runs <paramref name="work"/>, showing what it reports through the given callback.</summary>
    public async Task<T> RunAsync<T>(string title, Func<Action<ProgressUpdate>, Task<T>> work)
    {
        if (_console.Json)
        {
            return await work(static _ => { });
        }

        if (!_console.IsTerminal)
        {
            var plain = new PlainLines(_console.Out, _time);
            return await work(plain.Report);
        }

        return await _console.Ansi.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn(), new SpinnerColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask(Markup.Escape(title), autoStart: true, maxValue: 1);
                task.IsIndeterminate = true;
                var gate = new object();
                void Report(ProgressUpdate update)
                {
                    lock (gate)
                    {
                        var total = update.BytesTotal > 0 ? update.BytesTotal : update.FilesTotal;
                        var done = update.BytesTotal > 0 ? update.BytesDone : update.FilesDone;
                        task.Description = Markup.Escape(Describe(title, update));
                        if (total > 0)
                        {
                            task.IsIndeterminate = false;
                            task.MaxValue = total;
                            task.Value = Math.Min(done, total);
                        }
                        else
                        {
                            task.IsIndeterminate = true;
                        }
                    }
                }

                return await work(Report);
            });
    }

    private static string Describe(string title, ProgressUpdate update)
    {
        var text = string.IsNullOrEmpty(update.Phase) || update.Phase == title ? title : $"{title}: {update.Phase}";
        if (update.FilesTotal > 0)
        {
            text += $" {update.FilesDone}/{update.FilesTotal} files";
        }
        else if (update.FilesDone > 0)
        {
            text += $" {update.FilesDone} files";
        }

        if (update.BytesTotal > 0)
        {
            text += $" {CliConsole.Bytes(update.BytesDone)}/{CliConsole.Bytes(update.BytesTotal)}";
        }
        else if (update.BytesDone > 0)
        {
            text += $" {CliConsole.Bytes(update.BytesDone)}";
        }

        return text;
    }

    private sealed class PlainLines(TextWriter output, TimeProvider time)
    {
        private readonly object _gate = new();
        private string? _phase;
        private long _last = long.MinValue;

        public void Report(ProgressUpdate update)
        {
            lock (_gate)
            {
                var now = time.GetTimestamp();
                var phaseChanged = !string.Equals(update.Phase, _phase, StringComparison.Ordinal);
                if (!phaseChanged && _last != long.MinValue && time.GetElapsedTime(_last, now) < PlainInterval)
                {
                    return;
                }

                _phase = update.Phase;
                _last = now;
                output.WriteLine(Describe("progress", update));
            }
        }
    }
}
