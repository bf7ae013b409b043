using Lifeline.Recovery.Audit;
using Lifeline.Storage.FileSystem;
using Microsoft.Extensions.Time.Testing;

namespace Lifeline.Recovery.Tests.Audit;

public sealed class KeyChangeAuditTests
{
    [Fact]
    public async Task AppendAsync_KeyAddedAndFailedRemove_RecordedInTheVaultsStoreWithSecretsRedacted()
    {
        using var dir = new TempDirectory();
        var store = new FileSystemObjectStore(dir.Combine("vault"));
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero));

        await KeyChangeAudit.AppendAsync(store, AuditOutcomes.Ok, "added key 1a2b3c4d", TimeSpan.FromSeconds(2),
            ["vault", "key", "add", "--password", "old-pa55word", "LIFELINE_NEW_PASSWORD=new-pa55word"], time);
        time.Advance(TimeSpan.FromMinutes(1));
        await KeyChangeAudit.AppendAsync(store, AuditOutcomes.Failed, "removing key 9f9f failed: the key in use cannot be removed", TimeSpan.FromSeconds(1),
            ["vault", "key", "remove", "9f9f"], time);

        var records = await new ObjectStoreAuditLog([store]).ReadAsync().ToListAsync();

        Assert.Equal([AuditActions.KeyChange, AuditActions.KeyChange], records.Select(r => r.Action));
        Assert.Equal([AuditOutcomes.Ok, AuditOutcomes.Failed], records.Select(r => r.Outcome));
        Assert.Equal(new DateTimeOffset(2026, 3, 2, 11, 59, 58, TimeSpan.Zero), records[0].Time);
        Assert.Equal(Environment.UserName, records[0].Who);
        var all = string.Join('\n', records.SelectMany(r => r.Arguments.Append(r.Message ?? "")));
        Assert.DoesNotContain("pa55word", all, StringComparison.Ordinal);
        Assert.Contains("added key 1a2b3c4d", all, StringComparison.Ordinal);
        Assert.Single(Directory.GetFiles(dir.Combine("vault", "lifeline", "audit")), f => f.Contains("T115958", StringComparison.Ordinal));
    }
}
