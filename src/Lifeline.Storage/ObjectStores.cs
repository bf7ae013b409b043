using System.Text.RegularExpressions;
using Amazon.Runtime;
using Amazon.S3;
using Azure.Storage;
using Azure.Storage.Blobs;
using Lifeline.Storage.Azure;
using Lifeline.Storage.FileSystem;
using Lifeline.Storage.S3;
using Microsoft.Extensions.Logging;

namespace Lifeline.Storage;

/// <summary>
/// Opens a store from a location string, the form users type for <c>--repo</c> or <c>LIFELINE_REPO</c>.
/// Locations never hold secrets: credentials come from the environment.
/// </summary>
/// <remarks>
/// <list type="table">
/// <item><term><c>/srv/backups</c>, <c>./repo</c>, <c>file:///srv/backups</c></term><description>a local directory (<see cref="FileSystemObjectStore"/>).</description></item>
/// <item><term><c>azure://container/prefix</c></term><description>Azure Blob. Credentials: <c>AZURE_STORAGE_CONNECTION_STRING</c>
/// (e.g. <c>UseDevelopmentStorage=true</c> for Azurite), or <c>AZURE_STORAGE_ACCOUNT</c> and <c>AZURE_STORAGE_KEY</c> with the
/// endpoint <c>https://ACCOUNT.blob.core.windows.net</c> unless <c>?endpoint=URL</c> or <c>AZURE_STORAGE_BLOB_ENDPOINT</c> says otherwise.</description></item>
/// <item><term><c>s3://bucket/prefix</c></term><description>S3. Credentials: <c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c>
/// (and <c>AWS_SESSION_TOKEN</c>), else the SDK's default chain; endpoint <c>?endpoint=URL</c> or <c>AWS_ENDPOINT_URL</c> (path-style);
/// region <c>?region=</c>, <c>AWS_REGION</c> or <c>AWS_DEFAULT_REGION</c>. For a server without conditional writes or ordered
/// listings (s3rver): <c>?conditional-writes=false</c> (put-if-absent NOT exact under concurrency) and <c>?sort-listings=true</c>.</description></item>
/// </list>
/// </remarks>
public static partial class ObjectStores
{
    private const string Usage = "use a path, file:///path, s3://bucket/prefix or azure://container/prefix";

    /// <summary>Opens the store named by <paramref name="location"/>.</summary>
    /// <param name="location">A path or URI as described on <see cref="ObjectStores"/>.</param>
    /// <param name="env">Environment variables to read credentials from; the process environment when null.</param>
    /// <param name="logger">Optional logger for the store.</param>
    /// <param name="timeouts">Connect and inactivity timeouts of the cloud stores; <see cref="ObjectStoreTimeouts.Default"/> when null.</param>
    /// <exception cref="ArgumentException">The location is malformed, names an unsupported scheme, holds a secret,
    /// or its backend's credentials are missing; the one-line message says what to do.</exception>
    public static IObjectStore Open(string location, IReadOnlyDictionary<string, string?>? env = null, ILogger? logger = null, ObjectStoreTimeouts? timeouts = null)
    {
        timeouts ??= ObjectStoreTimeouts.Default;
        timeouts.Validate();
        if (string.IsNullOrWhiteSpace(location))
        {
            throw new ArgumentException($"empty store location: {Usage}", nameof(location));
        }

        location = location.Trim();
        if (!location.Contains("://", StringComparison.Ordinal) || DrivePath().IsMatch(location))
        {
            return new FileSystemObjectStore(location);
        }

        if (!Uri.TryCreate(location, UriKind.Absolute, out var uri))
        {
            throw new ArgumentException($"malformed store location '{Redact(location)}': {Usage}", nameof(location));
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ArgumentException($"store location '{Redact(location)}' contains credentials: remove them and set them in the environment (see docs/storage.md)", nameof(location));
        }

        var query = ParseQuery(uri, location);
        // Uri lower-cases host names; a container or bucket name must be checked as typed.
        var afterScheme = location[(location.IndexOf("://", StringComparison.Ordinal) + 3)..];
        var name = afterScheme[..(afterScheme.IndexOfAny(['/', '?']) is var end and >= 0 ? end : afterScheme.Length)];
        // Uri also resolves "a/../b" to "b"; the prefix must be checked as typed too.
        var rawPath = afterScheme[name.Length..];
        rawPath = rawPath[..(rawPath.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? q : rawPath.Length)];
        return uri.Scheme switch
        {
            "file" => OpenFile(uri, query, location),
            "azure" => OpenAzure(name, rawPath, query, env, logger, location, timeouts),
            "s3" => OpenS3(name, rawPath, query, env, logger, location, timeouts),
            _ => throw new ArgumentException($"unsupported store scheme '{uri.Scheme}' in '{Redact(location)}': {Usage}", nameof(location)),
        };
    }

    private static FileSystemObjectStore OpenFile(Uri uri, Dictionary<string, string> query, string location)
    {
        if (query.Count > 0 || (!string.IsNullOrEmpty(uri.Host) && uri.Host != "localhost"))
        {
            throw new ArgumentException($"file location '{location}' must be file:///absolute/path with no host or options", nameof(location));
        }

        return new FileSystemObjectStore(uri.LocalPath);
    }

    private static AzureBlobObjectStore OpenAzure(string container, string rawPath, Dictionary<string, string> query, IReadOnlyDictionary<string, string?>? env, ILogger? logger, string location, ObjectStoreTimeouts timeouts)
    {
        if (!ContainerName().IsMatch(container))
        {
            throw new ArgumentException($"invalid Azure container '{container}' in '{location}': 3-63 lower-case letters, digits and single hyphens (azure://container/prefix)", nameof(location));
        }

        RejectUnknownOptions(query, location, "endpoint");
        var prefix = PrefixOf(rawPath, location);
        var endpoint = query.GetValueOrDefault("endpoint") ?? Get(env, "AZURE_STORAGE_BLOB_ENDPOINT");
        BlobServiceClient service;
        if (Get(env, "AZURE_STORAGE_CONNECTION_STRING") is { } connectionString)
        {
            if (query.ContainsKey("endpoint"))
            {
                throw new ArgumentException($"'{location}' sets ?endpoint= but AZURE_STORAGE_CONNECTION_STRING names its own endpoint: drop one of them", nameof(location));
            }

            try
            {
                service = new BlobServiceClient(connectionString, AzureBlobObjectStore.CreateClientOptions(timeouts));
            }
            catch (FormatException)
            {
                throw new ArgumentException("AZURE_STORAGE_CONNECTION_STRING is malformed: copy it again from the storage account's access keys", nameof(env));
            }
        }
        else if (Get(env, "AZURE_STORAGE_ACCOUNT") is { } account && Get(env, "AZURE_STORAGE_KEY") is { } key)
        {
            var serviceUri = ParseEndpoint(endpoint ?? $"https://{account}.blob.core.windows.net", location);
            try
            {
                service = new BlobServiceClient(serviceUri, new StorageSharedKeyCredential(account, key), AzureBlobObjectStore.CreateClientOptions(timeouts));
            }
            catch (FormatException)
            {
                throw new ArgumentException("AZURE_STORAGE_KEY is not valid base64: copy it again from the storage account's access keys", nameof(env));
            }
        }
        else
        {
            throw new ArgumentException($"no Azure credentials for '{location}': set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT and AZURE_STORAGE_KEY", nameof(env));
        }

        return new AzureBlobObjectStore(service.GetBlobContainerClient(container), prefix, logger);
    }

    private static S3ObjectStore OpenS3(string bucket, string rawPath, Dictionary<string, string> query, IReadOnlyDictionary<string, string?>? env, ILogger? logger, string location, ObjectStoreTimeouts timeouts)
    {
        if (!BucketName().IsMatch(bucket))
        {
            throw new ArgumentException($"invalid S3 bucket '{bucket}' in '{location}': 3-63 lower-case letters, digits, dots and hyphens (s3://bucket/prefix)", nameof(location));
        }

        RejectUnknownOptions(query, location, "endpoint", "region", "conditional-writes", "sort-listings");
        var prefix = PrefixOf(rawPath, location);
        var endpoint = query.GetValueOrDefault("endpoint") ?? Get(env, "AWS_ENDPOINT_URL_S3") ?? Get(env, "AWS_ENDPOINT_URL");
        if (endpoint is not null)
        {
            endpoint = ParseEndpoint(endpoint, location).ToString();
        }

        var region = query.GetValueOrDefault("region") ?? Get(env, "AWS_REGION") ?? Get(env, "AWS_DEFAULT_REGION");
        var options = new S3ObjectStoreOptions
        {
            ConditionalWrites = Flag(query, "conditional-writes", true, location),
            SortListingsInClient = Flag(query, "sort-listings", false, location),
        };
        if (endpoint is null && region is null)
        {
            throw new ArgumentException($"no region for '{location}': set AWS_REGION, or add ?region=NAME (or ?endpoint=URL for an S3-compatible server)", nameof(env));
        }

        AmazonS3Config config;
        try
        {
            config = S3ObjectStore.CreateConfig(endpoint, region, timeouts);
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"unknown AWS region '{region}' for '{location}': use a name such as eu-west-1", nameof(location));
        }

        AmazonS3Client client;
        if (Get(env, "AWS_ACCESS_KEY_ID") is { } accessKey)
        {
            var secret = Get(env, "AWS_SECRET_ACCESS_KEY")
                ?? throw new ArgumentException("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not: set both", nameof(env));
            AWSCredentials credentials = Get(env, "AWS_SESSION_TOKEN") is { } token
                ? new SessionAWSCredentials(accessKey, secret, token)
                : new BasicAWSCredentials(accessKey, secret);
            client = new AmazonS3Client(credentials, config);
        }
        else
        {
            client = new AmazonS3Client(config); // the SDK's default chain: profile, container or instance role
        }

        return new S3ObjectStore(client, bucket, prefix, options, logger, ownsClient: true);
    }

    private static string? Get(IReadOnlyDictionary<string, string?>? env, string name)
    {
        var value = env is null ? Environment.GetEnvironmentVariable(name) : env.GetValueOrDefault(name);
        return string.IsNullOrWhiteSpace(value) ? null : value;
    }

    private static string PrefixOf(string rawPath, string location)
    {
        var prefix = Uri.UnescapeDataString(rawPath).Trim('/');
        if (prefix.Length > 0)
        {
            try
            {
                ObjectKeys.Validate(prefix);
            }
            catch (ArgumentException)
            {
                throw new ArgumentException($"invalid prefix '{prefix}' in '{location}': '/'-separated names without empty, '.' or '..' parts", nameof(location));
            }
        }

        return prefix;
    }

    private static Uri ParseEndpoint(string endpoint, string location)
    {
        if (!Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || !string.IsNullOrEmpty(uri.UserInfo))
        {
            throw new ArgumentException($"invalid endpoint '{Redact(endpoint)}' for '{location}': use http(s)://host:port[/path] without credentials", nameof(location));
        }

        return uri;
    }

    private static Dictionary<string, string> ParseQuery(Uri uri, string location)
    {
        var query = new Dictionary<string, string>(StringComparer.Ordinal);
        var text = uri.Query.TrimStart('?');
        if (text.Length == 0)
        {
            return query;
        }

        foreach (var part in text.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var name = Uri.UnescapeDataString(eq < 0 ? part : part[..eq]).ToLowerInvariant();
            var value = eq < 0 ? string.Empty : Uri.UnescapeDataString(part[(eq + 1)..]);
            if (name is "sig" or "key" or "secret" or "password" or "token" or "accountkey" or "access-key" or "secret-key" || name.StartsWith("x-amz-", StringComparison.Ordinal))
            {
                throw new ArgumentException($"store location '{Redact(location)}' contains a secret ('{name}='): remove it and set credentials in the environment (see docs/storage.md)", nameof(location));
            }

            if (!query.TryAdd(name, value))
            {
                throw new ArgumentException($"option '{name}' given twice in '{Redact(location)}'", nameof(location));
            }
        }

        return query;
    }

    private static void RejectUnknownOptions(Dictionary<string, string> query, string location, params string[] known)
    {
        foreach (var name in query.Keys)
        {
            if (!known.Contains(name, StringComparer.Ordinal))
            {
                throw new ArgumentException($"unknown option '{name}' in '{location}': known options are {string.Join(", ", known)}", nameof(location));
            }
        }
    }

    private static bool Flag(Dictionary<string, string> query, string name, bool fallback, string location) =>
        !query.TryGetValue(name, out var value) ? fallback : value.ToLowerInvariant() switch
        {
            "true" or "1" or "yes" or "on" => true,
            "false" or "0" or "no" or "off" => false,
            _ => throw new ArgumentException($"option '{name}={value}' in '{location}' must be true or false", nameof(location)),
        };

    private static string Redact(string location)
    {
        var q = location.IndexOf('?', StringComparison.Ordinal);
        var at = location.IndexOf('@', StringComparison.Ordinal);
        var scheme = location.IndexOf("://", StringComparison.Ordinal);
        var redacted = at > scheme && scheme >= 0 && (q < 0 || at < q) ? location[..(scheme + 3)] + "***@" + location[(at + 1)..] : location;
        q = redacted.IndexOf('?', StringComparison.Ordinal);
        return q < 0 ? redacted : redacted[..q] + "?***";
    }

    [GeneratedRegex(@"^[A-Za-z]:[\\/]")]
    private static partial Regex DrivePath();

    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9]+(-[a-z0-9]+)*$")]
    private static partial Regex ContainerName();

    [GeneratedRegex(@"^(?=.{3,63}$)[a-z0-9][a-z0-9.\-]*[a-z0-9]$")]
    private static partial Regex BucketName();
}
