using Lifeline.Storage;
using Lifeline.Storage.FileSystem;
using Lifeline.Storage.Resilience;

namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// Where the repository is and how to open it: <c>--repo</c> or <c>LIFELINE_REPO</c> (a path, <c>file://</c>,
/// <c>s3://bucket/prefix</c> or <c>azure://container/prefix</c>), the password from <c>--password-file</c> or
/// <c>LIFELINE_PASSWORD</c>. Passwords are never printed or logged.
/// </summary>
internal sealed class RepositorySettings
{
    public const string RepoVariable = "LIFELINE_REPO";
    public const string PasswordVariable = "LIFELINE_PASSWORD";
    public const string ToPasswordVariable = "LIFELINE_TO_PASSWORD";
    public const string NewPasswordVariable = "LIFELINE_NEW_PASSWORD";
    public const string FromPasswordVariable = "LIFELINE_FROM_PASSWORD";

    private readonly Func<string, string?> _environment;
    private readonly IReadOnlyDictionary<string, string?>? _storeEnvironment;

    /// <param name="environment">Reads the LIFELINE_* variables.</param>
    /// <param name="storeEnvironment">Credentials for s3:// and azure:// stores; null reads the process environment.</param>
    public RepositorySettings(Func<string, string?> environment, IReadOnlyDictionary<string, string?>? storeEnvironment = null)
    {
        _environment = environment;
        _storeEnvironment = storeEnvironment;
    }

    /// <summary>The settings of this process (real environment variables).</summary>
    public static RepositorySettings ForProcess() => new(Environment.GetEnvironmentVariable);

    /// <summary>The repository location from the option, else the variable; a usage error naming both when neither is set.</summary>
    public string Location(string? option, string optionName = "--repo", string variable = RepoVariable)
    {
        var value = string.IsNullOrWhiteSpace(option) ? _environment(variable) : option;
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new UsageException($"no repository given: pass {optionName} LOCATION or set {variable} (a path, s3://bucket/prefix or azure://container/prefix)");
        }

        return value.Trim();
    }

    /// <summary>The password from the file option, else the variable; a usage error naming both when neither is set.</summary>
    public string Password(string? passwordFile, string fileOption = "--password-file", string variable = PasswordVariable)
    {
        if (!string.IsNullOrEmpty(passwordFile))
        {
            string text;
            try
            {
                text = File.ReadAllText(passwordFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new UsageException($"cannot read the password file '{passwordFile}' given by {fileOption}: {e.Message}");
            }

            var fromFile = text.TrimEnd('\r', '\n');
            if (fromFile.Length == 0)
            {
                throw new UsageException($"the password file '{passwordFile}' given by {fileOption} is empty");
            }

            return fromFile;
        }

        var fromVariable = _environment(variable);
        if (string.IsNullOrEmpty(fromVariable))
        {
            throw new UsageException($"no password given: set {variable} or pass {fileOption} FILE");
        }

        return fromVariable;
    }

    /// <summary>
    /// Opens the object store at <paramref name="location"/>. For a local path that does not exist, commands other than
    /// <c>init</c> (<paramref name="create"/> false) fail with exit code 10 instead of creating an empty directory.
    /// </summary>
    public IObjectStore OpenStore(string location, bool create)
    {
        var store = OpenUndelayedStore(location, create);
        return _environment(DelayingObjectStore.Variable) is { Length: > 0 } delays
            ? new DelayingObjectStore(store, DelayingObjectStore.Parse(delays), TimeProvider.System)
            : store;
    }

    private IObjectStore OpenUndelayedStore(string location, bool create)
    {
        if (location.Contains("://", StringComparison.Ordinal) && !location.StartsWith("file://", StringComparison.OrdinalIgnoreCase))
        {
            // s3:// and azure:// (credentials from the environment, docs/storage.md), retried on transient faults
            try
            {
                return new RetryingObjectStore(ObjectStores.Open(location, _storeEnvironment));
            }
            catch (ArgumentException e)
            {
                var message = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
                throw new UsageException(message);
            }
        }

        var path = location.StartsWith("file://", StringComparison.OrdinalIgnoreCase) ? new Uri(location).LocalPath : location;
        var full = Path.GetFullPath(path);
        if (!create && !Directory.Exists(full))
        {
            throw new CliException(ExitCodes.RepositoryNotFound, $"repository not found: {full} does not exist (create one with 'lifeline vault init')");
        }

        if (create && File.Exists(full))
        {
            throw new CliException(ExitCodes.Failure, $"cannot create a repository at {full}: it is a file");
        }

        return new FileSystemObjectStore(full);
    }
}
