namespace Lifeline.Fuzzing.Core;

/// <summary>
/// The fuzzer's only source of randomness: every input is a pure function of (run seed, input index), so any finding
/// can be regenerated alone with <see cref="ForInput"/>.
/// </summary>
public sealed class FuzzRandom
{
    private readonly Random _random;

    public FuzzRandom(int seed)
    {
        Seed = seed;
        _random = new Random(seed);
    }

    public int Seed { get; }

    /// <summary>The generator of input <paramref name="index"/> of a run seeded with <paramref name="seed"/>.</summary>
    public static FuzzRandom ForInput(int seed, int index) => new(unchecked((seed * 486_187_739) ^ (index * 16_777_619) ^ 0x5bd1e995));

    public int Next(int maxExclusive) => _random.Next(maxExclusive);

    public int Next(int minInclusive, int maxExclusive) => _random.Next(minInclusive, maxExclusive);

    public double NextDouble() => _random.NextDouble();

    public bool Chance(double probability) => _random.NextDouble() < probability;

    public T Pick<T>(IReadOnlyList<T> items) => items[_random.Next(items.Count)];

    public byte[] Bytes(int count)
    {
        var b = new byte[count];
        _random.NextBytes(b);
        return b;
    }

    /// <summary>A string of <paramref name="length"/> characters drawn from <paramref name="alphabet"/>.</summary>
    public string String(int length, string alphabet = "abcdefghijklmnopqrstuvwxyz0123456789")
    {
        var c = new char[length];
        for (var i = 0; i < length; i++)
        {
            c[i] = alphabet[_random.Next(alphabet.Length)];
        }

        return new string(c);
    }
}
