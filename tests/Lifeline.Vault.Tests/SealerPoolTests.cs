using System.Security.Cryptography;
using System.Text;
using Lifeline.Vault.Crypto;

namespace Lifeline.Vault.Tests;

public class SealerPoolTests
{
    // `lifeline up` keeps its vaults open while the thread pool starts and retires threads: a cipher per thread that ever
    // used the key grew by hundreds an hour. Each thread here lives for one seal and one open.
    [Fact]
    public void SealAndOpen_FromManyShortLivedThreads_RoundTripsAndKeepsAtMostThePoolLimitOfCiphers()
    {
        using var sealer = new Sealer(RandomNumberGenerator.GetBytes(32));
        var role = Encoding.ASCII.GetBytes("test");
        var failures = 0;
        for (var round = 0; round < 16; round++)
        {
            var threads = Enumerable.Range(0, 4).Select(i => new Thread(() =>
            {
                var plain = RandomNumberGenerator.GetBytes(1000 + i);
                var sealedBytes = sealer.Seal(plain, role);
                var opened = sealer.TryOpen(sealedBytes, role);
                if (opened is null || !opened.AsSpan().SequenceEqual(plain))
                {
                    Interlocked.Increment(ref failures);
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            threads.ForEach(t => t.Join());
        }

        Assert.Equal(0, failures);
        Assert.InRange(sealer.Idle, 1, Sealer.PoolLimit);
    }

    [Fact]
    public void TryOpen_WithAnotherRole_IsFalseAndTheCipherStillServesTheNextCall()
    {
        using var sealer = new Sealer(RandomNumberGenerator.GetBytes(32));
        var sealedBytes = sealer.Seal([1, 2, 3], Encoding.ASCII.GetBytes("a"));

        Assert.Null(sealer.TryOpen(sealedBytes, Encoding.ASCII.GetBytes("b")));
        Assert.Equal([1, 2, 3], sealer.TryOpen(sealedBytes, Encoding.ASCII.GetBytes("a")));
    }

    [Fact]
    public void Seal_AfterDispose_Throws()
    {
        var sealer = new Sealer(RandomNumberGenerator.GetBytes(32));
        sealer.Dispose();

        Assert.Throws<ObjectDisposedException>(() => sealer.Seal([1], Encoding.ASCII.GetBytes("a")));
    }
}
