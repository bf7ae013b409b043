using System.Text.Json;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Http;
using Lifeline.Scoring.Hosting;
using Lifeline.Scoring.Sources;
using Lifeline.Scoring.Training;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Lifeline.Fuzzing.Surfaces;

/// <summary>
/// The scoring service's HTTP API (docs/scoring.md) on a real Kestrel at 127.0.0.1 (port 0), serving a small model
/// trained for the run, with its sinks writing JSON lines to the surface's directory.
/// </summary>
public sealed class ScoringSurface : IFuzzSurface
{
    public const string AdminToken = "fuzz-admin-token-0123456789";

    private const string Lead = """{"lead_id":"a","company_size":"51-200","industry":"Technology","page_views":3,"time_on_site":120.5,"form_completion_time":30.2,"referral_source":"Google","created_at":"2026-11-26T14:30:00Z"}""";

    private static readonly Dictionary<string, string?> Tokens = new(StringComparer.Ordinal)
    {
        ["none"] = null,
        ["admin"] = AdminToken,
        ["garbage"] = "not-the-admin-token",
    };

    private static readonly HttpTemplate[] Templates =
    [
        new() { Name = "score-lead", Method = "POST", Path = "/score-lead", Json = Lead, Weight = 8 },
        new() { Name = "score-lead-minimal", Method = "POST", Path = "/score-lead", Json = """{"lead_id":"a"}""", Weight = 2 },
        new() { Name = "score-leads", Method = "POST", Path = "/score-leads", Json = $$"""{"leads":[{{Lead}},{"lead_id":"b","page_views":0}]}""", Weight = 5 },
        new() { Name = "health", Method = "GET", Path = "/health" },
        new() { Name = "ready", Method = "GET", Path = "/health/ready" },
        new() { Name = "model-info", Method = "GET", Path = "/model-info" },
        new() { Name = "metrics", Method = "GET", Path = "/metrics" },
        new() { Name = "openapi", Method = "GET", Path = "/openapi/v1.json" },
        new() { Name = "rollback", Method = "POST", Path = "/admin/rollback", Json = """{"reason":"fuzz"}""", Token = "admin", Weight = 2 },
    ];

    private readonly FuzzDirectory _dir = new("scoring");
    private readonly HttpMutator _mutator;
    private WebApplication? _app;
    private Uri? _address;
    private long _answered;

    public ScoringSurface(int maxStringLength = 20_000)
    {
        _mutator = new HttpMutator(Tokens) { MaxStringLength = maxStringLength };
    }

    public string Name => "scoring";

    public bool MeasuresMemory => true;

    public Uri Address => _address ?? throw new InvalidOperationException("not started");

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var leads = SyntheticLeads.Generate(1000, seed: 11);
        var model = await new LeadModelTrainer(TimeProvider.System).TrainAsync(
            leads, "synthetic", "seed=11", new TrainingOptions { Trees = 10 }, _dir.Combine("model"), cancellationToken);
        var source = new DirectoryModelSource(_dir.Combine("registry"));
        var version = await source.AddVersionAsync(model.ArtifactDirectory, cancellationToken);
        await source.PromoteAsync(version, cancellationToken);
        _app = ScoringHost.Build("http://127.0.0.1:0", o =>
        {
            o.CacheDirectory = _dir.Combine("cache");
            o.SinkDirectory = _dir.Combine("sinks");
            o.AdminToken = AdminToken;
        }, s => s.AddSingleton<IModelSource>(source));
        await _app.StartAsync(cancellationToken);
        _address = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var ready = await RawHttpClient.SendAsync(_address, new HttpRequestSpec("GET", "/health/ready", [], null, "none"), TimeSpan.FromSeconds(5), cancellationToken);
            if (ready.Status == 200)
            {
                break;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException("the scoring service loaded no model within 60 s: " + ready.Describe());
            }

            await Task.Delay(50, cancellationToken);
        }
    }

    public FuzzCase Generate(FuzzRandom random, int index) => _mutator.Generate(Pick(random), random, index);

    private static HttpTemplate Pick(FuzzRandom r)
    {
        var roll = r.Next(Templates.Sum(t => t.Weight));
        foreach (var t in Templates)
        {
            if ((roll -= t.Weight) < 0)
            {
                return t;
            }
        }

        return Templates[0];
    }

    public async Task<FuzzOutcome> ExecuteAsync(FuzzCase input, CancellationToken cancellationToken)
    {
        var request = ((HttpCase)input).Request;
        var answer = await RawHttpClient.SendAsync(Address, request, RequestTimeout, cancellationToken);
        if (answer.Status is >= 200 and < 300 && request.Method == "POST")
        {
            Interlocked.Add(ref _answered, CountPredictions(answer));
        }

        return answer;
    }

    private static long CountPredictions(HttpOutcome answer)
    {
        try
        {
            using var doc = JsonDocument.Parse(answer.Body);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return 0;
            }

            if (root.TryGetProperty("predictions", out var p) && p.ValueKind == JsonValueKind.Array)
            {
                return p.GetArrayLength();
            }

            return root.TryGetProperty("lead_score", out _) ? 1 : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }

    public IReadOnlyList<Finding> Check(FuzzCase input, FuzzOutcome outcome)
    {
        var request = ((HttpCase)input).Request;
        var answer = (HttpOutcome)outcome;
        var findings = new List<Finding>();
        HttpOracles.Common(request, answer, findings);
        if (answer.TransportError is not null)
        {
            return findings;
        }

        if (answer.Status >= 400 && request.Method != "HEAD" && !IsProblemDetails(answer))
        {
            findings.Add(new Finding("problem-details", $"{answer.Status} is not a ProblemDetails (content type {answer.Header("Content-Type") ?? "none"})"));
        }

        var ok = answer.Status is >= 200 and < 300;
        if (ok && ScoringContract.Violation(request) is { } violation)
        {
            findings.Add(new Finding("contract-refuses", $"answered {answer.Status} although {violation}", Category(violation)));
        }

        var path = HttpOracles.CanonicalPath(request.Target);
        if (ok && path == "/admin/rollback" && request.Header("Authorization") is var auth && auth?.Contains(AdminToken, StringComparison.Ordinal) != true)
        {
            findings.Add(new Finding("admin-needs-token", $"POST /admin/rollback answered {answer.Status} with token '{request.TokenLabel}'"));
        }

        if (answer.Status == 200 && request.Method == "POST" && path == "/score-lead" && !ScoreInRange(answer))
        {
            findings.Add(new Finding("score-shape", "200 without a lead_score in [0,1]: " + HttpOracles.Trim(answer.BodyText)));
        }

        return findings;
    }

    /// <summary>The violation without its particulars (quoted values, numbers, field paths), to group findings by cause.</summary>
    private static string Category(string violation)
    {
        var text = System.Text.RegularExpressions.Regex.Replace(violation, "'[^']*'|\\d+|leads\\[\\d*\\]\\.|= [^ ]+", "");
        text = System.Text.RegularExpressions.Regex.Replace(text, "\\s+", " ").Trim();
        return text.Length > 70 ? text[..70] : text;
    }

    private static bool IsProblemDetails(HttpOutcome answer)
    {
        if (answer.Header("Content-Type")?.StartsWith("application/problem+json", StringComparison.OrdinalIgnoreCase) != true)
        {
            return false;
        }

        try
        {
            using var doc = JsonDocument.Parse(answer.Body);
            return doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("status", out var s) && s.TryGetInt32(out var n) && n == answer.Status;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static bool ScoreInRange(HttpOutcome answer)
    {
        try
        {
            using var doc = JsonDocument.Parse(answer.Body);
            return doc.RootElement.TryGetProperty("lead_score", out var s) && s.TryGetDouble(out var d) && d is >= 0 and <= 1;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>Predictions answered 2xx so far (counted from the answers).</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>Prediction records in the sink files so far (lines of predictions*.jsonl below the sink directory).</summary>
    public long Recorded()
    {
        var dir = _dir.Combine("sinks");
        if (!Directory.Exists(dir))
        {
            return 0;
        }

        long lines = 0;
        foreach (var file in Directory.EnumerateFiles(dir, "predictions*.jsonl", SearchOption.AllDirectories))
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[64 * 1024];
            int n;
            while ((n = stream.Read(buffer)) > 0)
            {
                lines += buffer.AsSpan(0, n).Count((byte)'\n');
            }
        }

        return lines;
    }

    /// <summary>Waits until every prediction answered so far is in the sink files (deadline 10 s), else reports the loss.</summary>
    public async Task<IReadOnlyList<Finding>> QuiesceAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (Recorded() < Answered && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50, cancellationToken);
        }

        var recorded = Recorded();
        return recorded >= Answered ? [] : [new Finding("predictions-recorded", $"{Answered} predictions answered 2xx, {recorded} recorded in the sink after 10 s")];
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        _dir.Dispose();
    }
}
