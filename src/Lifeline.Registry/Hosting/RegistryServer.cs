using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeline.Registry.Hosting;

/// <summary>A registry server on Kestrel: <c>lifeline registry serve</c>, the tests and the benchmark all start it this way.</summary>
public static class RegistryServer
{
    /// <summary>
    /// Builds, initialises (migrations, integrity check) and starts the server on <paramref name="urls"/>
    /// (e.g. <c>http://127.0.0.1:5100</c>; port 0 picks a free one). Dispose the returned app to stop it.
    /// <paramref name="configure"/> (tests) runs on the built app before the registry's pipeline: middleware it adds
    /// runs first, endpoints it maps join the registry's.
    /// </summary>
    public static async Task<WebApplication> StartAsync(RegistryOptions options, string urls, Action<ILoggingBuilder>? logging = null, TimeProvider? time = null, CancellationToken cancellationToken = default, Action<WebApplication>? configure = null)
    {
        // No appsettings.json watcher on the working directory: the default content root is the current directory, and
        // its reload-on-change watcher is recursive, so under `lifeline up` it held an inotify watch on every directory
        // beneath (the vaults, the lake, the work directories) and one more for each new one (docs/benchmarks.md,
        // "Soak"). Configuration comes from code, as in the scoring and status hosts.
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = ["--hostBuilder:reloadConfigOnChange=false"],
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Logging.ClearProviders();
        if (logging is not null)
        {
            logging(builder.Logging);
        }

        if (time is not null)
        {
            builder.Services.AddSingleton(time);
        }

        builder.WebHost.UseUrls(urls);
        // The default for a request no endpoint raises: each endpoint's BodyLimit metadata sets its own (artifact uploads more).
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxJsonBodyBytes);
        builder.Services.AddRegistry(options);
        var app = builder.Build();
        configure?.Invoke(app);
        app.UseRegistry();
        try
        {
            await app.InitializeRegistryAsync(cancellationToken);
            await app.StartAsync(cancellationToken);
        }
        catch
        {
            await app.DisposeAsync();
            throw;
        }

        return app;
    }

    /// <summary>The first address the server listens on, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public static Uri Address(this WebApplication app) =>
        new(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
}
