using System.Globalization;
using System.Text;

namespace Lifeline.Cli.Demo;

/// <summary>
/// Writes a small, deterministic lead-scoring data set: monthly CSV files of leads with the plan's fields
/// (lead_id, company_size, industry, page_views, time_on_site, form_completion_time, referral_source, created_at),
/// a binary model artifact and a small configuration file.
/// </summary>
internal static class LeadDataGenerator
{
    public const string CsvHeader = "lead_id,company_size,industry,page_views,time_on_site,form_completion_time,referral_source,created_at";

    private static readonly string[] Sizes = ["Small", "Medium", "Large", "Enterprise"];
    private static readonly string[] Industries = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education"];
    private static readonly string[] Sources = ["Organic Search", "Paid Search", "Social Media", "Direct", "Referral", "Email"];

    /// <summary>Writes the initial data set below <paramref name="root"/>; returns the bytes written.</summary>
    public static async Task<long> WriteInitialAsync(string root, int rowsPerMonth, int modelBytes, CancellationToken ct)
    {
        long total = 0;
        for (var month = 8; month <= 10; month++)
        {
            total += await WriteLeadsAsync(Path.Combine(root, "lake", "leads", $"leads-2026-{month:00}.csv"), month, rowsPerMonth, 0, ct);
        }

        total += await WriteModelAsync(Path.Combine(root, "registry", "models", "lead_scoring", "1", "model.bin"), modelBytes, seed: 1, baseSeed: null, ct);
        var config = Path.Combine(root, "config", "scoring.json");
        Directory.CreateDirectory(Path.GetDirectoryName(config)!);
        var json = "{\n  \"model\": \"lead_scoring\",\n  \"version\": 1,\n  \"threshold\": 0.62\n}\n";
        await File.WriteAllTextAsync(config, json, ct);
        return total + json.Length;
    }

    /// <summary>
    /// Changes the data set like a day of work: appends new leads to the current month, adds a new month,
    /// registers model version 2 (version 1 with its last tenth retrained) and updates the configuration.
    /// </summary>
    public static async Task ChangeAsync(string root, int rowsPerMonth, int modelBytes, CancellationToken ct)
    {
        var current = Path.Combine(root, "lake", "leads", "leads-2026-10.csv");
        await using (var append = new StreamWriter(current, append: true, Encoding.UTF8))
        {
            var rng = new Random(99);
            for (var i = 0; i < rowsPerMonth / 10; i++)
            {
                await append.WriteAsync(Row(rng, 10, 5_000_000 + i));
            }
        }

        await WriteLeadsAsync(Path.Combine(root, "lake", "leads", "leads-2026-11.csv"), 11, rowsPerMonth / 2, 1, ct);
        await WriteModelAsync(Path.Combine(root, "registry", "models", "lead_scoring", "2", "model.bin"), modelBytes, seed: 2, baseSeed: 1, ct);
        await File.WriteAllTextAsync(
            Path.Combine(root, "config", "scoring.json"),
            "{\n  \"model\": \"lead_scoring\",\n  \"version\": 2,\n  \"threshold\": 0.60\n}\n",
            ct);
    }

    private static async Task<long> WriteLeadsAsync(string path, int month, int rows, int variant, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var rng = new Random((month * 31) + variant);
        var text = new StringBuilder(rows * 110);
        text.Append(CsvHeader).Append('\n');
        for (var i = 0; i < rows; i++)
        {
            text.Append(Row(rng, month, (month * 1_000_000) + i));
        }

        var bytes = Encoding.UTF8.GetBytes(text.ToString());
        await File.WriteAllBytesAsync(path, bytes, ct);
        return bytes.Length;
    }

    private static string Row(Random rng, int month, int id) => string.Create(CultureInfo.InvariantCulture,
        $"L{id:D8},{Sizes[rng.Next(Sizes.Length)]},{Industries[rng.Next(Industries.Length)]},{rng.Next(0, 40)},{rng.NextDouble() * 900:0.0},{rng.NextDouble() * 300:0.0},{Sources[rng.Next(Sources.Length)]},2026-{month:00}-{rng.Next(1, 29):00}T{rng.Next(0, 24):00}:{rng.Next(0, 60):00}:00Z\n");

    /// <summary>
    /// A pseudo-random "model"; with a base seed, the base model with its last tenth rewritten (retrained top
    /// layers), so that 90% of its bytes, and most of its chunks, equal the base model's.
    /// </summary>
    private static async Task<long> WriteModelAsync(string path, int size, int seed, int? baseSeed, CancellationToken ct)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var bytes = new byte[size];
        new Random(baseSeed ?? seed).NextBytes(bytes);
        if (baseSeed is not null)
        {
            var changed = size / 10;
            new Random(seed).NextBytes(bytes.AsSpan(size - changed, changed));
        }

        await File.WriteAllBytesAsync(path, bytes, ct);
        return size;
    }
}
