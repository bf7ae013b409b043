using Lifeline.Recovery.Components;
using Lifeline.Recovery.Components.Jobs;
using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Tags;
using Microsoft.Data.Sqlite;

namespace Lifeline.Recovery.Tests.Components.Jobs;

public sealed class JobsComponentTests
{
    private static readonly CancellationToken Ct = CancellationToken.None;

    /// <summary>A plan directory with the plan file, two job definitions and a live SQLite job store in WAL mode.</summary>
    private static (JobsComponent Sut, SqliteConnection Writer) CreateSut(TempDirectory dir, string[]? files = null)
    {
        Directory.CreateDirectory(dir.Combine("app", "jobs"));
        File.WriteAllText(dir.Combine("app", "lifeline.yaml"), "version: 1\n# the plan's schedules\n");
        File.WriteAllText(dir.Combine("app", "jobs", "train.yaml"), "name: train\nschedule: \"0 3 * * *\"\n");
        File.WriteAllText(dir.Combine("app", "jobs", "score.yaml"), "name: score\nschedule: \"*/15 * * * *\"\n");
        Directory.CreateDirectory(dir.Combine("app", "lifeline-data", "scheduler"));
        var store = dir.Combine("app", "lifeline-data", "scheduler", "jobs.db");
        var writer = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = store, Pooling = false }.ToString());
        writer.Open();
        Execute(writer, "PRAGMA journal_mode=WAL; CREATE TABLE triggers (name TEXT PRIMARY KEY, cron TEXT NOT NULL, next_fire INTEGER)");
        for (var i = 0; i < 50; i++)
        {
            Execute(writer, $"INSERT INTO triggers VALUES ('job-{i}', '0 {i % 24} * * *', {1000 + i})");
        }

        var component = new PlanComponent { Name = "jobs", Files = files ?? ["jobs/*.yaml"] };
        var sut = new JobsComponent(component, new JobsAdapterOptions
        {
            BaseDirectory = dir.Combine("app"),
            PlanFile = dir.Combine("app", "lifeline.yaml"),
            JobStore = store,
            RestoreRoot = dir.Combine("restored"),
            Time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 3, 2, 12, 0, 0, TimeSpan.Zero)),
        });
        return (sut, writer);
    }

    private static RecoveryPoint Point(char id, CapturedPoint captured) =>
        new() { Id = new string(id, 64), Component = "jobs", Time = captured.Tags.Time!.Value, Tags = captured.Tags };

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static long Count(string database)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = database, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM triggers";
        return (long)command.ExecuteScalar()!;
    }

    [Fact]
    public async Task Capture_LiveStoreBeingWritten_IsAConsistentCopyThatVerifiesAndRestoresAsBeside()
    {
        using var dir = new TempDirectory();
        var (sut, writer) = CreateSut(dir);
        using (writer)
        {
            // committed rows live only in the -wal file until a checkpoint: a file copy of jobs.db alone would miss them
            var stage = dir.Combine("stage");
            await using var captured = await sut.CaptureAsync(new CaptureContext { WorkDirectory = stage, OperationId = "op" }, null, Ct);
            Execute(writer, "INSERT INTO triggers VALUES ('after-capture', '@daily', 0)");

            Assert.Equal(("jobs", "files+store"), (captured.Tags.Component, captured.Tags.Mode));
            var point = Point('a', captured);
            Assert.True((await sut.VerifyAsync(point, stage, Ct)).Ok);

            var target = sut.ResolveTarget("jobs-restored");
            Assert.False(target.IsLive);
            var result = await sut.ReinstateAsync(new ReinstateContext { Point = point, StagedDirectory = stage, Target = target }, null, Ct);

            Assert.Equal(dir.Combine("restored", "jobs-restored"), result.Target);
            Assert.Equal(4, result.Items);
            Assert.Equal(50, Count(dir.Combine("restored", "jobs-restored", "lifeline-data", "scheduler", "jobs.db")));
            Assert.Null(JobsComponent.IntegrityCheck(dir.Combine("restored", "jobs-restored", "lifeline-data", "scheduler", "jobs.db")));
            foreach (var rel in new[] { "lifeline.yaml", Path.Combine("jobs", "train.yaml"), Path.Combine("jobs", "score.yaml") })
            {
                Assert.Equal(await File.ReadAllBytesAsync(dir.Combine("app", rel)), await File.ReadAllBytesAsync(dir.Combine("restored", "jobs-restored", rel)));
            }
        }
    }

    [Fact]
    public async Task Reinstate_OverLiveWithoutOverwrite_RefusesBeforeWritingAnything()
    {
        using var dir = new TempDirectory();
        var (sut, writer) = CreateSut(dir);
        writer.Dispose();
        var stage = dir.Combine("stage");
        await using var captured = await sut.CaptureAsync(new CaptureContext { WorkDirectory = stage, OperationId = "op" }, null, Ct);
        var point = Point('b', captured);
        File.WriteAllText(dir.Combine("app", "jobs", "train.yaml"), "name: train\nschedule: edited\n");
        File.Delete(dir.Combine("app", "jobs", "score.yaml"));

        var live = sut.ResolveTarget(null);
        await Assert.ThrowsAsync<LiveDataProtectedException>(() => sut.ReinstateAsync(new ReinstateContext { Point = point, StagedDirectory = stage, Target = live }, null, Ct));
        Assert.False(File.Exists(dir.Combine("app", "jobs", "score.yaml")));

        await sut.ReinstateAsync(new ReinstateContext { Point = point, StagedDirectory = stage, Target = live, Overwrite = true }, null, Ct);

        Assert.Equal("name: train\nschedule: \"0 3 * * *\"\n", File.ReadAllText(dir.Combine("app", "jobs", "train.yaml")));
        Assert.True(File.Exists(dir.Combine("app", "jobs", "score.yaml")));
        Assert.Equal(50, Count(dir.Combine("app", "lifeline-data", "scheduler", "jobs.db")));
    }

    [Fact]
    public async Task Verify_TamperedStoreOrMissingFile_FailsNamingIt()
    {
        using var dir = new TempDirectory();
        var (sut, writer) = CreateSut(dir);
        writer.Dispose();
        var stage = dir.Combine("stage");
        await using var captured = await sut.CaptureAsync(new CaptureContext { WorkDirectory = stage, OperationId = "op" }, null, Ct);
        var point = Point('c', captured);
        var stagedStore = Directory.GetFiles(Path.Combine(stage, "jobs", "store"), "jobs.db", SearchOption.AllDirectories).Single();
        await using (var stream = File.OpenWrite(stagedStore))
        {
            stream.Seek(200, SeekOrigin.Begin);
            stream.WriteByte(0xFF);
        }

        File.Delete(Directory.GetFiles(Path.Combine(stage, "jobs", "files"), "score.yaml", SearchOption.AllDirectories).Single());

        var result = await sut.VerifyAsync(point, stage, Ct);

        Assert.False(result.Ok);
        Assert.Contains(result.Problems, p => p.Contains("jobs/score.yaml is missing", StringComparison.Ordinal));
        Assert.Contains(result.Problems, p => p.Contains("jobs.db in point cccccccc does not match its manifest", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Capture_NamedFileMissing_FailsWithOneLine()
    {
        using var dir = new TempDirectory();
        var (sut, writer) = CreateSut(dir, ["jobs/*.yaml", "jobs/nightly.yaml"]);
        writer.Dispose();

        var error = await Assert.ThrowsAsync<RecoveryException>(() => sut.CaptureAsync(new CaptureContext { WorkDirectory = dir.Combine("stage"), OperationId = "op" }, null, Ct));

        Assert.Contains("file 'jobs/nightly.yaml' named by component 'jobs' does not exist", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }
}
