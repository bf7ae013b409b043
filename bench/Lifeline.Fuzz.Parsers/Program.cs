using Lifeline.Fuzzing.Parsers;
using SharpFuzz;

// Usage: Lifeline.Fuzz.Parsers TARGET            run under afl-fuzz (input on stdin, SharpFuzz's fork server)
//        Lifeline.Fuzz.Parsers TARGET FILE...    run these inputs once each (reproduce a crash, check a corpus)
//        Lifeline.Fuzz.Parsers --seeds DIR       write each target's valid seeds to DIR/<target>/
// A decoder's typed error (VaultCorruptException, DeltaProtocolException) is the expected answer to a corrupt file;
// any other exception escapes and AFL++ records the input as a crash.
if (args.Length == 2 && args[0] == "--seeds")
{
    foreach (var target in ParserTargets.Names)
    {
        var dir = Path.Combine(args[1], target);
        Directory.CreateDirectory(dir);
        var seeds = ParserTargets.Seeds(target);
        for (var i = 0; i < seeds.Count; i++)
        {
            File.WriteAllBytes(Path.Combine(dir, $"seed-{i}"), seeds[i]);
        }
    }

    return 0;
}

if (args.Length == 0 || !ParserTargets.Names.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: Lifeline.Fuzz.Parsers TARGET [FILE...] | --seeds DIR; targets: {string.Join(", ", ParserTargets.Names)}");
    return 2;
}

var name = args[0];
if (args.Length > 1)
{
    var failures = 0;
    foreach (var file in args.Skip(1))
    {
        try
        {
            Console.WriteLine($"{file}: {ParserTargets.Run(name, File.ReadAllBytes(file))}");
        }
        catch (Exception e)
        {
            failures++;
            Console.WriteLine($"{file}: UNEXPECTED {e}");
        }
    }

    return failures == 0 ? 0 : 1;
}

Fuzzer.OutOfProcess.Run(stream =>
{
    using var memory = new MemoryStream();
    stream.CopyTo(memory);
    ParserTargets.Run(name, memory.ToArray());
});
return 0;
