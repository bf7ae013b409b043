using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;
using Konscious.Security.Cryptography;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;

namespace Lifeline.Vault.Tests;

/// <summary>Native libargon2 and managed Konscious Argon2id must give byte-identical keys (docs/vault-format.md).</summary>
public sealed class Argon2Tests
{
    // The library itself, not NativeArgon2.Available: these tests compare both even when LIFELINE_ARGON2_MANAGED=1
    // makes the vault use the managed one. Without the library they fail (the comparison is the point).
    private static void RequireNative()
    {
        Assert.True(NativeLibrary.TryLoad("libargon2.so.1", out var handle), "libargon2.so.1 not loadable: install Debian package libargon2-1 (apt-get install -y libargon2-1)");
        NativeLibrary.Free(handle);
    }

    [Theory]
    [InlineData("correct horse battery staple", 8, 1, 1, 1)]
    [InlineData("pässwörd ✓", 1024, 2, 2, 2)]
    [InlineData("p", 4096, 1, 4, 3)]
    [InlineData("x", 65536, 1, 2, 4)]
    public void DeriveKek_NativeAndManaged_AreByteIdentical(string password, int memoryKiB, int iterations, int parallelism, int saltSeed)
    {
        RequireNative();
        var salt = Vaults.RandomBytes(16, saltSeed);

        var native = KeyFiles.DeriveKekNative(password, salt, memoryKiB, iterations, parallelism);
        var managed = KeyFiles.DeriveKekManaged(password, salt, memoryKiB, iterations, parallelism);

        Assert.Equal(32, native.Length);
        Assert.Equal(Convert.ToHexString(managed), Convert.ToHexString(native));
    }

    [Fact]
    public void DeriveKek_EmptyPassword_BothReject()
    {
        RequireNative();
        var salt = Vaults.RandomBytes(16, 5);

        Assert.ThrowsAny<ArgumentException>(() => KeyFiles.DeriveKekNative("", salt, 8, 1, 1));
        Assert.ThrowsAny<ArgumentException>(() => KeyFiles.DeriveKekManaged("", salt, 8, 1, 1));
    }

    [Fact]
    public void HashId_ReferenceTestVector_Matches()
    {
        // phc-winner-argon2 src/test.c, Argon2id v0x13: t=2, m=2^16 KiB, p=1, "password", "somesalt".
        RequireNative();
        const string expected = "09316115d5cf24ed5a15a31a3ba326e5cf32edc24702987c02b6566f61913cf7";

        var native = NativeArgon2.HashId("password"u8, "somesalt"u8, 2, 65536, 1, 32);
        var managed = KeyFiles.DeriveKekManaged("password", Encoding.ASCII.GetBytes("somesalt"), 65536, 2, 1);

        Assert.Equal(expected, Convert.ToHexString(native).ToLowerInvariant());
        Assert.Equal(expected, Convert.ToHexString(managed).ToLowerInvariant());
    }

    [Fact]
    public void Konscious_Rfc9106Argon2idVector_Matches()
    {
        // RFC 9106 section 5.3 (Argon2id, version 0x13): m=32 KiB, t=3, p=4, secret and associated data, 32-byte tag.
        using var argon = new Argon2id(Enumerable.Repeat((byte)0x01, 32).ToArray())
        {
            Salt = Enumerable.Repeat((byte)0x02, 16).ToArray(),
            KnownSecret = Enumerable.Repeat((byte)0x03, 8).ToArray(),
            AssociatedData = Enumerable.Repeat((byte)0x04, 12).ToArray(),
            MemorySize = 32,
            Iterations = 3,
            DegreeOfParallelism = 4,
        };

        Assert.Equal("0d640df58d78766c08c037a34a8b53c9d01ef0452d75b65eb52520e96b01e659", Convert.ToHexString(argon.GetBytes(32)).ToLowerInvariant());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void TryUnwrap_KeyFileFromOtherImplementation_Opens(bool createNative)
    {
        RequireNative();
        KeyFiles.Kdf native = KeyFiles.DeriveKekNative;
        KeyFiles.Kdf managed = KeyFiles.DeriveKekManaged;
        var master = RandomNumberGenerator.GetBytes(MasterKey.Size);
        var file = KeyFiles.Create(master, Vaults.Password, Vaults.Small, "host", DateTimeOffset.UnixEpoch, createNative ? native : managed);

        var opened = KeyFiles.TryUnwrap(file, Vaults.Password, createNative ? managed : native);
        var wrong = KeyFiles.TryUnwrap(file, "not the password", createNative ? managed : native);

        Assert.Equal(master, opened);
        Assert.Null(wrong);
    }

    [Fact]
    public async Task OpenAsync_VaultInitialisedWithNative_KeyOpensWithManagedAndConfigAuthenticates()
    {
        RequireNative();
        using var dir = new TempDir();
        var store = Vaults.Store(dir);
        await using (await Vaults.CreateAsync(store))
        {
        }

        var keys = await store.ListAsync("keys/").ToListAsync();
        var key = Assert.Single(keys);
        var file = WireJson.Deserialize(await store.GetAsync(key.Key), WireJson.Default.KeyFileJson, "key");
        var material = KeyFiles.TryUnwrap(file, Vaults.Password, KeyFiles.DeriveKekManaged);

        Assert.NotNull(material);
        using var master = new MasterKey(material);
        Assert.NotNull(master.Meta.TryOpen(await store.GetAsync("config"), Roles.Config));
    }
}
