using System.Buffers.Binary;
using System.Text;
using Lifeline.Fuzzing.Parsers;

namespace Lifeline.Fuzz.Tests.Parsers;

/// <summary>The decoder crashes AFL++ found, each as a named case (their raw inputs are also in Corpus/).</summary>
public sealed class ParserFixTests
{
    private const string Head = """
        {"commitInfo":{"timestamp":1}}
        {"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
        {"metaData":{"id":"x","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[]}","partitionColumns":[],"configuration":{},"createdTime":1}}

        """;

    [Fact]
    public void PackBlob_RawLengthPastAnyArray_IsTypedError()
    {
        var input = (byte[])ParserTargets.Seeds("pack-blob")[0].Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(42), uint.MaxValue);
        Assert.Equal(ParseResult.TypedError, ParserTargets.Run("pack-blob", input));
    }

    [Fact]
    public void PackHeader_EntryLengthPastAnyArray_IsTypedError()
    {
        var header = ParserTargets.Seeds("pack-header")[0].ToArray();
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(1 + 38), 0x8000_0000);
        Assert.Equal(ParseResult.TypedError, ParserTargets.Run("pack-header", header));
    }

    [Fact]
    public void DeltaLog_DuplicateKeyInAnAction_IsTypedError()
    {
        var log = Head + """{"add":{"path":"a.parquet","partitionValues":{},"size":1,"size":2,"modificationTime":1,"dataChange":true}}""";
        Assert.Equal(ParseResult.TypedError, ParserTargets.Run("delta-log", Encoding.UTF8.GetBytes(log)));
    }

    [Fact]
    public void DeltaLog_UnreadableFileStatistics_CountAsAbsent()
    {
        var log = Head + """{"add":{"path":"a.parquet","partitionValues":{},"size":1,"modificationTime":1,"dataChange":true,"stats":"{not json"}}""";
        Assert.Equal(ParseResult.Decoded, ParserTargets.Run("delta-log", Encoding.UTF8.GetBytes(log)));
    }
}
