namespace Lifeline.Storage;

/// <summary>
/// The order every store lists keys in: Unicode code point order, which is UTF-8 byte order (what S3 and Azure Blob
/// list in) and equals <see cref="string.CompareOrdinal(string, string)"/> for every key that does not mix characters
/// from U+E000 to U+FFFF with characters above U+FFFF.
/// </summary>
public sealed class KeyOrder : IComparer<string>
{
    /// <summary>The one instance.</summary>
    public static KeyOrder Instance { get; } = new();

    private KeyOrder()
    {
    }

    /// <inheritdoc />
    public int Compare(string? x, string? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null)
        {
            return -1;
        }

        if (y is null)
        {
            return 1;
        }

        var length = Math.Min(x.Length, y.Length);
        for (var i = 0; i < length; i++)
        {
            var a = x[i];
            var b = y[i];
            if (a != b)
            {
                return Fixup(a) - Fixup(b);
            }
        }

        return x.Length - y.Length;
    }

    // UTF-16 code units compare in code point order once surrogates (D800-DFFF) are moved above E000-FFFF.
    private static int Fixup(char c) => c >= 0xD800 ? (c >= 0xE000 ? c - 0x800 : c + 0x2000) : c;
}
