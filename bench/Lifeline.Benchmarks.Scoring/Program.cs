using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Running;
using Lifeline.Scoring.Features;
using Lifeline.Scoring.Models;
using Lifeline.Scoring.Training;
using Microsoft.ML;

if (args is ["spool", ..])
{
    // `-- spool [RECORDS=200000] [WRITERS=16]`: the durable spool path alone, load-independent (docs/benchmarks.md)
    await SpoolPathLoad.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200_000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 16);
    return;
}

if (args is ["loopback", ..])
{
    // `-- loopback [REQUESTS=200000] [CONNECTIONS=16] [sinks|nosinks] [ROUNDS=3]`: CPU and allocations per request of the real service
    int Arg(int i, int fallback) => args.Length > i ? int.Parse(args[i], System.Globalization.CultureInfo.InvariantCulture) : fallback;
    await LoopbackLoad.RunAsync(Arg(1, 200_000), Arg(2, 16), args.Length <= 3 || args[3] != "nosinks", Arg(4, 3));
    return;
}

BenchmarkSwitcher.FromAssembly(typeof(ScorerBenchmarks).Assembly).Run(args);

/// <summary>One lead scored by the compiled trees vs ML.NET's pooled PredictionEngine (same 100-tree model).</summary>
[MemoryDiagnoser]
public class ScorerBenchmarks
{
    private TreeEnsembleLeadModel _compiled = null!;
    private PooledEngineLeadModel _pooled = null!;
    private readonly float[] _features = new float[LeadFeatures.Count];
    private string _dir = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "lifeline-scoring-bench-" + Guid.NewGuid().ToString("N"));
        var trained = new LeadModelTrainer(TimeProvider.System)
            .TrainAsync(SyntheticLeads.Generate(20_000, 1), "synthetic", "seed=1", new TrainingOptions(), _dir, CancellationToken.None)
            .GetAwaiter().GetResult();
        var context = new MLContext(seed: 0);
        using var stream = File.OpenRead(Path.Combine(trained.ArtifactDirectory, ModelArtifact.ModelFile));
        var transformer = context.Model.Load(stream, out _);
        _compiled = TreeEnsembleLeadModel.TryCompile(transformer)!;
        _pooled = new PooledEngineLeadModel(context, transformer);
        LeadFeatures.Map("Medium", "Healthcare", 17, 243.8, 20.4, "Social Media", _features);
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark(Baseline = true)]
    public float PooledPredictionEngine() => _pooled.Score(_features);

    [Benchmark]
    public float CompiledTrees() => _compiled.Score(_features);
}

/// <summary>The request path's own work for one lead, without HTTP: parse, validate, map + score, serialise.</summary>
[MemoryDiagnoser]
public class RequestPathBenchmarks
{
    private static readonly byte[] Body = System.Text.Encoding.UTF8.GetBytes(
        """{"lead_id":"lead_000001","company_size":"Medium","industry":"Healthcare","page_views":17,"time_on_site":243.8,"form_completion_time":20.4,"referral_source":"Social Media","created_at":"2024-12-04T03:24:08Z"}""");

    private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(512);
    private TreeEnsembleLeadModel _model = null!;
    private string _dir = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "lifeline-scoring-bench-" + Guid.NewGuid().ToString("N"));
        var trained = new LeadModelTrainer(TimeProvider.System)
            .TrainAsync(SyntheticLeads.Generate(20_000, 1), "synthetic", "seed=1", new TrainingOptions(), _dir, CancellationToken.None)
            .GetAwaiter().GetResult();
        _model = (TreeEnsembleLeadModel)trained.Model;
    }

    [GlobalCleanup]
    public void Cleanup() => Directory.Delete(_dir, recursive: true);

    [Benchmark]
    public int ParseValidateScoreSerialize()
    {
        var lead = System.Text.Json.JsonSerializer.Deserialize(Body, Lifeline.Scoring.ScoringJsonContext.Default.ScoreLeadRequest)!;
        if (Lifeline.Scoring.Apis.LeadScorer.Validate(lead, "") is not null)
        {
            return -1;
        }

        Span<float> features = stackalloc float[LeadFeatures.Count];
        LeadFeatures.Map(lead.CompanySize, lead.Industry, lead.PageViews, lead.TimeOnSite, lead.FormCompletionTime, lead.ReferralSource, features);
        var score = _model.Score(features);
        var response = new Lifeline.Scoring.Apis.ScoreLeadResponse(lead.LeadId!, score, LeadFeatures.Category(score), "1", DateTimeOffset.UtcNow, 0.0123);
        _buffer.ResetWrittenCount();
        using var writer = new System.Text.Json.Utf8JsonWriter(_buffer);
        System.Text.Json.JsonSerializer.Serialize(writer, response, Lifeline.Scoring.ScoringJsonContext.Default.ScoreLeadResponse);
        return _buffer.WrittenCount;
    }
}

/// <summary>
/// The durable spool's cost on the request path: serialise one prediction record and append it (one pwrite when
/// alone; concurrent appends share one write). Run with <c>--filter *Spool*</c>; the whole-process cost is in
/// bench/scoring-vs-fastapi.sh.
/// </summary>
[MemoryDiagnoser]
public class SpoolBenchmarks
{
    private static readonly Lifeline.Scoring.Sinks.PredictionRecord Record = new("lead_000001", 0.42, "Medium", "1", DateTimeOffset.UnixEpoch, 0.05)
    {
        CompanySize = "Medium",
        Industry = "Healthcare",
        PageViews = 17,
        TimeOnSite = 243.8,
        FormCompletionTime = 20.4,
        ReferralSource = "Social Media",
        CreatedAt = "2024-12-04T03:24:08Z",
    };

    private readonly System.Buffers.ArrayBufferWriter<byte> _buffer = new(512);
    private Lifeline.Scoring.Sinks.Spool _spool = null!;
    private string _dir = "";

    [GlobalSetup]
    public void Setup()
    {
        _dir = Path.Combine(Path.GetTempPath(), "lifeline-spool-bench-" + Guid.NewGuid().ToString("N"));
        _spool = Lifeline.Scoring.Sinks.Spool.Open(new Lifeline.Scoring.Sinks.SpoolOptions { Directory = _dir, MaxBytes = long.MaxValue / 4 }, TimeProvider.System);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _spool.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    [Benchmark]
    public async Task SerialiseAndAppendOne()
    {
        _buffer.ResetWrittenCount();
        using (var writer = new System.Text.Json.Utf8JsonWriter(_buffer))
        {
            System.Text.Json.JsonSerializer.Serialize(writer, Record, Lifeline.Scoring.ScoringJsonContext.Default.PredictionRecord);
        }

        await _spool.TryAppend(_buffer.WrittenSpan, [_buffer.WrittenCount])!;
    }

    [Benchmark(OperationsPerInvoke = 64)]
    public Task AppendSixtyFourConcurrently() =>
        Task.WhenAll(Enumerable.Range(0, 64).Select(_ => Task.Run(() =>
        {
            var payload = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(Record, Lifeline.Scoring.ScoringJsonContext.Default.PredictionRecord);
            return _spool.TryAppend(payload, [payload.Length])!;
        })));
}

/// <summary>
/// The spool path without HTTP: WRITERS concurrent writers record predictions as the request path does
/// (<see cref="Lifeline.Scoring.Sinks.PredictionLog.TryRecord(Lifeline.Scoring.Sinks.PredictionRecord)"/>, awaiting each write round)
/// while the drainer moves them to a JSON-lines sink, then a graceful stop. Prints records, CPU seconds per 100k
/// records, GC collections per generation and bytes allocated per record: figures that depend on the code, not on how
/// busy the machine is (unlike requests/s). To compare builds, run the same harness with another Lifeline.Scoring.dll.
/// </summary>
internal static class SpoolPathLoad
{
    public static async Task RunAsync(int records, int writers)
    {
        var dir = Path.Combine(Path.GetTempPath(), "lifeline-spool-load-" + Guid.NewGuid().ToString("N"));
        try
        {
            var options = new Lifeline.Scoring.ScoringOptions { SinkDirectory = dir };
            var sink = new Lifeline.Scoring.Sinks.JsonLinesPredictionSink(Path.Combine(dir, "predictions.jsonl"));
            var log = new Lifeline.Scoring.Sinks.PredictionLog(sink, options, TimeProvider.System, new Lifeline.Scoring.ScoringMetrics(),
                new Lifeline.Scoring.Failover.LoggingAlertSink(Microsoft.Extensions.Logging.Abstractions.NullLogger<Lifeline.Scoring.Failover.LoggingAlertSink>.Instance),
                Microsoft.Extensions.Logging.Abstractions.NullLogger<Lifeline.Scoring.Sinks.PredictionLog>.Instance);
            await log.StartAsync(CancellationToken.None);
            await WriteAsync(log, 5_000, writers); // warm-up: JIT, buffers
            var process = System.Diagnostics.Process.GetCurrentProcess();
            process.Refresh();
            var cpu0 = process.TotalProcessorTime;
            var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
            int[] gc0 = [GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2)];
            var clock = System.Diagnostics.Stopwatch.StartNew();
            await WriteAsync(log, records, writers);
            var elapsed = clock.Elapsed;
            process.Refresh();
            var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
            var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
            int[] gc = [GC.CollectionCount(0) - gc0[0], GC.CollectionCount(1) - gc0[1], GC.CollectionCount(2) - gc0[2]];
            await log.StopAsync(CancellationToken.None);
            var lines = File.ReadLines(Path.Combine(dir, "predictions.jsonl")).Count();
            Console.WriteLine(System.FormattableString.Invariant(
                $"| {records} | {writers} | {records / elapsed.TotalSeconds:F0} | {cpu / records * 100_000:F2} | {gc[0]} / {gc[1]} / {gc[2]} | {(double)allocated / records:F0} | {lines - 5_000 == records} |"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static Task WriteAsync(Lifeline.Scoring.Sinks.PredictionLog log, int records, int writers)
    {
        var next = -1;
        return Task.WhenAll(Enumerable.Range(0, writers).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < records)
            {
                var record = new Lifeline.Scoring.Sinks.PredictionRecord($"lead_{i:D6}", 0.42, "warm", "7", DateTimeOffset.UtcNow, 0.0123)
                {
                    CompanySize = "Medium", Industry = "Healthcare", PageViews = 17, TimeOnSite = 243.8, FormCompletionTime = 20.4,
                    ReferralSource = "Social Media", CreatedAt = "2024-12-04T03:24:08Z",
                };
                await (log.TryRecord(record) ?? throw new InvalidOperationException("the spool is full"));
            }
        })));
    }
}
