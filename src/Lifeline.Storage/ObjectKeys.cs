namespace Lifeline.Storage;

/// <summary>Validation of object keys shared by every store, so that a key never escapes a store's root.</summary>
public static class ObjectKeys
{
    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="key"/> is a valid relative key.</summary>
    public static void Validate(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Length == 0 || key[0] == '/' || key.Contains('\\', StringComparison.Ordinal) || key.Contains('\0', StringComparison.Ordinal))
        {
            throw new ArgumentException($"invalid object key '{key}': keys are relative, '/'-separated paths", nameof(key));
        }

        foreach (var segment in key.Split('/'))
        {
            if (segment.Length == 0 || segment == "." || segment == "..")
            {
                throw new ArgumentException($"invalid object key '{key}': empty, '.' or '..' segment", nameof(key));
            }
        }
    }
}
