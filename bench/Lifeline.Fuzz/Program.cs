using System.Globalization;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Surfaces;

// Long fuzz runs: dotnet run -c Release --project bench/Lifeline.Fuzz -- --surface scoring|registry|cli|all --count 10000 --seed N
// [--passes 5] [--report FILE] [--show-inputs N]. Exit code 0 when every oracle held, 1 when one failed, 2 on usage errors.
var surfaceName = "all";
var count = 10_000;
var seed = 1;
var passes = 5;
var showInputs = 20;
string? reportFile = null;
for (var i = 0; i < args.Length; i++)
{
    string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--surface":
            surfaceName = Value();
            break;
        case "--count":
            count = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--seed":
            seed = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--passes":
            passes = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--show-inputs":
            showInputs = int.Parse(Value(), CultureInfo.InvariantCulture);
            break;
        case "--report":
            reportFile = Value();
            break;
        default:
            Console.Error.WriteLine($"lifeline-fuzz: unknown argument '{args[i]}' (--surface scoring|registry|cli|all --count N --seed N --passes N --report FILE --show-inputs N)");
            return 2;
    }
}

string[] names = surfaceName == "all" ? ["scoring", "registry", "cli"] : [surfaceName];
if (names.Any(n => n is not ("scoring" or "registry" or "cli")))
{
    Console.Error.WriteLine($"lifeline-fuzz: unknown surface '{surfaceName}' (scoring, registry, cli or all)");
    return 2;
}

var failed = false;
var reports = new List<string>();
foreach (var name in names)
{
    await using IFuzzSurface surface = name switch
    {
        "scoring" => new ScoringSurface(maxStringLength: 200_000),
        "registry" => new RegistrySurface(maxStringLength: 200_000),
        _ => new CliSurface(),
    };
    Console.WriteLine($"== {name}: starting (seed {seed}, {count} inputs in {passes} passes)");
    await surface.StartAsync(CancellationToken.None);
    for (var i = 0; i < Math.Min(showInputs, count); i++)
    {
        Console.WriteLine($"   input #{i}: {surface.Generate(FuzzRandom.ForInput(seed, i), i).Repro()}".ReplaceLineEndings(" "));
    }

    var report = await FuzzRunner.RunAsync(surface, new FuzzRunOptions { Seed = seed, Count = count, Passes = passes, MinimizeGroups = 50, Progress = Console.Out });
    var text = report.ToText();
    Console.WriteLine(text);
    reports.Add(text);
    failed |= report.FailedOracles.Count > 0;
}

if (reportFile is not null)
{
    await File.WriteAllTextAsync(reportFile, string.Join(Environment.NewLine, reports));
}

Console.WriteLine(failed ? "lifeline-fuzz: oracles failed (see the findings above)" : "lifeline-fuzz: every oracle held");
return failed ? 1 : 0;
