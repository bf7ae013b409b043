using Lifeline.Registry.Contracts;
using Lifeline.Registry.Store;
using Lifeline.Storage;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Lifeline.Registry.Apis;

/// <summary>The object store that holds the registry's artifacts (kept apart from any other IObjectStore in the container).</summary>
internal sealed record RegistryArtifacts(IObjectStore Store)
{
    /// <summary>Artifacts live under this key prefix; the rest of the key is the mlflow-artifacts path.</summary>
    public const string Prefix = "artifacts/";

    /// <summary>Longest name of one path segment, in UTF-8 bytes (what file systems allow).</summary>
    public const int MaxSegmentBytes = 255;

    /// <summary>Longest artifact path, in UTF-8 bytes.</summary>
    public const int MaxPathBytes = 1024;

    /// <summary>Names the file-system store gives its temporary files; reserved, so refused as artifact names.</summary>
    public const string ReservedPrefix = ".tmp-";

    /// <summary>
    /// The store key of an mlflow-artifacts path, or <c>INVALID_PARAMETER_VALUE</c> naming what is wrong: empty, '.' or
    /// '..' segments, backslashes or NUL, a segment over <see cref="MaxSegmentBytes"/> bytes, a path over
    /// <see cref="MaxPathBytes"/> bytes, or a name starting with <see cref="ReservedPrefix"/>.
    /// </summary>
    public static string KeyOf(string path)
    {
        var clean = path.Trim('/');
        try
        {
            ObjectKeys.Validate(clean);
        }
        catch (ArgumentException)
        {
            throw MlflowException.Invalid($"Invalid artifact path '{path}': use a relative '/'-separated path without empty, '.' or '..' segments, backslashes or NUL.");
        }

        if (System.Text.Encoding.UTF8.GetByteCount(clean) > MaxPathBytes)
        {
            throw MlflowException.Invalid($"Invalid artifact path: longer than {MaxPathBytes} bytes.");
        }

        foreach (var segment in clean.Split('/'))
        {
            if (System.Text.Encoding.UTF8.GetByteCount(segment) > MaxSegmentBytes)
            {
                throw MlflowException.Invalid($"Invalid artifact path '{path}': a name is longer than {MaxSegmentBytes} bytes.");
            }

            if (segment.StartsWith(ReservedPrefix, StringComparison.Ordinal))
            {
                throw MlflowException.Invalid($"Invalid artifact path '{path}': names starting with '{ReservedPrefix}' are reserved for the store's temporary files.");
            }
        }

        return Prefix + clean;
    }

    /// <summary>
    /// Refuses a write that the store cannot hold: a file below an existing file ("a/b" exists, put "a/b/c"), or a file
    /// where a folder of other artifacts is ("a/b/c" exists, put "a/b"). Both <c>INVALID_PARAMETER_VALUE</c>.
    /// </summary>
    public async Task CheckWritableAsync(string key, CancellationToken ct)
    {
        for (var slash = key.IndexOf('/', Prefix.Length); slash > 0; slash = key.IndexOf('/', slash + 1))
        {
            if (await Store.StatAsync(key[..slash], ct) is not null)
            {
                throw MlflowException.Invalid($"Cannot write artifact '{key[Prefix.Length..]}': '{key[Prefix.Length..slash]}' is a file, not a folder.");
            }
        }

        await foreach (var _ in Store.ListAsync(key + "/", ct))
        {
            throw MlflowException.Invalid($"Cannot write artifact '{key[Prefix.Length..]}': it is a folder of other artifacts.");
        }
    }

    /// <summary>True when some ancestor of <paramref name="key"/> is a file (then nothing can exist below it).</summary>
    public async Task<bool> BelowAFileAsync(string key, CancellationToken ct)
    {
        for (var slash = key.IndexOf('/', Prefix.Length); slash > 0; slash = key.IndexOf('/', slash + 1))
        {
            if (await Store.StatAsync(key[..slash], ct) is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The immediate children of <paramref name="path"/> (names only), as MLflow's proxy lists them.</summary>
    public async Task<List<MlflowFileInfo>> ListAsync(string? path, CancellationToken ct)
    {
        var prefix = string.IsNullOrEmpty(path?.Trim('/')) ? Prefix : KeyOf(path) + "/";
        var files = new List<MlflowFileInfo>();
        if (prefix != Prefix && await BelowAFileAsync(prefix + "x", ct))
        {
            return files; // the path is a file, or below one: no children
        }

        var dirs = new SortedSet<string>(StringComparer.Ordinal);
        await foreach (var info in Store.ListAsync(prefix, ct))
        {
            var rest = info.Key[prefix.Length..];
            var slash = rest.IndexOf('/');
            if (slash < 0)
            {
                files.Add(new MlflowFileInfo { Path = rest, IsDir = false, FileSize = info.Size });
            }
            else
            {
                dirs.Add(rest[..slash]);
            }
        }

        return files.Concat(dirs.Select(d => new MlflowFileInfo { Path = d, IsDir = true }))
            .OrderBy(f => f.Path, StringComparer.Ordinal).ToList();
    }
}

/// <summary>
/// The artifact proxy of <c>mlflow server --serve-artifacts</c>: <c>/api/2.0/mlflow-artifacts/artifacts/{path}</c> GET
/// downloads, PUT uploads, DELETE deletes; GET <c>/api/2.0/mlflow-artifacts/artifacts?path=</c> lists one level.
/// </summary>
internal static class ArtifactsApi
{
    /// <summary>
    /// Maps the proxy: listing and download under the read policy, upload and delete under the write policy. Uploads
    /// accept bodies up to <see cref="RegistryOptions.MaxArtifactBytes"/>; everything else the JSON limit. The path is
    /// validated (and, for uploads, checked against existing files and folders) before the handler runs.
    /// </summary>
    public static void Map(IEndpointRouteBuilder app)
    {
        var options = app.ServiceProvider.GetRequiredService<RegistryOptions>();
        foreach (var prefix in new[] { "/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts" })
        {
            var proxy = app.MapGroup(prefix).WithMetadata(new BodyLimit(options.MaxJsonBodyBytes));
            var read = proxy.MapGroup("").RequireAuthorization(RegistryPolicies.Read);
            var write = proxy.MapGroup("").RequireAuthorization(RegistryPolicies.Write);
            read.MapGet("", (Delegate)ListAsync);
            read.MapGet("/{**path}", DownloadAsync).AddEndpointFilter(ValidatePathAsync);
            write.MapPut("/{**path}", UploadAsync).AddEndpointFilter(ValidateUploadAsync).WithMetadata(new BodyLimit(options.MaxArtifactBytes));
            write.MapDelete("/{**path}", DeleteAsync).AddEndpointFilter(ValidatePathAsync);
        }
    }

    private static async ValueTask<object?> ValidatePathAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var key = RegistryArtifacts.KeyOf(context.HttpContext.GetRouteValue("path") as string ?? "");
        var artifacts = context.HttpContext.RequestServices.GetRequiredService<RegistryArtifacts>();
        if (await artifacts.BelowAFileAsync(key, context.HttpContext.RequestAborted))
        {
            return HttpMethods.IsDelete(context.HttpContext.Request.Method)
                ? TypedResults.Json(new EmptyResponse(), MlflowJson.Options) // nothing can exist below a file: already deleted
                : RegistryApi.Error(ErrorCodes.ResourceDoesNotExist, $"Artifact '{key[RegistryArtifacts.Prefix.Length..]}' not found");
        }

        return await next(context);
    }

    private static async ValueTask<object?> ValidateUploadAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var key = RegistryArtifacts.KeyOf(context.HttpContext.GetRouteValue("path") as string ?? "");
        var artifacts = context.HttpContext.RequestServices.GetRequiredService<RegistryArtifacts>();
        await artifacts.CheckWritableAsync(key, context.HttpContext.RequestAborted);
        try
        {
            return await next(context);
        }
        catch (InvalidOperationException)
        {
            // IObjectStore's documented folder conflict ("a/b" next to "a/b/c"), reached when a concurrent upload made
            // the path clash after the check above: the same 400 the check gives.
            throw MlflowException.Invalid($"Cannot write artifact '{key[RegistryArtifacts.Prefix.Length..]}': a concurrent upload made it clash with a file or folder of the same name.");
        }
        catch (IOException)
        {
            // A concurrent upload turned a folder on the path into a file while this one was being written (the
            // store then fails to create its temporary file): the check names that file; anything else is unforeseen.
            await artifacts.CheckWritableAsync(key, context.HttpContext.RequestAborted);
            throw;
        }
    }

    private static async Task<IResult> ListAsync(HttpContext context)
    {
        try
        {
            var artifacts = context.RequestServices.GetRequiredService<RegistryArtifacts>();
            var files = await artifacts.ListAsync(context.Request.Query["path"].ToString(), context.RequestAborted);
            return TypedResults.Json(new ListArtifactsResponse { Files = files }, MlflowJson.Options);
        }
        catch (MlflowException e)
        {
            return RegistryApi.Error(e.ErrorCode, e.Message);
        }
    }

    private static async Task<IResult> DownloadAsync(string path, HttpContext context)
    {
        try
        {
            var artifacts = context.RequestServices.GetRequiredService<RegistryArtifacts>();
            // Streamed from the store to the response: memory stays at one buffer whatever the artifact's size.
            var stream = await artifacts.Store.OpenReadAsync(RegistryArtifacts.KeyOf(path), cancellationToken: context.RequestAborted);
            context.Response.ContentLength = stream.Length;
            return TypedResults.Stream(stream, "application/octet-stream");
        }
        catch (ObjectNotFoundException)
        {
            return RegistryApi.Error(ErrorCodes.ResourceDoesNotExist, $"Artifact '{path}' not found");
        }
        catch (MlflowException e)
        {
            return RegistryApi.Error(e.ErrorCode, e.Message);
        }
    }

    private static async Task<IResult> UploadAsync(string path, HttpContext context)
    {
        try
        {
            var key = RegistryArtifacts.KeyOf(path);
            var artifacts = context.RequestServices.GetRequiredService<RegistryArtifacts>();
            // Streamed from the request to the store (bounded memory); an upload that breaks off stores nothing.
            await artifacts.Store.PutStreamAsync(key, context.Request.Body, context.RequestAborted);
            return TypedResults.Json(new EmptyResponse(), MlflowJson.Options);
        }
        catch (MlflowException e)
        {
            return RegistryApi.Error(e.ErrorCode, e.Message);
        }
    }

    private static async Task<IResult> DeleteAsync(string path, HttpContext context)
    {
        try
        {
            var artifacts = context.RequestServices.GetRequiredService<RegistryArtifacts>();
            var key = RegistryArtifacts.KeyOf(path);
            await artifacts.Store.DeleteAsync(key, context.RequestAborted);
            await foreach (var info in artifacts.Store.ListAsync(key + "/", context.RequestAborted))
            {
                await artifacts.Store.DeleteAsync(info.Key, context.RequestAborted);
            }

            return TypedResults.Json(new EmptyResponse(), MlflowJson.Options);
        }
        catch (MlflowException e)
        {
            return RegistryApi.Error(e.ErrorCode, e.Message);
        }
    }

    /// <summary>GET /api/2.0/mlflow/artifacts/list?run_id=&amp;path=: a run's artifacts, paths relative to the run's root.</summary>
    public static async Task<IResult> ListRunArtifactsAsync(HttpContext context)
    {
        try
        {
            var query = context.Request.Query;
            var runId = query["run_id"].ToString() is { Length: > 0 } id ? id : query["run_uuid"].ToString();
            var store = context.RequestServices.GetRequiredService<IRegistryStore>();
            var run = await store.GetRunAsync(runId, context.RequestAborted);
            var root = Client.MlflowClient.ProxyPathOf(run.Info.ArtifactUri)
                ?? throw MlflowException.Invalid($"The run's artifact URI {run.Info.ArtifactUri} is not served by this registry");
            var relative = query["path"].ToString().Trim('/');
            var artifacts = context.RequestServices.GetRequiredService<RegistryArtifacts>();
            var files = await artifacts.ListAsync(relative.Length == 0 ? root : root + "/" + relative, context.RequestAborted);
            return TypedResults.Json(new ListArtifactsResponse
            {
                RootUri = run.Info.ArtifactUri,
                Files = files.Select(f => f with { Path = relative.Length == 0 ? f.Path : relative + "/" + f.Path }).ToList(),
            }, MlflowJson.Options);
        }
        catch (MlflowException e)
        {
            return RegistryApi.Error(e.ErrorCode, e.Message);
        }
    }
}
