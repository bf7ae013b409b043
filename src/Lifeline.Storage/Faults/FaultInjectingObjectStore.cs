using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lifeline.Storage.Faults;

/// <summary>The operations of <see cref="IObjectStore"/>, for aiming a fault.</summary>
public enum ObjectStoreOperation
{
    /// <summary><see cref="IObjectStore.PutAsync"/> and <see cref="IObjectStore.PutStreamAsync"/>.</summary>
    Put,

    /// <summary><see cref="IObjectStore.PutIfAbsentAsync"/> and <see cref="IObjectStore.PutStreamIfAbsentAsync"/>.</summary>
    PutIfAbsent,

    /// <summary><see cref="IObjectStore.GetAsync"/> and <see cref="IObjectStore.OpenReadAsync"/>.</summary>
    Get,

    /// <summary><see cref="IObjectStore.StatAsync"/>.</summary>
    Stat,

    /// <summary><see cref="IObjectStore.ListAsync"/> (the fault hits when the listing starts).</summary>
    List,

    /// <summary><see cref="IObjectStore.DeleteAsync"/>.</summary>
    Delete,
}

/// <summary>What an injected fault does.</summary>
public enum FaultKind
{
    /// <summary>Throw before touching the store (nothing is written). Any operation.</summary>
    Fail,

    /// <summary>Do the write, then throw, as when the response is lost. Put and put-if-absent only.</summary>
    FailAfterWrite,

    /// <summary>Return the data with bytes flipped. Get only.</summary>
    CorruptRead,

    /// <summary>Report success (put-if-absent: <c>true</c>) but store nothing. Put and put-if-absent only.</summary>
    DropWrite,

    /// <summary>Store only a prefix of the data and report success, as a non-atomic medium torn by a crash. Put and put-if-absent only.</summary>
    TearWrite,
}

/// <summary>One rule of a <see cref="FaultInjectingObjectStore"/>: which calls it hits and what it does to them.</summary>
public sealed record FaultRule
{
    /// <summary>What the fault does. Default <see cref="FaultKind.Fail"/>.</summary>
    public FaultKind Kind { get; init; } = FaultKind.Fail;

    /// <summary>Only calls of this operation match; <c>null</c> (the default) matches every operation the kind applies to.</summary>
    public ObjectStoreOperation? Operation { get; init; }

    /// <summary>Only keys (or listing prefixes) starting with this match. Default "" (all).</summary>
    public string KeyPrefix { get; init; } = string.Empty;

    /// <summary>Hit exactly the Nth matching call (1-based). Default <c>null</c>: use <see cref="Probability"/>.</summary>
    public int? NthCall { get; init; }

    /// <summary>When <see cref="NthCall"/> is null, hit each matching call with this probability (0..1). Default 1.</summary>
    public double Probability { get; init; } = 1.0;

    /// <summary>Stop after this many hits. Default <c>null</c>: unlimited (an <see cref="NthCall"/> rule hits once anyway).</summary>
    public int? MaxHits { get; init; }

    /// <summary>For <see cref="FaultKind.Fail"/> and <see cref="FaultKind.FailAfterWrite"/>: the exception to throw. Default an <see cref="IOException"/> (transient).</summary>
    public Func<string, Exception>? Exception { get; init; }

    /// <summary>For <see cref="FaultKind.TearWrite"/>: the fraction of the bytes stored (0..1). Default 0.5.</summary>
    public double TearFraction { get; init; } = 0.5;

    /// <summary>For <see cref="FaultKind.CorruptRead"/>: how many bytes to flip. Default 1.</summary>
    public int CorruptBytes { get; init; } = 1;

    internal bool AppliesTo(ObjectStoreOperation operation) =>
        (Operation is null || Operation == operation) && Kind switch
        {
            FaultKind.Fail => true,
            FaultKind.CorruptRead => operation == ObjectStoreOperation.Get,
            _ => operation is ObjectStoreOperation.Put or ObjectStoreOperation.PutIfAbsent,
        };
}

/// <summary>A fault that was injected, for assertions and drill reports.</summary>
public sealed record InjectedFault(ObjectStoreOperation Operation, string Key, FaultKind Kind, int CallNumber);

/// <summary>
/// Wraps a store and injects faults by rule: fail the Nth call (optionally of one operation or key prefix), fail
/// with a probability (seeded, so a drill is reproducible), lose a response after a write, corrupt a read, drop a
/// write, or tear one. Thread-safe; rules can be added and cleared while calls run. For tests and recovery drills.
/// </summary>
/// <remarks>
/// Streaming calls count as the operation they stream (a put, a put-if-absent, a get). On them, <see cref="FaultKind.Fail"/>
/// throws without reading the stream; <see cref="FaultKind.DropWrite"/> reads the stream to its end and stores nothing;
/// <see cref="FaultKind.TearWrite"/> buffers the stream in memory to cut it (so it alone is not bounded in memory);
/// <see cref="FaultKind.CorruptRead"/> flips bytes as they pass through the read stream. <see cref="IObjectStore.TryGetAsync"/>
/// is a get: the interface's default reads through <see cref="GetAsync"/>, so the get rules apply to it.
/// </remarks>
public sealed class FaultInjectingObjectStore : IObjectStore
{
    private readonly IObjectStore _inner;
    private readonly ILogger _logger;
    private readonly Random _random;
    private readonly Lock _lock = new();
    private readonly List<RuleState> _rules = [];
    private readonly List<InjectedFault> _injected = [];

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The real store.</param>
    /// <param name="seed">Seed of the random numbers behind probabilities and corrupted byte positions.</param>
    /// <param name="logger">Logs every injected fault (event 1010).</param>
    public FaultInjectingObjectStore(IObjectStore inner, int seed = 0, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _random = new Random(seed);
        _logger = logger ?? NullLogger.Instance;
    }

    /// <inheritdoc />
    public string Location => _inner.Location;

    /// <summary>The wrapped store.</summary>
    public IObjectStore Inner => _inner;

    /// <summary>Every fault injected so far, in order.</summary>
    public IReadOnlyList<InjectedFault> Injected
    {
        get
        {
            lock (_lock)
            {
                return [.. _injected];
            }
        }
    }

    /// <summary>Adds a rule; returns this store for chaining.</summary>
    public FaultInjectingObjectStore Add(FaultRule rule)
    {
        ArgumentNullException.ThrowIfNull(rule);
        if (rule.NthCall is < 1 || rule.Probability is < 0 or > 1 || rule.TearFraction is < 0 or > 1 || rule.CorruptBytes < 1 || rule.MaxHits is < 0)
        {
            throw new ArgumentException($"invalid fault rule {rule}: NthCall >= 1, Probability and TearFraction in 0..1, CorruptBytes >= 1, MaxHits >= 0", nameof(rule));
        }

        if (rule.Operation is { } op && !rule.AppliesTo(op))
        {
            throw new ArgumentException($"fault {rule.Kind} cannot apply to {op}", nameof(rule));
        }

        lock (_lock)
        {
            _rules.Add(new RuleState(rule));
        }

        return this;
    }

    /// <summary>Removes every rule (faults already injected stay recorded).</summary>
    public void Clear()
    {
        lock (_lock)
        {
            _rules.Clear();
        }
    }

    /// <inheritdoc />
    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var (rule, _) = Decide(ObjectStoreOperation.Put, key);
        switch (rule?.Kind)
        {
            case null:
                await _inner.PutAsync(key, data, cancellationToken);
                return;
            case FaultKind.Fail:
                throw CreateException(rule, ObjectStoreOperation.Put, key);
            case FaultKind.FailAfterWrite:
                await _inner.PutAsync(key, data, cancellationToken);
                throw CreateException(rule, ObjectStoreOperation.Put, key);
            case FaultKind.DropWrite:
                return;
            case FaultKind.TearWrite:
                await _inner.PutAsync(key, Torn(rule, data), cancellationToken);
                return;
            default:
                throw new InvalidOperationException($"fault {rule.Kind} does not apply to put");
        }
    }

    /// <inheritdoc />
    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var (rule, _) = Decide(ObjectStoreOperation.PutIfAbsent, key);
        switch (rule?.Kind)
        {
            case null:
                return await _inner.PutIfAbsentAsync(key, data, cancellationToken);
            case FaultKind.Fail:
                throw CreateException(rule, ObjectStoreOperation.PutIfAbsent, key);
            case FaultKind.FailAfterWrite:
                await _inner.PutIfAbsentAsync(key, data, cancellationToken);
                throw CreateException(rule, ObjectStoreOperation.PutIfAbsent, key);
            case FaultKind.DropWrite:
                return true;
            case FaultKind.TearWrite:
                return await _inner.PutIfAbsentAsync(key, Torn(rule, data), cancellationToken);
            default:
                throw new InvalidOperationException($"fault {rule.Kind} does not apply to put-if-absent");
        }
    }

    /// <inheritdoc />
    public async Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var (rule, corruptSeed) = Decide(ObjectStoreOperation.Get, key);
        if (rule?.Kind == FaultKind.Fail)
        {
            throw CreateException(rule, ObjectStoreOperation.Get, key);
        }

        var data = await _inner.GetAsync(key, offset, length, cancellationToken);
        if (rule?.Kind == FaultKind.CorruptRead && data.Length > 0)
        {
            // Distinct positions, so that two flips never cancel out.
            var random = new Random(corruptSeed);
            var positions = new HashSet<int>();
            while (positions.Count < Math.Min(rule.CorruptBytes, data.Length))
            {
                positions.Add(random.Next(data.Length));
            }

            foreach (var position in positions)
            {
                data[position] ^= 0xFF;
            }
        }

        return data;
    }

    /// <inheritdoc />
    public async Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        var (rule, _) = Decide(ObjectStoreOperation.Put, key);
        switch (rule?.Kind)
        {
            case null:
                await _inner.PutStreamAsync(key, content, cancellationToken);
                return;
            case FaultKind.Fail:
                throw CreateException(rule, ObjectStoreOperation.Put, key);
            case FaultKind.FailAfterWrite:
                await _inner.PutStreamAsync(key, content, cancellationToken);
                throw CreateException(rule, ObjectStoreOperation.Put, key);
            case FaultKind.DropWrite:
                await content.CopyToAsync(Stream.Null, cancellationToken);
                return;
            case FaultKind.TearWrite:
                await _inner.PutAsync(key, Torn(rule, await BufferAsync(content, cancellationToken)), cancellationToken);
                return;
            default:
                throw new InvalidOperationException($"fault {rule.Kind} does not apply to put");
        }
    }

    /// <inheritdoc />
    public async Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        var (rule, _) = Decide(ObjectStoreOperation.PutIfAbsent, key);
        switch (rule?.Kind)
        {
            case null:
                return await _inner.PutStreamIfAbsentAsync(key, content, cancellationToken);
            case FaultKind.Fail:
                throw CreateException(rule, ObjectStoreOperation.PutIfAbsent, key);
            case FaultKind.FailAfterWrite:
                await _inner.PutStreamIfAbsentAsync(key, content, cancellationToken);
                throw CreateException(rule, ObjectStoreOperation.PutIfAbsent, key);
            case FaultKind.DropWrite:
                await content.CopyToAsync(Stream.Null, cancellationToken);
                return true;
            case FaultKind.TearWrite:
                return await _inner.PutIfAbsentAsync(key, Torn(rule, await BufferAsync(content, cancellationToken)), cancellationToken);
            default:
                throw new InvalidOperationException($"fault {rule.Kind} does not apply to put-if-absent");
        }
    }

    /// <inheritdoc />
    public async Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var (rule, corruptSeed) = Decide(ObjectStoreOperation.Get, key);
        if (rule?.Kind == FaultKind.Fail)
        {
            throw CreateException(rule, ObjectStoreOperation.Get, key);
        }

        var stream = await _inner.OpenReadAsync(key, offset, length, cancellationToken);
        if (rule?.Kind != FaultKind.CorruptRead || stream.Length == 0)
        {
            return stream;
        }

        var random = new Random(corruptSeed);
        var positions = new HashSet<long>();
        while (positions.Count < Math.Min(rule.CorruptBytes, stream.Length))
        {
            positions.Add(random.NextInt64(stream.Length));
        }

        return new ObjectReadStream(new CorruptingStream(stream, positions), stream.Length);
    }

    private static async Task<ReadOnlyMemory<byte>> BufferAsync(Stream content, CancellationToken cancellationToken)
    {
        var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, cancellationToken);
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <inheritdoc />
    public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var (rule, _) = Decide(ObjectStoreOperation.Stat, key);
        return rule is null ? _inner.StatAsync(key, cancellationToken) : Task.FromException<ObjectInfo?>(CreateException(rule, ObjectStoreOperation.Stat, key));
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var (rule, _) = Decide(ObjectStoreOperation.List, prefix);
        if (rule is not null)
        {
            throw CreateException(rule, ObjectStoreOperation.List, prefix);
        }

        await foreach (var info in _inner.ListAsync(prefix, cancellationToken))
        {
            yield return info;
        }
    }

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var (rule, _) = Decide(ObjectStoreOperation.Delete, key);
        return rule is null ? _inner.DeleteAsync(key, cancellationToken) : Task.FromException(CreateException(rule, ObjectStoreOperation.Delete, key));
    }

    /// <summary>Counts the call against every matching rule and picks the first rule that fires (under the lock).</summary>
    private (FaultRule? Rule, int CorruptSeed) Decide(ObjectStoreOperation operation, string key)
    {
        lock (_lock)
        {
            FaultRule? fired = null;
            int callNumber = 0;
            foreach (var state in _rules)
            {
                var rule = state.Rule;
                if (!rule.AppliesTo(operation) || !key.StartsWith(rule.KeyPrefix, StringComparison.Ordinal))
                {
                    continue;
                }

                state.Calls++;
                if (fired is not null || (rule.MaxHits is { } max && state.Hits >= max))
                {
                    continue;
                }

                var hit = rule.NthCall is { } nth ? state.Calls == nth : rule.Probability >= 1 || _random.NextDouble() < rule.Probability;
                if (hit)
                {
                    state.Hits++;
                    fired = rule;
                    callNumber = state.Calls;
                }
            }

            if (fired is null)
            {
                return (null, 0);
            }

            var corruptSeed = _random.Next();

            _injected.Add(new InjectedFault(operation, key, fired.Kind, callNumber));
            Log.FaultInjected(_logger, operation.ToString(), key, _inner.Location, fired.Kind.ToString());
            return (fired, corruptSeed);
        }
    }

    private static Exception CreateException(FaultRule rule, ObjectStoreOperation operation, string key) =>
        rule.Exception?.Invoke(key) ?? new IOException($"injected fault: {operation} of '{key}' failed");

    private static ReadOnlyMemory<byte> Torn(FaultRule rule, ReadOnlyMemory<byte> data) =>
        data[..(int)Math.Floor(data.Length * rule.TearFraction)];

    private sealed class RuleState(FaultRule rule)
    {
        public FaultRule Rule { get; } = rule;

        public int Calls { get; set; }

        public int Hits { get; set; }
    }

    /// <summary>Flips the bytes at the given positions of the stream as they pass.</summary>
    private sealed class CorruptingStream(Stream inner, HashSet<long> positions) : Stream
    {
        private long _position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => _position;
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            Flip(buffer[..n]);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            Flip(buffer.Span[..n]);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }

        private void Flip(Span<byte> read)
        {
            foreach (var position in positions)
            {
                if (position >= _position && position < _position + read.Length)
                {
                    read[(int)(position - _position)] ^= 0xFF;
                }
            }

            _position += read.Length;
        }
    }
}
