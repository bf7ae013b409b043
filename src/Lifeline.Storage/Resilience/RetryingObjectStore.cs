using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Lifeline.Storage.Resilience;

/// <summary>
/// Retries the transient faults of an inner store with exponential backoff and jitter (Polly); permanent faults
/// (missing object, invalid key, forbidden, cancelled) pass through at once.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Every operation is idempotent except put-if-absent, whose answer can be lost: a write that reached the
/// store but whose response did not is retried, and the retry then finds the object present. So after a transient
/// failure, a later "already exists" is checked: if the object holds exactly the caller's bytes, the earlier
/// attempt won and the call returns <c>true</c>. Callers that race with identical bytes (which nothing in Lifeline
/// does: lock objects carry a unique owner id) could then both see <c>true</c>.</item>
/// <item>A listing that fails part-way restarts and skips the keys already yielded (listings are ordered), so the
/// caller sees each key at most once, in order.</item>
/// <item>A streaming put is retried only when the content can be replayed: a seekable stream is rewound to the
/// position it had when the call began; a stream that cannot seek is retried only if the failed attempt never read
/// from it (e.g. it failed to connect first). Otherwise the transient fault propagates, and the caller, who owns the
/// stream, decides. A streaming put-if-absent whose response was lost is recognised as above by comparing the stored
/// object with the rewound stream (streamed, in bounded memory).</item>
/// <item>Opening a read stream is retried; a read that fails part-way is not (reopen at the offset reached).</item>
/// <item>Waits use the injected <see cref="TimeProvider"/>, so tests run them on a fake clock.</item>
/// </list>
/// </remarks>
public sealed class RetryingObjectStore : IObjectStore
{
    private readonly IObjectStore _inner;
    private readonly ResiliencePipeline _pipeline;
    private readonly ILogger _logger;

    /// <summary>Wraps <paramref name="inner"/>.</summary>
    /// <param name="inner">The store to retry.</param>
    /// <param name="options">Retry options; defaults when null.</param>
    /// <param name="timeProvider">The clock for waits; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="logger">Logs each retry (event 1000) and each give-up (event 1001).</param>
    public RetryingObjectStore(IObjectStore inner, RetryOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        options ??= new RetryOptions();
        options.Validate();
        _inner = inner;
        _logger = logger ?? NullLogger.Instance;
        Options = options;
        var builder = new ResiliencePipelineBuilder { TimeProvider = timeProvider ?? TimeProvider.System };
        if (options.MaxRetryAttempts > 0)
        {
            builder.AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && options.ShouldRetry(e)
                    && (!args.Context.Properties.TryGetValue(CanReplayKey, out var canReplay) || canReplay())),
                MaxRetryAttempts = options.MaxRetryAttempts,
                BackoffType = DelayBackoffType.Exponential,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay > TimeSpan.Zero ? options.MaxDelay : null,
                UseJitter = options.UseJitter,
                OnRetry = args =>
                {
                    var operation = args.Context.Properties.GetValue(OperationKey, "?");
                    Log.RetryingTransientFault(_logger, operation, _inner.Location, args.AttemptNumber + 1, args.RetryDelay.TotalMilliseconds, args.Outcome.Exception?.Message ?? "?");
                    return default;
                },
            });
        }

        _pipeline = builder.Build();
    }

    private static readonly ResiliencePropertyKey<string> OperationKey = new("lifeline.storage.operation");
    private static readonly ResiliencePropertyKey<Func<bool>> CanReplayKey = new("lifeline.storage.can-replay");

    /// <summary>The options in force.</summary>
    public RetryOptions Options { get; }

    /// <summary>The wrapped store.</summary>
    public IObjectStore Inner => _inner;

    /// <inheritdoc />
    public string Location => _inner.Location;

    /// <inheritdoc />
    public Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        return RunAsync("put", async ct =>
        {
            await _inner.PutAsync(key, data, ct);
            return true;
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var failedBefore = false;
        return await RunAsync("put-if-absent", async ct =>
        {
            bool written;
            try
            {
                written = await _inner.PutIfAbsentAsync(key, data, ct);
            }
            catch (Exception e) when (Options.ShouldRetry(e))
            {
                failedBefore = true;
                throw;
            }

            if (written || !failedBefore)
            {
                return written;
            }

            // An earlier attempt failed transiently and may have written: the object is ours if it holds our bytes.
            try
            {
                var existing = await _inner.GetAsync(key, cancellationToken: ct);
                return existing.AsSpan().SequenceEqual(data.Span);
            }
            catch (ObjectNotFoundException)
            {
                return false; // gone again (deleted by its owner): someone else held it, which is what false says
            }
        }, cancellationToken);
    }

    /// <inheritdoc />
    public Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        var replay = new ReplayableContent(content);
        return RunAsync("put", async ct =>
        {
            await _inner.PutStreamAsync(key, replay.Begin(), ct);
            return true;
        }, cancellationToken, replay.CanReplay);
    }

    /// <inheritdoc />
    public async Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        ArgumentNullException.ThrowIfNull(content);
        var replay = new ReplayableContent(content);
        var failedAfterReading = false;
        return await RunAsync("put-if-absent", async ct =>
        {
            bool written;
            try
            {
                written = await _inner.PutStreamIfAbsentAsync(key, replay.Begin(), ct);
            }
            catch (Exception e) when (Options.ShouldRetry(e))
            {
                // An attempt that never read the stream cannot have written it.
                failedAfterReading |= replay.WasRead;
                throw;
            }

            if (written || !failedAfterReading || !content.CanSeek)
            {
                return written;
            }

            // An earlier attempt failed transiently and may have written: the object is ours if it holds our bytes.
            try
            {
                await using var existing = await _inner.OpenReadAsync(key, cancellationToken: ct);
                return await SameBytesAsync(existing, replay.Begin(), ct);
            }
            catch (ObjectNotFoundException)
            {
                return false;
            }
        }, cancellationToken, replay.CanReplay);
    }

    /// <inheritdoc />
    public Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        return RunAsync("get", ct => new ValueTask<ObjectReadStream>(_inner.OpenReadAsync(key, offset, length, ct)), cancellationToken);
    }

    private static async Task<bool> SameBytesAsync(Stream stored, Stream content, CancellationToken ct)
    {
        var a = new byte[81920];
        var b = new byte[a.Length];
        while (true)
        {
            var n = await stored.ReadAtLeastAsync(a, a.Length, throwOnEndOfStream: false, ct);
            var m = await content.ReadAtLeastAsync(b, b.Length, throwOnEndOfStream: false, ct);
            if (n != m || !a.AsSpan(0, n).SequenceEqual(b.AsSpan(0, m)))
            {
                return false;
            }

            if (n < a.Length)
            {
                return true;
            }
        }
    }

    /// <inheritdoc />
    public Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        return RunAsync("get", ct => new ValueTask<byte[]>(_inner.GetAsync(key, offset, length, ct)), cancellationToken);
    }

    /// <inheritdoc />
    public Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        return RunAsync("get", ct => new ValueTask<byte[]?>(_inner.TryGetAsync(key, ct)), cancellationToken);
    }

    /// <inheritdoc />
    public Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        return RunAsync("stat", ct => new ValueTask<ObjectInfo?>(_inner.StatAsync(key, ct)), cancellationToken);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        IAsyncEnumerator<ObjectInfo>? enumerator = null;
        string? lastYielded = null;
        try
        {
            while (true)
            {
                var next = await RunAsync("list", async ct =>
                {
                    try
                    {
                        enumerator ??= _inner.ListAsync(prefix, cancellationToken).GetAsyncEnumerator(cancellationToken);
                        while (await enumerator.MoveNextAsync())
                        {
                            var item = enumerator.Current;
                            if (lastYielded is null || KeyOrder.Instance.Compare(item.Key, lastYielded) > 0)
                            {
                                return item;
                            }
                        }

                        return null;
                    }
                    catch
                    {
                        // Start a fresh listing on the next attempt; keys up to lastYielded are skipped.
                        if (enumerator is not null)
                        {
                            await enumerator.DisposeAsync();
                            enumerator = null;
                        }

                        throw;
                    }
                }, cancellationToken);

                if (next is null)
                {
                    yield break;
                }

                lastYielded = next.Key;
                yield return next;
            }
        }
        finally
        {
            if (enumerator is not null)
            {
                await enumerator.DisposeAsync();
            }
        }
    }

    /// <inheritdoc />
    public Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        return RunAsync("delete", async ct =>
        {
            await _inner.DeleteAsync(key, ct);
            return true;
        }, cancellationToken);
    }

    private async Task<T> RunAsync<T>(string operation, Func<CancellationToken, ValueTask<T>> action, CancellationToken cancellationToken, Func<bool>? canReplay = null)
    {
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(OperationKey, operation);
        if (canReplay is not null)
        {
            context.Properties.Set(CanReplayKey, canReplay);
        }

        try
        {
            var outcome = await _pipeline.ExecuteOutcomeAsync(
                static async (ctx, state) =>
                {
                    try
                    {
                        return Outcome.FromResult(await state(ctx.CancellationToken));
                    }
                    catch (Exception e)
                    {
                        return Outcome.FromException<T>(e);
                    }
                },
                context,
                action);
            if (outcome.Exception is { } exception)
            {
                if (Options.ShouldRetry(exception) && Options.MaxRetryAttempts > 0 && (canReplay is null || canReplay()))
                {
                    Log.RetriesExhausted(_logger, operation, _inner.Location, Options.MaxRetryAttempts + 1, exception.Message);
                }

                outcome.ThrowIfException();
            }

            return outcome.Result!;
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// The content of a streaming put across attempts: rewinds a seekable stream to where it started, and for one that
    /// cannot seek notes whether an attempt read from it (then it cannot be replayed).
    /// </summary>
    private sealed class ReplayableContent(Stream content)
    {
        private readonly long _start = content.CanSeek ? content.Position : -1;
        private ReadTracker? _current;

        public bool WasRead => _current?.WasRead == true;

        public bool CanReplay() => content.CanSeek || !WasRead;

        public Stream Begin()
        {
            if (_start >= 0)
            {
                content.Position = _start;
            }

            _current = new ReadTracker(content);
            return _current;
        }
    }

    /// <summary>Passes reads through to the caller's stream (which it never disposes) and notes whether any happened.</summary>
    private sealed class ReadTracker(Stream inner) : Stream
    {
        public bool WasRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count)
        {
            WasRead = true;
            return inner.Read(buffer, offset, count);
        }

        public override int Read(Span<byte> buffer)
        {
            WasRead = true;
            return inner.Read(buffer);
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            WasRead = true;
            return inner.ReadAsync(buffer, offset, count, cancellationToken);
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WasRead = true;
            return inner.ReadAsync(buffer, cancellationToken);
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
