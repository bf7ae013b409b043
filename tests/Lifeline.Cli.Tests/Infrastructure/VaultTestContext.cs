namespace Lifeline.Cli.Tests.Infrastructure;

/// <summary>A test directory with a runner whose LIFELINE_REPO and LIFELINE_PASSWORD point at <c>repo/</c>.</summary>
internal sealed class VaultTestContext : IDisposable
{
    public const string Password = "correct horse battery staple";

    /// <summary>Small key-derivation parameters so that each child process opens the repository quickly.</summary>
    public static readonly string[] FastInit = ["--kdf-memory-mib", "8", "--kdf-iterations", "1"];

    public VaultTestContext(string name, (int Uid, int Gid)? runAs = null)
    {
        Dir = new TestDirectory(name);
        Repo = Dir.Combine("repo");
        Runner = new LifelineRunner(Dir.Path) { RunAs = runAs };
        Runner.Environment["LIFELINE_REPO"] = Repo;
        Runner.Environment["LIFELINE_PASSWORD"] = Password;
    }

    public TestDirectory Dir { get; }

    public string Repo { get; }

    public LifelineRunner Runner { get; }

    public Task<CliResult> RunAsync(params string[] args) => Runner.RunAsync(args);

    /// <summary>Runs <c>lifeline --json vault args...</c>, asserts success, and returns the result.</summary>
    public async Task<CliResult> JsonAsync(params string[] args) => (await Runner.RunAsync(["vault", "--json", .. args])).ShouldSucceed();

    /// <summary>Creates the repository (fast key derivation; optional pack size in MiB).</summary>
    public async Task InitAsync(int? packSizeMiB = null, string? repo = null)
    {
        string[] extra = packSizeMiB is { } mib ? ["--pack-size-mib", mib.ToString(System.Globalization.CultureInfo.InvariantCulture)] : [];
        string[] where = repo is null ? [] : ["--repo", repo];
        (await Runner.RunAsync(["vault", "init", .. where, .. FastInit, .. extra])).ShouldSucceed();
    }

    public void Dispose() => Dir.Dispose();
}
