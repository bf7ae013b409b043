using Lifeline.Lake.Tests.Golden;
using Lifeline.Storage.FileSystem;

namespace Lifeline.Lake.Tests.Write;

public sealed class InCommitTimestampTests
{
    [Fact]
    public async Task SnapshotAt_InCommitTimestampsEnabled_UsesCommitInfoNotFileTimes()
    {
        using var dir = new TempDir();
        var log = Path.Combine(dir.Path, "_delta_log");
        Directory.CreateDirectory(log);
        var t0 = DateTimeOffset.FromUnixTimeMilliseconds(1_700_000_000_000);
        const string schema = "{\\\"type\\\":\\\"struct\\\",\\\"fields\\\":[{\\\"name\\\":\\\"id\\\",\\\"type\\\":\\\"long\\\",\\\"nullable\\\":true,\\\"metadata\\\":{}}]}";
        await File.WriteAllTextAsync(Path.Combine(log, $"{0:D20}.json"),
            $"{{\"commitInfo\":{{\"inCommitTimestamp\":{t0.ToUnixTimeMilliseconds()},\"timestamp\":1,\"operation\":\"CREATE TABLE\"}}}}\n" +
            "{\"protocol\":{\"minReaderVersion\":1,\"minWriterVersion\":2}}\n" +
            $"{{\"metaData\":{{\"id\":\"x\",\"format\":{{\"provider\":\"parquet\",\"options\":{{}}}},\"schemaString\":\"{schema}\",\"partitionColumns\":[],\"configuration\":{{\"delta.enableInCommitTimestamps\":\"true\"}}}}}}\n");
        await File.WriteAllTextAsync(Path.Combine(log, $"{1:D20}.json"),
            $"{{\"commitInfo\":{{\"inCommitTimestamp\":{t0.AddHours(1).ToUnixTimeMilliseconds()},\"timestamp\":2,\"operation\":\"WRITE\"}}}}\n");
        // file times say the opposite order; in-commit timestamps win
        File.SetLastWriteTimeUtc(Path.Combine(log, $"{0:D20}.json"), DateTime.UtcNow);
        File.SetLastWriteTimeUtc(Path.Combine(log, $"{1:D20}.json"), DateTime.UtcNow.AddDays(-10));
        var table = new DeltaTable(new FileSystemObjectStore(dir.Path), "");
        Assert.Equal(0, (await table.GetSnapshotAtAsync(t0.AddMinutes(30))).Version);
        var latest = await table.GetSnapshotAtAsync(t0.AddHours(2));
        Assert.Equal(1, latest.Version);
        Assert.Equal(t0.AddHours(1), latest.Timestamp);
        await Assert.ThrowsAsync<DeltaVersionNotFoundException>(() => table.GetSnapshotAtAsync(t0.AddMinutes(-1)));
    }
}
