using Lifeline.Fuzzing.Parsers;

namespace Lifeline.Fuzz.Tests.Parsers;

/// <summary>
/// The fast regression set of the coverage-guided parser fuzzing (bench/fuzz-parsers.sh): each decoder's valid seeds
/// decode, and every corrupt variant and every input AFL++ found (Corpus/&lt;target&gt;/) gives the area's typed error,
/// never another exception type or a hang.
/// </summary>
public sealed class ParserCorpusTests
{
    public static TheoryData<string> Targets() => [.. ParserTargets.Names];

    [Theory]
    [MemberData(nameof(Targets))]
    public void Decode_ValidSeeds_Decode(string target)
    {
        foreach (var seed in ParserTargets.Seeds(target))
        {
            Assert.Equal(ParseResult.Decoded, ParserTargets.Run(target, seed));
        }
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public async Task Decode_CorruptInputs_GiveTypedErrorOrDecode(string target)
    {
        var inputs = ParserTargets.CorruptVariants(target).Concat(Found(target)).ToList();
        Assert.NotEmpty(inputs);
        foreach (var input in inputs)
        {
            var run = Task.Run(() => ParserTargets.Run(target, input));
            var exception = await Record.ExceptionAsync(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.True(exception is null, $"{target}: input {Convert.ToHexString(input.AsSpan(0, Math.Min(input.Length, 64)))}{(input.Length > 64 ? "…" : "")} ({input.Length} bytes): {exception}");
        }
    }

    private static IEnumerable<byte[]> Found(string target)
    {
        var dir = Path.Combine(AppContext.BaseDirectory, "Corpus", target);
        return Directory.Exists(dir) ? Directory.EnumerateFiles(dir).Order(StringComparer.Ordinal).Select(File.ReadAllBytes) : [];
    }
}
