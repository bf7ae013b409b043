using System.Diagnostics;
using System.Security.Cryptography;
using Lifeline.Vault.Chunking;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Benchmarks;

/// <summary>
/// Single-threaded cost of each backup stage over a directory (quick profiling aid): wall time and, per stage, the
/// process CPU time (utime+stime; the loop runs on one thread, so on a busy machine the CPU column is the one to
/// compare). "pack-sha" is one SHA-256 of the sealed bytes, what naming a pack costs per pass.
/// </summary>
internal static class VaultStages
{
    public static int Run(string source)
    {
        var cdc = new FastCdc(new byte[32], 512 * 1024, 1024 * 1024, 8 * 1024 * 1024);
        using var enc = new BlobEncoder(int.TryParse(Environment.GetEnvironmentVariable("VAULT_ZSTD_LEVEL"), out var level) ? level : 1);
        using var key = MasterKey.Create();
        var dest = new byte[9 * 1024 * 1024];
        var names = new[] { "read", "chunk", "sha256", "zstd", "aes-gcm", "pack-sha" };
        var wall = new TimeSpan[names.Length];
        var cpu = new TimeSpan[names.Length];
        long total = 0, stored = 0;
        var sw = new Stopwatch();
        var lastCpu = Environment.CpuUsage.TotalTime;
        void Start()
        {
            lastCpu = Environment.CpuUsage.TotalTime;
            sw.Restart();
        }

        void Stop(int stage)
        {
            wall[stage] += sw.Elapsed;
            cpu[stage] += Environment.CpuUsage.TotalTime - lastCpu;
        }

        foreach (var f in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            Start();
            var data = File.ReadAllBytes(f);
            Stop(0);
            total += data.Length;
            var pos = 0;
            while (pos < data.Length)
            {
                Start();
                var cut = cdc.FindCut(data.AsSpan(pos));
                Stop(1);
                Start();
                SHA256.HashData(data.AsSpan(pos, cut));
                Stop(2);
                Start();
                var payload = enc.Encode(data.AsSpan(pos, cut), out _);
                Stop(3);
                Start();
                var n = key.Data.Seal(payload, Roles.Blob, dest);
                Stop(4);
                Start();
                SHA256.HashData(dest.AsSpan(0, n));
                Stop(5);
                stored += n;
                pos += cut;
            }
        }

        for (var i = 0; i < names.Length; i++)
        {
            Console.WriteLine($"{names[i],-10} {wall[i].TotalSeconds,6:F2} s  {total / wall[i].TotalSeconds / 1e6,8:F0} MB/s  cpu {cpu[i].TotalSeconds,6:F2} s");
        }

        Console.WriteLine($"input {total / 1048576} MiB, stored {stored:N0} bytes, native zstd: {NativeZstd.Available}");
        return 0;
    }
}
