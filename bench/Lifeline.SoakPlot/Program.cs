// Reads the samples bench/soak.sh wrote (CSV: seconds,rss_bytes,live_after_full_gc_bytes,fds,threads[,cpu_ticks,heap_after_any_gc_bytes,
// pool_idle_at_full_gc_bytes]), fits a least-squares
// line to each series after the warm-up, prints a markdown table (start, end, fitted slope per hour, the rise the fitted
// line makes over the measured window, the bound, flat or not) and draws the series into one PNG (with the pool column, a
// fifth: the live heap less the vault pool's idle buffers). With the CPU
// column (utime+stime of up in clock ticks of 1/100 s), it also prints up's CPU as % of one core over the window after
// the warm-up and over its first and last fifth: a per-commit cost that grows with the table shows there.
//
// "Flat" is stated as a bound on the fitted line's rise over the measured window: memory (RSS, heap after GC) rises
// less than 5 % of its mean; file descriptors and threads rise less than 2 (a leak of one per minute over ten minutes
// would be 10). A fitted slope, not first-versus-last, so one GC or one burst of threads does not decide it.
//
// Usage: dotnet Lifeline.SoakPlot.dll SAMPLES.csv OUT.png [WARMUP_FRACTION=0.2]
using System.Globalization;

if (args.Length < 2)
{
    Console.Error.WriteLine("usage: Lifeline.SoakPlot SAMPLES.csv OUT.png [WARMUP_FRACTION=0.2]");
    return 2;
}

var warmupFraction = args.Length > 2 ? double.Parse(args[2], CultureInfo.InvariantCulture) : 0.2;
var rows = File.ReadLines(args[0]).Skip(1).Where(l => l.Length > 0)
    .Select(l => l.Split(',').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray())
    .Where(r => r.Length >= 5 && r.Take(5).All(v => !double.IsNaN(v)))
    .ToList();
if (rows.Count < 10)
{
    Console.Error.WriteLine($"{args[0]}: {rows.Count} samples; at least 10 are needed (was the soak shorter than a minute?)");
    return 1;
}

const double MiB = 1.0 / (1024 * 1024);
var series = new List<(string Name, string Unit, Func<double[], double> Value, bool Relative, double Bound)>
{
    ("RSS", "MiB", r => r[1] * MiB, true, 0.05),
    ("managed heap live after full GC", "MiB", r => r[2] * MiB, true, 0.05),
};

// with the pool column (soak.sh since 2026-12-03): the live heap less the vault pool's idle buffers at that GC, the
// objects that stay; the pool keeps 16 and 32 MiB buffers for 30 s after their last use, which swings the live heap
if (rows.All(r => r.Length > 7 && !double.IsNaN(r[7])))
{
    series.Add(("live after full GC less the vault pool's idle buffers", "MiB", r => (r[2] - r[7]) * MiB, true, 0.05));
}

series.Add(("open file descriptors", "", r => r[3], false, 2));
series.Add(("threads", "", r => r[4], false, 2));

var start = rows[0][0];
var minutes = rows.Select(r => (r[0] - start) / 60).ToArray();
var from = (int)(rows.Count * warmupFraction);
var window = minutes[^1] - minutes[from];
Console.WriteLine($"| series | at start | at end | fitted slope per hour | fitted rise over the {window:0.#} min after warm-up | bound | flat |");
Console.WriteLine("|---|---:|---:|---:|---:|---:|---|");
var flatAll = true;
const int Width = 900, Height = 300;
using var surface = SkiaSharp.SKSurface.Create(new SkiaSharp.SKImageInfo(Width, Height * series.Count));
for (var s = 0; s < series.Count; s++)
{
    var (name, unit, value, relative, bound) = series[s];
    var ys = rows.Select(value).ToArray();
    var (slope, intercept) = Fit(minutes[from..], ys[from..]);
    var rise = slope * window;
    var mean = ys[from..].Average();
    var limit = relative ? bound * mean : bound;
    var flat = rise < limit;
    flatAll &= flat;
    var u = unit.Length > 0 ? " " + unit : "";
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"| {name} | {ys[0]:0.#}{u} | {ys[^1]:0.#}{u} | {slope * 60:+0.##;-0.##;0}{u} | {rise:+0.##;-0.##;0}{u} | {(relative ? $"< {bound:P0} of the mean ({limit:0.#}{u})" : $"< {limit:0}")} | {(flat ? "yes" : "**no**")} |"));

    var plot = new ScottPlot.Plot();
    plot.Add.ScatterLine(minutes, ys).LegendText = name;
    var line = plot.Add.Line(minutes[from], intercept + slope * minutes[from], minutes[^1], intercept + slope * minutes[^1]);
    line.LegendText = "fitted after warm-up";
    line.LinePattern = ScottPlot.LinePattern.Dashed;
    plot.Title(name);
    plot.XLabel("minutes");
    plot.YLabel(unit.Length > 0 ? unit : "count");
    plot.Axes.SetLimitsY(0, Math.Max(1, ys.Max() * 1.15));
    using var part = SkiaSharp.SKBitmap.Decode(plot.GetImage(Width, Height).GetImageBytes());
    surface.Canvas.DrawBitmap(part, 0, Height * s);
}

using (var image = surface.Snapshot())
using (var png = image.Encode(SkiaSharp.SKEncodedImageFormat.Png, 100))
using (var file = File.Create(args[1]))
{
    png.SaveTo(file);
}

Console.WriteLine();
if (rows.Count - from >= 10 && rows.Skip(from).All(r => r.Length > 5 && !double.IsNaN(r[5])))
{
    const double TicksPerSecond = 100; // USER_HZ, what /proc/PID/stat counts in
    var after = rows.Skip(from).ToArray();
    var fifth = Math.Max(2, after.Length / 5);
    string Cpu(IReadOnlyList<double[]> part) => (100 * (part[^1][5] - part[0][5]) / TicksPerSecond / Math.Max(1, part[^1][0] - part[0][0]))
        .ToString("0.0", CultureInfo.InvariantCulture);
    Console.WriteLine($"up's CPU (utime+stime, % of one core): {Cpu(after)} after the warm-up; {Cpu(after[..fifth])} in its first fifth, {Cpu(after[^fifth..])} in its last");
}

Console.WriteLine($"{rows.Count} samples over {minutes[^1]:0.#} min, the first {warmupFraction:P0} as warm-up; {(flatAll ? "every series flat" : "NOT every series flat")}; plot: {args[1]}");
return flatAll ? 0 : 1;

static (double Slope, double Intercept) Fit(double[] x, double[] y)
{
    var mx = x.Average();
    var my = y.Average();
    var sxx = x.Sum(v => (v - mx) * (v - mx));
    var sxy = x.Zip(y).Sum(p => (p.First - mx) * (p.Second - my));
    var slope = sxx == 0 ? 0 : sxy / sxx;
    return (slope, my - slope * mx);
}
