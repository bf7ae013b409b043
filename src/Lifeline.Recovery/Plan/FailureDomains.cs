using System.Runtime.InteropServices;

namespace Lifeline.Recovery.Plan;

/// <summary>Tells which disk a local path lives on.</summary>
internal interface IDeviceProbe
{
    /// <summary>The device id of the file system holding <paramref name="path"/> (or its nearest existing parent), or null when unknown.</summary>
    ulong? DeviceOf(string path);
}

/// <summary><see cref="IDeviceProbe"/> through stat(2): <c>st_dev</c>, the first field of <c>struct stat</c> on
/// 64-bit Linux (8 bytes, glibc and musl, x64 and arm64) and macOS (4 bytes).</summary>
internal sealed partial class StatDeviceProbe : IDeviceProbe
{
    public static readonly StatDeviceProbe Instance = new();

    public ulong? DeviceOf(string path)
    {
        var existing = Path.GetFullPath(path);
        while (!Directory.Exists(existing) && !File.Exists(existing))
        {
            var parent = Path.GetDirectoryName(existing);
            if (parent is null || parent == existing)
            {
                return null;
            }

            existing = parent;
        }

        if (OperatingSystem.IsWindows())
        {
            // one volume, one failure domain: the drive or share root stands for the device
            var root = Path.GetPathRoot(existing) ?? existing;
            return (ulong)StringComparer.OrdinalIgnoreCase.GetHashCode(root);
        }

        if (!OperatingSystem.IsLinux() && !OperatingSystem.IsMacOS())
        {
            return null;
        }

        var buffer = new byte[512];
        try
        {
            if (Stat(existing, buffer) != 0)
            {
                return null;
            }
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            return null;
        }

        return OperatingSystem.IsMacOS() ? BitConverter.ToUInt32(buffer, 0) : BitConverter.ToUInt64(buffer, 0);
    }

    [LibraryImport("libc", EntryPoint = "stat", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Stat(string path, [Out] byte[] buffer);
}

/// <summary>The physical failure domain of a location: the disk of a local path, the endpoint host of an object store.</summary>
/// <param name="Key">Equal keys fail together.</param>
/// <param name="Description">How to say it to a user ("the disk of /srv/a (device 2049)").</param>
internal sealed record FailureDomain(string Key, string Description)
{
    /// <summary>The domain of <paramref name="location"/>; relative paths are taken from <paramref name="baseDirectory"/>.</summary>
    public static FailureDomain? Of(PlanLocation location, string baseDirectory, IDeviceProbe probe)
    {
        switch (location.Kind)
        {
            case LocationKind.FileSystem:
                var path = LocalPath(location.Url, baseDirectory);
                return probe.DeviceOf(path) is { } device
                    ? new FailureDomain($"device:{device}", $"the same disk ({path} is on device {device})")
                    : null;
            case LocationKind.S3:
            case LocationKind.AzureBlob:
                var host = EndpointHost(location.Url, location.Kind);
                return new FailureDomain($"host:{host}", $"the same endpoint host {host}");
            default:
                return null;
        }
    }

    /// <summary>The absolute local path of a path or <c>file://</c> location.</summary>
    public static string LocalPath(string url, string baseDirectory)
    {
        if (url.StartsWith("file://", StringComparison.OrdinalIgnoreCase) && Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return uri.LocalPath;
        }

        return Path.GetFullPath(Path.Combine(baseDirectory, url));
    }

    /// <summary>The host an object-store location talks to: its <c>?endpoint=</c>, else the provider's default endpoint.</summary>
    internal static string EndpointHost(string url, LocationKind kind)
    {
        var query = url.IndexOf('?', StringComparison.Ordinal) is var q and >= 0 ? url[(q + 1)..] : "";
        string? region = null;
        foreach (var part in query.Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var (name, value) = eq < 0 ? (part, "") : (part[..eq], Uri.UnescapeDataString(part[(eq + 1)..]));
            if (name == "endpoint" && Uri.TryCreate(value, UriKind.Absolute, out var endpoint))
            {
                return Normalize(endpoint.Host);
            }

            if (name == "region")
            {
                region = value;
            }
        }

        // Without an endpoint, S3 goes to the region's AWS endpoint and Azure to the account named by the
        // environment (AZURE_STORAGE_ACCOUNT), so two such locations share it.
        return kind == LocationKind.S3
            ? $"s3.{region ?? "default-region"}.amazonaws.com"
            : "ACCOUNT.blob.core.windows.net (AZURE_STORAGE_ACCOUNT)";
    }

    private static string Normalize(string host) =>
        host.ToLowerInvariant() is "127.0.0.1" or "::1" or "[::1]" or "localhost" ? "localhost" : host.ToLowerInvariant();
}
