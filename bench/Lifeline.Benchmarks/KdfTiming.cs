using System.Diagnostics;
using Lifeline.Vault;
using Lifeline.Vault.Crypto;

namespace Lifeline.Benchmarks;

/// <summary>kdf: times one key derivation with the default parameters (what every open of a vault costs).</summary>
internal static class KdfTiming
{
    public static int Run()
    {
        var options = new VaultInitOptions();
        var master = new byte[32];
        for (var i = 0; i < 3; i++)
        {
            var sw = Stopwatch.StartNew();
            var file = KeyFiles.Create(master, "password", options, "h", DateTimeOffset.UnixEpoch);
            Console.WriteLine($"argon2id {options.KdfMemoryKiB / 1024} MiB, {options.KdfIterations} iterations, {options.KdfParallelism} lanes: {sw.ElapsedMilliseconds} ms");
            GC.KeepAlive(file);
        }

        return 0;
    }
}
