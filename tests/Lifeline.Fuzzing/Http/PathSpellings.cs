using System.Text;
using Lifeline.Fuzzing.Core;

namespace Lifeline.Fuzzing.Http;

/// <summary>Other spellings of a path: letter case, trailing and doubled slashes, percent-encoding, dot segments.</summary>
public static class PathSpellings
{
    /// <remarks>
    /// No spelling decodes to a NUL or a control character: Kestrel refuses those itself with an empty 400 before any
    /// application code runs, which no application can change.
    /// </remarks>
    public static string Mutate(string path, FuzzRandom r)
    {
        var segments = path.Split('/');
        return r.Next(10) switch
        {
            0 => path.ToUpperInvariant(),
            1 => RandomCase(path, r),
            2 => path + "/",
            3 => "/" + path,
            4 => path.Replace("/", "//", StringComparison.Ordinal),
            5 => PercentEncode(path, r),
            6 => string.Join('/', segments.Take(Math.Max(1, segments.Length - 1))) + "/./" + segments[^1],
            7 => path + "/../" + segments[^1],
            8 => path.Replace("/", "%2F", StringComparison.Ordinal).Insert(0, "/"),
            _ => path + r.Pick(new[] { "%20", ";x=1", "/x", ".json", "~", "%2e", "%5C" }),
        };
    }

    private static string RandomCase(string path, FuzzRandom r)
    {
        var c = path.ToCharArray();
        for (var i = 0; i < c.Length; i++)
        {
            if (r.Chance(0.3))
            {
                c[i] = char.ToUpperInvariant(c[i]);
            }
        }

        return new string(c);
    }

    /// <summary>Percent-encodes some letters (an unreserved character encoded means the same path, RFC 3986 6.2.2.2).</summary>
    private static string PercentEncode(string path, FuzzRandom r)
    {
        var sb = new StringBuilder();
        foreach (var ch in path)
        {
            if (char.IsLetter(ch) && r.Chance(0.25))
            {
                sb.Append('%').Append(((int)ch).ToString(r.Chance(0.5) ? "X2" : "x2", System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                sb.Append(ch);
            }
        }

        return sb.ToString();
    }
}
