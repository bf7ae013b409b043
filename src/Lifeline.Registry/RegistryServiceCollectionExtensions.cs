using Lifeline.Registry.Apis;
using Lifeline.Registry.Store;
using Lifeline.Storage.FileSystem;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;

namespace Lifeline.Registry;

/// <summary>Registers the registry's services.</summary>
public static class RegistryServiceCollectionExtensions
{
    /// <summary>Adds the registry store (SQLite under the data directory, or PostgreSQL), its artifact store and auth.</summary>
    public static IServiceCollection AddRegistry(this IServiceCollection services, RegistryOptions options)
    {
        options.Validate();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(options);
        services.TryAddSingleton<IRegistryStore>(sp => RegistryStores.Open(options, sp.GetRequiredService<TimeProvider>()));
        services.TryAddSingleton(_ => new RegistryArtifacts(new FileSystemObjectStore(Path.Combine(options.DataDirectory, "artifacts"))));
        services.AddRegistryAuth(options);
        return services;
    }

    /// <summary>
    /// Adds the pipeline and maps the API: MLflow error bodies for every exception, routing, bearer authentication,
    /// authorization by the selected endpoint's policy (deny when it declares none), the endpoint's body limit, then
    /// the endpoint. Nothing reads a body before authorization has passed.
    /// </summary>
    public static WebApplication UseRegistry(this WebApplication app)
    {
        app.Use(RegistryErrors.HandleAsync);
        app.UseRouting();
        app.UseAuthentication();
        app.UseAuthorization();
        app.Use(RegistryErrors.RejectOversizedBodies);
        app.MapRegistryApi();
        return app;
    }

    /// <summary>Checks the database and applies migrations; a corrupt database throws <see cref="RegistryCorruptException"/>.</summary>
    public static async Task InitializeRegistryAsync(this WebApplication app, CancellationToken cancellationToken = default)
    {
        var store = app.Services.GetRequiredService<IRegistryStore>();
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Lifeline.Registry");
        try
        {
            await store.InitializeAsync(cancellationToken);
        }
        catch (RegistryCorruptException e)
        {
            Log.Corrupt(logger, e.Message);
            throw;
        }

        var artifacts = app.Services.GetRequiredService<RegistryArtifacts>();
        Log.Started(logger, store.Description, artifacts.Store.Location, await store.GetSchemaVersionAsync(cancellationToken));
    }
}

/// <summary>Opens the configured store.</summary>
internal static class RegistryStores
{
    public static IRegistryStore Open(RegistryOptions options, TimeProvider time) =>
        string.IsNullOrEmpty(options.PostgresConnectionString)
            ? new SqliteRegistryStore(Path.Combine(options.DataDirectory, "registry.db"), time)
            : new PostgresRegistryStore(options.PostgresConnectionString, time);
}
