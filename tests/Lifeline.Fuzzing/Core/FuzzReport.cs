using System.Globalization;
using System.Text;

namespace Lifeline.Fuzzing.Core;

/// <summary>One kind of finding (oracle, template and mutation families), with a count and its first example.</summary>
public sealed class FindingGroup(string oracle, string key, FuzzCase example, Finding first, FuzzOutcome outcome)
{
    public string Oracle { get; } = oracle;

    public string Key { get; } = key;

    public FuzzCase Example { get; } = example;

    public Finding First { get; } = first;

    public FuzzOutcome Outcome { get; } = outcome;

    public int Count { get; set; } = 1;

    public FuzzCase? Minimized { get; set; }
}

/// <summary>What a run did: inputs, statuses, mutation families, findings and memory.</summary>
public sealed class FuzzReport(string surface, int seed)
{
    private readonly Dictionary<string, FindingGroup> _groups = new(StringComparer.Ordinal);
    private readonly List<Finding> _runFindings = [];

    public string Surface { get; } = surface;

    public int Seed { get; } = seed;

    public int Inputs { get; private set; }

    public int FindingCount { get; private set; }

    public SortedDictionary<string, int> Statuses { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, int> MutationKinds { get; } = new(StringComparer.Ordinal);

    public SortedDictionary<string, int> FindingsByOracle { get; } = new(StringComparer.Ordinal);

    public List<MemorySample> Memory { get; } = [];

    public TimeSpan Elapsed { get; set; }

    public IReadOnlyList<FindingGroup> Groups => [.. _groups.Values.OrderByDescending(g => g.Count)];

    public IReadOnlyList<Finding> RunFindings => _runFindings;

    /// <summary>About how many bytes the report itself keeps alive (one example case and answer per group).</summary>
    public long RetainedBytes => _groups.Values.Sum(g => g.Example.ApproximateBytes + g.Outcome.ApproximateBytes + 512);

    /// <summary>All oracles that fired, on any input or on the run (memory).</summary>
    public IReadOnlyList<string> FailedOracles => [.. FindingsByOracle.Keys, .. _runFindings.Select(f => f.Oracle)];

    public void Record(FuzzCase input, FuzzOutcome outcome, IReadOnlyList<Finding> findings)
    {
        Inputs++;
        Bump(Statuses, outcome.Label);
        foreach (var kind in input.Steps.Select(s => s.Kind).Distinct())
        {
            Bump(MutationKinds, kind);
        }

        foreach (var f in findings)
        {
            FindingCount++;
            Bump(FindingsByOracle, f.Oracle);
            // one group per oracle, template and answer: the mutations that led there vary, the fix does not
            // a kind starting with '*' names a cause shared by every template (e.g. a path no route matches)
            var key = f.Kind is ['*', ..] ? $"{f.Oracle} | {outcome.Label} | {f.Kind[1..]}"
                : $"{f.Oracle} | {input.Template} | {outcome.Label}{(f.Kind is null ? "" : " | " + f.Kind)}";
            if (_groups.TryGetValue(key, out var g))
            {
                g.Count++;
            }
            else
            {
                _groups[key] = new FindingGroup(f.Oracle, key, input, f, outcome);
            }
        }
    }

    public void AddRunFinding(Finding finding) => _runFindings.Add(finding);

    public string ToText(int maxGroups = 200)
    {
        var sb = new StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"== {Surface}: {Inputs} inputs, seed {Seed}, {Elapsed.TotalSeconds:0.0} s, {FindingCount} findings in {_groups.Count} groups");
        sb.AppendLine("statuses:        " + string.Join("  ", Statuses.Select(s => $"{s.Key}×{s.Value}")));
        sb.AppendLine("mutation kinds:  " + string.Join("  ", MutationKinds.Select(s => $"{s.Key}×{s.Value}")));
        sb.AppendLine("findings:        " + (FindingsByOracle.Count == 0 ? "none" : string.Join("  ", FindingsByOracle.Select(s => $"{s.Key}×{s.Value}"))));
        foreach (var m in Memory)
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"memory after pass {m.Pass + 1} ({m.Inputs} inputs): {m}, of which the report's own examples {MemorySample.Mib(m.ReportBytes)}");
        }

        foreach (var f in _runFindings)
        {
            sb.AppendLine("RUN FINDING " + f);
        }

        foreach (var g in Groups.Take(maxGroups))
        {
            sb.AppendLine(CultureInfo.InvariantCulture, $"-- {g.Key}  (×{g.Count})");
            sb.AppendLine("   " + g.First);
            sb.AppendLine("   answer:    " + g.Outcome.Describe().ReplaceLineEndings(" "));
            sb.AppendLine(CultureInfo.InvariantCulture, $"   input #{g.Example.Index}: {g.Example.MutationSummary}");
            var repro = g.Minimized ?? g.Example;
            sb.AppendLine("   repro:     " + repro.Repro());
            if (g.Minimized is not null)
            {
                sb.AppendLine("   minimized: " + g.Minimized.MutationSummary);
            }
        }

        return sb.ToString();
    }

    private static void Bump(SortedDictionary<string, int> d, string key) => d[key] = d.TryGetValue(key, out var n) ? n + 1 : 1;
}
