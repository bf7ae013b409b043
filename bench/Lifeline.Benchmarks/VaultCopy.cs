using System.Diagnostics;
using System.Globalization;
using Lifeline.Storage.FileSystem;
using Lifeline.Vault;

namespace Lifeline.Benchmarks;

/// <summary>
/// vault-copy SOURCE_REPO DEST_REPO [SOURCE_DIR]: one copy in-process as `lifeline up` runs it (no process start).
/// Opens SOURCE_REPO with LIFELINE_PASSWORD (backing SOURCE_DIR up into a new repository first when SOURCE_REPO has
/// no vault), creates an empty DEST_REPO with the source's chunker parameters, and copies every snapshot. Prints
/// the copy's wall time, the process CPU seconds it used, and the copy's stage counters; lines start with "inproc".
/// </summary>
internal static class VaultCopy
{
    public static async Task<int> RunAsync(string[] args)
    {
        var password = Environment.GetEnvironmentVariable("LIFELINE_PASSWORD") ?? throw new InvalidOperationException("set LIFELINE_PASSWORD");
        var inv = CultureInfo.InvariantCulture;
        var srcStore = new FileSystemObjectStore(args[0]);
        if (await srcStore.StatAsync("config") is null)
        {
            await using var fresh = await VaultRepository.InitAsync(srcStore, password);
            await fresh.BackupAsync(new BackupRequest { Paths = [args[2]] });
        }

        if (Directory.Exists(args[1]))
        {
            Directory.Delete(args[1], true);
        }

        await using var src = await VaultRepository.OpenAsync(srcStore, password);
        // VAULT_COPY_SAME_KEY=1: the destination shares the source's master key (whole verified packs are written as they are)
        var sameKey = Environment.GetEnvironmentVariable("VAULT_COPY_SAME_KEY") == "1";
        // VAULT_READ_BACK=0 turns the read-back of each written pack off, for its A/B (bench/vault-readback.sh)
        var readBack = Environment.GetEnvironmentVariable("VAULT_READ_BACK") != "0";
        await using var dest = await VaultRepository.InitAsync(new FileSystemObjectStore(args[1]), password,
            new VaultInitOptions { CopyChunkerParamsFrom = src, CopyMasterKeyFrom = sameKey ? src : null }, new VaultOpenOptions { ReadBackPacks = readBack });
        using var self = Process.GetCurrentProcess();
        self.Refresh();
        var cpu0 = self.TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        // VAULT_COPY_VERIFY_PLAINTEXT=1: also decompress and hash every blob's plaintext (`vault copy --verify-plaintext`)
        var plaintext = Environment.GetEnvironmentVariable("VAULT_COPY_VERIFY_PLAINTEXT") == "1";
        var r = await src.CopyAsync(dest, new CopyOptions { VerifyPlaintext = plaintext });
        var wall = sw.Elapsed;
        self.Refresh();
        var cpu = self.TotalProcessorTime - cpu0;
        Console.WriteLine(string.Create(inv, $"inproc copy={wall.TotalSeconds:F3} cpu={cpu.TotalSeconds:F3} snapshots={r.SnapshotsCopied} blobs={r.BlobsCopied} bytes={r.BytesCopied} packs_read={r.PacksRead} packs_whole={r.PacksCopiedWhole} packs_read_back={r.PacksReadBack} same_key={(sameKey ? 1 : 0)} verify_plaintext={(plaintext ? 1 : 0)} gc0={GC.CollectionCount(0)} gc2={GC.CollectionCount(2)}"));
        var st = r.Stages;
        Console.WriteLine(string.Create(inv,
            $"inproc-copy-stages plan={st.Plan.TotalSeconds:F3} read={st.Read.TotalSeconds:F3} wait_workers={st.WaitForWorkers.TotalSeconds:F3} verify={st.Verify.TotalSeconds:F3} pack={st.Pack.TotalSeconds:F3} wait_upload={st.WaitForUpload.TotalSeconds:F3} write={st.Write.TotalSeconds:F3} read_back={st.ReadBack.TotalSeconds:F3} index_write={st.IndexWrite.TotalSeconds:F3} snapshots={st.Snapshots.TotalSeconds:F3} workers={st.Workers} uploads={st.Uploads}"));
        return 0;
    }
}
