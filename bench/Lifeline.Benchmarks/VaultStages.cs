using System.Diagnostics;
using System.Security.Cryptography;
using Lifeline.Vault.Chunking;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Benchmarks;

/// <summary>Single-threaded cost of each backup stage over a directory (quick profiling aid).</summary>
internal static class VaultStages
{
    public static int Run(string source)
    {
        var cdc = new FastCdc(new byte[32], 512 * 1024, 1024 * 1024, 8 * 1024 * 1024);
        using var enc = new BlobEncoder(int.TryParse(Environment.GetEnvironmentVariable("VAULT_ZSTD_LEVEL"), out var level) ? level : 3);
        using var key = MasterKey.Create();
        var dest = new byte[9 * 1024 * 1024];
        TimeSpan read = default, chunk = default, hash = default, comp = default, aes = default;
        long total = 0, stored = 0;
        var sw = new Stopwatch();
        foreach (var f in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            sw.Restart();
            var data = File.ReadAllBytes(f);
            read += sw.Elapsed;
            total += data.Length;
            var pos = 0;
            while (pos < data.Length)
            {
                sw.Restart();
                var cut = cdc.FindCut(data.AsSpan(pos));
                chunk += sw.Elapsed;
                sw.Restart();
                SHA256.HashData(data.AsSpan(pos, cut));
                hash += sw.Elapsed;
                sw.Restart();
                var payload = enc.Encode(data.AsSpan(pos, cut), out _);
                comp += sw.Elapsed;
                sw.Restart();
                stored += key.Data.Seal(payload, Roles.Blob, dest);
                aes += sw.Elapsed;
                pos += cut;
            }
        }

        void P(string n, TimeSpan t) => Console.WriteLine($"{n,-10} {t.TotalSeconds,6:F2} s  {total / t.TotalSeconds / 1e6,8:F0} MB/s");
        P("read", read);
        P("chunk", chunk);
        P("sha256", hash);
        P("zstd", comp);
        P("aes-gcm", aes);
        Console.WriteLine($"input {total / 1048576} MiB, stored {stored:N0} bytes, native zstd: {NativeZstd.Available}");
        return 0;
    }
}
