using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Lifeline.Recovery.Configuration;

/// <summary>
/// Which names are secrets, and how a secret is shown: <c>***</c> and a fingerprint (the first 12 hex digits of
/// SHA-256 over the name and the value) so that a change is visible without the value. A secret is never shown,
/// logged, diffed or reported in plain text; only the vault (encrypted) holds it.
/// </summary>
public static partial class Secrets
{
    /// <summary>Name parts that make a name a secret (case-insensitive): the plan's four and three common spellings.</summary>
    public static readonly IReadOnlyList<string> SecretWords = ["TOKEN", "PASSWORD", "SECRET", "KEY", "PASSWD", "CREDENTIAL", "CONNECTION_STRING"];

    /// <summary>How a redacted value starts.</summary>
    public const string Mask = "***";

    /// <summary>True when <paramref name="name"/> contains one of <see cref="SecretWords"/> or matches one of
    /// <paramref name="extra"/> (exact names, or prefixes ending in <c>*</c>).</summary>
    public static bool IsSecret(string name, IReadOnlyList<string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (var word in SecretWords)
        {
            if (name.Contains(word, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return extra is not null && extra.Any(pattern => NameMatches(name, pattern));
    }

    /// <summary>True when <paramref name="name"/> is <paramref name="pattern"/>, or starts with it when it ends in <c>*</c>.</summary>
    public static bool NameMatches(string name, string pattern) =>
        pattern.EndsWith('*') ? name.StartsWith(pattern[..^1], StringComparison.Ordinal) : name.Equals(pattern, StringComparison.Ordinal);

    /// <summary>The change-detection fingerprint of a value (12 hex digits).</summary>
    public static string Fingerprint(string name, string value) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name + "\0" + value)))[..12];

    /// <summary>The fingerprint of file contents (12 hex digits of their SHA-256).</summary>
    public static string Fingerprint(ReadOnlySpan<byte> content) => Convert.ToHexStringLower(SHA256.HashData(content))[..12];

    /// <summary><c>*** (sha256:abcdef012345)</c>.</summary>
    public static string Redacted(string name, string value) => $"{Mask} (sha256:{Fingerprint(name, value)})";

    /// <summary>
    /// The arguments of a command with every secret replaced by <c>***</c>: the value of an option whose name is a
    /// secret (<c>--password X</c>, <c>--token=X</c>; not <c>--password-file</c> or <c>--*-env</c>, which name where the
    /// secret is), <c>NAME=VALUE</c> with a secret name, and credentials or signature parameters in URLs.
    /// </summary>
    public static IReadOnlyList<string> RedactArguments(IReadOnlyList<string> args, IReadOnlyList<string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var result = new List<string>(args.Count);
        var redactNext = false;
        foreach (var arg in args)
        {
            if (redactNext && !arg.StartsWith("--", StringComparison.Ordinal))
            {
                result.Add(Mask);
                redactNext = false;
                continue;
            }

            redactNext = false;
            if (arg.StartsWith("--", StringComparison.Ordinal) || (arg.StartsWith('-') && arg.Length > 1 && char.IsLetter(arg[1])))
            {
                var eq = arg.IndexOf('=', StringComparison.Ordinal);
                var option = (eq < 0 ? arg : arg[..eq]).TrimStart('-');
                if (IsSecretOption(option, extra))
                {
                    if (eq < 0)
                    {
                        redactNext = true;
                        result.Add(arg);
                    }
                    else
                    {
                        result.Add(arg[..(eq + 1)] + Mask);
                    }

                    continue;
                }

                result.Add(eq < 0 ? arg : arg[..(eq + 1)] + RedactText(arg[(eq + 1)..], extra));
                continue;
            }

            result.Add(RedactText(arg, extra));
        }

        return result;
    }

    /// <summary>Redacts <c>NAME=VALUE</c> with a secret name, URL credentials and secret URL query parameters in free text.</summary>
    public static string RedactText(string text, IReadOnlyList<string>? extra = null)
    {
        ArgumentNullException.ThrowIfNull(text);
        text = UrlCredentials().Replace(text, m => m.Groups[1].Value + Mask + "@");
        text = QueryParameter().Replace(text, m => IsSecret(m.Groups[2].Value, extra) || m.Groups[2].Value is "sig" or "sv" ? m.Groups[1].Value + m.Groups[2].Value + "=" + Mask : m.Value);
        return Assignment().Replace(text, m => IsSecret(m.Groups[1].Value, extra) && !m.Groups[2].Value.StartsWith(Mask, StringComparison.Ordinal)
            ? m.Groups[1].Value + "=" + Mask
            : m.Value);
    }

    private static bool IsSecretOption(string option, IReadOnlyList<string>? extra) =>
        !option.EndsWith("-file", StringComparison.OrdinalIgnoreCase) && !option.EndsWith("-env", StringComparison.OrdinalIgnoreCase)
        && !option.EndsWith("-command", StringComparison.OrdinalIgnoreCase)
        && IsSecret(option.Replace('-', '_'), extra);

    [GeneratedRegex(@"(\b[a-z][a-z0-9+.-]*://)[^/@\s]+@", RegexOptions.IgnoreCase)]
    private static partial Regex UrlCredentials();

    [GeneratedRegex(@"([?&])([A-Za-z0-9_.-]+)=[^&\s]*")]
    private static partial Regex QueryParameter();

    // NAME=VALUE anywhere in a text (a value runs to the next white space, or is quoted)
    [GeneratedRegex(@"(?<![A-Za-z0-9_.-])([A-Za-z_][A-Za-z0-9_.-]*)=(""[^""]*""|'[^']*'|[^\s&]*)")]
    private static partial Regex Assignment();
}
