using System.Buffers;
using Lifeline.Storage;
using Lifeline.Vault.Crypto;

namespace Lifeline.Vault.Format;

/// <summary>
/// Reads a pack back from its store right after it was written (docs/verification.md, "Read-back"): the bytes must
/// be those that were hashed to the pack's id (checked by an XXH128 digest taken when the pack was built, or by a byte
/// comparison where the writer still holds them), and its header must decrypt and list the blobs that were written.
/// Identical bytes under an authenticated header decrypt as the writer sealed them, so the blobs are not decrypted one by one.
/// </summary>
internal static class PackReadBack
{
    /// <summary>
    /// The digest that stands in for a second SHA-256 of a pack in the read-back: XXH128 of the bytes, taken right
    /// after they were hashed to name the pack (so over the very bytes the id is the SHA-256 of). Stored bytes with the
    /// same digest are those bytes, except with odds of 2^-128 for an accidental change; it also catches the pack
    /// buffer being changed between naming and writing, which a comparison with the buffer would not. About ten times
    /// cheaper than SHA-256 here.
    /// </summary>
    public static UInt128 Digest(ReadOnlySpan<byte> pack) => System.IO.Hashing.XxHash128.HashToUInt128(pack);

    /// <summary>
    /// Throws <see cref="PackReadBackException"/> when the stored pack is not the one written, for a writer that took
    /// <paramref name="digest"/> (<see cref="Digest"/>) when it named the pack: the stored bytes must have that digest
    /// (in place of hashing them to the id once more) and the header must decrypt and list the blobs written. The pack
    /// is read in 1 MiB pieces into one pooled buffer and digested as it comes (each piece hashed while it is still in
    /// the CPU's cache; a pack-sized buffer read first and hashed after went through memory twice), keeping only its
    /// last <paramref name="headerLength"/> + 4 bytes, the sealed header and its length, which the writer knows.
    /// </summary>
    public static async Task VerifyDigestAsync(IObjectStore store, BlobId id, int expectedLength, UInt128 digest, int headerLength, IReadOnlyList<PackEntry> entries,
        Sealer sealer, string phase, ArrayPool<byte> pool, CancellationToken ct)
    {
        const int Piece = 1024 * 1024;
        var tailLength = Math.Min(expectedLength, headerLength + 4);
        var tailStart = expectedLength - tailLength;
        var buffer = pool.Rent(Piece);
        var tail = pool.Rent(tailLength);
        try
        {
            var hash = new System.IO.Hashing.XxHash128();
            long stored = 0;
            try
            {
                await using var stream = await store.OpenReadAsync(VaultRepository.PackKey(id), cancellationToken: ct);
                int n;
                while ((n = await stream.ReadAsync(buffer.AsMemory(0, Piece), ct)) > 0)
                {
                    // what lies beyond the written length is only counted: the pack reads back longer
                    var within = (int)Math.Clamp(expectedLength - stored, 0, n);
                    hash.Append(buffer.AsSpan(0, within));
                    var from = Math.Max(stored, tailStart);
                    var to = Math.Min(stored + within, expectedLength);
                    if (from < to)
                    {
                        buffer.AsSpan((int)(from - stored), (int)(to - from)).CopyTo(tail.AsSpan((int)(from - tailStart)));
                    }

                    stored += n;
                    if (stored > expectedLength)
                    {
                        break;
                    }
                }
            }
            catch (ObjectNotFoundException)
            {
                throw new PackReadBackException(id.ToString(), store.Location, phase, "it is not there (the write was lost)");
            }

            if (stored != expectedLength)
            {
                throw new PackReadBackException(id.ToString(), store.Location, phase, stored < expectedLength
                    ? $"it reads back as {stored} bytes, {expectedLength} were written"
                    : $"it reads back longer than the {expectedLength} bytes written");
            }

            if (hash.GetCurrentHashAsUInt128() != digest)
            {
                throw new PackReadBackException(id.ToString(), store.Location, phase, "its bytes do not hash to its id");
            }

            VerifyHeader(store, id, tail.AsSpan(0, tailLength), entries, sealer, phase);
        }
        finally
        {
            pool.Return(tail);
            pool.Return(buffer);
        }
    }

    /// <summary>The header length a pack's last four bytes give (the writer's own pack: <see cref="PackBuilder"/>).</summary>
    public static int HeaderLength(ReadOnlySpan<byte> pack) =>
        pack.Length < 4 ? 0 : (int)Math.Min(System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(pack[^4..]), (uint)(pack.Length - 4));

    /// <summary>The header check on the stored pack's last bytes (its sealed header and length): it must decrypt and list the blobs written.</summary>
    private static void VerifyHeader(IObjectStore store, BlobId id, ReadOnlySpan<byte> tail, IReadOnlyList<PackEntry> entries, Sealer sealer, string phase)
    {
        List<PackEntry> header;
        try
        {
            header = PackBuilder.ReadHeader(tail, sealer, id.ToString());
        }
        catch (VaultCorruptException)
        {
            throw new PackReadBackException(id.ToString(), store.Location, phase, "its header does not decrypt");
        }

        if (header.Count != entries.Count || !header.SequenceEqual(entries))
        {
            throw new PackReadBackException(id.ToString(), store.Location, phase, $"its header lists {header.Count} blobs, {entries.Count} were written");
        }
    }

    /// <summary>
    /// The same guarantee for a writer that still holds the bytes it wrote (copy): the stored pack must be exactly
    /// those bytes. Equal bytes hash to the same id and carry the same authenticated header, so a byte comparison
    /// (read in 1 MiB pieces into one pooled buffer) proves what the hash and the header check prove, without a second
    /// SHA-256 of the pack and without a pack-sized array per read.
    /// </summary>
    public static async Task VerifySameBytesAsync(IObjectStore store, BlobId id, ReadOnlyMemory<byte> written, string phase, ArrayPool<byte> pool, CancellationToken ct)
    {
        const int Piece = 1024 * 1024;
        ObjectReadStream stream;
        try
        {
            stream = await store.OpenReadAsync(VaultRepository.PackKey(id), cancellationToken: ct);
        }
        catch (ObjectNotFoundException)
        {
            throw new PackReadBackException(id.ToString(), store.Location, phase, "it is not there (the write was lost)");
        }

        var buffer = pool.Rent(Piece);
        try
        {
            await using (stream)
            {
                if (stream.Length != written.Length)
                {
                    throw new PackReadBackException(id.ToString(), store.Location, phase, $"it reads back as {stream.Length} bytes, {written.Length} were written");
                }

                for (var done = 0; done < written.Length;)
                {
                    var n = Math.Min(Piece, written.Length - done);
                    await stream.ReadExactlyAsync(buffer.AsMemory(0, n), ct);
                    if (!buffer.AsSpan(0, n).SequenceEqual(written.Span.Slice(done, n)))
                    {
                        throw new PackReadBackException(id.ToString(), store.Location, phase, $"its bytes differ from those written (from byte {done})");
                    }

                    done += n;
                }
            }
        }
        finally
        {
            pool.Return(buffer);
        }
    }
}
