using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lifeline.Lake.Parquet;
using Lifeline.Lake.Schema;
using Lifeline.Storage;
using Microsoft.Extensions.Logging;

namespace Lifeline.Lake.Protocol;

/// <summary>Reads a table's log: listing, commits, checkpoints, <c>_last_checkpoint</c>, and snapshot reconstruction.</summary>
internal sealed class LogReader(IObjectStore store, string root, ILogger logger)
{
    /// <summary>Reader features whose data this reader handles.</summary>
    public static readonly IReadOnlySet<string> SupportedReaderFeatures = new HashSet<string>(StringComparer.Ordinal)
    {
        "columnMapping", "timestampNtz", "vacuumProtocolCheck", "typeWidening", "typeWidening-preview", "v2Checkpoint",
    };

    /// <summary>
    /// How log JSON is parsed: a duplicate key is corruption (the reader would otherwise see one value and the lazy
    /// property lookup throw an ArgumentException far from the file).
    /// </summary>
    internal static readonly JsonDocumentOptions LogJsonOptions = new() { AllowDuplicateProperties = false };

    public string LogPrefix => root + LogFiles.LogDir;

    public string Location => store.Location.TrimEnd('/') + "/" + root;

    public async Task<List<LogFile>> ListAsync(CancellationToken ct)
    {
        var files = new List<LogFile>();
        await foreach (var info in store.ListAsync(LogPrefix, ct))
        {
            // only direct children of _delta_log (not _sidecars/ or _commits/)
            if (info.Key.IndexOf('/', LogPrefix.Length) >= 0)
            {
                continue;
            }

            if (LogFiles.Parse(info) is { } f)
            {
                files.Add(f);
            }
        }

        return files;
    }

    public async Task<long?> ReadLastCheckpointHintAsync(CancellationToken ct)
    {
        try
        {
            // absent in most tables (no checkpoint yet) and read on every full load: an absence costs no exception
            return await store.TryGetAsync(LogPrefix + LogFiles.LastCheckpoint, ct) is { } bytes
                && JsonNode.Parse(bytes, documentOptions: LogJsonOptions) is JsonObject o ? ActionJson.Long(o, "version") : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            Log.CorruptLastCheckpoint(logger, Location, e.Message);
            return null;
        }
    }

    /// <summary>The actions of commit <paramref name="version"/>, or <c>null</c> when no commit of that version exists (yet).</summary>
    public async Task<List<LogAction>?> TryReadCommitAsync(long version, CancellationToken ct)
    {
        var name = LogFiles.CommitName(version);
        return await store.TryGetAsync(LogPrefix + name, ct) is { } bytes ? ParseJsonLines(bytes, version, "_delta_log/" + name) : null;
    }

    public async Task<List<LogAction>> ReadCommitAsync(long version, CancellationToken ct) =>
        await TryReadCommitAsync(version, ct)
        ?? throw new DeltaVersionNotFoundException($"{Location}: version {version}: commit file _delta_log/{LogFiles.CommitName(version)} is missing");

    /// <summary>Parses the bytes of commit <paramref name="version"/> (read by the caller, e.g. to copy them as they are).</summary>
    public List<LogAction> ParseCommit(byte[] bytes, long version) => ParseJsonLines(bytes, version, "_delta_log/" + LogFiles.CommitName(version));

    private List<LogAction> ParseJsonLines(byte[] bytes, long version, string file)
    {
        var actions = new List<LogAction>();
        var text = Encoding.UTF8.GetString(bytes);
        var lineNo = 0;
        foreach (var line in text.Split('\n'))
        {
            lineNo++;
            if (string.IsNullOrWhiteSpace(line))
            {
                continue;
            }

            JsonObject obj;
            try
            {
                obj = JsonNode.Parse(line, documentOptions: LogJsonOptions) as JsonObject ?? throw new DeltaProtocolException("not a JSON object");
            }
            catch (Exception e) when (e is JsonException or DeltaProtocolException)
            {
                throw new DeltaProtocolException($"{Location}: version {version}: {file} line {lineNo} is corrupt ({e.Message})", e);
            }

            try
            {
                if (ActionJson.Parse(obj) is { } action)
                {
                    actions.Add(action);
                }
            }
            catch (Exception e) when (e is DeltaProtocolException or InvalidOperationException or FormatException)
            {
                throw new DeltaProtocolException($"{Location}: version {version}: {file} line {lineNo} has an invalid action ({e.Message})", e);
            }
        }

        return actions;
    }

    private static readonly HashSet<string> CheckpointColumns = ["txn", "add", "remove", "metaData", "protocol", "domainMetadata", "checkpointMetadata", "sidecar"];

    public async Task<List<LogAction>> ReadCheckpointAsync(IReadOnlyList<LogFile> parts, CancellationToken ct)
    {
        var actions = new List<LogAction>();
        foreach (var part in parts)
        {
            var file = "_delta_log/" + part.FileName;
            if (part.FileName.EndsWith(".json", StringComparison.Ordinal))
            {
                actions.AddRange(ParseJsonLines(await store.GetAsync(part.Info.Key, cancellationToken: ct), part.Version, file));
            }
            else
            {
                await ReadParquetActionsAsync(part.Info.Key, part.Version, file, actions, ct);
            }
        }

        // v2 checkpoints name sidecar files holding the file actions
        foreach (var sidecar in actions.Where(a => a.Sidecar is not null).Select(a => a.Sidecar!).ToList())
        {
            var path = ActionJson.Str(sidecar, "path") ?? throw new DeltaProtocolException($"{Location}: a sidecar action has no path");
            var key = LogPrefix + "_sidecars/" + Uri.UnescapeDataString(path);
            await ReadParquetActionsAsync(key, parts[0].Version, "_delta_log/_sidecars/" + path, actions, ct);
        }

        return actions;
    }

    private async Task ReadParquetActionsAsync(string key, long version, string file, List<LogAction> actions, CancellationToken ct)
    {
        byte[] data;
        try
        {
            data = await store.GetAsync(key, cancellationToken: ct);
        }
        catch (ObjectNotFoundException)
        {
            throw new DeltaProtocolException($"{Location}: version {version}: checkpoint file {file} is missing");
        }

        try
        {
            await foreach (var batch in ParquetFileReader.ReadAsync(data, null, false, CheckpointColumns, ct))
            {
                for (var r = 0; r < batch.RowCount; r++)
                {
                    foreach (var (column, values) in batch.Columns)
                    {
                        if (values[r] is { } value)
                        {
                            var obj = new JsonObject { [column] = ToJson(value) };
                            if (ActionJson.Parse(obj) is { } action)
                            {
                                actions.Add(action);
                            }
                        }
                    }
                }
            }
        }
        catch (Exception e) when (e is not OperationCanceledException and not DeltaProtocolException)
        {
            throw new DeltaProtocolException($"{Location}: version {version}: checkpoint file {file} is unreadable ({e.Message})", e);
        }
    }

    internal static JsonNode? ToJson(object? value) => value switch
    {
        null => null,
        Dictionary<string, object?> d => new JsonObject(d.Select(kv => KeyValuePair.Create(kv.Key, ToJson(kv.Value)))),
        Dictionary<object, object?> m => new JsonObject(m.Select(kv => KeyValuePair.Create(Convert.ToString(kv.Key, System.Globalization.CultureInfo.InvariantCulture) ?? "", ToJson(kv.Value)))),
        List<object?> l => new JsonArray([.. l.Select(ToJson)]),
        string s => JsonValue.Create(s),
        long x => JsonValue.Create(x),
        int x => JsonValue.Create(x),
        bool x => JsonValue.Create(x),
        double x => JsonValue.Create(x),
        _ => JsonValue.Create(Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture)),
    };

    /// <summary>Commit timestamps of the listed commits (file modification times, or in-commit timestamps when enabled), made strictly increasing as the protocol's readers do.</summary>
    public async Task<List<CommitEntry>> CommitEntriesAsync(IReadOnlyList<LogFile> commits, bool inCommitTimestamps, bool withInfo, CancellationToken ct)
    {
        var entries = new List<CommitEntry>(commits.Count);
        DateTimeOffset previous = DateTimeOffset.MinValue;
        foreach (var c in commits.OrderBy(c => c.Version))
        {
            var ts = c.Info.LastModified;
            JsonObject? info = null;
            if (inCommitTimestamps || withInfo)
            {
                try
                {
                    info = (await ReadCommitAsync(c.Version, ct)).FirstOrDefault(a => a.CommitInfo is not null)?.CommitInfo;
                }
                catch (DeltaProtocolException) when (!inCommitTimestamps)
                {
                    info = null;
                }

                if (inCommitTimestamps && info is not null && ActionJson.Long(info, "inCommitTimestamp") is { } ict)
                {
                    ts = DateTimeOffset.FromUnixTimeMilliseconds(ict);
                }
            }

            if (ts <= previous)
            {
                ts = previous.AddMilliseconds(1);
            }

            previous = ts;
            entries.Add(new CommitEntry(c.Version, ts, info is null ? null : ActionJson.Str(info, "operation"), info, c.FileName));
        }

        return entries;
    }

    /// <summary>
    /// How many commits a cached snapshot is advanced by (<see cref="LoadAsync"/>) before the next load lists the log and
    /// replays from its newest checkpoint again: that re-bases the cache on the checkpoints written meanwhile (every 10
    /// commits by default), drops expired tombstones, and notices a log changed in a way one stat cannot see.
    /// </summary>
    internal const int MaxCachedAdvances = 100;

    private sealed record CachedSnapshot(Snapshot Snapshot, ObjectInfo Commit, int Advances);

    private CachedSnapshot? _cached;

    /// <summary>How many loads listed the log and replayed it from a checkpoint (or from version 0); for tests.</summary>
    internal int FullLoads;

    /// <summary>
    /// Reconstructs the snapshot at <paramref name="version"/> (latest when null). The newest snapshot loaded is kept
    /// (one per table: its size is the table's active files, not its history) and later loads at or after its version
    /// advance it instead of replaying the log: one stat of its commit (still there, same size and time), one stat per
    /// newer commit and one read of each new commit; no listing, no checkpoint read. After
    /// <see cref="MaxCachedAdvances"/> commits, or when the cached commit changed or is gone (a restore trimmed the log,
    /// the table was recreated), the load is a full one again.
    /// </summary>
    public async Task<Snapshot> LoadAsync(long? version, CancellationToken ct)
    {
        if (Volatile.Read(ref _cached) is { } cached && (version is null || version >= cached.Snapshot.Version)
            && await TryAdvanceAsync(cached, version, ct) is { } advanced)
        {
            return advanced;
        }

        var (snapshot, commit) = await LoadFullAsync(version, ct);
        Interlocked.Increment(ref FullLoads);
        if (commit is not null && (Volatile.Read(ref _cached) is not { } current || current.Snapshot.Version <= snapshot.Version))
        {
            Volatile.Write(ref _cached, new CachedSnapshot(snapshot, commit, 0));
        }

        return snapshot;
    }

    /// <summary>
    /// A checkpoint of <paramref name="snapshot"/> was written: when it is the cached snapshot, the cache becomes what a
    /// full load would now return (the same state from that checkpoint, with the tombstones the checkpoint kept), so the
    /// writer's own loads go on advancing from it without listing the log again.
    /// </summary>
    internal void CheckpointWritten(Snapshot snapshot, IReadOnlyList<KeyValuePair<string, RemoveAction>> keptTombstones)
    {
        if (Volatile.Read(ref _cached) is not { } cached || cached.Snapshot.Version != snapshot.Version)
        {
            return;
        }

        var rebased = new Snapshot(Location, snapshot.Version, snapshot.Protocol, snapshot.Metadata, snapshot.Schema,
            new Dictionary<string, DataFile>(snapshot.FilesByKey, StringComparer.Ordinal), new Dictionary<string, RemoveAction>(keptTombstones, StringComparer.Ordinal),
            new Dictionary<string, TxnAction>(snapshot.Txns, StringComparer.Ordinal), snapshot.Timestamp, [], snapshot.Version);
        Interlocked.CompareExchange(ref _cached, cached with { Snapshot = rebased, Advances = 0 }, cached);
    }

    private async Task<Snapshot?> TryAdvanceAsync(CachedSnapshot cached, long? version, CancellationToken ct)
    {
        var from = cached.Snapshot;
        var still = await store.StatAsync(LogPrefix + LogFiles.CommitName(from.Version), ct);
        if (still is null || still.Size != cached.Commit.Size || still.LastModified != cached.Commit.LastModified)
        {
            Interlocked.CompareExchange(ref _cached, null, cached);
            return null;
        }

        var added = new List<(long Version, ObjectInfo Info, List<LogAction> Actions)>();
        for (var v = from.Version + 1; version is null || v <= version; v++)
        {
            if (await store.StatAsync(LogPrefix + LogFiles.CommitName(v), ct) is not { } info)
            {
                break;
            }

            if (cached.Advances + added.Count >= MaxCachedAdvances)
            {
                return null;
            }

            added.Add((v, info, await ReadCommitAsync(v, ct)));
        }

        var target = added.Count == 0 ? from.Version : added[^1].Version;
        if (version is { } wanted && wanted != target)
        {
            return null; // not there (the full load says why) or only as a checkpoint
        }

        if (added.Count == 0)
        {
            return from;
        }

        var state = ReplayState.From(from);
        var entries = new List<CommitEntry>(from.Commits);
        var previous = from.Timestamp;
        foreach (var (v, info, actions) in added)
        {
            foreach (var a in actions)
            {
                state.Apply(a, Location);
            }

            // as CommitEntriesAsync does for a full load: the file's time, or the in-commit timestamp when enabled
            var ts = info.LastModified;
            var ictOn = state.Metadata!.Configuration.TryGetValue("delta.enableInCommitTimestamps", out var ictValue) && ictValue == "true";
            var commitInfo = ictOn ? actions.FirstOrDefault(a => a.CommitInfo is not null)?.CommitInfo : null;
            if (commitInfo is not null && ActionJson.Long(commitInfo, "inCommitTimestamp") is { } ict)
            {
                ts = DateTimeOffset.FromUnixTimeMilliseconds(ict);
            }

            if (ts <= previous)
            {
                ts = previous.AddMilliseconds(1);
            }

            previous = ts;
            entries.Add(new CommitEntry(v, ts, commitInfo is null ? null : ActionJson.Str(commitInfo, "operation"), commitInfo, LogFiles.CommitName(v)));
        }

        CheckReadable(state.Protocol!, Location, target);
        var schema = ReferenceEquals(state.Metadata, from.Metadata) ? from.Schema : StructType.ParseSchemaString(state.Metadata!.SchemaString);
        var snapshot = new Snapshot(Location, target, state.Protocol!, state.Metadata!, schema, state.Files, state.Tombstones, state.Txns, previous, entries, from.CheckpointVersion);
        var next = new CachedSnapshot(snapshot, added[^1].Info, cached.Advances + added.Count);
        if (Volatile.Read(ref _cached) is not { } current || current.Snapshot.Version <= target)
        {
            Volatile.Write(ref _cached, next);
        }

        return snapshot;
    }

    private async Task<(Snapshot Snapshot, ObjectInfo? Commit)> LoadFullAsync(long? version, CancellationToken ct)
    {
        var listing = await ListAsync(ct);
        var commits = listing.Where(f => f.Kind == LogFileKind.Commit).ToDictionary(f => f.Version);
        var checkpoints = CompleteCheckpoints(listing);
        if (commits.Count == 0 && checkpoints.Count == 0)
        {
            throw new DeltaTableNotFoundException($"{Location}: not a Delta table (no commit or checkpoint in _delta_log/)");
        }

        var latest = Math.Max(commits.Count == 0 ? -1 : commits.Keys.Max(), checkpoints.Count == 0 ? -1 : checkpoints.Keys.Max());
        var target = version ?? latest;
        if (target > latest || target < 0)
        {
            throw new DeltaVersionNotFoundException($"{Location}: version {target} does not exist (latest is {latest})");
        }

        var hint = await ReadLastCheckpointHintAsync(ct);
        var candidates = checkpoints.Keys.Where(v => v <= target).OrderByDescending(v => v).ToList();
        if (hint is { } h && candidates.Remove(h))
        {
            candidates.Insert(0, h);
        }

        var state = new ReplayState();
        long start = 0;
        long? checkpointVersion = null;
        foreach (var cp in candidates)
        {
            try
            {
                var actions = await ReadCheckpointAsync(checkpoints[cp], ct);
                state = new ReplayState();
                foreach (var a in actions)
                {
                    state.Apply(a, Location);
                }

                start = cp + 1;
                checkpointVersion = cp;
                break;
            }
            catch (DeltaProtocolException e)
            {
                // a torn or unreadable checkpoint is skipped: an older one, or the commits, rebuild the same state
                Log.CheckpointSkipped(logger, Location, cp, e.Message);
            }
        }

        if (checkpointVersion is null && !commits.ContainsKey(0))
        {
            var earliest = commits.Count == 0 ? latest : commits.Keys.Min();
            throw new DeltaVersionNotFoundException(
                $"{Location}: version {target} cannot be reconstructed: no usable checkpoint at or before it and commit 0 (_delta_log/{LogFiles.CommitName(0)}) is missing (earliest commit is {earliest})");
        }

        for (var v = start; v <= target; v++)
        {
            if (!commits.ContainsKey(v))
            {
                var next = commits.Keys.Where(k => k > v).DefaultIfEmpty(-1).Min();
                throw new DeltaProtocolException(
                    $"{Location}: versions are not contiguous: version {v} (_delta_log/{LogFiles.CommitName(v)}) is missing between {v - 1} and {next}");
            }
        }

        var replayed = new List<LogFile>();
        for (var v = start; v <= target; v++)
        {
            foreach (var a in await ReadCommitAsync(v, ct))
            {
                state.Apply(a, Location);
            }

            replayed.Add(commits[v]);
        }

        if (state.Protocol is null)
        {
            throw new DeltaProtocolException($"{Location}: version {target}: the log has no protocol action (table state cannot be reconstructed)");
        }

        if (state.Metadata is null)
        {
            throw new DeltaProtocolException($"{Location}: version {target}: the log has no metaData action (table state cannot be reconstructed)");
        }

        CheckReadable(state.Protocol, Location, target);
        var schema = StructType.ParseSchemaString(state.Metadata.SchemaString);
        var ict = state.Metadata.Configuration.TryGetValue("delta.enableInCommitTimestamps", out var ictValue) && ictValue == "true";
        var entries = await CommitEntriesAsync(replayed, ict, false, ct);
        var timestamp = entries.Count > 0 ? entries[^1].Timestamp
            : checkpoints.TryGetValue(target, out var parts) ? parts[0].Info.LastModified : DateTimeOffset.MinValue;
        return (new Snapshot(Location, target, state.Protocol, state.Metadata, schema, state.Files, state.Tombstones, state.Txns, timestamp, entries, checkpointVersion),
            commits.TryGetValue(target, out var commit) ? commit.Info : null);
    }

    public static void CheckReadable(ProtocolAction protocol, string location, long version)
    {
        switch (protocol.MinReaderVersion)
        {
            case 1:
                return;
            case 2:
                return; // reader version 2 means column mapping, which is supported
            case 3:
                foreach (var feature in protocol.ReaderFeatures ?? [])
                {
                    if (!SupportedReaderFeatures.Contains(feature))
                    {
                        throw new DeltaUnsupportedFeatureException(
                            $"{location}: version {version}: table feature '{feature}' is not supported by this reader (supported: {string.Join(", ", SupportedReaderFeatures)})", feature);
                    }
                }

                return;
            default:
                throw new DeltaUnsupportedFeatureException(
                    $"{location}: version {version}: reader version {protocol.MinReaderVersion} is not supported (this reader supports 1, 2 and 3 with table features)",
                    $"readerVersion {protocol.MinReaderVersion}");
        }
    }

    private static Dictionary<long, List<LogFile>> CompleteCheckpoints(List<LogFile> listing)
    {
        var result = new Dictionary<long, List<LogFile>>();
        foreach (var group in listing.Where(f => f.Kind != LogFileKind.Commit).GroupBy(f => f.Version))
        {
            var classic = group.FirstOrDefault(f => f.Kind is LogFileKind.Checkpoint or LogFileKind.V2Checkpoint);
            if (classic is not null)
            {
                result[group.Key] = [classic];
                continue;
            }

            foreach (var byTotal in group.Where(f => f.Kind == LogFileKind.MultiPartCheckpoint).GroupBy(f => f.Parts))
            {
                var parts = byTotal.GroupBy(f => f.Part).Select(g => g.First()).OrderBy(f => f.Part).ToList();
                if (parts.Count == byTotal.Key && parts.Select(p => p.Part).SequenceEqual(Enumerable.Range(1, byTotal.Key)))
                {
                    result[group.Key] = parts;
                }
            }
        }

        return result;
    }

    /// <summary>
    /// Decodes an add/remove path to a key relative to the table root. Absolute paths ("/x", "file:/x", "file:///x")
    /// are canonicalized to one URI so an add and a remove of the same file reconcile; inside the table they become
    /// relative, outside they stay absolute URIs (<see cref="IsExternal"/>), which reading refuses.
    /// </summary>
    public static string DecodePath(string path, string location)
    {
        var absolute = path.StartsWith('/') || path.Contains("://", StringComparison.Ordinal) || path.StartsWith("file:", StringComparison.Ordinal);
        if (absolute)
        {
            // Hadoop writes "file:/x"; .NET's Uri only takes "file:///x"
            var text = path.StartsWith('/') ? "file://" + path
                : path.StartsWith("file:", StringComparison.Ordinal) && !path.StartsWith("file://", StringComparison.Ordinal) ? "file://" + path[5..]
                : path;
            if (!Uri.TryCreate(text, UriKind.Absolute, out var uri))
            {
                throw new DeltaProtocolException($"{location}: data file path '{path}' is not a valid URI");
            }

            var abs = uri.AbsoluteUri;
            var loc = location.EndsWith('/') ? location : location + "/";
            return abs.StartsWith(loc, StringComparison.Ordinal) ? Uri.UnescapeDataString(abs[loc.Length..]) : Uri.UnescapeDataString(abs);
        }

        var decoded = Uri.UnescapeDataString(path);
        if (decoded.Split('/').Any(s => s is ".." or "." or ""))
        {
            throw new DeltaProtocolException($"{location}: data file path '{path}' is not a relative path inside the table");
        }

        return decoded;
    }

    /// <summary>Whether a decoded path names a file outside the table (an absolute URI).</summary>
    public static bool IsExternal(string decodedPath) => decodedPath.Contains("://", StringComparison.Ordinal);

    private sealed class ReplayState
    {
        public ProtocolAction? Protocol;
        public MetadataAction? Metadata;
        public readonly Dictionary<string, DataFile> Files;
        public readonly Dictionary<string, RemoveAction> Tombstones;
        public readonly Dictionary<string, TxnAction> Txns;

        public ReplayState()
        {
            Files = new(StringComparer.Ordinal);
            Tombstones = new(StringComparer.Ordinal);
            Txns = new(StringComparer.Ordinal);
        }

        private ReplayState(Snapshot snapshot)
        {
            Protocol = snapshot.Protocol;
            Metadata = snapshot.Metadata;
            Files = new(snapshot.FilesByKey, StringComparer.Ordinal);
            Tombstones = new(snapshot.Tombstones, StringComparer.Ordinal);
            Txns = new(snapshot.Txns, StringComparer.Ordinal);
        }

        /// <summary>A state to advance <paramref name="snapshot"/> with: copies of its maps (a snapshot never changes).</summary>
        public static ReplayState From(Snapshot snapshot) => new(snapshot);

        public void Apply(LogAction a, string location)
        {
            if (a.Protocol is { } p)
            {
                Protocol = p;
            }
            else if (a.Metadata is { } m)
            {
                Metadata = m;
            }
            else if (a.Add is { } add)
            {
                var rel = DecodePath(add.Path, location);
                var key = FileKey(rel, add.DeletionVector);
                Files[key] = new DataFile(rel, add);
                Tombstones.Remove(key);
            }
            else if (a.Remove is { } rm)
            {
                var rel = DecodePath(rm.Path, location);
                var key = FileKey(rel, rm.DeletionVector);
                Files.Remove(key);
                Tombstones[key] = rm;
            }
            else if (a.Txn is { } t)
            {
                Txns[t.AppId] = t;
            }
        }

        private static string FileKey(string path, JsonObject? dv) =>
            dv is null ? path : path + "#" + ActionJson.Str(dv, "storageType") + ActionJson.Str(dv, "pathOrInlineDv") + "@" + ActionJson.Long(dv, "offset");
    }
}
