using System.Security.Cryptography;
using System.Text;

namespace Lifeline.Vault.Crypto;

/// <summary>The roles an encrypted object can have; the role is the GCM associated data (docs/vault-format.md).</summary>
internal static class Roles
{
    public static readonly byte[] Config = "config"u8.ToArray();
    public static readonly byte[] Index = "index"u8.ToArray();
    public static readonly byte[] Snapshot = "snapshot"u8.ToArray();
    public static readonly byte[] Lock = "lock"u8.ToArray();
    public static readonly byte[] PackHeader = "pack-header"u8.ToArray();
    public static readonly byte[] Blob = "blob"u8.ToArray();
    public static readonly byte[] Key = "key"u8.ToArray();

    /// <summary>Size of a blob's associated data: "blob" and the 32-byte blob id.</summary>
    public const int BlobAdSize = 4 + 32;

    /// <summary>
    /// A blob's associated data binds the ciphertext to its id, so a successful open proves "this is blob X" without
    /// re-hashing the plaintext (restore relies on it; check --read-data still re-hashes).
    /// </summary>
    public static void BlobAd(Format.BlobId id, Span<byte> destination)
    {
        Blob.CopyTo(destination);
        id.WriteTo(destination[Blob.Length..]);
    }
}

/// <summary>AES-256-GCM with random nonces: stored form nonce(12) | ciphertext | tag(16).</summary>
/// <remarks>
/// AesGcm is not thread-safe, so each call takes an instance from a small pool and gives it back. It was one instance
/// per thread (a tracking ThreadLocal), which kept the instance (and its native OpenSSL context) of every thread that
/// ever used the key: in <c>lifeline up</c>, whose vaults stay open while the thread pool starts and retires threads, that
/// grew by hundreds an hour (docs/benchmarks.md, "Soak"). The pool holds at most <see cref="PoolLimit"/>.
/// </remarks>
internal sealed class Sealer : IDisposable
{
    public const int NonceSize = 12;
    public const int TagSize = 16;
    public const int Overhead = NonceSize + TagSize;
    internal const int PoolLimit = 8;

    private readonly byte[] _key;
    private readonly Stack<AesGcm> _idle = new();
    private bool _disposed;

    public Sealer(byte[] key)
    {
        _key = (byte[])key.Clone();
    }

    /// <summary>Instances made so far that are idle in the pool (for tests).</summary>
    internal int Idle
    {
        get
        {
            lock (_idle)
            {
                return _idle.Count;
            }
        }
    }

    public byte[] Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> role)
    {
        var output = GC.AllocateUninitializedArray<byte>(plaintext.Length + Overhead);
        Seal(plaintext, role, output);
        return output;
    }

    /// <summary>Encrypts into <paramref name="destination"/> (at least plaintext + 28 bytes); returns the bytes written.</summary>
    public int Seal(ReadOnlySpan<byte> plaintext, ReadOnlySpan<byte> role, Span<byte> destination)
    {
        var nonce = destination[..NonceSize];
        RandomNumberGenerator.Fill(nonce);
        var ct = destination.Slice(NonceSize, plaintext.Length);
        var tag = destination.Slice(NonceSize + plaintext.Length, TagSize);
        var aes = Rent();
        try
        {
            aes.Encrypt(nonce, plaintext, ct, tag, role);
        }
        finally
        {
            Return(aes);
        }

        return plaintext.Length + Overhead;
    }

    /// <summary>Decrypts; returns false when the tag does not verify (wrong key or tampered data).</summary>
    public bool TryOpen(ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> role, Span<byte> destination)
    {
        if (sealedData.Length < Overhead || destination.Length < sealedData.Length - Overhead)
        {
            return false;
        }

        var len = sealedData.Length - Overhead;
        var aes = Rent();
        try
        {
            aes.Decrypt(sealedData[..NonceSize], sealedData.Slice(NonceSize, len), sealedData[(NonceSize + len)..], destination[..len], role);
            return true;
        }
        catch (AuthenticationTagMismatchException)
        {
            return false;
        }
        finally
        {
            Return(aes);
        }
    }

    public byte[]? TryOpen(ReadOnlySpan<byte> sealedData, ReadOnlySpan<byte> role)
    {
        if (sealedData.Length < Overhead)
        {
            return null;
        }

        var output = GC.AllocateUninitializedArray<byte>(sealedData.Length - Overhead);
        return TryOpen(sealedData, role, output) ? output : null;
    }

    public void Dispose()
    {
        lock (_idle)
        {
            _disposed = true;
            while (_idle.TryPop(out var aes))
            {
                aes.Dispose();
            }
        }
    }

    private AesGcm Rent()
    {
        lock (_idle)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_idle.TryPop(out var aes))
            {
                return aes;
            }
        }

        return new AesGcm(_key, TagSize);
    }

    private void Return(AesGcm aes)
    {
        lock (_idle)
        {
            if (!_disposed && _idle.Count < PoolLimit)
            {
                _idle.Push(aes);
                return;
            }
        }

        aes.Dispose();
    }
}

/// <summary>The master key and the subkeys derived from it.</summary>
internal sealed class MasterKey : IDisposable
{
    public const int Size = 32;

    public MasterKey(byte[] material)
    {
        if (material.Length != Size)
        {
            throw new ArgumentException("the master key is 32 bytes", nameof(material));
        }

        Material = material;
        Data = new Sealer(HKDF.Expand(HashAlgorithmName.SHA256, material, 32, Encoding.ASCII.GetBytes("lifeline-vault/v1/data")));
        Meta = new Sealer(HKDF.Expand(HashAlgorithmName.SHA256, material, 32, Encoding.ASCII.GetBytes("lifeline-vault/v1/meta")));
    }

    public byte[] Material { get; }

    /// <summary>Blobs and pack headers.</summary>
    public Sealer Data { get; }

    /// <summary>Config, index, snapshots, locks.</summary>
    public Sealer Meta { get; }

    public static MasterKey Create() => new(RandomNumberGenerator.GetBytes(Size));

    public void Dispose()
    {
        Data.Dispose();
        Meta.Dispose();
    }
}
