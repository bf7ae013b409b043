using Lifeline.Vault.Format;

namespace Lifeline.Vault.Tests;

/// <summary>The pool backup and copy runs share (VaultBuffers.Runs): reuse between runs, arrays unused for a while let go of.</summary>
public sealed class RunsPoolTests
{
    private long _now = 1_000_000;

    private TrimmingArrayPool Pool(int perBucket = 4) => new(perBucket, TimeSpan.FromSeconds(30), () => _now);

    [Fact]
    public void Rent_AfterAReturn_GetsTheSameArrayBack()
    {
        var pool = Pool();
        var first = pool.Rent(16 << 20);
        pool.Return(first);
        _now += 10_000;

        Assert.Equal(0, pool.Trim()); // returned 10 s ago: kept
        var second = pool.Rent(16 << 20);

        Assert.Same(first, second);
        Assert.Equal(16 << 20, second.Length);
    }

    [Fact]
    public void KeptBytes_CountsTheArraysInThePoolNotThoseLentOut()
    {
        var pool = Pool();
        var lent = pool.Rent(16 << 20);
        pool.Return(pool.Rent(1 << 20));
        pool.Return(pool.Rent(32 << 20));

        Assert.Equal((1L << 20) + (32L << 20), pool.KeptBytes);
        pool.Return(lent);
        Assert.Equal((1L << 20) + (16L << 20) + (32L << 20), pool.KeptBytes);
        _now += 31_000;
        pool.Trim();
        Assert.Equal(0, pool.KeptBytes);
    }

    [Fact]
    public void Trim_WhileBusy_LetsGoOfOnlyTheArraysBeyondWhatIsInUseAtOnce()
    {
        // a peak of three at once, then one at a time: the two spare arrays age out, the one in use stays
        var pool = Pool();
        var peak = new[] { pool.Rent(1 << 20), pool.Rent(1 << 20), pool.Rent(1 << 20) };
        foreach (var a in peak)
        {
            pool.Return(a);
        }

        for (var second = 0; second < 40; second++)
        {
            _now += 1000;
            pool.Return(pool.Rent(1 << 20));
            pool.Trim();
        }

        Assert.Equal(1, pool.Kept);
    }

    [Fact]
    public void Return_TheSameArrayTwice_RefusesTheSecondAndLendsItOnlyOnce()
    {
        var pool = Pool();
        var array = pool.Rent(1 << 20);
        pool.Return(array);

        var e = Assert.Throws<InvalidOperationException>(() => pool.Return(array));

        Assert.Contains("returned to the vault's pool twice", e.Message, StringComparison.Ordinal);
        Assert.Equal(1, pool.Kept);
        Assert.Same(array, pool.Rent(1 << 20));
        Assert.NotSame(array, pool.Rent(1 << 20)); // a second renter gets its own array
    }

    [Fact]
    public void Rent_AfterEverythingAgedOut_AllocatesAfresh()
    {
        var pool = Pool();
        var first = pool.Rent(4 << 20);
        pool.Return(first);
        _now += 30_000;

        Assert.Equal(1, pool.Trim());
        Assert.Equal(0, pool.Kept);
        Assert.NotSame(first, pool.Rent(4 << 20));
    }

    [Fact]
    public void Return_BeyondTheBound_IsLetGo_AndSizesAreThePowersOfTwo()
    {
        var pool = Pool(perBucket: 2);
        var arrays = Enumerable.Range(0, 3).Select(_ => pool.Rent(1000)).ToList();
        Assert.All(arrays, a => Assert.Equal(1024, a.Length));
        foreach (var a in arrays)
        {
            pool.Return(a);
        }

        Assert.Equal(2, pool.Kept);
        Assert.Throws<ArgumentException>(() => pool.Return(new byte[1000]));
        Assert.Equal(64 << 20, pool.Rent(64 << 20).Length); // larger than the largest size: not pooled
    }
}
