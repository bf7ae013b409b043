using Lifeline.Storage;

namespace Lifeline.Cli.Infrastructure;

/// <summary>Opens object stores named by a URI (s3://, azure://).</summary>
internal static class StoreFactory
{
    public static IObjectStore OpenRemote(string location, Func<string, string?> environment)
    {
        _ = environment;
        throw new UsageException($"unsupported repository location '{location}': this build supports local paths only");
    }
}
