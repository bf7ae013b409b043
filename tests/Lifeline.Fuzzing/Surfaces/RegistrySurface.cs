using System.Text;
using System.Text.Json;
using Lifeline.Fuzzing.Core;
using Lifeline.Fuzzing.Http;
using Lifeline.Registry;
using Lifeline.Registry.Hosting;
using Microsoft.AspNetCore.Builder;

namespace Lifeline.Fuzzing.Surfaces;

/// <summary>
/// The registry's MLflow REST API and artifact proxy (docs/registry-api.md) on a real Kestrel at 127.0.0.1 (port 0)
/// with a SQLite store in the surface's directory, seeded with an experiment, a run, models, a version and an
/// artifact so that mutated requests reach past "not found".
/// </summary>
public sealed class RegistrySurface : IFuzzSurface
{
    private const string ReadToken = "fuzz-read-token-0123456789";
    private const string WriteToken = "fuzz-write-token-0123456789";
    private const string AdminToken = "fuzz-admin-token-0123456789";

    private static readonly Dictionary<string, string?> Tokens = new(StringComparer.Ordinal)
    {
        ["none"] = null,
        ["read"] = ReadToken,
        ["write"] = WriteToken,
        ["admin"] = AdminToken,
        ["garbage"] = "garbage-token-0123456789",
    };

    private static readonly Dictionary<string, Role> Roles = new(StringComparer.Ordinal)
    {
        [ReadToken] = Role.Read,
        [WriteToken] = Role.Write,
        [AdminToken] = Role.Admin,
    };

    private readonly FuzzDirectory _dir = new("registry");
    private readonly HttpMutator _mutator;
    private WebApplication? _app;
    private Uri? _address;
    private HttpTemplate[] _templates = [];
    private string _experiment = "0";
    private string _doomedExperiment = "0";
    private string _run = "r";

    public RegistrySurface(int maxStringLength = 20_000)
    {
        _mutator = new HttpMutator(Tokens) { MaxStringLength = maxStringLength };
    }

    public string Name => "registry";

    public bool MeasuresMemory => true;

    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(20);

    public Uri Address => _address ?? throw new InvalidOperationException("not started");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var options = new RegistryOptions
        {
            DataDirectory = _dir.Combine("data"),
            Tokens =
            [
                new RegistryToken { Token = ReadToken, Role = RegistryRole.Read },
                new RegistryToken { Token = WriteToken, Role = RegistryRole.Write },
                new RegistryToken { Token = AdminToken, Role = RegistryRole.Admin },
            ],
        };
        _app = await RegistryServer.StartAsync(options, "http://127.0.0.1:0", cancellationToken: cancellationToken);
        _address = _app.Address();
        _experiment = (await CallAsync("POST", "experiments/create", """{"name":"fuzz-exp"}""", cancellationToken)).GetProperty("experiment_id").GetString()!;
        _doomedExperiment = (await CallAsync("POST", "experiments/create", """{"name":"fuzz-doomed-exp"}""", cancellationToken)).GetProperty("experiment_id").GetString()!;
        var run = await CallAsync("POST", "runs/create", $$"""{"experiment_id":"{{_experiment}}","run_name":"seed"}""", cancellationToken);
        _run = run.GetProperty("run").GetProperty("info").GetProperty("run_id").GetString()!;
        await CallAsync("POST", "runs/log-metric", $$"""{"run_id":"{{_run}}","key":"m","value":0.5,"timestamp":1700000000000,"step":1}""", cancellationToken);
        await CallAsync("POST", "registered-models/create", """{"name":"fuzz-model"}""", cancellationToken);
        await CallAsync("POST", "model-versions/create", $$"""{"name":"fuzz-model","source":"runs:/{{_run}}/model","run_id":"{{_run}}"}""", cancellationToken);
        await PutArtifactAsync($"{_experiment}/{_run}/artifacts/model/data.txt", cancellationToken);
        await RepairAsync(cancellationToken);
        _templates = BuildTemplates();
    }

    /// <summary>Puts back what admin deletes in the valid templates removed (each call may fail harmlessly).</summary>
    private async Task RepairAsync(CancellationToken cancellationToken)
    {
        await SendAsync("POST", "experiments/restore", $$"""{"experiment_id":"{{_doomedExperiment}}"}""", cancellationToken);
        await SendAsync("POST", "experiments/restore", $$"""{"experiment_id":"{{_experiment}}"}""", cancellationToken);
        await SendAsync("POST", "runs/restore", $$"""{"run_id":"{{_run}}"}""", cancellationToken);
        await SendAsync("POST", "registered-models/create", """{"name":"fuzz-doomed"}""", cancellationToken);
        await SendAsync("POST", "model-versions/create", $$"""{"name":"fuzz-doomed","source":"runs:/{{_run}}/model"}""", cancellationToken);
        await SendAsync("POST", "registered-models/create", """{"name":"fuzz-model"}""", cancellationToken);
        await PutArtifactAsync($"{_experiment}/{_run}/artifacts/model/data.txt", cancellationToken);
    }

    private HttpTemplate[] BuildTemplates()
    {
        var (e, d, r) = (_experiment, _doomedExperiment, _run);
        var art = $"{RegistryContract.ArtifactsPrefix}/{e}/{r}/artifacts";
        HttpTemplate Post(string name, string json, string token = "write", int weight = 1, string method = "POST") =>
            new() { Name = name, Method = method, Path = RegistryContract.RestPrefix + name, Json = json, Token = token, Weight = weight };
        HttpTemplate Get(string name, params (string Key, string Value)[] query) =>
            new() { Name = name, Method = "GET", Path = RegistryContract.RestPrefix + name, Query = [.. query.Select(q => new KeyValuePair<string, string>(q.Key, Uri.EscapeDataString(q.Value)))] };
        return
        [
            Post("experiments/create", """{"name":"fuzz-new","tags":[{"key":"k","value":"v"}]}"""),
            Get("experiments/get", ("experiment_id", e)),
            Get("experiments/get-by-name", ("experiment_name", "fuzz-exp")),
            Post("experiments/search", """{"max_results":10,"filter":"name LIKE 'fuzz%'","view_type":"ALL"}""", "none"),
            Get("experiments/search", ("max_results", "10"), ("filter", "name LIKE '%fuzz%'")),
            Post("experiments/update", $$"""{"experiment_id":"{{e}}","new_name":"fuzz-exp"}"""),
            Post("experiments/set-experiment-tag", $$"""{"experiment_id":"{{e}}","key":"k","value":"v"}"""),
            Post("experiments/delete", $$"""{"experiment_id":"{{d}}"}""", "admin"),
            Post("experiments/restore", $$"""{"experiment_id":"{{d}}"}"""),
            Post("runs/create", $$"""{"experiment_id":"{{e}}","run_name":"r","start_time":1700000000000,"user_id":"u","tags":[{"key":"k","value":"v"}]}""", weight: 2),
            Get("runs/get", ("run_id", r)),
            Post("runs/update", $$"""{"run_id":"{{r}}","status":"RUNNING","end_time":1700000000000,"run_name":"seed"}"""),
            Post("runs/log-metric", $$"""{"run_id":"{{r}}","key":"m","value":0.5,"timestamp":1700000000000,"step":1}""", weight: 2),
            Post("runs/log-parameter", $$"""{"run_id":"{{r}}","key":"p","value":"1"}"""),
            Post("runs/set-tag", $$"""{"run_id":"{{r}}","key":"k","value":"v"}"""),
            Post("runs/delete-tag", $$"""{"run_id":"{{r}}","key":"k"}"""),
            Post("runs/log-batch", $$"""{"run_id":"{{r}}","metrics":[{"key":"m","value":1.0,"timestamp":1700000000000,"step":0}],"params":[{"key":"p","value":"1"}],"tags":[{"key":"t","value":"v"}]}""", weight: 3),
            Post("runs/search", $$"""{"experiment_ids":["{{e}}"],"filter":"metrics.m > 0","max_results":10,"order_by":["metrics.m DESC"]}""", "none", 2),
            Get("metrics/get-history", ("run_id", r), ("metric_key", "m")),
            Get("artifacts/list", ("run_id", r), ("path", "model")),
            Post("registered-models/create", """{"name":"fuzz-new-model","description":"d","tags":[{"key":"k","value":"v"}]}"""),
            Get("registered-models/get", ("name", "fuzz-model")),
            Post("registered-models/rename", """{"name":"fuzz-model","new_name":"fuzz-model"}"""),
            Post("registered-models/update", """{"name":"fuzz-model","description":"x"}""", method: "PATCH"),
            Post("registered-models/delete", """{"name":"fuzz-doomed"}""", "admin", method: "DELETE"),
            Get("registered-models/search", ("filter", "name LIKE '%fuzz%'"), ("max_results", "10")),
            Post("registered-models/get-latest-versions", """{"name":"fuzz-model","stages":["Production","staging"]}""", "none"),
            Post("registered-models/set-tag", """{"name":"fuzz-model","key":"k","value":"v"}"""),
            Post("registered-models/delete-tag", """{"name":"fuzz-model","key":"k"}""", method: "DELETE"),
            Post("registered-models/alias", """{"name":"fuzz-model","alias":"champion","version":"1"}"""),
            Get("registered-models/alias", ("name", "fuzz-model"), ("alias", "champion")),
            Post("registered-models/alias", """{"name":"fuzz-model","alias":"champion"}""", method: "DELETE"),
            Post("model-versions/create", $$"""{"name":"fuzz-model","source":"runs:/{{r}}/model","run_id":"{{r}}","description":"d","tags":[{"key":"k","value":"v"}]}"""),
            Get("model-versions/get", ("name", "fuzz-model"), ("version", "1")),
            Post("model-versions/update", """{"name":"fuzz-model","version":"1","description":"x"}""", method: "PATCH"),
            Post("model-versions/delete", """{"name":"fuzz-doomed","version":"1"}""", "admin", method: "DELETE"),
            Get("model-versions/search", ("filter", "name='fuzz-model'")),
            Post("model-versions/transition-stage", """{"name":"fuzz-model","version":"1","stage":"Staging","archive_existing_versions":false}"""),
            Post("model-versions/set-tag", """{"name":"fuzz-model","version":"1","key":"k","value":"v"}"""),
            Post("model-versions/delete-tag", """{"name":"fuzz-model","version":"1","key":"k"}""", method: "DELETE"),
            Get("model-versions/get-download-uri", ("name", "fuzz-model"), ("version", "1")),
            new() { Name = "ajax experiments/get", Method = "GET", Path = RegistryContract.AjaxPrefix + "experiments/get", Query = [new("experiment_id", e)] },
            new() { Name = "ajax runs/set-tag", Method = "POST", Path = RegistryContract.AjaxPrefix + "runs/set-tag", Json = $$"""{"run_id":"{{r}}","key":"k","value":"v"}""", Token = "write" },
            new() { Name = "artifact-put", Method = "PUT", Path = art + "/model/data.txt", RawBody = "hello"u8.ToArray(), ContentType = "application/octet-stream", Token = "write", Weight = 3 },
            new() { Name = "artifact-put-search-name", Method = "PUT", Path = art + "/x/mlflow/runs/search", RawBody = "x"u8.ToArray(), ContentType = "application/octet-stream", Token = "write" },
            new() { Name = "artifact-put-under-file", Method = "PUT", Path = art + "/model/data.txt/child.txt", RawBody = "x"u8.ToArray(), ContentType = "application/octet-stream", Token = "write" },
            new() { Name = "artifact-put-over-folder", Method = "PUT", Path = art + "/model", RawBody = "x"u8.ToArray(), ContentType = "application/octet-stream", Token = "write" },
            new() { Name = "artifact-put-long-segment", Method = "PUT", Path = art + "/" + new string('s', 300), RawBody = "x"u8.ToArray(), ContentType = "application/octet-stream", Token = "write" },
            new() { Name = "artifact-put-temp-name", Method = "PUT", Path = art + "/.tmp-1234", RawBody = "x"u8.ToArray(), ContentType = "application/octet-stream", Token = "write" },
            new() { Name = "artifact-get", Method = "GET", Path = art + "/model/data.txt", Weight = 2 },
            new() { Name = "artifact-list", Method = "GET", Path = RegistryContract.ArtifactsPrefix, Query = [new("path", $"{e}/{r}/artifacts")] },
            new() { Name = "artifact-delete", Method = "DELETE", Path = art + "/tmp/x.txt", Token = "write" },
            new() { Name = "unknown-endpoint", Method = "POST", Path = RegistryContract.RestPrefix + "runs/log-model", Json = "{}", Token = "write" },
        ];
    }

    public FuzzCase Generate(FuzzRandom random, int index)
    {
        var roll = random.Next(_templates.Sum(t => t.Weight));
        var template = _templates[0];
        foreach (var t in _templates)
        {
            if ((roll -= t.Weight) < 0)
            {
                template = t;
                break;
            }
        }

        return _mutator.Generate(template, random, index);
    }

    public async Task<FuzzOutcome> ExecuteAsync(FuzzCase input, CancellationToken cancellationToken)
    {
        if (input.Index % 100 == 99)
        {
            await RepairAsync(cancellationToken);
        }

        return await RawHttpClient.SendAsync(Address, ((HttpCase)input).Request, RequestTimeout, cancellationToken);
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

        if (answer.Status >= 400 && request.Method != "HEAD" && answer.Body.Length > 0 && !RegistryContract.IsMlflowError(answer.Body))
        {
            findings.Add(new Finding("mlflow-error-body", $"{answer.Status} body is not {{\"error_code\",\"message\"}}: {HttpOracles.Trim(answer.BodyText)}"));
        }

        if (answer.Status is >= 200 and < 300)
        {
            var required = RegistryContract.Required(request);
            var presented = RegistryContract.Presented(request, Roles);
            if (presented < required)
            {
                var oracle = presented == Role.None && required >= Role.Write ? "write-needs-token" : "role-enforced";
                findings.Add(new Finding(oracle, $"{request.Method} {HttpOracles.Trim(request.Target)} answered {answer.Status} with token '{request.TokenLabel}' ({presented}); needs {required}"));
            }
        }

        return findings;
    }

    public Task<IReadOnlyList<Finding>> QuiesceAsync(CancellationToken cancellationToken) => Task.FromResult<IReadOnlyList<Finding>>([]);

    private async Task<HttpOutcome> SendAsync(string method, string endpoint, string json, CancellationToken cancellationToken) =>
        await RawHttpClient.SendAsync(Address, new HttpRequestSpec(method, RegistryContract.RestPrefix + endpoint,
            [new("Content-Type", "application/json"), new("Authorization", "Bearer " + AdminToken)], Encoding.UTF8.GetBytes(json), "admin"), RequestTimeout, cancellationToken);

    private async Task<JsonElement> CallAsync(string method, string endpoint, string json, CancellationToken cancellationToken)
    {
        var answer = await SendAsync(method, endpoint, json, cancellationToken);
        if (answer.Status != 200)
        {
            throw new InvalidOperationException($"seeding the registry: {method} {endpoint} gave {answer.Describe()}");
        }

        return JsonDocument.Parse(answer.Body).RootElement.Clone();
    }

    private async Task PutArtifactAsync(string path, CancellationToken cancellationToken) =>
        await RawHttpClient.SendAsync(Address, new HttpRequestSpec("PUT", $"{RegistryContract.ArtifactsPrefix}/{path}",
            [new("Content-Type", "application/octet-stream"), new("Authorization", "Bearer " + AdminToken)], "seed"u8.ToArray(), "admin"), RequestTimeout, cancellationToken);

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
