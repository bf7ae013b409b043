using Lifeline.Recovery.Plan;
using Lifeline.Recovery.Scheduling;
using Microsoft.Extensions.Time.Testing;
using Npgsql;

namespace Lifeline.Recovery.Tests.Scheduling;

/// <summary>Plans, stores and waits for the scheduler tests. Time is a <see cref="FakeTimeProvider"/> that Quartz runs on;
/// a test moves it and then waits, with a real-time deadline, for the condition it expects.</summary>
internal static class SchedulingTestSupport
{
    /// <summary>Monday 2 March 2026, 11:59:30 UTC: 30 seconds before the noon slot.</summary>
    public static readonly DateTimeOffset Start = new(2026, 3, 2, 11, 59, 30, TimeSpan.Zero);

    public static LifelinePlan JobsPlan(string jobsYaml, string extra = "")
    {
        var yaml = $"""
            version: 1
            objectives:
              rto: {"{"} target: 4h, max: 8h {"}"}
              rpo: {"{"} target: 1h, max: 4h {"}"}
            {extra}
            jobs:
            {jobsYaml}
            """;
        var parsed = PlanFile.Parse(yaml);
        Assert.True(parsed.Succeeded, string.Join("\n", parsed.Errors));
        return parsed.Plan!;
    }

    public static PlanSchedulerOptions Options(SchedulerStoreOptions store, FakeTimeProvider time, string? workingDirectory = null) => new()
    {
        Store = store,
        Time = time,
        WorkingDirectory = workingDirectory,
        MaxConcurrentJobs = 4,
        // the fake clock moves while a test waits (below); on a loaded machine Quartz may pick a slot up a few real
        // seconds late, which must not count as a misfire: misfire tests leave slots hours behind
        MisfireThreshold = TimeSpan.FromMinutes(10),
        QuartzLogging = QuartzLog,
    };

    /// <summary>Quartz's own log of every test, for the message of a failed wait.</summary>
    public static readonly CapturingLoggerFactory QuartzLog = new();

    /// <summary>Waits for <paramref name="condition"/> with a real-time deadline (the machine is shared: generous). With
    /// <paramref name="pump"/>, the fake clock moves a second every 100 ms, as a real one would: Quartz arms its waits on it
    /// (idle wait, slot, retry), and a wait armed after the test's last move would otherwise never end.</summary>
    public static async Task<T> WaitForAsync<T>(Func<Task<T?>> condition, string what, int seconds = 30, FakeTimeProvider? pump = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        for (var poll = 1; ; poll++)
        {
            if (await condition() is { } value)
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"timed out after {seconds}s waiting for {what}");
            }

            await Task.Delay(25);
            if (poll % 4 == 0)
            {
                pump?.Advance(TimeSpan.FromSeconds(1)); // ten fake seconds per real second
            }
        }
    }

    /// <summary>Waits until the history of <paramref name="job"/> holds a finished attempt matching <paramref name="match"/>.</summary>
    public static Task<JobRunRecord> WaitForRunAsync(PlanScheduler scheduler, string job, Func<JobRunRecord, bool> match, string what, FakeTimeProvider pump, int seconds = 30) =>
        WaitForAsync(async () => (await scheduler.HistoryAsync(job, 100)).FirstOrDefault(r => r.Outcome != JobOutcomes.Running && match(r)), what, seconds, pump);

    /// <summary>Moves the fake clock in small steps so Quartz's waits on it see every slot in between.</summary>
    public static void Advance(FakeTimeProvider time, TimeSpan by)
    {
        var step = TimeSpan.FromSeconds(30);
        for (var left = by; left > TimeSpan.Zero; left -= step)
        {
            time.Advance(left < step ? left : step);
        }
    }
}

internal sealed class CapturingLoggerFactory : Microsoft.Extensions.Logging.ILoggerFactory
{
    public CapturingLogger Logger { get; } = new();

    public void AddProvider(Microsoft.Extensions.Logging.ILoggerProvider provider)
    {
    }

    public Microsoft.Extensions.Logging.ILogger CreateLogger(string categoryName) => Logger;

    public void Dispose()
    {
    }
}

/// <summary>A PostgreSQL schema of its own for one test (scripts/setup/postgres.sh, or LIFELINE_TEST_PG).</summary>
internal sealed class PostgresSchema : IAsyncDisposable
{
    public const string DefaultConnectionString = "Host=127.0.0.1;Port=5433;Username=lifeline;Password=lifeline;Database=lifeline_test;Timeout=30";

    private PostgresSchema(string name, string connectionString)
    {
        Name = name;
        ConnectionString = connectionString;
    }

    public string Name { get; }

    public string ConnectionString { get; }

    private static string BaseConnectionString => Environment.GetEnvironmentVariable("LIFELINE_TEST_PG") is { Length: > 0 } s ? s : DefaultConnectionString;

    public static async Task<PostgresSchema> CreateAsync()
    {
        var name = "sched_" + Guid.NewGuid().ToString("N")[..16];
        try
        {
            await using var connection = new NpgsqlConnection(BaseConnectionString);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE SCHEMA {name}", connection);
            await command.ExecuteNonQueryAsync();
        }
        catch (Exception e) when (e is NpgsqlException or System.Net.Sockets.SocketException or TimeoutException)
        {
            Assert.Fail($"PostgreSQL is not reachable ({e.Message}). Start it with 'bash scripts/setup/postgres.sh' or point LIFELINE_TEST_PG at a server.");
        }

        return new PostgresSchema(name, new NpgsqlConnectionStringBuilder(BaseConnectionString) { SearchPath = name }.ConnectionString);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await using var connection = new NpgsqlConnection(BaseConnectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"DROP SCHEMA IF EXISTS {Name} CASCADE", connection);
        await command.ExecuteNonQueryAsync();
    }
}
