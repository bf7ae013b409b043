namespace Lifeline.Fuzzing.Core;

/// <summary>A surface under test: generates inputs from valid templates, runs them, and judges the outcome.</summary>
public interface IFuzzSurface : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Starts what the surface needs (a real server on 127.0.0.1, a seeded vault).</summary>
    Task StartAsync(CancellationToken cancellationToken);

    FuzzCase Generate(FuzzRandom random, int index);

    Task<FuzzOutcome> ExecuteAsync(FuzzCase input, CancellationToken cancellationToken);

    /// <summary>The oracle: every way the outcome breaks the surface's contract (empty when it keeps it).</summary>
    IReadOnlyList<Finding> Check(FuzzCase input, FuzzOutcome outcome);

    /// <summary>Whether the surface's memory can be judged in this process (servers run in-process).</summary>
    bool MeasuresMemory { get; }

    /// <summary>
    /// Waits (on a condition, with a deadline) until background work caused by the inputs so far is done, before
    /// memory is measured; returns what the surface broke across inputs (e.g. answered predictions not recorded).
    /// </summary>
    Task<IReadOnlyList<Finding>> QuiesceAsync(CancellationToken cancellationToken);
}
