using System.Runtime.InteropServices;

namespace Lifeline.Vault.Crypto;

/// <summary>
/// Argon2id (version 0x13) through the system's libargon2 (the reference implementation, Debian package libargon2-1)
/// when present, several times faster than the managed Konscious implementation; hand-written interop because no
/// maintained NuGet package wraps libargon2. Both give byte-identical output (tests check it), so which one derived a
/// key is not visible in the repository. <c>LIFELINE_ARGON2_MANAGED=1</c> forces the managed one.
/// </summary>
internal static partial class NativeArgon2
{
    private const string Lib = "libargon2.so.1";
    private const int Ok = 0;
    private static readonly bool s_available = Probe();

    public static bool Available => s_available;

    // int argon2id_hash_raw(uint32_t t_cost, uint32_t m_cost, uint32_t parallelism, const void *pwd, size_t pwdlen,
    //                       const void *salt, size_t saltlen, void *hash, size_t hashlen);
    [LibraryImport(Lib, EntryPoint = "argon2id_hash_raw")]
    private static partial int HashRaw(uint tCost, uint mCostKiB, uint parallelism, ref byte pwd, nuint pwdLen, ref byte salt, nuint saltLen, ref byte hash, nuint hashLen);

    /// <summary>Argon2id raw hash; throws <see cref="InvalidOperationException"/> if the library rejects the parameters.</summary>
    public static byte[] HashId(ReadOnlySpan<byte> password, ReadOnlySpan<byte> salt, int iterations, int memoryKiB, int parallelism, int length)
    {
        var hash = new byte[length];
        byte empty = 0;
        var rc = HashRaw(
            (uint)iterations,
            (uint)memoryKiB,
            (uint)parallelism,
            ref password.Length == 0 ? ref empty : ref MemoryMarshal.GetReference(password),
            (nuint)password.Length,
            ref salt.Length == 0 ? ref empty : ref MemoryMarshal.GetReference(salt),
            (nuint)salt.Length,
            ref MemoryMarshal.GetArrayDataReference(hash),
            (nuint)hash.Length);
        if (rc != Ok)
        {
            throw new InvalidOperationException($"libargon2 argon2id_hash_raw failed with code {rc}");
        }

        return hash;
    }

    private static bool Probe()
    {
        if (Environment.GetEnvironmentVariable("LIFELINE_ARGON2_MANAGED") == "1")
        {
            return false;
        }

        try
        {
            // The smallest valid call (8 KiB, 1 pass, 1 lane): loads the library and resolves the symbol.
            Span<byte> salt = stackalloc byte[8];
            HashId([], salt, 1, 8, 1, 4);
            return true;
        }
        catch (DllNotFoundException)
        {
            return false;
        }
        catch (EntryPointNotFoundException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}
