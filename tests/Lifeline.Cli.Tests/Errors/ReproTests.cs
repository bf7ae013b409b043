using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Lifeline.Cli.Tests.Infrastructure;

namespace Lifeline.Cli.Tests.Errors;

/// <summary>
/// The outside probe's command-line findings (issue 8), each through the real executable: the documented exit code,
/// exactly one stderr line <c>lifeline: ...</c>, no stack trace (on stderr or stdout), and nothing written where it
/// must not be.
/// </summary>
public sealed class ReproTests
{
    [Fact]
    public async Task VaultSnapshots_NewestSnapshotCorrupt_ListsItAsCorruptAndExits4()
    {
        using var ctx = new VaultTestContext("corrupt-list");
        var (first, corrupt) = await TwoSnapshotsNewestCorruptAsync(ctx);

        var text = await ctx.RunAsync("vault", "snapshots");
        var line = text.ShouldFailWith(ExitCodes.CheckFailed);
        Assert.Contains(corrupt[..8], line);
        Assert.Contains("corrupt", line);
        Assert.Contains(first[..8], text.Stdout);
        Assert.Contains(corrupt[..8] + "  CORRUPT", text.Stdout);

        var json = await ctx.RunAsync("vault", "--json", "snapshots");
        json.ShouldFailWith(ExitCodes.CheckFailed);
        var rows = json.Json.EnumerateArray().ToList();
        Assert.Equal(2, rows.Count);
        Assert.True(rows.Single(r => r.GetProperty("id").GetString() == corrupt).GetProperty("corrupt").GetBoolean());
    }

    [Fact]
    public async Task VaultRestoreLatest_NewestSnapshotCorrupt_Exits4NamingBothAndRestoresNothing()
    {
        using var ctx = new VaultTestContext("corrupt-latest");
        var (first, corrupt) = await TwoSnapshotsNewestCorruptAsync(ctx);
        var target = ctx.Dir.Combine("restored");

        var line = (await ctx.RunAsync("vault", "restore", "latest", "--target", target)).ShouldFailWith(ExitCodes.CheckFailed);

        Assert.Contains(corrupt[..8], line);
        Assert.Contains($"lifeline vault restore {first[..8]} --target {target}", line);
        Assert.False(Directory.Exists(target), "nothing is restored when latest is in doubt");
        (await ctx.RunAsync("vault", "restore", first[..8], "--target", target)).ShouldSucceed();
    }

    [Fact]
    public async Task VaultRestoreId_CorruptSnapshot_Exits4SayingCorruptNotNotFound()
    {
        using var ctx = new VaultTestContext("corrupt-id");
        var (_, corrupt) = await TwoSnapshotsNewestCorruptAsync(ctx);

        var line = (await ctx.RunAsync("vault", "restore", corrupt[..8], "--target", ctx.Dir.Combine("restored"))).ShouldFailWith(ExitCodes.CheckFailed);

        Assert.Contains("is corrupt", line);
        Assert.DoesNotContain("no snapshot matches", line);
    }

    [Fact]
    public async Task VaultOpen_KeyFileCorrupt_Exits4SayingCorruptNotWrongPassword()
    {
        using var ctx = new VaultTestContext("corrupt-key");
        await ctx.InitAsync();
        var key = Directory.GetFiles(Path.Combine(ctx.Repo, "keys")).Single();
        var bytes = File.ReadAllBytes(key);
        bytes[bytes.Length / 2] ^= 0x01;
        File.WriteAllBytes(key, bytes);
        var before = TestData.Listing(ctx.Repo);

        var line = (await ctx.RunAsync("vault", "snapshots")).ShouldFailWith(ExitCodes.CheckFailed);

        Assert.Contains($"key file keys/{Path.GetFileName(key)[..8]}", line);
        Assert.Contains("corrupt", line);
        Assert.DoesNotContain("wrong password", line);
        Assert.Equal(before, TestData.Listing(ctx.Repo));
    }

    [Fact]
    public async Task VaultSnapshots_S3WithoutCredentials_Exits41NamingTheVariables()
    {
        using var dir = new TestDirectory("s3-no-credentials");
        var result = await new LifelineRunner(dir.Path).RunAsync(
            ["vault", "snapshots", "--repo", "s3://lifeline-none/repo?endpoint=http://127.0.0.1:10050&region=us-east-1"],
            new Dictionary<string, string?>
            {
                ["LIFELINE_PASSWORD"] = "x", ["AWS_ACCESS_KEY_ID"] = null, ["AWS_SECRET_ACCESS_KEY"] = null, ["AWS_SESSION_TOKEN"] = null,
                ["AWS_PROFILE"] = null, ["AWS_EC2_METADATA_DISABLED"] = "true",
            });

        var line = result.ShouldFailWith(ExitCodes.NotAuthorized);
        Assert.Contains("AWS_ACCESS_KEY_ID", line);
    }

    [Fact]
    public async Task VaultSnapshots_UnreachableS3Endpoint_Exits40()
    {
        using var dir = new TestDirectory("s3-unreachable");
        var result = await new LifelineRunner(dir.Path).RunAsync(
            ["vault", "snapshots", "--repo", $"s3://lifeline-none/repo?endpoint=http://127.0.0.1:{ClosedPort()}&region=us-east-1"],
            new Dictionary<string, string?> { ["LIFELINE_PASSWORD"] = "x", ["AWS_ACCESS_KEY_ID"] = "a", ["AWS_SECRET_ACCESS_KEY"] = "b" });

        result.ShouldFailWith(ExitCodes.ServiceUnreachable);
        Assert.DoesNotContain("unexpected error", result.Stderr);
    }

    [Theory]
    [InlineData("history")]
    [InlineData("ls")]
    [InlineData("vacuum")]
    public async Task Lake_EmptyTableArgument_Exits2NamingTheArgument(string command)
    {
        // found by the fuzz harness: an empty table path reached Path.GetFullPath and ended as "unexpected error"
        using var dir = new TestDirectory("lake-empty-table");
        var line = (await new LifelineRunner(dir.Path).RunAsync("lake", command, "")).ShouldFailWith(ExitCodes.Usage);

        Assert.Contains("argument is empty", line);
        Assert.DoesNotContain("unexpected error", line);
    }

    [Fact]
    public async Task RegistryServe_BadUrls_Exits2WritingNothing()
    {
        using var dir = new TestDirectory("bad-urls");
        var line = (await new LifelineRunner(dir.Path).RunAsync("registry", "serve", "--data-dir", dir.Combine("data"), "--urls", "notaurl"))
            .ShouldFailWith(ExitCodes.Usage);

        Assert.Contains("--urls", line);
        Assert.False(Directory.Exists(dir.Combine("data")));
    }

    [Fact]
    public async Task RegistryServe_PortInUse_Exits43WithoutKestrelStackTrace()
    {
        using var dir = new TestDirectory("registry-port");
        using var taken = TakePort(out var port);

        var result = await new LifelineRunner(dir.Path).RunAsync("registry", "serve", "--data-dir", dir.Combine("data"), "--urls", $"http://127.0.0.1:{port}", "--allow-anonymous-writes");

        var line = result.ShouldFailWith(ExitCodes.CannotListen);
        Assert.Equal($"lifeline: cannot listen on http://127.0.0.1:{port}: address already in use; choose another port with --urls", line);
        AssertNoStackTrace(result.Stdout);
    }

    [Fact]
    public async Task ScoringServe_PortInUse_Exits43WithoutKestrelStackTrace()
    {
        using var dir = new TestDirectory("scoring-port");
        using var taken = TakePort(out var port);
        Directory.CreateDirectory(dir.Combine("models"));

        var result = await new LifelineRunner(dir.Path).RunAsync("scoring", "serve", "--model-dir", dir.Combine("models"), "--no-sinks", "--urls", $"http://127.0.0.1:{port}", "--cache-dir", dir.Combine("cache"));

        var line = result.ShouldFailWith(ExitCodes.CannotListen);
        Assert.Contains($"cannot listen on http://127.0.0.1:{port}", line);
        AssertNoStackTrace(result.Stdout);
    }

    [Fact]
    public async Task Train_ModelDirIsAFile_Exits2LeavingTheFileAlone()
    {
        using var dir = new TestDirectory("train-file");
        var file = dir.Combine("model.txt");
        File.WriteAllText(file, "not a directory\n");

        var line = (await new LifelineRunner(dir.Path).RunAsync("train", "--model-dir", file, "--synthetic-rows", "500", "--trees", "1"))
            .ShouldFailWith(ExitCodes.Usage);

        Assert.Contains("--model-dir", line);
        Assert.Contains("is a file", line);
        Assert.Equal("not a directory\n", File.ReadAllText(file));
    }

    [Fact]
    public async Task RegistryRestore_NonEmptyDataDir_RefusedLikeVaultRestore()
    {
        using var ctx = new VaultTestContext("registry-nonempty");
        await ctx.InitAsync();
        var data = ctx.Dir.Combine("data");
        Directory.CreateDirectory(data);
        File.WriteAllText(Path.Combine(data, "keep.txt"), "mine\n");
        var before = TestData.Listing(data);

        var registry = (await ctx.RunAsync("registry", "restore", "--data-dir", data)).ShouldFailWith(ExitCodes.Failure);
        var vault = (await ctx.RunAsync("vault", "restore", "latest", "--target", data)).ShouldFailWith(ExitCodes.Failure);

        Assert.Contains($"restore target '{data}' given by --data-dir is not empty", registry);
        Assert.Contains($"restore target '{data}' is not empty", vault);
        Assert.Equal(before, TestData.Listing(data));
    }

    [Fact]
    public async Task LakeRestore_UnknownSnapshot_Exits13LikeVault()
    {
        using var ctx = new VaultTestContext("lake-unknown");
        await ctx.InitAsync();

        var lake = (await ctx.RunAsync("lake", "restore", ctx.Dir.Combine("restored"), "--snapshot", "deadbeef")).ShouldFailWith(ExitCodes.SnapshotNotFound);
        var vault = (await ctx.RunAsync("vault", "ls", "deadbeef")).ShouldFailWith(ExitCodes.SnapshotNotFound);

        Assert.Contains("no snapshot matches 'deadbeef'", lake);
        Assert.Contains("no snapshot matches 'deadbeef'", vault);
        Assert.False(Directory.Exists(ctx.Dir.Combine("restored")));
    }

    [Fact]
    public async Task LakeAndRegistry_CorruptVault_Exit4LikeVault()
    {
        using var ctx = new VaultTestContext("lake-corrupt");
        var (_, corrupt) = await TwoSnapshotsNewestCorruptAsync(ctx);

        var lake = (await ctx.RunAsync("lake", "restore", ctx.Dir.Combine("restored"), "--snapshot", corrupt[..8])).ShouldFailWith(ExitCodes.CheckFailed);
        var registry = (await ctx.RunAsync("registry", "restore", "--data-dir", ctx.Dir.Combine("registry"), "--work-dir", ctx.Dir.Combine("work"))).ShouldFailWith(ExitCodes.CheckFailed);

        Assert.Contains($"snapshot {corrupt[..8]} is corrupt", lake);
        Assert.Contains($"snapshot {corrupt[..8]} is corrupt", registry);
    }

    [Fact]
    public async Task TimeOptions_TimeWithoutZone_AreLocalTimeInEveryGroup()
    {
        // In Honolulu (UTC-10) "an hour from now" in local wall-clock time is 9 hours ago in UTC: read as UTC it would
        // be before the table and the snapshot existed.
        using var ctx = new VaultTestContext("local-time");
        ctx.Runner.Environment["TZ"] = "Pacific/Honolulu";
        var honolulu = TimeZoneInfo.FindSystemTimeZoneById("Pacific/Honolulu");
        var inAnHour = TimeZoneInfo.ConvertTime(DateTimeOffset.UtcNow.AddHours(1), honolulu).ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture);
        var lake = ctx.Dir.Combine("lake");
        (await ctx.RunAsync("lake", "seed", lake, "--leads", "50", "--batches", "1")).ShouldSucceed();
        await ctx.InitAsync();
        (await ctx.RunAsync("vault", "backup", ctx.Dir.Combine("lake", "leads"))).ShouldSucceed();

        var show = (await ctx.RunAsync("lake", "--json", "show", Path.Combine(lake, "leads"), "--at", inAnHour)).ShouldSucceed();
        var snapshots = (await ctx.RunAsync("vault", "--json", "snapshots", "--until", inAnHour)).ShouldSucceed();
        (await ctx.RunAsync("vault", "restore", "latest", "--at", inAnHour, "--target", ctx.Dir.Combine("restored"))).ShouldSucceed();

        Assert.True(show.Json.GetProperty("version").GetInt64() >= 0);
        Assert.Single(snapshots.Json.EnumerateArray());
    }

    private static async Task<(string First, string Corrupt)> TwoSnapshotsNewestCorruptAsync(VaultTestContext ctx)
    {
        await ctx.InitAsync();
        var src = ctx.Dir.Combine("src");
        Directory.CreateDirectory(src);
        File.WriteAllText(Path.Combine(src, "a.txt"), "first\n");
        var first = (await ctx.JsonAsync("backup", src)).Json.GetProperty("snapshot").GetProperty("id").GetString()!;
        File.WriteAllText(Path.Combine(src, "b.txt"), "second\n");
        var second = (await ctx.JsonAsync("backup", src)).Json.GetProperty("snapshot").GetProperty("id").GetString()!;
        var file = Path.Combine(ctx.Repo, "snapshots", second);
        var bytes = File.ReadAllBytes(file);
        bytes[bytes.Length / 2] ^= 0x20;
        File.WriteAllBytes(file, bytes);
        return (first, second);
    }

    private static TcpListener TakePort(out int port)
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        port = ((IPEndPoint)listener.LocalEndpoint).Port;
        return listener;
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }

    private static void AssertNoStackTrace(string text)
    {
        Assert.DoesNotContain("   at ", text);
        Assert.DoesNotContain("Exception", text);
    }
}
