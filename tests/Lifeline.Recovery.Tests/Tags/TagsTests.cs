using Lifeline.Recovery.Tags;
using Lifeline.Vault;

namespace Lifeline.Recovery.Tests.Tags;

public sealed class TagsTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 2, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Encode_EveryField_DecodesToTheSame()
    {
        var tags = new RecoveryPointTags { Component = "audit_logs", Table = "audit logs/2026, v=1", Version = 42, Time = T0.AddMilliseconds(123), Mode = "native" };

        var encoded = tags.Encode();

        Assert.Equal("lifeline:component=audit_logs", encoded[0]);
        Assert.Contains("lifeline:version=42", encoded);
        Assert.Contains("lifeline:time=2026-03-02T12:00:00.123Z", encoded);
        Assert.Equal(tags, RecoveryPointTags.Decode(encoded));
    }

    [Fact]
    public void Decode_ForeignOrMalformedTags_IgnoresThem()
    {
        Assert.Null(RecoveryPointTags.Decode(["registry", "mode=native", "lake-version:3"]));
        var decoded = RecoveryPointTags.Decode(["x", "lifeline:component=leads", "lifeline:version=abc", "lifeline:time=yesterday"]);
        Assert.Equal(new RecoveryPointTags { Component = "leads" }, decoded);
    }

    [Fact]
    public void Parse_LatestTimeAndId_GiveTheirSpecs()
    {
        Assert.Same(RestorePointSpec.Latest, RestorePointSpec.Parse("latest"));
        Assert.Equal(T0, RestorePointSpec.Parse("2026-03-02T12:00:00Z").At);
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 0, 0, 0, TimeSpan.Zero), RestorePointSpec.Parse("2026-03-02").At);
        Assert.Equal("ab12cd34", RestorePointSpec.Parse("AB12CD34").Id);
        var e = Assert.Throws<FormatException>(() => RestorePointSpec.Parse("last tuesday"));
        Assert.Contains("write latest, a time", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Choose_AtTime_TakesTheNewestAtOrBeforeIt()
    {
        var points = new[] { Point("aaaa1", T0), Point("bbbb2", T0.AddHours(1)), Point("cccc3", T0.AddHours(2)) };

        Assert.Equal("bbbb2", RestorePointSpec.AtOrBefore(T0.AddHours(1)).Choose(points)!.Id);
        Assert.Equal("bbbb2", RestorePointSpec.AtOrBefore(T0.AddMinutes(119)).Choose(points)!.Id);
        Assert.Null(RestorePointSpec.AtOrBefore(T0.AddSeconds(-1)).Choose(points));
        Assert.Equal("cccc3", RestorePointSpec.Latest.Choose(points)!.Id);
        Assert.Equal("aaaa1", RestorePointSpec.ById("aaaa").Choose(points)!.Id);
    }

    [Fact]
    public void Choose_AmbiguousIdPrefix_Throws()
    {
        var points = new[] { Point("abcd1", T0), Point("abcd2", T0) };

        Assert.Throws<AmbiguousRestorePointException>(() => RestorePointSpec.ById("abcd").Choose(points));
    }

    [Fact]
    public void From_CopiedSnapshot_UsesTheOriginalIdAndTheTagTime()
    {
        var tags = new RecoveryPointTags { Component = "leads", Time = T0 };
        var copy = new SnapshotInfo { Id = "copyid", OriginalId = "origid", Time = T0.AddHours(5), Tags = tags.Encode() };

        var point = RecoveryPoint.From(copy)!;

        Assert.Equal("origid", point.Id);
        Assert.Equal(T0, point.Time);
    }

    private static RecoveryPoint Point(string id, DateTimeOffset time) =>
        new() { Id = id, Component = "c", Time = time, Tags = new RecoveryPointTags { Component = "c", Time = time } };
}
