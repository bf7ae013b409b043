using System.Buffers;
using System.Runtime.CompilerServices;

namespace Lifeline.Vault.Tests;

/// <summary>A pool that lends fresh arrays and keeps a ledger of them: what is out now, and every return of an array
/// that was not out (a second return, or one the pool never lent). A run that gives every buffer back exactly once
/// leaves it with nothing out and no wrong returns.</summary>
internal sealed class LedgerPool : ArrayPool<byte>
{
    private readonly Lock _gate = new();
    private readonly Dictionary<byte[], string> _out = new(ReferenceEqualityComparer.Instance);
    private readonly List<string> _wrong = [];

    public int Outstanding
    {
        get
        {
            lock (_gate)
            {
                return _out.Count;
            }
        }
    }

    /// <summary>Where each array still out was rented (for the failure message).</summary>
    public string OutstandingRenters
    {
        get
        {
            lock (_gate)
            {
                return string.Join("\n---\n", _out.Values);
            }
        }
    }

    public IReadOnlyList<string> WrongReturns
    {
        get
        {
            lock (_gate)
            {
                return [.. _wrong];
            }
        }
    }

    public override byte[] Rent(int minimumLength)
    {
        var array = new byte[Math.Max(minimumLength, 16)];
        lock (_gate)
        {
            _out.Add(array, Environment.StackTrace);
        }

        return array;
    }

    public override void Return(byte[] array, bool clearArray = false)
    {
        lock (_gate)
        {
            if (!_out.Remove(array))
            {
                _wrong.Add($"an array of {array.Length} bytes (#{RuntimeHelpers.GetHashCode(array)}) returned while not lent:\n{Environment.StackTrace}");
            }
        }
    }
}
