using System.Text;

namespace Lifeline.Recovery.Plan;

/// <summary><c>${NAME}</c> references in the plan's source values (paths, URLs, connection strings), so secrets stay
/// in the environment: expanded only when an adapter is built, never written back, shown or logged. <c>$$</c> is a
/// literal <c>$</c>; any other <c>$</c> is kept as it is.</summary>
public static class SourceText
{
    /// <summary>The variables <paramref name="text"/> refers to, in order.</summary>
    public static IReadOnlyList<string> References(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var names = new List<string>();
        Scan(text, null, names);
        return names;
    }

    /// <summary>Why the references in <paramref name="text"/> are malformed, or null.</summary>
    public static string? ReferenceError(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        try
        {
            Scan(text, null, []);
            return null;
        }
        catch (FormatException e)
        {
            return e.Message;
        }
    }

    /// <summary>Expands every <c>${NAME}</c> from <paramref name="environment"/> (default the process environment);
    /// an unset variable is a <see cref="RecoveryException"/> naming it and <paramref name="where"/>.</summary>
    public static string Expand(string text, string where, IReadOnlyDictionary<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        var missing = new List<string>();
        var result = Scan(text, name =>
        {
            var value = environment is null ? Environment.GetEnvironmentVariable(name) : environment.GetValueOrDefault(name);
            if (value is null)
            {
                missing.Add(name);
            }

            return value ?? "";
        }, []);
        if (missing.Count > 0)
        {
            throw new RecoveryException($"the environment variable {missing[0]} named in the plan's {where} is not set: set it (the plan keeps only its name), or change the plan");
        }

        return result;
    }

    /// <summary>Expands a value that may be absent.</summary>
    public static string? ExpandOrNull(string? text, string where, IReadOnlyDictionary<string, string?>? environment = null) =>
        text is null ? null : Expand(text, where, environment);

    private static string Scan(string text, Func<string, string>? resolve, List<string> names)
    {
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '$' || i + 1 >= text.Length)
            {
                sb.Append(c);
                continue;
            }

            if (text[i + 1] == '$')
            {
                sb.Append('$');
                i++;
                continue;
            }

            if (text[i + 1] != '{')
            {
                sb.Append(c);
                continue;
            }

            var end = text.IndexOf('}', i + 2);
            if (end < 0)
            {
                throw new FormatException("a '${' is not closed by '}'");
            }

            var name = text[(i + 2)..end];
            if (name.Length == 0 || !(char.IsAsciiLetter(name[0]) || name[0] == '_') || !name.All(ch => char.IsAsciiLetterOrDigit(ch) || ch == '_'))
            {
                throw new FormatException($"'${{{name}}}' does not name an environment variable");
            }

            names.Add(name);
            sb.Append(resolve?.Invoke(name) ?? "");
            i = end;
        }

        return sb.ToString();
    }
}
