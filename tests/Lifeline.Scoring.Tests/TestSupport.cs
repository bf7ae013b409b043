using System.Net.Http.Json;
using Lifeline.Scoring.Hosting;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Scoring.Tests;

/// <summary>A temporary directory per test, deleted afterwards.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lifeline-scoring-" + Guid.NewGuid().ToString("N"));

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>One model trained once per test run (5,000 synthetic leads, 100 trees), copied by tests that need an artifact.</summary>
internal static class TestModels
{
    private static readonly Lazy<Task<TrainedModel>> Trained = new(TrainAsync);

    public static Task<TrainedModel> GetAsync() => Trained.Value;

    private static async Task<TrainedModel> TrainAsync()
    {
        var dir = Path.Combine(Path.GetTempPath(), "lifeline-scoring-model-" + Guid.NewGuid().ToString("N"));
        var leads = SyntheticLeads.Generate(5000, seed: 7);
        return await new LeadModelTrainer(TimeProvider.System).TrainAsync(leads, "synthetic", "seed=7", new TrainingOptions(), dir, CancellationToken.None);
    }

    /// <summary>A directory model source holding <paramref name="versions"/> copies of the test model, the last one Production.</summary>
    public static async Task<DirectoryModelSource> SourceAsync(string root, int versions = 1, bool promoteAll = true)
    {
        var model = await GetAsync();
        var source = new DirectoryModelSource(root);
        for (var i = 0; i < versions; i++)
        {
            var version = await source.AddVersionAsync(model.ArtifactDirectory, CancellationToken.None);
            if (promoteAll || i == 0)
            {
                await source.PromoteAsync(version, CancellationToken.None);
            }
        }

        return source;
    }
}

/// <summary>A real scoring service on 127.0.0.1 (random port) with a fake clock.</summary>
internal sealed class ScoringServer : IAsyncDisposable
{
    private ScoringServer(WebApplication app, HttpClient client, FakeTimeProvider time)
    {
        App = app;
        Client = client;
        Time = time;
    }

    public WebApplication App { get; }

    public HttpClient Client { get; }

    public FakeTimeProvider Time { get; }

    public T Get<T>() where T : notnull => App.Services.GetRequiredService<T>();

    public static async Task<ScoringServer> StartAsync(
        IModelSource source, string directory, Action<ScoringOptions>? configure = null, Action<IServiceCollection>? services = null)
    {
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 11, 26, 12, 0, 0, TimeSpan.Zero));
        var app = ScoringHost.Build("http://127.0.0.1:0", o =>
        {
            o.CacheDirectory = Path.Combine(directory, "cache");
            o.SinkDirectory = Path.Combine(directory, "sinks");
            o.AdminToken = "test-admin-token";
            configure?.Invoke(o);
        }, s =>
        {
            s.AddSingleton<TimeProvider>(time);
            s.AddSingleton(source);
            services?.Invoke(s);
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var client = new HttpClient { BaseAddress = new Uri(address), Timeout = TimeSpan.FromSeconds(30) };
        return new ScoringServer(app, client, time);
    }

    public Task<HttpResponseMessage> PostJsonAsync(string path, string json, string contentType = "application/json") =>
        Client.PostAsync(path, new StringContent(json, System.Text.Encoding.UTF8, contentType));

    public async Task<T> GetJsonAsync<T>(string path) => (await Client.GetFromJsonAsync<T>(path))!;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>Waits for a condition with a deadline (no sleeps as synchronisation).</summary>
internal static class Eventually
{
    public static async Task TrueAsync(Func<Task<bool>> condition, string what, int seconds = 20)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            await Task.Yield();
            await Task.Delay(20);
        }

        Assert.Fail($"timed out after {seconds}s waiting for: {what}");
    }
}
