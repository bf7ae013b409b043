using System.Diagnostics;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Mutation;

namespace Lifeline.Fuzzing.Surfaces;

/// <summary>A command line: words, where {REPO}, {LAKE}, {NEWDIR}, {FILE}, {NONEMPTY}, {MISSING}, {PLAN} and {DATA} are put in at run time.</summary>
public sealed record CliTemplate(string Name, string[] Args, int Weight = 1);

/// <summary>A mutation of a command line.</summary>
public interface ICliStep : IFuzzStep
{
    void Apply(List<string> args);
}

/// <summary>Replaces the word at an index (an option's value, an argument).</summary>
public sealed record ReplaceWord(string Kind, int Index, string Value) : ICliStep
{
    public void Apply(List<string> args)
    {
        if (Index < args.Count)
        {
            args[Index] = Value;
        }
    }

    public string Describe() => $"{Kind} word {Index} = '{Value}'";
}

public sealed record DropWord(int Index) : ICliStep
{
    public string Kind => "drop-word";

    public void Apply(List<string> args)
    {
        if (Index < args.Count)
        {
            args.RemoveAt(Index);
        }
    }

    public string Describe() => $"drop word {Index}";
}

public sealed record InsertWords(string Kind, int Index, string[] Words) : ICliStep
{
    public void Apply(List<string> args) => args.InsertRange(Math.Min(Index, args.Count), Words);

    public string Describe() => $"{Kind} at {Index}: {string.Join(' ', Words.Select(w => $"'{w}'"))}";
}

/// <summary>A generated command line.</summary>
public sealed class CliCase(CliTemplate template, IReadOnlyList<IFuzzStep> steps, int index) : FuzzCase(template.Name, steps, index)
{
    public CliTemplate CliTemplate { get; } = template;

    public List<string> Args()
    {
        var args = CliTemplate.Args.ToList();
        foreach (var s in Steps.OfType<ICliStep>())
        {
            s.Apply(args);
        }

        return args;
    }

    public override FuzzCase WithSteps(IReadOnlyList<IFuzzStep> steps) => new CliCase(CliTemplate, steps, Index);

    public override string Repro() => "lifeline " + string.Join(' ', Args().Select(a => a.Length == 0 || a.Any(c => " '\"\t$&;|<>*?()".Contains(c, StringComparison.Ordinal)) ? "'" + a.Replace("'", "'\\''", StringComparison.Ordinal) + "'" : a));
}

/// <summary>What one in-process run of the CLI did.</summary>
public sealed class CliOutcome : FuzzOutcome
{
    public int ExitCode { get; init; }

    public string Stdout { get; init; } = "";

    public string Stderr { get; init; } = "";

    /// <summary>An exception that escaped the entry point (a crash), or "timeout".</summary>
    public string? Crash { get; init; }

    public TimeSpan Elapsed { get; init; }

    public override long ApproximateBytes => 1024 + ((Stdout.Length + Stderr.Length) * 2L);

    public override string Label => Crash is not null ? "crash" : "exit " + ExitCode.ToString(CultureInfo.InvariantCulture);

    public override string Describe() => Crash ?? $"exit {ExitCode} after {Elapsed.TotalMilliseconds:0} ms; stderr: {Clip(Stderr)}; stdout: {Clip(Stdout)}";

    private static string Clip(string s) => s.Length == 0 ? "(empty)" : (s.Length > 300 ? s[..300] + "…" : s).ReplaceLineEndings("⏎");
}

/// <summary>
/// The command line's inputs (arguments, time expressions for --at/--since/--until, locations, durations and counts
/// for retention), run in-process through lifeline's entry point with stdout and stderr captured, against a small
/// vault (fast key derivation) holding a file backup, and a seeded lake.
/// </summary>
public sealed partial class CliSurface : IFuzzSurface
{
    public const string Password = "fuzz password 0123456789";

    private static readonly SemaphoreSlim ConsoleLock = new(1, 1);

    private static readonly CliTemplate[] Templates =
    [
        new("vault snapshots", ["vault", "snapshots", "--repo", "{REPO}", "--since", "2020-01-01", "--until", "2100-01-01", "--source", "files"], 3),
        new("vault snapshots --json", ["--json", "vault", "snapshots", "--repo", "{REPO}"]),
        new("vault ls", ["vault", "ls", "latest", "--repo", "{REPO}"]),
        new("vault restore --at", ["vault", "restore", "latest", "--repo", "{REPO}", "--at", "2100-01-01T00:00:00Z", "--target", "{NEWDIR}"], 4),
        new("vault forget --keep-within", ["vault", "forget", "--repo", "{REPO}", "--keep-within", "30d", "--dry-run"], 3),
        new("vault forget --keep-last", ["vault", "forget", "--repo", "{REPO}", "--keep-last", "5", "--keep-daily", "7", "--dry-run"], 2),
        new("vault diff", ["vault", "diff", "latest", "latest", "--repo", "{REPO}"]),
        new("vault check", ["vault", "check", "--repo", "{REPO}", "--read-data-subset", "1/2"]),
        new("lake show --at", ["lake", "show", "{LAKE}/leads", "--at", "2100-01-01T00:00:00Z"], 3),
        new("lake show --version", ["lake", "show", "{LAKE}/leads", "--version", "1"], 2),
        new("lake history", ["lake", "history", "{LAKE}/leads"]),
        new("lake ls", ["lake", "ls", "{LAKE}"]),
        new("lake vacuum", ["lake", "vacuum", "{LAKE}/leads", "--retention-hours", "168", "--dry-run"], 2),
        new("lake restore --at", ["lake", "restore", "{NEWDIR}", "--repo", "{REPO}", "--from", "{LAKE}/leads", "--at", "2100-01-01 00:00"], 3),
        new("registry ls", ["registry", "ls", "--data-dir", "{NEWDIR}"]),
        new("registry ls --via-api", ["registry", "ls", "--via-api", "http://127.0.0.1:1"]),
        new("storage probe", ["storage", "probe", "{NEWDIR}"]),
        // appended (issue 11's commands): the draws of the templates above changed only through the larger total weight
        new("verify run", ["verify", "run", "integrity", "--plan", "{PLAN}"], 2),
        new("verify history", ["verify", "history", "--plan", "{PLAN}", "--check", "integrity", "--last", "5"]),
        new("report", ["report", "--plan", "{PLAN}", "--out", "{NEWDIR}", "--format", "md"]),
        new("notify ls", ["notify", "ls", "--plan", "{PLAN}", "--data", "{DATA}"]),
        new("incidents ls", ["incidents", "ls", "--all", "--plan", "{PLAN}", "--data", "{DATA}"]),
        new("incidents show", ["incidents", "show", "inc-00000000", "--plan", "{PLAN}", "--data", "{DATA}"]),
        new("restore --all", ["restore", "--all", "--dry-run", "--plan", "{PLAN}", "--at", "latest"], 2),
    ];

    private static readonly string[] Locations =
    [
        "{REPO}", "{MISSING}", "{FILE}", "{NONEMPTY}", "file://{REPO}", "file:///nonexistent/x", "", "/", "/proc/self", "relative/x",
        "{LAKE}", "s3://", "azure://", "ftp://host/x", "s3://bucket/prefix?endpoint=http://127.0.0.1:1", "azure://container/prefix?endpoint=http://127.0.0.1:1/devstoreaccount1",
        "s3://bucket/prefix?endpoint=not-a-url", "http://127.0.0.1:1", "{REPO}/config", "{NEWDIR}",
    ];

    private static readonly string[] UnknownOptions = ["--bogus", "-x", "--at", "--json", "--", "-", "--repo=", "--help", "--keep-within", "--AT", "-r", "--verbose"];

    private readonly FuzzDirectory _dir = new("cli");
    private readonly MethodInfo _entry;
    private int _fresh;
    private string? _previousPassword;
    private string? _previousDirectory;

    public CliSurface()
    {
        _entry = FindEntry();
    }

    public string Name => "cli";

    /// <summary>The CLI runs in this process, but its command handlers keep process-wide state (console handlers); memory is reported, not judged.</summary>
    public bool MeasuresMemory => false;

    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public string Repo => _dir.Combine("repo");

    public string Lake => _dir.Combine("lake");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _previousPassword = Environment.GetEnvironmentVariable("LIFELINE_PASSWORD");
        // relative paths among the inputs land in the surface's directory, not in the runner's
        _previousDirectory = Environment.CurrentDirectory;
        Directory.CreateDirectory(_dir.Combine("cwd"));
        Environment.CurrentDirectory = _dir.Combine("cwd");
        Environment.SetEnvironmentVariable("LIFELINE_PASSWORD", Password);
        Environment.SetEnvironmentVariable("LIFELINE_DEBUG", null);
        var files = _dir.Combine("files");
        Directory.CreateDirectory(Path.Combine(files, "sub"));
        await File.WriteAllTextAsync(Path.Combine(files, "a.txt"), "alpha\n", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(files, "sub", "b.csv"), "lead_id,page_views\na,3\n", cancellationToken);
        await File.WriteAllTextAsync(_dir.Combine("file.txt"), "not a directory\n", cancellationToken);
        Directory.CreateDirectory(_dir.Combine("nonempty"));
        await File.WriteAllTextAsync(_dir.Combine("nonempty", "keep.txt"), "x", cancellationToken);
        await MustAsync(["vault", "init", "--repo", Repo, "--kdf-memory-mib", "8", "--kdf-iterations", "1"], cancellationToken);
        await MustAsync(["vault", "backup", files, "--repo", Repo, "--source", "files", "--tag", "daily"], cancellationToken);
        await MustAsync(["lake", "seed", Lake, "--leads", "200", "--batches", "2"], cancellationToken);
        await MustAsync(["lake", "backup", Path.Combine(Lake, "leads"), "--repo", Repo], cancellationToken);
        // a plan over the surface's own vault (one local location), for verify, report, notify, incidents and restore --all
        await File.WriteAllTextAsync(PlanFile, $$"""
            version: 1
            objectives: { rto: { target: 4h, max: 8h }, rpo: { target: 1h, max: 4h } }
            sources: { data: {{Data}} }
            components:
              configuration: { policy: config, files: [files/*.txt] }
            policies:
              config: { schedule: "0 * * * *", retention: { keep-last: 2 }, locations: { primary: a } }
            locations:
              a: { url: {{Repo}} }
            """, cancellationToken);
        await MustAsync(["backup", "configuration", "--plan", PlanFile], cancellationToken);
    }

    public string PlanFile => _dir.Combine("lifeline.yaml");

    public string Data => _dir.Combine("data");

    private async Task MustAsync(string[] args, CancellationToken cancellationToken)
    {
        var outcome = await RunAsync(args, cancellationToken);
        if (outcome.ExitCode != 0 || outcome.Crash is not null)
        {
            throw new InvalidOperationException($"setting up the CLI surface: lifeline {string.Join(' ', args)}: {outcome.Describe()}");
        }
    }

    public FuzzCase Generate(FuzzRandom random, int index)
    {
        var roll = random.Next(Templates.Sum(t => t.Weight));
        var template = Templates[0];
        foreach (var t in Templates)
        {
            if ((roll -= t.Weight) < 0)
            {
                template = t;
                break;
            }
        }

        var steps = new List<IFuzzStep>();
        var count = random.NextDouble() switch { < 0.1 => 0, < 0.7 => 1, _ => random.Next(2, 4) };
        for (var i = 0; i < count; i++)
        {
            var args = new CliCase(template, steps, index).Args();
            steps.Add(NextStep(args, random));
        }

        return new CliCase(template, steps, index);
    }

    private static ICliStep NextStep(List<string> args, FuzzRandom r)
    {
        // the value of an option decides the family of what replaces it
        var valued = Enumerable.Range(1, Math.Max(0, args.Count - 1)).Where(i => args[i - 1].StartsWith("--", StringComparison.Ordinal) && !args[i].StartsWith("--", StringComparison.Ordinal)).ToList();
        var roll = r.Next(100);
        if (roll < 60 && valued.Count > 0)
        {
            var i = r.Pick(valued);
            var option = args[i - 1];
            return option switch
            {
                "--at" or "--since" or "--until" => new ReplaceWord("time", i, r.Pick(Values.TimeExpressions)),
                "--keep-within" => new ReplaceWord("duration", i, r.Pick(Values.Durations)),
                "--keep-last" or "--keep-daily" or "--version" or "--retention-hours" or "--leads" or "--batches" or "--last" => new ReplaceWord("count", i, r.Pick(Values.Counts)),
                "--repo" or "--target" or "--from" or "--data-dir" or "--via-api" or "--plan" or "--data" or "--out" => new ReplaceWord("location", i, r.Pick(Locations)),
                "--read-data-subset" => new ReplaceWord("subset", i, r.Pick(new[] { "1/2", "0/2", "3/2", "1/0", "x", "-1/2", "1/", "50%", "101%", "1/99999999999" })),
                _ => new ReplaceWord("string", i, r.Pick(new[] { "", " ", "x", "😀", "../..", "latest", "-1", new string('a', 5000) })),
            };
        }

        if (roll < 72)
        {
            // a positional argument (table, snapshot, location): a word after the command names that is not an option's value
            var positional = Enumerable.Range(0, args.Count).Where(i => !args[i].StartsWith('-') && (i == 0 || !args[i - 1].StartsWith("--", StringComparison.Ordinal))).Skip(2).ToList();
            if (positional.Count > 0)
            {
                var i = r.Pick(positional);
                return new ReplaceWord("argument", i, r.Chance(0.6) ? r.Pick(Locations) : r.Pick(new[] { "", "latest", "LATEST", "0", "deadbeef", "zzzz", "-", "{LAKE}/missing", "{LAKE}/leads/_delta_log" }));
            }
        }

        if (roll < 84)
        {
            return new DropWord(r.Next(args.Count));
        }

        if (roll < 94)
        {
            var option = r.Pick(UnknownOptions);
            string[] words = option is "--at" or "--keep-within" ? [option, r.Pick(option == "--at" ? Values.TimeExpressions : Values.Durations)] : [option];
            return new InsertWords("option", r.Next(args.Count + 1), words);
        }

        var j = r.Next(args.Count);
        return new InsertWords("duplicate", j, [args[j]]);
    }

    public async Task<FuzzOutcome> ExecuteAsync(FuzzCase input, CancellationToken cancellationToken)
    {
        var args = ((CliCase)input).Args().Select(Resolve).ToArray();
        return await RunAsync(args, cancellationToken);
    }

    private string Resolve(string word)
    {
        if (!word.Contains('{', StringComparison.Ordinal))
        {
            return word;
        }

        var fresh = _dir.Combine("fresh", Interlocked.Increment(ref _fresh).ToString(CultureInfo.InvariantCulture));
        return word.Replace("{REPO}", Repo, StringComparison.Ordinal).Replace("{LAKE}", Lake, StringComparison.Ordinal)
            .Replace("{NEWDIR}", fresh, StringComparison.Ordinal).Replace("{FILE}", _dir.Combine("file.txt"), StringComparison.Ordinal)
            .Replace("{NONEMPTY}", _dir.Combine("nonempty"), StringComparison.Ordinal).Replace("{MISSING}", _dir.Combine("missing", "x"), StringComparison.Ordinal)
            .Replace("{PLAN}", PlanFile, StringComparison.Ordinal).Replace("{DATA}", Data, StringComparison.Ordinal);
    }

    /// <summary>Runs lifeline's entry point with these arguments, stdout and stderr captured (one run at a time: the console is process-wide).</summary>
    public async Task<CliOutcome> RunAsync(string[] args, CancellationToken cancellationToken)
    {
        await ConsoleLock.WaitAsync(cancellationToken);
        var (oldOut, oldErr) = (Console.Out, Console.Error);
        var stdout = new StringWriter(CultureInfo.InvariantCulture);
        var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var started = Stopwatch.GetTimestamp();
        try
        {
            Console.SetOut(stdout);
            Console.SetError(stderr);
            var run = Task.Run(async () =>
            {
                var result = _entry.Invoke(null, [args]);
                return result switch
                {
                    Task<int> t => await t,
                    int code => code,
                    _ => 0,
                };
            }, cancellationToken);
            var finished = await Task.WhenAny(run, Task.Delay(CommandTimeout, cancellationToken));
            if (finished != run)
            {
                return new CliOutcome { Crash = $"timeout: still running after {CommandTimeout.TotalSeconds:0} s", Stdout = stdout.ToString(), Stderr = stderr.ToString(), Elapsed = Stopwatch.GetElapsedTime(started) };
            }

            try
            {
                var code = await run;
                return new CliOutcome { ExitCode = code, Stdout = stdout.ToString(), Stderr = stderr.ToString(), Elapsed = Stopwatch.GetElapsedTime(started) };
            }
            catch (Exception e)
            {
                var inner = e is TargetInvocationException { InnerException: { } i } ? i : e;
                return new CliOutcome { Crash = $"crash: {inner.GetType().FullName}: {inner.Message}", Stdout = stdout.ToString(), Stderr = stderr.ToString(), Elapsed = Stopwatch.GetElapsedTime(started) };
            }
        }
        finally
        {
            await Console.Out.FlushAsync(CancellationToken.None);
            Console.SetOut(oldOut);
            Console.SetError(oldErr);
            ConsoleLock.Release();
        }
    }

    public IReadOnlyList<Finding> Check(FuzzCase input, FuzzOutcome outcome)
    {
        var o = (CliOutcome)outcome;
        var findings = new List<Finding>();
        if (o.Crash is not null)
        {
            findings.Add(new Finding(o.Crash.StartsWith("timeout", StringComparison.Ordinal) ? "finishes" : "no-crash", o.Crash));
            return findings;
        }

        if (o.Stderr.Contains("unexpected error", StringComparison.OrdinalIgnoreCase) || o.Stdout.Contains("unexpected error", StringComparison.OrdinalIgnoreCase))
        {
            findings.Add(new Finding("no-unexpected-error", $"exit {o.ExitCode}: {FirstLine(o.Stderr.Contains("unexpected", StringComparison.OrdinalIgnoreCase) ? o.Stderr : o.Stdout)}"));
        }

        if (StackTrace().IsMatch(o.Stderr) || StackTrace().IsMatch(o.Stdout))
        {
            findings.Add(new Finding("no-stack-trace", "a stack trace was printed: " + StackTrace().Match(o.Stderr + "\n" + o.Stdout).Value.Trim()));
        }

        var lines = o.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unprefixed = lines.Where(l => !l.StartsWith("lifeline: ", StringComparison.Ordinal)).ToList();
        if (unprefixed.Count > 0)
        {
            findings.Add(new Finding("stderr-prefixed", $"exit {o.ExitCode}: stderr line not starting with 'lifeline: ': {HttpOracles.Trim(unprefixed[0])}"));
        }

        if (o.ExitCode != 0)
        {
            var errors = lines.Where(l => !l.StartsWith("lifeline: warning:", StringComparison.Ordinal)).ToList();
            if (errors.Count != 1)
            {
                findings.Add(new Finding("one-error-line", $"exit {o.ExitCode} with {errors.Count} error lines on stderr{(errors.Count > 0 ? ": " + HttpOracles.Trim(errors[0]) : "")}"));
            }
        }

        return findings;
    }

    private static string FirstLine(string s) => HttpOracles.Trim(s.Split('\n').FirstOrDefault(l => l.Contains("unexpected", StringComparison.OrdinalIgnoreCase)) ?? s);

    public Task<IReadOnlyList<Finding>> QuiesceAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<Finding>>([]);

    private static MethodInfo FindEntry()
    {
        var assembly = Assembly.Load("lifeline");
        // top-level statements compile to Program.<Main>$ (async, Task<int>) behind a synchronous entry point
        var program = assembly.GetType("Program");
        return program?.GetMethod("<Main>$", BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public) is { ReturnType: var rt } m && rt == typeof(Task<int>)
            ? m
            : assembly.EntryPoint ?? throw new InvalidOperationException("lifeline.dll has no entry point");
    }

    public ValueTask DisposeAsync()
    {
        Environment.SetEnvironmentVariable("LIFELINE_PASSWORD", _previousPassword);
        if (_previousDirectory is not null)
        {
            Environment.CurrentDirectory = _previousDirectory;
        }

        _dir.Dispose();
        return ValueTask.CompletedTask;
    }

    [GeneratedRegex(@"^\s*at [\w.<>`$\[\],+|]+\(.*\)(?: in .*)?\s*$|--- End of (?:inner exception )?stack trace", RegexOptions.Multiline)]
    private static partial Regex StackTrace();
}
