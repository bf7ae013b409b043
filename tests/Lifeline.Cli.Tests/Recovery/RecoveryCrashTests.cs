using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Recovery;

/// <summary>Where a <c>lifeline backup</c> is killed.</summary>
public enum BackupKillPoint
{
    /// <summary>The new point's pack is in the primary, its snapshot not yet.</summary>
    Primary,

    /// <summary>The point is in the primary; its copy to the secondary has written a pack, not the snapshot.</summary>
    CopyToSecondary,

    /// <summary>The point is in the primary and the secondary; the copy to the tertiary (Azurite) is under way.</summary>
    CopyToTertiary,
}

/// <summary>
/// Crash safety of the recovery commands with real child processes: <c>lifeline backup</c>, <c>restore --as</c> and
/// <c>forget</c> over a plan with three locations (two directories and Azurite) are SIGKILLed at a point found by
/// polling the locations (store operations slowed by the CLI's <c>LIFELINE_DEBUG_STORE_DELAY</c> test hook). Then
/// every location passes <c>vault check</c> with no unlock, no half-written point counts as a recovery point, the audit
/// shows the run as interrupted, and the next run completes the work.
/// </summary>
public sealed class RecoveryCrashTests
{
    [Theory]
    [InlineData(BackupKillPoint.Primary)]
    [InlineData(BackupKillPoint.CopyToSecondary)]
    [InlineData(BackupKillPoint.CopyToTertiary)]
    public async Task Backup_KilledAtPoint_LocationsCheckOldPointStandsAndNextBackupCompletesEveryCopy(BackupKillPoint point)
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync($"crash-backup-{point}");
        var first = (await env.RunAsync("backup", "configuration", "--json")).ShouldSucceed().Json.GetProperty("components")[0].GetProperty("snapshot").GetString()!;
        env.ChangeData(seed: 1);
        var packsA = TestData.Packs(env.VaultA).Count;
        var packsB = TestData.Packs(env.VaultB).Count;

        // the snapshot put into the location where the kill is due never finishes, so the child is held at the exact
        // point until it is killed, however slowly this machine runs the test's polling
        var hangIn = point switch
        {
            BackupKillPoint.Primary => "vault-a",
            BackupKillPoint.CopyToSecondary => "vault-b",
            _ => env.Tertiary.Split('/')[2],
        };
        using (var child = env.StartHeld("put=100ms", $"snapshots/@{hangIn}", "backup", "configuration"))
        {
            Func<bool> reached = point switch
            {
                BackupKillPoint.Primary => () => TestData.Packs(env.VaultA).Count > packsA && RecoveryCrashEnvironment.Snapshots(env.VaultA) == 1,
                BackupKillPoint.CopyToSecondary => () => RecoveryCrashEnvironment.Snapshots(env.VaultA) == 2 && TestData.Packs(env.VaultB).Count > packsB && RecoveryCrashEnvironment.Snapshots(env.VaultB) == 1,
                _ => () => RecoveryCrashEnvironment.Snapshots(env.VaultB) == 2,
            };
            await RecoveryCrashEnvironment.KillWhenAsync(child, reached, point.ToString());
        }

        // A temporary file as a writer killed inside a put leaves it (an hour old), and one a live writer is writing now.
        var stale = Path.Combine(env.VaultA, "data", ".tmp-killed-writer");
        await File.WriteAllTextAsync(stale, "half a pack");
        File.SetLastWriteTimeUtc(stale, DateTime.UtcNow.AddHours(-2));
        var fresh = Path.Combine(env.VaultA, "data", ".tmp-live-writer");
        await File.WriteAllTextAsync(fresh, "being written");

        await env.AssertEveryLocationChecksAsync();
        var inA = point == BackupKillPoint.Primary ? 1 : 2;
        Assert.Equal(inA, RecoveryCrashEnvironment.Snapshots(env.VaultA));
        Assert.Equal(point == BackupKillPoint.CopyToTertiary ? 2 : 1, RecoveryCrashEnvironment.Snapshots(env.VaultB));
        Assert.Equal(1, await env.SnapshotsAsync(env.Tertiary));

        // the half-done point is no recovery point: the first one stands, amber because the last run was interrupted
        var status = await env.StatusAsync();
        Assert.Equal(first, status.GetProperty("recoveryPoint").GetProperty("id").GetString());
        Assert.Equal("amber", status.GetProperty("color").GetString());
        Assert.Equal("interrupted", status.GetProperty("lastBackup").GetProperty("outcome").GetString());
        var audit = await env.AuditAsync();
        Assert.Equal(["ok", "interrupted"], audit.Select(r => r.GetProperty("outcome").GetString()));
        Assert.Contains("never finished", audit[1].GetProperty("message").GetString(), StringComparison.Ordinal);

        // the next run copies every missing point onward and clears the killed writer's temporary file
        var next = (await env.RunAsync("backup", "configuration", "--json")).ShouldSucceed().Json.GetProperty("components")[0];
        Assert.Equal("ok", next.GetProperty("outcome").GetString());
        var inEvery = RecoveryCrashEnvironment.Snapshots(env.VaultA);
        Assert.Equal(inA + 1, inEvery);
        Assert.Equal(inEvery, RecoveryCrashEnvironment.Snapshots(env.VaultB));
        Assert.Equal(inEvery, await env.SnapshotsAsync(env.Tertiary));
        Assert.False(File.Exists(stale), "the stale temporary file of the killed writer is still there");
        Assert.True(File.Exists(fresh), "a recent temporary file (a live writer's) was deleted");
        var after = await env.StatusAsync();
        Assert.Equal("green", after.GetProperty("color").GetString());
        Assert.Equal(next.GetProperty("snapshot").GetString(), after.GetProperty("recoveryPoint").GetProperty("id").GetString());
        Assert.Equal(["ok", "interrupted", "ok"], (await env.AuditAsync()).Select(r => r.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task RestoreAs_KilledWhileReadingThePoint_TargetAbsentAndNextRestoreIsWhole()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("crash-restore", files: 6);
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        var target = env.Dir.Combine("restored");

        using (var child = env.StartSlowed("get=150ms", "restore", "configuration", "--as", "restored"))
        {
            await RecoveryCrashEnvironment.KillWhenAsync(child, () => Directory.Exists(env.RestoreStaging) && Directory.EnumerateDirectories(env.RestoreStaging).Any(), "restore staging");
        }

        Assert.False(Directory.Exists(target), $"the killed restore left a half-written target: {TestData.Listing(target)}");
        Assert.Empty(Directory.EnumerateFileSystemEntries(env.Dir.Path, ".restored.*"));
        await env.AssertEveryLocationChecksAsync();
        var restores = await env.AuditAsync("restore");
        Assert.Equal("interrupted", restores.Single().GetProperty("outcome").GetString());

        // the killed run's staging, an hour later, is cleared by the next restore, which is whole and byte-identical
        var staged = Directory.EnumerateDirectories(env.RestoreStaging).Single();
        Directory.SetLastWriteTimeUtc(staged, DateTime.UtcNow.AddHours(-2));
        (await env.RunAsync("restore", "configuration", "--as", "restored")).ShouldSucceed();
        Assert.False(Directory.Exists(staged), "the killed restore's staging directory is still there");
        foreach (var file in Directory.GetFiles(env.App("data")))
        {
            Assert.Equal(await File.ReadAllBytesAsync(file), await File.ReadAllBytesAsync(Path.Combine(target, "data", Path.GetFileName(file))));
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(env.Dir.Path, ".restored.*"));
        Assert.Equal(["interrupted", "ok"], (await env.AuditAsync("restore")).Select(r => r.GetProperty("outcome").GetString()));
    }

    [Fact]
    public async Task Forget_KilledAfterTheFirstDeletion_LocationsCheckWithoutUnlockAndNextForgetCompletes()
    {
        using var env = await RecoveryCrashEnvironment.CreateAsync("crash-forget", files: 2);
        (await env.RunAsync("backup", "configuration")).ShouldSucceed();
        env.ChangeData(seed: 2);
        var kept = (await env.RunAsync("backup", "configuration", "--json")).ShouldSucceed().Json.GetProperty("components")[0].GetProperty("snapshot").GetString()!;

        using (var child = env.StartSlowed("delete=700ms", "forget", "configuration"))
        {
            await RecoveryCrashEnvironment.KillWhenAsync(child, () => RecoveryCrashEnvironment.Snapshots(env.VaultA) == 1, "first deletion");
        }

        // the killed forget's exclusive lock is of a process that is gone: it blocks neither check nor the next forget
        await env.AssertEveryLocationChecksAsync();
        Assert.Equal(1, RecoveryCrashEnvironment.Snapshots(env.VaultA));
        Assert.Equal(2, await env.SnapshotsAsync(env.Tertiary));
        Assert.Equal("interrupted", (await env.AuditAsync("forget")).Single().GetProperty("outcome").GetString());
        Assert.Equal(kept, (await env.StatusAsync()).GetProperty("recoveryPoint").GetProperty("id").GetString());

        var again = (await env.RunAsync("forget", "configuration", "--json")).ShouldSucceed().Json;
        Assert.Empty(again.GetProperty("findings").EnumerateArray());
        Assert.Equal(1, RecoveryCrashEnvironment.Snapshots(env.VaultA));
        Assert.Equal(1, RecoveryCrashEnvironment.Snapshots(env.VaultB));
        Assert.Equal(1, await env.SnapshotsAsync(env.Tertiary));
        await env.AssertEveryLocationChecksAsync();
        Assert.Equal(["interrupted", "ok"], (await env.AuditAsync("forget")).Select(r => r.GetProperty("outcome").GetString()));
        var status = await env.StatusAsync();
        Assert.Equal("green", status.GetProperty("color").GetString());
        Assert.Equal(kept, status.GetProperty("recoveryPoint").GetProperty("id").GetString());
    }
}
