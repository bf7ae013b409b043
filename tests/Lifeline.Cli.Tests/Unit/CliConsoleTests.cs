using System.Text.Json;
using Lifeline.Cli.Commands;
using Lifeline.Cli.Infrastructure;

namespace Lifeline.Cli.Tests.Unit;

public sealed class CliConsoleTests
{
    [Fact]
    public void Table_NotATerminal_PlainAlignedColumns()
    {
        var output = new StringWriter();
        var console = new CliConsole(json: false, output, new StringWriter(), isTerminal: false);
        console.Table(["ID", "Size"], [["abc", "1 B"], ["abcdef", "10 KiB"]], new HashSet<int> { 1 });
        var lines = output.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["ID        Size", "------  ------", "abc        1 B", "abcdef  10 KiB"], lines);
    }

    [Fact]
    public void Json_OneCamelCaseDocumentAndNoText()
    {
        var output = new StringWriter();
        var console = new CliConsole(json: true, output, new StringWriter(), isTerminal: false);
        console.Line("hidden");
        console.Table(["a"], [["b"]]);
        console.Document(new CopyJson("file:///x", 1, 2, 3, 4));
        var doc = JsonDocument.Parse(output.ToString()).RootElement;
        Assert.Equal(1, doc.GetProperty("snapshotsCopied").GetInt32());
        Assert.Equal("file:///x", doc.GetProperty("destination").GetString());
    }

    [Theory]
    [InlineData(0, "0 B")]
    [InlineData(1536, "1.5 KiB")]
    [InlineData(1073741824, "1 GiB")]
    public void Bytes_HumanUnits(long bytes, string expected) => Assert.Equal(expected, CliConsole.Bytes(bytes));
}
