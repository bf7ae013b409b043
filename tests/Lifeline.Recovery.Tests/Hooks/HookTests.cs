using Lifeline.Recovery.Audit;
using Lifeline.Recovery.Hooks;

namespace Lifeline.Recovery.Tests.Hooks;

public sealed class HookTests
{
    [Fact]
    public async Task Backup_PreHookFails_FailsTheBackupWithItsMessageAndTakesNothing()
    {
        await using var f = await RecoveryFixture.CreateAsync(hooks: "    hooks: { pre: \"echo flushing; echo database is busy >&2; exit 3\", timeout: 30s }");

        var e = await Assert.ThrowsAsync<HookFailedException>(() => f.Service.BackupComponentAsync("configuration"));

        Assert.Equal("pre-backup hook of component 'configuration' exited with code 3: database is busy; nothing was backed up", e.Message);
        Assert.False(Directory.Exists(f.Dir.Combine("vault-a", "snapshots")) && Directory.EnumerateFiles(f.Dir.Combine("vault-a", "snapshots")).Any());
        var record = Assert.Single(await f.Service.Audit.ReadAsync().ToListAsync());
        Assert.Equal(AuditOutcomes.Failed, record.Outcome);
    }

    [Fact]
    public async Task Backup_PreAndPostHooks_RunAsChildProcessesAroundTheBackup()
    {
        await using var f = await RecoveryFixture.CreateAsync(hooks: "    hooks: { pre: \"echo pre-$LIFELINE_COMPONENT > hooks.log\", post: \"echo post-$LIFELINE_BACKUP_OUTCOME >> hooks.log\" }");

        await f.Service.BackupComponentAsync("configuration");

        Assert.Equal(["pre-configuration", "post-ok"], await File.ReadAllLinesAsync(f.Dir.Combine("hooks.log")));
    }

    [Fact]
    public async Task RunAsync_HookOverItsTimeout_IsKilledWithAClearMessage()
    {
        using var dir = new TempDirectory();

        var e = await Assert.ThrowsAsync<HookFailedException>(() =>
            HookRunner.RunAsync("registry", "pre", "sleep 30", TimeSpan.FromMilliseconds(300), dir.Path, null, CancellationToken.None));

        Assert.Contains("did not finish within", e.Message, StringComparison.Ordinal);
        Assert.Contains("hooks.timeout", e.Message, StringComparison.Ordinal);
    }
}
