using System.Globalization;
using Lifeline.Cli.Infrastructure;

namespace Lifeline.Cli.Demo;

/// <summary>One step of the demo, as shown in the summary.</summary>
internal sealed record DemoStep(string Step, string Result, double Seconds);

/// <summary>
/// The steps of a demo run, shared by its parts (vault, lake, registry, scoring): each step prints its name and time
/// as it finishes (text mode) and becomes a row of the summary table and of the JSON document's <c>steps</c>.
/// </summary>
internal sealed class DemoSteps
{
    private readonly CliConsole _console;
    private readonly TimeProvider _time;
    private readonly List<DemoStep> _steps = [];

    public DemoSteps(CliConsole console, TimeProvider time)
    {
        _console = console;
        _time = time;
    }

    public CliConsole Console => _console;

    public TimeProvider Time => _time;

    public IReadOnlyList<DemoStep> Steps => _steps;

    /// <summary>The seconds of every step so far.</summary>
    public double TotalSeconds => _steps.Sum(s => s.Seconds);

    /// <summary>Runs one step; its result text goes into the summary.</summary>
    public async Task<T> RunAsync<T>(string name, Func<Task<(T Value, string Result)>> step)
    {
        var started = _time.GetTimestamp();
        if (_console.IsTerminal)
        {
            _console.Out.Write($"{name} ... ");
        }

        var (value, result) = await step();
        var seconds = _time.GetElapsedTime(started).TotalSeconds;
        _steps.Add(new DemoStep(name, result, Math.Round(seconds, 3)));
        if (_console.IsTerminal)
        {
            _console.Out.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{seconds:0.00}s"));
        }
        else
        {
            _console.Line(string.Create(CultureInfo.InvariantCulture, $"{name} ... {seconds:0.00}s"));
        }

        return value;
    }

    /// <summary>Prints the summary table (text mode only).</summary>
    public void PrintTable()
    {
        _console.Line();
        _console.Table(["Step", "Result", "Seconds"],
            _steps.Select(s => (IReadOnlyList<string>)[s.Step, s.Result, s.Seconds.ToString("0.00", CultureInfo.InvariantCulture)]),
            new HashSet<int> { 2 });
    }
}
