using Lifeline.Registry.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Lifeline.Registry.Tests.Hosting;

public class RegistryServerHostTests
{
    // The default content root is the working directory and its appsettings.json reload watcher is recursive: under
    // `lifeline up` it held an inotify watch on every directory beneath the working directory, one more per new one.
    [Fact]
    public async Task StartAsync_WatchesNoFileOfTheWorkingDirectory_ContentRootIsTheAppAndNoConfigurationReloads()
    {
        using var dir = new TempDirectory();
        await using var app = await RegistryServer.StartAsync(new RegistryOptions { DataDirectory = dir.Path }, "http://127.0.0.1:0");

        Assert.Equal(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory), Path.TrimEndingDirectorySeparator(app.Services.GetRequiredService<IHostEnvironment>().ContentRootPath));
        var root = (IConfigurationRoot)app.Services.GetRequiredService<IConfiguration>();
        var reloading = root.Providers.OfType<JsonConfigurationProvider>().Where(p => p.Source.ReloadOnChange).Select(p => p.Source.Path).ToList();
        Assert.Empty(reloading);
    }
}
