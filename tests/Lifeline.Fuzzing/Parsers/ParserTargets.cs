using System.Buffers.Binary;
using System.Text;
using Lifeline.Lake;
using Lifeline.Lake.Protocol;
using Lifeline.Storage;
using Lifeline.Vault;
using Lifeline.Vault.Crypto;
using Lifeline.Vault.Format;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Fuzzing.Parsers;

/// <summary>How a decoder took one input.</summary>
public enum ParseResult
{
    /// <summary>Decoded.</summary>
    Decoded,

    /// <summary>Refused with the area's own exception type (VaultCorruptException, DeltaProtocolException and subtypes).</summary>
    TypedError,
}

/// <summary>
/// One fuzz target per in-process decoder of stored files: the vault's pack header, pack blob, index, snapshot and
/// tree decoders (src/Lifeline.Vault/Format) and the Delta log reader (src/Lifeline.Lake/Protocol/LogReader.cs).
/// The rule: a corrupt file gives the area's typed error, never another exception type, a crash or a hang.
/// Encrypted files are sealed by the target with a fixed key first, so mutations reach the decoder behind the
/// authentication (a flipped byte of a sealed file only ever fails authentication).
/// </summary>
public static class ParserTargets
{
    public static readonly IReadOnlyList<string> Names = ["pack-header", "pack-blob", "index", "snapshot", "tree", "delta-log"];

    private static readonly byte[] Key = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray();
    private static readonly Lazy<Sealer> SealerInstance = new(() => new Sealer(Key));
    private static readonly Lazy<(string Dir, IObjectStore Store)> Lake = new(() =>
    {
        var dir = Path.Combine(Path.GetTempPath(), $"lifeline-fuzz-delta-{Environment.ProcessId}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        return (dir, ObjectStores.Open(dir));
    });

    /// <summary>Runs <paramref name="target"/> on <paramref name="input"/>; an exception of another type escapes (that is a finding).</summary>
    public static ParseResult Run(string target, ReadOnlySpan<byte> input)
    {
        try
        {
            switch (target)
            {
                case "pack-header":
                    PackHeader(input);
                    break;
                case "pack-blob":
                    PackBlob(input);
                    break;
                case "index":
                    IndexFile.Decode(input, "fuzz");
                    break;
                case "snapshot":
                    WireJson.Deserialize(input, WireJson.Default.SnapshotJson, "snapshot fuzz");
                    break;
                case "tree":
                    WireJson.Deserialize(input, WireJson.Default.TreeJson, "tree fuzz");
                    break;
                case "delta-log":
                    DeltaLog(input.ToArray());
                    break;
                default:
                    throw new ArgumentException($"unknown target '{target}' (targets: {string.Join(", ", Names)})", nameof(target));
            }

            return ParseResult.Decoded;
        }
        catch (VaultException)
        {
            return ParseResult.TypedError;
        }
        catch (DeltaProtocolException)
        {
            return ParseResult.TypedError;
        }
    }

    /// <summary>
    /// Input: first byte selects the form: even, the input is a pack's plaintext header (the target seals it and
    /// appends it to a pack); odd, the rest is a whole pack as stored (lengths and authentication).
    /// </summary>
    private static void PackHeader(ReadOnlySpan<byte> input)
    {
        if (input.Length == 0)
        {
            PackBuilder.ReadHeader(input, SealerInstance.Value, "fuzz");
            return;
        }

        if ((input[0] & 1) == 1)
        {
            PackBuilder.ReadHeader(input[1..], SealerInstance.Value, "fuzz");
            return;
        }

        var sealedHeader = SealerInstance.Value.Seal(input[1..], Roles.PackHeader);
        var pack = new byte[16 + sealedHeader.Length + 4];
        sealedHeader.CopyTo(pack, 16);
        BinaryPrimitives.WriteUInt32LittleEndian(pack.AsSpan(pack.Length - 4), (uint)sealedHeader.Length);
        PackBuilder.ReadHeader(pack, SealerInstance.Value, "fuzz");
    }

    /// <summary>
    /// Input: a 46-byte pack entry (as in a pack header: type, compressed flag, id, offset, length, raw length) and
    /// the blob's payload (a zstd frame when compressed), sealed by the target for that id. Raw lengths are capped at
    /// 16 MiB (a real pack's blob is at most a chunk), except those over 2^31 - 1 (a length no array can have), which
    /// the decoder must refuse as corrupt.
    /// </summary>
    private static void PackBlob(ReadOnlySpan<byte> input)
    {
        if (input.Length < PackEntry.Size)
        {
            throw new VaultCorruptException("input shorter than a pack entry");
        }

        List<PackEntry> entries;
        try
        {
            entries = PackEntry.DecodeList(input[..PackEntry.Size]);
        }
        catch (FormatException e)
        {
            throw new VaultCorruptException(e.Message, e);
        }

        var entry = entries[0];
        if (entry.RawLength is > 16 << 20 and <= int.MaxValue)
        {
            entry = entry with { RawLength = entry.RawLength % (16 << 20) };
        }

        Span<byte> ad = stackalloc byte[Roles.BlobAdSize];
        Roles.BlobAd(entry.Id, ad);
        var stored = SealerInstance.Value.Seal(input[PackEntry.Size..], ad);
        BlobDecoder.Decode(stored, entry, SealerInstance.Value, "fuzz");
    }

    /// <summary>
    /// Input: up to three parts separated by 0xFF bytes (never in UTF-8 text): commit 0, commit 1, and
    /// _last_checkpoint; the log reader then reconstructs the latest snapshot.
    /// </summary>
    private static void DeltaLog(byte[] input)
    {
        var (dir, store) = Lake.Value;
        var log = Path.Combine(dir, "_delta_log");
        if (Directory.Exists(log))
        {
            Directory.Delete(log, recursive: true);
        }

        Directory.CreateDirectory(log);
        var parts = Split(input);
        File.WriteAllBytes(Path.Combine(log, "00000000000000000000.json"), parts[0]);
        if (parts.Count > 1)
        {
            File.WriteAllBytes(Path.Combine(log, "00000000000000000001.json"), parts[1]);
        }

        if (parts.Count > 2)
        {
            File.WriteAllBytes(Path.Combine(log, "_last_checkpoint"), parts[2]);
        }

        var reader = new LogReader(store, "", NullLogger.Instance);
        var snapshot = reader.LoadAsync(null, CancellationToken.None).GetAwaiter().GetResult();
        // what `lake show` and `lake verify` read next: the files, their statistics, the schema
        foreach (var file in snapshot.Files)
        {
            _ = file.NumRecords;
            _ = file.IsExternal;
        }

        _ = snapshot.RowCountFromStats;
        _ = snapshot.Schema.Fields.Count;
    }

    private static List<byte[]> Split(byte[] input)
    {
        var parts = new List<byte[]>();
        var start = 0;
        for (var i = 0; i <= input.Length && parts.Count < 2; i++)
        {
            if (i == input.Length || input[i] == 0xFF)
            {
                parts.Add(input[start..i]);
                start = i + 1;
            }
        }

        if (start <= input.Length && parts.Count == 2 && start < input.Length)
        {
            parts.Add(input[start..]);
        }

        return parts;
    }

    /// <summary>Valid inputs per target: the AFL++ seed corpus and the start of the regression inputs.</summary>
    public static IReadOnlyList<byte[]> Seeds(string target)
    {
        var id = BlobId.Hash("fuzz"u8);
        var entries = new List<PackEntry> { new(BlobType.Data, false, id, 0, 32, 4), new(BlobType.Tree, true, BlobId.Hash("t"u8), 32, 40, 100) };
        switch (target)
        {
            case "pack-header":
                return [[0, .. PackEntry.EncodeList(entries)], [0]];
            case "pack-blob":
            {
                var plain = "fuzz"u8.ToArray();
                var raw = new byte[PackEntry.Size];
                new PackEntry(BlobType.Data, false, id, 0, (uint)(plain.Length + Sealer.Overhead), (uint)plain.Length).WriteTo(raw);
                var compressedPlain = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat("lead,3,120.5\n", 40)));
                using var encoder = new BlobEncoder();
                var frame = encoder.Encode(compressedPlain, out var compressed).ToArray();
                var rawC = new byte[PackEntry.Size];
                new PackEntry(BlobType.Data, compressed, BlobId.Hash(compressedPlain), 0, (uint)(frame.Length + Sealer.Overhead), (uint)compressedPlain.Length).WriteTo(rawC);
                return [[.. raw, .. plain], [.. rawC, .. frame]];
            }

            case "index":
                return [IndexFile.Encode([(BlobId.Hash("p"u8), entries)]), IndexFile.Encode([])];
            case "snapshot":
                return [WireJson.Serialize(new SnapshotJson { Time = DateTimeOffset.UnixEpoch, Host = "h", Source = "files", Paths = ["/data"], Tags = ["daily"], Tree = id.ToString(), Summary = null }, WireJson.Default.SnapshotJson)];
            case "tree":
                return [WireJson.Serialize(new TreeJson { Nodes = [new NodeJson { Name = "a.txt", Type = "file", Mode = 420, Size = 6, Mtime = 1, Content = [id.ToString()] }, new NodeJson { Name = "sub", Type = "dir", Mode = 493, Subtree = id.ToString() }] }, WireJson.Default.TreeJson)];
            case "delta-log":
            {
                var commit0 = """
                    {"commitInfo":{"timestamp":1700000000000,"operation":"CREATE TABLE"}}
                    {"protocol":{"minReaderVersion":1,"minWriterVersion":2}}
                    {"metaData":{"id":"6e2c5c9b-0000-4000-8000-000000000000","format":{"provider":"parquet","options":{}},"schemaString":"{\"type\":\"struct\",\"fields\":[{\"name\":\"lead_id\",\"type\":\"string\",\"nullable\":true,\"metadata\":{}}]}","partitionColumns":[],"configuration":{},"createdTime":1700000000000}}
                    {"add":{"path":"part-0.parquet","partitionValues":{},"size":100,"modificationTime":1700000000000,"dataChange":true,"stats":"{\"numRecords\":1}"}}
                    """u8.ToArray();
                var commit1 = """
                    {"commitInfo":{"timestamp":1700000001000,"operation":"WRITE"}}
                    {"remove":{"path":"part-0.parquet","deletionTimestamp":1700000001000,"dataChange":true}}
                    {"add":{"path":"date%3D2026-11-26/part-1.parquet","partitionValues":{},"size":120,"modificationTime":1700000001000,"dataChange":true}}
                    {"txn":{"appId":"app","version":3}}
                    """u8.ToArray();
                return [commit0, [.. commit0, 0xFF, .. commit1], [.. commit0, 0xFF, .. commit1, 0xFF, .. """{"version":1,"size":2}"""u8]];
            }

            default:
                throw new ArgumentException($"unknown target '{target}'", nameof(target));
        }
    }

    /// <summary>
    /// Corrupt variants of the seeds, deterministic: every seed truncated at several points, bytes flipped at several
    /// offsets, lengths set to extremes; the fast regression set the tests run on every build.
    /// </summary>
    public static IEnumerable<byte[]> CorruptVariants(string target)
    {
        if (target == "pack-blob")
        {
            // an entry whose lengths no array can have, or that disagree with the payload
            foreach (var seed in Seeds(target))
            {
                foreach (var rawLength in new uint[] { uint.MaxValue, 0x8000_0000, 0, 1 })
                {
                    var copy = (byte[])seed.Clone();
                    BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(42), rawLength);
                    yield return copy;
                }
            }
        }

        foreach (var seed in Seeds(target))
        {
            if (seed.Length == 0)
            {
                continue;
            }

            foreach (var cut in new[] { 1, seed.Length / 3, seed.Length / 2, seed.Length - 1 })
            {
                yield return seed[..Math.Clamp(cut, 0, seed.Length)];
            }

            foreach (var at in new[] { 1, 5, 9, 40, seed.Length / 2, seed.Length - 2 })
            {
                if (at >= 0 && at < seed.Length)
                {
                    foreach (var value in new byte[] { 0x00, 0xFF, 0x7F, (byte)'"', (byte)'{' })
                    {
                        var copy = (byte[])seed.Clone();
                        copy[at] = value;
                        yield return copy;
                    }
                }
            }
        }
    }
}
