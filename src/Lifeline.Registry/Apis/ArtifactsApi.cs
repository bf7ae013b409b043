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

    public static string KeyOf(string path)
    {
        var clean = path.Trim('/');
        try
        {
            ObjectKeys.Validate(clean);
        }
        catch (ArgumentException)
        {
            throw MlflowException.Invalid($"Invalid path: '{path}'");
        }

        return Prefix + clean;
    }

    /// <summary>The immediate children of <paramref name="path"/> (names only), as MLflow's proxy lists them.</summary>
    public async Task<List<MlflowFileInfo>> ListAsync(string? path, CancellationToken ct)
    {
        var prefix = string.IsNullOrEmpty(path?.Trim('/')) ? Prefix : KeyOf(path) + "/";
        var files = new List<MlflowFileInfo>();
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
    public static void Map(IEndpointRouteBuilder app)
    {
        foreach (var prefix in new[] { "/api/2.0/mlflow-artifacts/artifacts", "/ajax-api/2.0/mlflow-artifacts/artifacts" })
        {
            app.MapGet(prefix, (Delegate)ListAsync);
            app.MapGet(prefix + "/{**path}", DownloadAsync);
            app.MapPut(prefix + "/{**path}", UploadAsync);
            app.MapDelete(prefix + "/{**path}", DeleteAsync);
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
