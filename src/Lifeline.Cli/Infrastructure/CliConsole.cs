using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Spectre.Console;

namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// Where a command writes: text for people (tables drawn by Spectre.Console on a terminal, plain aligned columns
/// otherwise) or, with <c>--json</c>, exactly one JSON document (camelCase, stable field names) on stdout.
/// Errors and warnings always go to stderr, one line each, prefixed <c>lifeline:</c>.
/// </summary>
internal sealed class CliConsole
{
    /// <summary>The JSON settings of every document <c>lifeline</c> prints.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly Lazy<IAnsiConsole> _ansi;

    public CliConsole(bool json, TextWriter output, TextWriter error, bool isTerminal)
    {
        Json = json;
        Out = output;
        Error = error;
        IsTerminal = isTerminal;
        _ansi = new Lazy<IAnsiConsole>(() => AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Interactive = isTerminal ? InteractionSupport.Yes : InteractionSupport.No,
            Ansi = isTerminal ? AnsiSupport.Detect : AnsiSupport.No,
        }));
    }

    /// <summary>True when <c>--json</c> was given: stdout carries one JSON document and nothing else.</summary>
    public bool Json { get; }

    /// <summary>True when stdout is a terminal and not in JSON mode: progress bars and drawn tables are allowed.</summary>
    public bool IsTerminal { get; }

    public TextWriter Out { get; }

    public TextWriter Error { get; }

    /// <summary>The Spectre console on stdout (only meaningful when <see cref="IsTerminal"/>).</summary>
    public IAnsiConsole Ansi => _ansi.Value;

    /// <summary>Creates the console of this process from the parsed <c>--json</c> flag.</summary>
    public static CliConsole ForProcess(bool json) =>
        new(json, Console.Out, Console.Error, isTerminal: !json && !Console.IsOutputRedirected);

    /// <summary>Writes one line of text (ignored in JSON mode, where only the document is printed).</summary>
    public void Line(string text = "")
    {
        if (!Json)
        {
            Out.WriteLine(text);
        }
    }

    /// <summary>Writes the command's one JSON document (only in JSON mode).</summary>
    public void Document<T>(T document)
    {
        if (Json)
        {
            Out.WriteLine(JsonSerializer.Serialize(document, JsonOptions));
        }
    }

    /// <summary>Writes an error line on stderr (in both modes): <c>lifeline: ...</c> (the runner's usage errors).</summary>
    public void ErrorLine(string message) => Error.WriteLine($"lifeline: {OneLine(message)}");

    /// <summary>Writes a warning line on stderr (in both modes): <c>lifeline: warning: ...</c>.</summary>
    public void Warning(string message) => Error.WriteLine($"lifeline: warning: {OneLine(message)}");

    /// <summary>Prints a table: drawn on a terminal, plain columns separated by two spaces otherwise (text mode only).
    /// <paramref name="cellColor"/> (row, column) colours a cell on a terminal only; plain output keeps the words.</summary>
    public void Table(IReadOnlyList<string> headers, IEnumerable<IReadOnlyList<string>> rows, IReadOnlySet<int>? rightAligned = null, Func<int, int, Color?>? cellColor = null)
    {
        if (Json)
        {
            return;
        }

        var materialized = rows.ToList();
        if (IsTerminal)
        {
            var table = new Table().Border(TableBorder.Rounded);
            for (var i = 0; i < headers.Count; i++)
            {
                var column = new TableColumn(Markup.Escape(headers[i]));
                if (rightAligned?.Contains(i) == true)
                {
                    column.RightAligned();
                }

                table.AddColumn(column);
            }

            for (var r = 0; r < materialized.Count; r++)
            {
                var rowIndex = r;
                table.AddRow(materialized[r].Select((cell, c) => (Spectre.Console.Rendering.IRenderable)(cellColor?.Invoke(rowIndex, c) is { } color
                    ? new Text(cell, new Style(color))
                    : new Text(cell))).ToArray());
            }

            Ansi.Write(table);
            return;
        }

        var widths = headers.Select(h => h.Length).ToArray();
        foreach (var row in materialized)
        {
            for (var i = 0; i < widths.Length && i < row.Count; i++)
            {
                widths[i] = Math.Max(widths[i], row[i].Length);
            }
        }

        void WriteRow(IReadOnlyList<string> cells)
        {
            var parts = new string[widths.Length];
            for (var i = 0; i < widths.Length; i++)
            {
                var cell = i < cells.Count ? cells[i] : string.Empty;
                parts[i] = rightAligned?.Contains(i) == true ? cell.PadLeft(widths[i]) : cell.PadRight(widths[i]);
            }

            Out.WriteLine(string.Join("  ", parts).TrimEnd());
        }

        WriteRow(headers);
        WriteRow(widths.Select(w => new string('-', w)).ToArray());
        foreach (var row in materialized)
        {
            WriteRow(row);
        }
    }

    /// <summary>Collapses a message to one line (error output is always exactly one line per problem).</summary>
    public static string OneLine(string message) =>
        message.Replace("\r\n", " ", StringComparison.Ordinal).Replace('\n', ' ').Replace('\r', ' ').Trim();

    /// <summary>Formats a byte count for people: 1.5 MiB.</summary>
    public static string Bytes(long bytes)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        double value = bytes;
        var unit = 0;
        while (Math.Abs(value) >= 1024 && unit < units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        return unit == 0 ? $"{bytes} B" : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{value:0.##} {units[unit]}");
    }

    /// <summary>Formats a time for text output: <c>2026-11-26 12:00:00</c> in UTC with a Z.</summary>
    public static string Time(DateTimeOffset time) =>
        time.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
}
