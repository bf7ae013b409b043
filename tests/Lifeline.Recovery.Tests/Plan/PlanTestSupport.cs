using Lifeline.Recovery.Plan;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Plan;

/// <summary>A history of measured runs given by the test (what the recovery history will return).</summary>
internal sealed class MeasuredHistory : IBackupHistory
{
    public Dictionary<string, List<BackupMeasurement>> Backups { get; } = [];

    public Dictionary<string, List<RestoreMeasurement>> Restores { get; } = [];

    public ValueTask<IReadOnlyList<BackupMeasurement>> GetRecentBackupsAsync(string component, int limit, CancellationToken cancellationToken) =>
        new(Backups.TryGetValue(component, out var list) ? list.OrderByDescending(r => r.StartedAt).Take(limit).ToList() : []);

    public ValueTask<IReadOnlyList<RestoreMeasurement>> GetRecentRestoresAsync(string component, int limit, CancellationToken cancellationToken) =>
        new(Restores.TryGetValue(component, out var list) ? list.OrderByDescending(r => r.StartedAt).Take(limit).ToList() : []);
}

internal static class PlanTestSupport
{
    public static readonly DateTimeOffset Now = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock() => new(Now);

    /// <summary>Writes <paramref name="yaml"/> to a real file and checks it.</summary>
    public static async Task<PlanCheckReport> CheckAsync(TempDirectory dir, string yaml, IBackupHistory? history = null, string name = "lifeline.yaml")
    {
        var path = dir.Combine(name);
        await File.WriteAllTextAsync(path, yaml);
        var report = await new PlanChecker(Clock(), history).CheckFileAsync(path);
        Assert.All(report.Findings, f => Assert.Equal(path, f.File));
        return report;
    }

    /// <summary>The 1-based line of the first line containing <paramref name="marker"/>.</summary>
    public static int LineOf(string yaml, string marker)
    {
        var lines = yaml.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Contains(marker, StringComparison.Ordinal))
            {
                return i + 1;
            }
        }

        throw new InvalidOperationException($"marker '{marker}' not in the plan");
    }

    public static PlanFinding Single(PlanCheckReport report, string rule, string? subject = null)
    {
        var matches = report.Findings.Where(f => f.Rule == rule && (subject is null || f.Subject == subject)).ToList();
        Assert.True(matches.Count == 1, $"expected one {rule} finding{(subject is null ? "" : " for " + subject)}, got:\n{string.Join("\n", report.Findings)}");
        return matches[0];
    }

    /// <summary>A small plan that passes every rule: one on-change component in three failure domains.</summary>
    public static string GoodPlan(string? extra = null) => $$"""
        version: 1
        objectives:
          rto: { target: 4h, max: 8h }
          rpo: { target: 1h, max: 4h }
          scenarios:
            registry-failure:
              rto: 2h
              rpo: 1h
              components: [registry]
        components:
          registry: { policy: registry }
        policies:
          registry:
            schedule: on-change
            retention: { keep-within: 48h, daily: 30 }
            locations: { primary: a, secondary: b, tertiary: c }
        locations:
          a: { url: ./vault-a, region: region-a }
          b: { url: "s3://bucket-b/vault?endpoint=https://s3.region-b.example", region: region-b }
          c: { url: "azure://container-c/vault?endpoint=https://blob.provider-c.example", region: object-storage }
        {{extra}}
        """;
}
