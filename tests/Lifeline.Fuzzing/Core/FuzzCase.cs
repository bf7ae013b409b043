namespace Lifeline.Fuzzing.Core;

/// <summary>
/// One generated input: a valid template plus the mutation steps applied to it, in order. Steps carry every random
/// choice already made, so a case rebuilt from any subset of its steps is deterministic (that is what minimization
/// removes steps from).
/// </summary>
public abstract class FuzzCase
{
    protected FuzzCase(string template, IReadOnlyList<IFuzzStep> steps, int index)
    {
        Template = template;
        Steps = steps;
        Index = index;
    }

    /// <summary>The name of the valid input the case started from.</summary>
    public string Template { get; }

    /// <summary>The mutations applied to the template, in order.</summary>
    public IReadOnlyList<IFuzzStep> Steps { get; }

    /// <summary>The input's index in its run (with the seed, regenerates it).</summary>
    public int Index { get; }

    /// <summary>The same template with only <paramref name="steps"/>.</summary>
    public abstract FuzzCase WithSteps(IReadOnlyList<IFuzzStep> steps);

    /// <summary>A compact, copy-pasteable description of the input (a curl line, a command line).</summary>
    public abstract string Repro();

    /// <summary>About how many bytes this case keeps alive (the report holds one per finding group; the memory oracle discounts them).</summary>
    public virtual long ApproximateBytes => 1024 + Steps.Sum(s => s.Describe().Length * 2L);

    public string MutationSummary => Steps.Count == 0 ? "(valid template)" : string.Join("; ", Steps.Select(s => s.Describe()));
}

/// <summary>One mutation step with its random choices made.</summary>
public interface IFuzzStep
{
    /// <summary>The family of the mutation (histograms).</summary>
    string Kind { get; }

    string Describe();
}

/// <summary>What one execution gave: a short label for histograms (an HTTP status, an exit code).</summary>
public abstract class FuzzOutcome
{
    public abstract string Label { get; }

    /// <summary>About how many bytes this outcome keeps alive.</summary>
    public virtual long ApproximateBytes => 1024;

    public abstract string Describe();
}

/// <summary>An oracle violation on one input; <paramref name="Kind"/> separates findings of one oracle that need different fixes.</summary>
public sealed record Finding(string Oracle, string Detail, string? Kind = null)
{
    public override string ToString() => $"{Oracle}: {Detail}";
}
