using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Crypto;

/// <summary>Password → Argon2id → key-encryption key → wrapped master key (docs/vault-format.md, "Key files").</summary>
internal static class KeyFiles
{
    public static KeyFileJson Create(byte[] masterKey, string password, VaultInitOptions kdf, string host, DateTimeOffset now)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var kek = DeriveKek(password, salt, kdf.KdfMemoryKiB, kdf.KdfIterations, kdf.KdfParallelism);
        using var sealer = new Sealer(kek);
        return new KeyFileJson
        {
            Created = now,
            Host = host,
            MemoryKiB = kdf.KdfMemoryKiB,
            Iterations = kdf.KdfIterations,
            Parallelism = kdf.KdfParallelism,
            Salt = salt,
            WrappedKey = sealer.Seal(masterKey, Roles.Key),
        };
    }

    /// <summary>Returns the master key, or null if the password does not open this key file.</summary>
    public static byte[]? TryUnwrap(KeyFileJson file, string password)
    {
        if (file.Kdf != "argon2id" || file.Salt.Length < 8 || file.MemoryKiB <= 0 || file.Iterations <= 0 || file.Parallelism <= 0)
        {
            return null;
        }

        var kek = DeriveKek(password, file.Salt, file.MemoryKiB, file.Iterations, file.Parallelism);
        using var sealer = new Sealer(kek);
        var key = sealer.TryOpen(file.WrappedKey, Roles.Key);
        return key is { Length: MasterKey.Size } ? key : null;
    }

    private static byte[] DeriveKek(string password, byte[] salt, int memoryKiB, int iterations, int parallelism)
    {
        using var argon = new Argon2id(Encoding.UTF8.GetBytes(password))
        {
            Salt = salt,
            MemorySize = memoryKiB,
            Iterations = iterations,
            DegreeOfParallelism = parallelism,
        };
        return argon.GetBytes(32);
    }
}
