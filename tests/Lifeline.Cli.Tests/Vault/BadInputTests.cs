using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Vault;

/// <summary>
/// Bad input through the real executable: each case exits with its documented code, prints exactly one line
/// <c>lifeline: ...</c> on stderr (no stack trace), and writes nothing it should not.
/// </summary>
public sealed class BadInputTests
{
    [Fact]
    public async Task AnyCommand_WrongPassword_Exits12AndWritesNothing()
    {
        using var ctx = new VaultTestContext("wrong-password");
        await ctx.InitAsync();
        var before = TestData.Listing(ctx.Repo);
        var line = (await ctx.Runner.RunAsync(["vault", "snapshots"], new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = "not the password" }))
            .ShouldFailWith(ExitCodes.WrongPassword);
        Assert.Contains("wrong password", line);
        Assert.DoesNotContain("not the password", line);
        Assert.Equal(before, TestData.Listing(ctx.Repo));
    }

    [Fact]
    public async Task AnyCommand_NoRepositoryGiven_ExitsUsageNamingOptionAndVariable()
    {
        using var ctx = new VaultTestContext("no-repo");
        var line = (await ctx.Runner.RunAsync(["vault", "snapshots"], new Dictionary<string, string?> { ["LIFELINE_REPO"] = null })).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("--repo", line);
        Assert.Contains("LIFELINE_REPO", line);
    }

    [Fact]
    public async Task AnyCommand_MissingRepositoryDirectory_Exits10AndCreatesNothing()
    {
        using var ctx = new VaultTestContext("missing-repo");
        var line = (await ctx.RunAsync("vault", "backup", ctx.Dir.Path)).ShouldFailWith(ExitCodes.RepositoryNotFound);
        Assert.Contains(ctx.Repo, line);
        Assert.False(Directory.Exists(ctx.Repo));
    }

    [Fact]
    public async Task AnyCommand_ForeignDirectory_Exits10AndWritesNothing()
    {
        using var ctx = new VaultTestContext("foreign");
        Directory.CreateDirectory(ctx.Repo);
        File.WriteAllText(Path.Combine(ctx.Repo, "notes.txt"), "not a vault\n");
        var before = TestData.Listing(ctx.Repo);
        var line = (await ctx.RunAsync("vault", "snapshots")).ShouldFailWith(ExitCodes.RepositoryNotFound);
        Assert.Contains("no Lifeline vault", line);
        (await ctx.RunAsync("vault", "check")).ShouldFailWith(ExitCodes.RepositoryNotFound);
        Assert.Equal(before, TestData.Listing(ctx.Repo));
    }

    [Fact]
    public async Task Init_ExistingRepository_RefusedAndUnchanged()
    {
        using var ctx = new VaultTestContext("init-twice");
        await ctx.InitAsync();
        var before = TestData.Listing(ctx.Repo);
        var line = (await ctx.RunAsync(["vault", "init", .. VaultTestContext.FastInit])).ShouldFailWith(ExitCodes.Failure);
        Assert.Contains("already exists", line);
        Assert.Equal(before, TestData.Listing(ctx.Repo));
    }

    [Fact]
    public async Task CheckReadData_CorruptPack_Exits4NamingThePack()
    {
        using var ctx = new VaultTestContext("corrupt");
        await ctx.InitAsync();
        var source = ctx.Dir.Combine("source");
        TestData.WriteSmallTree(source);
        await ctx.JsonAsync("backup", source);
        var pack = Directory.EnumerateFiles(Path.Combine(ctx.Repo, "data"), "*", SearchOption.AllDirectories).OrderBy(p => p, StringComparer.Ordinal).First();
        var bytes = File.ReadAllBytes(pack);
        bytes[bytes.Length / 3] ^= 0x40;
        File.WriteAllBytes(pack, bytes);

        var line = (await ctx.RunAsync("vault", "check", "--read-data")).ShouldFailWith(ExitCodes.CheckFailed);
        Assert.Contains(Path.GetFileName(pack)[..8], line);
        var json = (await ctx.Runner.RunAsync("vault", "--json", "check", "--read-data"));
        Assert.Equal(ExitCodes.CheckFailed, json.ExitCode);
        Assert.False(json.Json.GetProperty("ok").GetBoolean());
        Assert.Contains(json.Json.GetProperty("errors").EnumerateArray(), e => e.GetString()!.Contains(Path.GetFileName(pack)[..8], StringComparison.Ordinal));
    }

    [Fact]
    public async Task Restore_UnknownSnapshot_Exits13AndCreatesNoTarget()
    {
        using var ctx = new VaultTestContext("unknown-snapshot");
        await ctx.InitAsync();
        var target = ctx.Dir.Combine("target");
        var line = (await ctx.RunAsync("vault", "restore", "deadbeef", "--target", target)).ShouldFailWith(ExitCodes.SnapshotNotFound);
        Assert.Contains("deadbeef", line);
        Assert.False(Directory.Exists(target));
        (await ctx.RunAsync("vault", "restore", "latest", "--target", target)).ShouldFailWith(ExitCodes.SnapshotNotFound);
        (await ctx.RunAsync("vault", "ls", "deadbeef")).ShouldFailWith(ExitCodes.SnapshotNotFound);
    }

    [Fact]
    public async Task Restore_NonEmptyTargetWithoutOverwrite_RefusedAndTargetUnchanged()
    {
        using var ctx = new VaultTestContext("non-empty-target");
        await ctx.InitAsync();
        var source = ctx.Dir.Combine("source");
        TestData.WriteSmallTree(source);
        await ctx.JsonAsync("backup", source);
        var target = ctx.Dir.Combine("target");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "precious.txt"), "keep me");
        var before = TestData.Listing(target);

        var line = (await ctx.RunAsync("vault", "restore", "latest", "--target", target)).ShouldFailWith(ExitCodes.Failure);
        Assert.Contains("--overwrite", line);
        Assert.Equal(before, TestData.Listing(target));

        (await ctx.RunAsync("vault", "restore", "latest", "--target", target, "--overwrite")).ShouldSucceed();
        Assert.True(File.Exists(Path.Combine(target, "source", "run.sh")));
    }

    [Fact]
    public async Task AnyCommand_NoPassword_ExitsUsageNamingVariableAndOption()
    {
        using var ctx = new VaultTestContext("no-password");
        await ctx.InitAsync();
        var before = TestData.Listing(ctx.Repo);
        var line = (await ctx.Runner.RunAsync(["vault", "snapshots"], new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = null })).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("LIFELINE_PASSWORD", line);
        Assert.Contains("--password-file", line);
        line = (await ctx.Runner.RunAsync(["vault", "snapshots", "--password-file", ctx.Dir.Combine("nope")], new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = null }))
            .ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("password file", line);
        Assert.Equal(before, TestData.Listing(ctx.Repo));
    }

    [Theory]
    [InlineData("forget", "--keep-within", "30x", "--keep-within")]
    [InlineData("forget", "--keep-within", "d30", "--keep-within")]
    [InlineData("forget", "--keep-last", "abc", "--keep-last")]
    [InlineData("snapshots", "--since", "yesterday", "--since")]
    [InlineData("snapshots", "--until", "2026-13-01", "--until")]
    [InlineData("check", "--read-data-subset", "3/2", "--read-data-subset")]
    public async Task Command_BadValue_ExitsUsageNamingOptionWithExample(string command, string option, string value, string named)
    {
        using var ctx = new VaultTestContext("bad-value");
        await ctx.InitAsync();
        var line = (await ctx.RunAsync("vault", command, option, value)).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains(named, line);
        Assert.Contains("e.g.", line);
    }

    [Fact]
    public async Task Restore_AtWithSnapshotId_ExitsUsageExplainingLatest()
    {
        using var ctx = new VaultTestContext("at-with-id");
        await ctx.InitAsync();
        var target = ctx.Dir.Combine("target");
        var line = (await ctx.RunAsync("vault", "restore", "1a2b3c4d", "--at", "2026-11-26 14:30", "--target", target)).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("latest", line);
        Assert.False(Directory.Exists(target));
    }

    [Fact]
    public async Task Backup_MissingSource_ExitsUsageAndWritesNothing()
    {
        using var ctx = new VaultTestContext("missing-source");
        await ctx.InitAsync();
        var before = TestData.Listing(ctx.Repo);
        var line = (await ctx.RunAsync("vault", "backup", ctx.Dir.Combine("nope"))).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("does not exist", line);
        Assert.Equal(before, TestData.Listing(ctx.Repo));
    }

    [Fact]
    public async Task Forget_NoPolicy_ExitsUsage()
    {
        using var ctx = new VaultTestContext("forget-empty");
        await ctx.InitAsync();
        var line = (await ctx.RunAsync("vault", "forget")).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("--keep", line);
    }

    [Fact]
    public async Task Parse_UnknownOption_ExitsUsageWithOneLine()
    {
        using var ctx = new VaultTestContext("parse");
        var line = (await ctx.RunAsync("vault", "backup", "--no-such-option", ".")).ShouldFailWith(ExitCodes.Usage);
        Assert.Contains("--no-such-option", line);
        (await ctx.RunAsync("vault", "restore", "latest")).ShouldFailWith(ExitCodes.Usage);
    }

    [Fact]
    public async Task Backup_UnreadableFile_Exits3ReportsItAndBacksUpTheRest()
    {
        // Root reads any file regardless of its mode, so as root the child runs as 'nobody' (setpriv drops every
        // capability); the unreadable file is then a real chmod 000 file, exactly what a user would hit.
        var asRoot = Environment.UserName == "root" || GetUid() == 0;
        using var ctx = new VaultTestContext("unreadable", asRoot ? (65534, 65534) : null);
        File.SetUnixFileMode(ctx.Dir.Path, (UnixFileMode)0b111_111_111);
        await ctx.InitAsync();
        var source = ctx.Dir.Combine("source");
        TestData.WriteSmallTree(source);
        var secret = Path.Combine(source, "lake", "secret.csv");
        File.WriteAllText(secret, "unreadable\n");
        File.SetUnixFileMode(secret, UnixFileMode.None);
        if (asRoot)
        {
            Chown(ctx.Dir.Path, 65534, 65534);
        }

        var result = await ctx.Runner.RunAsync("vault", "--json", "backup", source);
        Assert.True(result.ExitCode == ExitCodes.PartialBackup, result.ToString());
        Assert.Contains(result.StderrLines, l => l.StartsWith("lifeline: warning: not backed up: ", StringComparison.Ordinal) && l.Contains("secret.csv", StringComparison.Ordinal));
        Assert.DoesNotContain("   at ", result.Stderr);
        var json = result.Json;
        Assert.Single(json.GetProperty("errors").EnumerateArray());
        Assert.Equal(4, json.GetProperty("totalFiles").GetInt64());

        var target = ctx.Dir.Combine("target");
        (await ctx.RunAsync("vault", "restore", "latest", "--target", target)).ShouldSucceed();
        Assert.True(File.Exists(Path.Combine(target, "source", "registry", "models", "1", "model.bin")));
        Assert.False(File.Exists(Path.Combine(target, "source", "lake", "secret.csv")));
        (await ctx.RunAsync("vault", "check")).ShouldSucceed();
    }

    private static int GetUid()
    {
        try
        {
            var status = File.ReadAllLines("/proc/self/status").First(l => l.StartsWith("Uid:", StringComparison.Ordinal));
            return int.Parse(status.Split('\t', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (IOException)
        {
            return -1;
        }
    }

    private static void Chown(string path, int uid, int gid)
    {
        using var process = System.Diagnostics.Process.Start("chown", ["-R", $"{uid}:{gid}", path])!;
        process.WaitForExit();
        Assert.Equal(0, process.ExitCode);
    }
}
