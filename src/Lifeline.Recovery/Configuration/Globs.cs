using System.Text;
using System.Text.RegularExpressions;

namespace Lifeline.Recovery.Configuration;

/// <summary>Expands the plan's file patterns: a path, or a glob with <c>*</c> (within a segment), <c>?</c> and <c>**</c>
/// (any number of segments), relative to a base directory.</summary>
internal static class Globs
{
    public static bool IsGlob(string pattern) => pattern.AsSpan().IndexOfAny('*', '?') >= 0;

    /// <summary>The files <paramref name="pattern"/> names, absolute, in ordinal order.</summary>
    public static IEnumerable<string> Expand(string pattern, string baseDirectory)
    {
        var full = Path.GetFullPath(Path.Combine(baseDirectory, pattern)).Replace('\\', '/');
        if (!IsGlob(full))
        {
            return File.Exists(full) ? [full] : [];
        }

        var segments = full.Split('/');
        var fixedCount = segments.TakeWhile(s => !IsGlob(s)).Count();
        var root = string.Join('/', segments.Take(fixedCount));
        root = root.Length == 0 ? "/" : root;
        if (!Directory.Exists(root))
        {
            return [];
        }

        var regex = ToRegex(string.Join('/', segments.Skip(fixedCount)));
        return Directory.EnumerateFiles(root, "*", new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint })
            .Select(f => f.Replace('\\', '/'))
            .Where(f => regex.IsMatch(Path.GetRelativePath(root, f).Replace('\\', '/')))
            .Order(StringComparer.Ordinal);
    }

    private static Regex ToRegex(string glob)
    {
        var sb = new StringBuilder("^");
        for (var i = 0; i < glob.Length; i++)
        {
            var c = glob[i];
            if (c == '*' && i + 1 < glob.Length && glob[i + 1] == '*')
            {
                var slash = i + 2 < glob.Length && glob[i + 2] == '/';
                sb.Append(slash ? "(?:.*/)?" : ".*");
                i += slash ? 2 : 1;
            }
            else if (c == '*')
            {
                sb.Append("[^/]*");
            }
            else if (c == '?')
            {
                sb.Append("[^/]");
            }
            else
            {
                sb.Append(Regex.Escape(c.ToString()));
            }
        }

        return new Regex(sb.Append('$').ToString(), RegexOptions.CultureInvariant);
    }
}
