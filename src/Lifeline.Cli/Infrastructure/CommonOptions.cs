using System.CommandLine;
using System.CommandLine.Parsing;
using System.Net;

namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// The options several command groups share, built in one place so that they are spelled, described, parsed and
/// reported the same everywhere (docs/cli.md, "Conventions"). A bad value is a usage error (exit 2) naming the option.
/// </summary>
internal static class CommonOptions
{
    /// <summary>The rule for a time without a zone, as every time option's help states it.</summary>
    public const string TimeRule = "ISO 8601 or 'YYYY-MM-DD HH:MM'; without Z or an offset it is local time";

    /// <summary>Prints one JSON document instead of text; accepted by every command, anywhere on the line.</summary>
    public static readonly Option<bool> Json = new("--json") { Description = "Print one JSON document instead of text", Recursive = true };

    /// <summary>The repository location (path, file://, s3://, azure://); else <c>LIFELINE_REPO</c>.</summary>
    public static readonly Option<string?> Repo = new("--repo", "-r")
    {
        Description = "Repository location: a path, s3://bucket/prefix or azure://container/prefix (default: $LIFELINE_REPO)",
        Recursive = true,
    };

    /// <summary>A file whose first line is the password; else <c>LIFELINE_PASSWORD</c>.</summary>
    public static readonly Option<string?> PasswordFile = new("--password-file", "-p")
    {
        Description = "Read the repository password from this file (default: $LIFELINE_PASSWORD)",
        Recursive = true,
    };

    /// <summary>A point in time (<c>--at</c>, <c>--since</c>, <c>--until</c>), parsed by <see cref="TimeArguments"/> with the one time-zone rule.</summary>
    public static Option<DateTimeOffset?> Time(string name, string description) => new(name)
    {
        Description = $"{description} ({TimeRule})",
        CustomParser = result => ParseTime(name, result),
    };

    /// <summary><c>--at TIME</c>: what the command picks as of that time.</summary>
    public static Option<DateTimeOffset?> At(string description) => Time("--at", description);

    /// <summary><c>--data-dir DIR</c>: a service's data directory.</summary>
    public static Option<string?> DataDir(string description) => new("--data-dir") { Description = description };

    /// <summary>
    /// <c>--urls URL[;URL...]</c>: where a server listens. Each must be an http(s) URL with a host and a port number;
    /// with <paramref name="loopbackOnly"/> the host must be a loopback address.
    /// </summary>
    public static Option<string> Urls(string defaultUrl, bool loopbackOnly)
    {
        var option = new Option<string>("--urls")
        {
            Description = loopbackOnly ? $"Where to listen: an http URL on a loopback address (default {defaultUrl})" : $"Where to listen: http(s) URLs separated by ';' (default {defaultUrl}, loopback)",
            DefaultValueFactory = _ => defaultUrl,
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && UrlsProblem(result.Tokens[0].Value, loopbackOnly) is { } problem)
            {
                result.AddError(problem);
            }
        });
        return option;
    }

    /// <summary><c>--registry-url URL</c>: an MLflow-compatible registry (absolute http(s) URL).</summary>
    public static Option<Uri?> RegistryUrl(string description) => new("--registry-url")
    {
        Description = description,
        CustomParser = result => ParseHttpUrl("--registry-url", result),
    };

    /// <summary><c>--model-dir DIR</c>: a directory model source; a path that is a file is a usage error.</summary>
    public static Option<string?> ModelDir(string description)
    {
        var option = new Option<string?>("--model-dir") { Description = description };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && File.Exists(result.Tokens[0].Value))
            {
                result.AddError($"--model-dir '{Path.GetFullPath(result.Tokens[0].Value)}' is a file: give a directory (versions/<v>/ and production.txt are kept in it; it is created if missing)");
            }
        });
        return option;
    }

    /// <summary>
    /// <c>--file FILE</c> (also <c>--plan</c>, <c>-f</c>): the plan file, <c>lifeline.yaml</c> in the current directory
    /// by default. An empty value is a usage error.
    /// </summary>
    public static Option<string> PlanFile(string description)
    {
        var option = new Option<string>("--file", "--plan", "-f")
        {
            Description = description,
            DefaultValueFactory = _ => Lifeline.Recovery.Plan.PlanFile.DefaultFileName,
        };
        option.Validators.Add(result =>
        {
            if (result.Tokens.Count > 0 && string.IsNullOrWhiteSpace(result.Tokens[0].Value))
            {
                result.AddError($"--file is empty: name the plan file, e.g. --file {Lifeline.Recovery.Plan.PlanFile.DefaultFileName}");
            }
        });
        return option;
    }

    /// <summary>Why <paramref name="urls"/> is not a listen address list (null when it is).</summary>
    internal static string? UrlsProblem(string urls, bool loopbackOnly)
    {
        var example = loopbackOnly ? "http://127.0.0.1:5200" : "http://127.0.0.1:5100";
        var parts = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (parts.Length == 0)
        {
            return $"--urls is empty: give a URL such as {example}";
        }

        foreach (var part in parts)
        {
            // Kestrel's wildcard hosts are not URI hosts: check the rest of the URL with a stand-in
            var checkable = part.Replace("://*", "://wildcard", StringComparison.Ordinal).Replace("://+", "://wildcard", StringComparison.Ordinal);
            if (!Uri.TryCreate(checkable, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
                || uri.Host.Length == 0 || uri.PathAndQuery != "/" || uri.Fragment.Length > 0 || !HasExplicitPort(part))
            {
                return $"invalid --urls '{urls}': '{part}' is not an http URL with a host and a port, e.g. {example}";
            }

            if (loopbackOnly && !(uri.IsLoopback && (IPAddress.TryParse(uri.Host, out _) || uri.Host == "localhost")))
            {
                return $"--urls must be an http URL on a loopback address, e.g. {example} (got '{urls}')";
            }
        }

        return null;
    }

    private static bool HasExplicitPort(string url)
    {
        var rest = url[(url.IndexOf("://", StringComparison.Ordinal) + 3)..].TrimEnd('/');
        var colon = rest.LastIndexOf(':');
        return colon > 0 && colon > rest.LastIndexOf(']') && int.TryParse(rest[(colon + 1)..], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port) && port <= 65535;
    }

    private static DateTimeOffset? ParseTime(string name, ArgumentResult result)
    {
        try
        {
            return TimeArguments.ParseTime(name, result.Tokens.Count > 0 ? result.Tokens[0].Value : "", TimeZoneInfo.Local);
        }
        catch (UsageException e)
        {
            result.AddError(e.Message);
            return null;
        }
    }

    private static Uri? ParseHttpUrl(string name, ArgumentResult result)
    {
        var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : "";
        if (Uri.TryCreate(text, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            return uri;
        }

        result.AddError($"{name} '{text}' is not an absolute http(s) URL, e.g. {name} http://127.0.0.1:5100");
        return null;
    }
}
