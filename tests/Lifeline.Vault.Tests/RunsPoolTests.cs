using Lifeline.Vault.Format;

namespace Lifeline.Vault.Tests;

/// <summary>The pool backup and copy runs share (VaultBuffers.Runs): reuse between runs, release when idle.</summary>
public sealed class RunsPoolTests
{
    [Fact]
    public void Rent_AfterAReturnWhileBusy_GetsTheSameArrayBack()
    {
        var pool = new IdleReleasingPool(4, TimeSpan.FromHours(1));
        var first = pool.Rent(16 << 20);
        pool.Return(first);

        Assert.False(pool.ReleaseIfIdle()); // rented a moment ago: kept
        var second = pool.Rent(16 << 20);

        Assert.Same(first, second);
        Assert.Equal(16 << 20, second.Length);
    }

    [Fact]
    public void ReleaseIfIdle_NothingRentedForTheIdleTime_LetsGoOfTheKeptArrays()
    {
        var pool = new IdleReleasingPool(4, TimeSpan.Zero);
        var first = pool.Rent(16 << 20);
        pool.Return(first);

        Assert.True(pool.ReleaseIfIdle());
        Assert.False(pool.ReleaseIfIdle()); // nothing rented since: nothing to let go of
        var second = pool.Rent(16 << 20);

        Assert.NotSame(first, second);
    }

    [Fact]
    public void Return_OfAnArrayRentedBeforeTheRelease_IsAcceptedAndTheNextRentStillServes()
    {
        var pool = new IdleReleasingPool(4, TimeSpan.Zero);
        var held = pool.Rent(1 << 20);
        Assert.True(pool.ReleaseIfIdle());

        pool.Return(held); // the new pool lent nothing of that size: it lets the array go (no throw, nothing kept)
        var next = pool.Rent(1 << 20);

        Assert.Equal(1 << 20, next.Length);
        pool.Return(next);
        Assert.Same(next, pool.Rent(1 << 20));
    }
}
