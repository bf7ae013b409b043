using System.Diagnostics;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Benchmarks;

/// <summary>Times a full backup, an unchanged re-backup, a restore and check --read-data of a directory; prints, does not assert.</summary>
internal static class VaultEndToEnd
{
    public static async Task<int> RunAsync(string[] args)
    {
        var source = args[0];
        var repoDir = args[1];
        var restoreDir = args.Length > 2 ? args[2] : null;
        if (Directory.Exists(repoDir))
        {
            Directory.Delete(repoDir, true);
        }

        var bytes = new DirectoryInfo(source).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        var store = new FileSystemObjectStore(repoDir);
        var open = new VaultOpenOptions { CompressionLevel = int.TryParse(Environment.GetEnvironmentVariable("VAULT_ZSTD_LEVEL"), out var level) ? level : new VaultOpenOptions().CompressionLevel };
        await using var repo = await VaultRepository.InitAsync(store, "bench", VaultInitOptions.ForTests, open);
        var sw = Stopwatch.StartNew();
        var r = await repo.BackupAsync(new BackupRequest { Paths = [source] });
        Print("full backup", sw.Elapsed, bytes, $"added {r.DataAdded / 1048576.0:F1} MiB, {r.BlobsAdded} blobs");
        var st = r.Stages;
        Console.WriteLine($"  stages: prepare (lock, index, parent) {st.Prepare.TotalSeconds:F2} s; after the reader {st.Finish.TotalSeconds:F2} s; reader (one thread) walk {st.Walk.TotalSeconds:F2} s, read {st.Read.TotalSeconds:F2} s, chunk {st.Chunk.TotalSeconds:F2} s, copy {st.Copy.TotalSeconds:F2} s, " +
            $"waiting for workers {st.WaitForWorkers.TotalSeconds:F2} s; {st.Workers} workers (summed) hash {st.Hash.TotalSeconds:F2} s, compress+encrypt {st.CompressEncrypt.TotalSeconds:F2} s, " +
            $"waiting for uploads {st.WaitForUpload.TotalSeconds:F2} s; store writes (summed) {st.Write.TotalSeconds:F2} s");
        Console.WriteLine($"  cpu {st.Cpu.TotalSeconds:F2} s on {st.Cores} cores: the {st.Cores}-core limit is {st.CoreLimit.TotalSeconds:F2} s, the engine took {r.Duration.TotalSeconds:F2} s ({(st.CoreLimit > TimeSpan.Zero ? r.Duration / st.CoreLimit : 0):F2}× the limit)");
        sw.Restart();
        var r2 = await repo.BackupAsync(new BackupRequest { Paths = [source] });
        Print("unchanged re-backup", sw.Elapsed, bytes, $"added {r2.DataAdded} B");
        if (Environment.GetEnvironmentVariable("VAULT_E2E_MUTATE") is { Length: > 0 } mutate)
        {
            // e.g. VAULT_E2E_MUTATE="python3 /work/shared/bench/make-dataset.py /tmp/vaultbench --mib 1024 --mutate 5"
            var parts = mutate.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            using (var p = Process.Start(parts[0], parts[1..]))
            {
                await p.WaitForExitAsync();
            }

            sw.Restart();
            var r3 = await repo.BackupAsync(new BackupRequest { Paths = [source] });
            Print("changed re-backup", sw.Elapsed, bytes, $"added {r3.DataAdded / 1048576.0:F1} MiB, {r3.FilesChanged} files changed");
        }

        if (restoreDir is not null)
        {
            if (Directory.Exists(restoreDir))
            {
                Directory.Delete(restoreDir, true);
            }

            sw.Restart();
            await repo.RestoreAsync(new RestoreRequest { Snapshot = r.Snapshot, TargetDirectory = restoreDir });
            Print("restore", sw.Elapsed, bytes, "");
        }

        sw.Restart();
        var c = await repo.CheckAsync(new CheckOptions { ReadData = true });
        Print("check --read-data", sw.Elapsed, bytes, c.Ok ? "ok" : string.Join("; ", c.Errors));
        Console.WriteLine($"peak working set {Process.GetCurrentProcess().PeakWorkingSet64 / 1048576} MiB");
        return 0;
    }

    /// <summary>vault-restore REPO TARGET [--no-check]: restore latest (and check --read-data) in a fresh process (peak
    /// memory of each); the password is LIFELINE_PASSWORD, or "bench" (vault-e2e's) when unset.</summary>
    public static async Task<int> RestoreOnlyAsync(string[] args)
    {
        if (Directory.Exists(args[1]))
        {
            Directory.Delete(args[1], true);
        }

        await using var repo = await VaultRepository.OpenAsync(new FileSystemObjectStore(args[0]), Environment.GetEnvironmentVariable("LIFELINE_PASSWORD") ?? "bench");
        var snap = await repo.FindSnapshotAsync("latest");
        var sw = Stopwatch.StartNew();
        var r = await repo.RestoreAsync(new RestoreRequest { Snapshot = snap, TargetDirectory = args[1] });
        Print("restore", sw.Elapsed, r.Bytes, "");
        var s = r.Stages;
        Console.WriteLine(string.Create(System.Globalization.CultureInfo.InvariantCulture,
            $"restore-stages plan={s.Plan.TotalSeconds:F3} reader: read={s.Read.TotalSeconds:F3} wait_workers={s.WaitForWorkers.TotalSeconds:F3} pack_reads={s.PackReads} workers(summed): decode={s.Decode.TotalSeconds:F3} write={s.Write.TotalSeconds:F3} complete={s.Complete.TotalSeconds:F3} finish={s.Finish.TotalSeconds:F3} cpu={s.Cpu.TotalSeconds:F3} cores={s.Cores} core_limit={(s.Cores > 0 ? s.Cpu.TotalSeconds / s.Cores : 0):F3} wall={sw.Elapsed.TotalSeconds:F3}"));
        if (args.Length > 2 && args[2] == "--no-check")
        {
            return 0;
        }

        sw.Restart();
        var c = await repo.CheckAsync(new CheckOptions { ReadData = true });
        Print("check --read-data", sw.Elapsed, r.Bytes, c.Ok ? "ok" : string.Join("; ", c.Errors));
        return 0;
    }

    private static void Print(string what, TimeSpan t, long bytes, string extra)
    {
        using var p = Process.GetCurrentProcess();
        Console.WriteLine($"{what,-22} {t.TotalSeconds,7:F2} s  {bytes / t.TotalSeconds / 1e6,8:F0} MB/s  peak so far {p.PeakWorkingSet64 / 1048576} MiB, GC heap {GC.GetTotalMemory(false) / 1048576} MiB  {extra}");
    }
}

/// <summary>
/// vault-backup REPO SOURCE: one backup in-process as `lifeline up` runs it (no process start): opens the repository
/// with LIFELINE_PASSWORD (one real Argon2id derivation, timed apart), backs SOURCE up against its latest snapshot,
/// and prints the open time, the backup time and the per-stage times. Lines start with "inproc" for scripts.
/// </summary>
internal static class VaultInProcessBackup
{
    public static async Task<int> RunAsync(string[] args)
    {
        var password = Environment.GetEnvironmentVariable("LIFELINE_PASSWORD") ?? throw new InvalidOperationException("set LIFELINE_PASSWORD");
        var sw = Stopwatch.StartNew();
        // VAULT_READAHEAD_BYTES=0 gives the old read-ahead (next file of the directory only), for an A/B of the walker
        var options = new VaultOpenOptions();
        if (long.TryParse(Environment.GetEnvironmentVariable("VAULT_READAHEAD_BYTES"), out var readAhead))
        {
            options = options with { ReadAheadBytes = readAhead };
        }

        // VAULT_READ_BACK=0 turns the read-back of each written pack off, for its A/B (bench/vault-readback.sh)
        options = options with { ReadBackPacks = Environment.GetEnvironmentVariable("VAULT_READ_BACK") != "0" };
        // VAULT_INIT=1: an empty REPO is initialized first (real key derivation), outside the timed open
        var store = new FileSystemObjectStore(args[0]);
        if (Environment.GetEnvironmentVariable("VAULT_INIT") == "1" && await store.StatAsync("config") is null)
        {
            await (await VaultRepository.InitAsync(store, password, null, options)).DisposeAsync();
        }

        sw.Restart();
        await using var repo = await VaultRepository.OpenAsync(store, password, options);
        var open = sw.Elapsed;
        sw.Restart();
        var r = await repo.BackupAsync(new BackupRequest { Paths = [args[1]] });
        var backup = sw.Elapsed;
        var s = r.Stages;
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"inproc open={open.TotalSeconds:F3} backup={backup.TotalSeconds:F3} files_read={r.FilesNew + r.FilesChanged} added_bytes={r.DataAdded} packs_read_back={r.PacksReadBack} read_back={(options.ReadBackPacks ? 1 : 0)}"));
        Console.WriteLine(string.Create(inv,
            $"inproc-stages prepare={s.Prepare.TotalSeconds:F3} engine_wall={r.Duration.TotalSeconds:F3} reader: walk={s.Walk.TotalSeconds:F3} read={s.Read.TotalSeconds:F3} chunk={s.Chunk.TotalSeconds:F3} copy={s.Copy.TotalSeconds:F3} wait_workers={s.WaitForWorkers.TotalSeconds:F3} workers(summed): hash={s.Hash.TotalSeconds:F3} compress_encrypt={s.CompressEncrypt.TotalSeconds:F3} wait_upload={s.WaitForUpload.TotalSeconds:F3} uploads(summed): write={s.Write.TotalSeconds:F3} finish={s.Finish.TotalSeconds:F3} workers={s.Workers}"));
        Console.WriteLine(string.Create(inv, $"inproc-cpu cpu={s.Cpu.TotalSeconds:F3} cores={s.Cores} core_limit={s.CoreLimit.TotalSeconds:F3} engine_wall={r.Duration.TotalSeconds:F3} wall_over_limit={(s.CoreLimit > TimeSpan.Zero ? r.Duration / s.CoreLimit : 0):F2}"));
        return 0;
    }
}
