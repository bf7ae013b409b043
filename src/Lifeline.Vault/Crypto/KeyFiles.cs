using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Crypto;

/// <summary>Password → Argon2id → key-encryption key → wrapped master key (docs/vault-format.md, "Key files").</summary>
internal static class KeyFiles
{
    /// <summary>Argon2id(password, salt, memory KiB, iterations, parallelism) → 32-byte key-encryption key.</summary>
    internal delegate byte[] Kdf(string password, byte[] salt, int memoryKiB, int iterations, int parallelism);

    public static KeyFileJson Create(byte[] masterKey, string password, VaultInitOptions kdf, string host, DateTimeOffset now)
        => Create(masterKey, password, kdf, host, now, DeriveKek);

    /// <summary>Creates a key file with a given Argon2id implementation (tests: native and managed must agree).</summary>
    internal static KeyFileJson Create(byte[] masterKey, string password, VaultInitOptions kdf, string host, DateTimeOffset now, Kdf derive)
    {
        var salt = RandomNumberGenerator.GetBytes(16);
        var kek = derive(password, salt, kdf.KdfMemoryKiB, kdf.KdfIterations, kdf.KdfParallelism);
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
    public static byte[]? TryUnwrap(KeyFileJson file, string password) => TryUnwrap(file, password, DeriveKek);

    /// <summary>What makes a decoded key file unusable whatever the password (null when its structure is sound).</summary>
    internal static string? StructureProblem(KeyFileJson file)
    {
        if (file.Kdf != "argon2id")
        {
            return $"unknown key derivation '{file.Kdf}'";
        }

        if (file.Salt is null || file.Salt.Length < 8)
        {
            return "its salt is missing or too short";
        }

        if (file.MemoryKiB <= 0 || file.Iterations <= 0 || file.Parallelism <= 0)
        {
            return "its key derivation parameters are out of range";
        }

        if (file.WrappedKey is null || file.WrappedKey.Length == 0)
        {
            return "its wrapped key is missing";
        }

        return null;
    }

    /// <summary>As <see cref="TryUnwrap(KeyFileJson, string)"/> with a given Argon2id implementation.</summary>
    internal static byte[]? TryUnwrap(KeyFileJson file, string password, Kdf derive)
    {
        if (StructureProblem(file) is not null)
        {
            return null;
        }

        var kek = derive(password, file.Salt, file.MemoryKiB, file.Iterations, file.Parallelism);
        using var sealer = new Sealer(kek);
        var key = sealer.TryOpen(file.WrappedKey, Roles.Key);
        return key is { Length: MasterKey.Size } ? key : null;
    }

    // An empty password is rejected by both (Konscious refuses it), so that a key file made by one always opens with the other.
    private static byte[] DeriveKek(string password, byte[] salt, int memoryKiB, int iterations, int parallelism)
        => NativeArgon2.Available
            ? DeriveKekNative(password, salt, memoryKiB, iterations, parallelism)
            : DeriveKekManaged(password, salt, memoryKiB, iterations, parallelism);

    /// <summary>Argon2id through libargon2 (only when <see cref="NativeArgon2.Available"/>).</summary>
    internal static byte[] DeriveKekNative(string password, byte[] salt, int memoryKiB, int iterations, int parallelism)
    {
        ArgumentException.ThrowIfNullOrEmpty(password);
        var pwd = Encoding.UTF8.GetBytes(password);
        try
        {
            return NativeArgon2.HashId(pwd, salt, iterations, memoryKiB, parallelism, 32);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pwd);
        }
    }

    /// <summary>Argon2id through the managed Konscious implementation (the fallback).</summary>
    internal static byte[] DeriveKekManaged(string password, byte[] salt, int memoryKiB, int iterations, int parallelism)
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
