using System.Globalization;
using System.Runtime.CompilerServices;
using Lifeline.Storage;

namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// Slows chosen store operations down, for crash tests and drills that must stop a process at a precise phase
/// (e.g. while prune deletes): set <c>LIFELINE_DEBUG_STORE_DELAY=delete=200ms,put=10ms</c>. To hold a process at an
/// exact point until the test kills it, <c>LIFELINE_DEBUG_STORE_HANG=snapshots/@vault-a</c> makes every put of a key
/// starting with <c>snapshots/</c> into a store whose location contains <c>vault-a</c> wait forever (until cancelled).
/// Never set in normal use.
/// </summary>
internal sealed class DelayingObjectStore(IObjectStore inner, IReadOnlyDictionary<string, TimeSpan> delays, TimeProvider time) : IObjectStore
{
    public const string Variable = "LIFELINE_DEBUG_STORE_DELAY";

    /// <summary>The variable naming the puts that never finish: <c>KEY-PREFIX@LOCATION-PART</c>.</summary>
    public const string HangVariable = "LIFELINE_DEBUG_STORE_HANG";

    private readonly (string Prefix, string Location)? _hang = Environment.GetEnvironmentVariable(HangVariable) is { Length: > 0 } h && h.IndexOf('@', StringComparison.Ordinal) is var at and > 0
        ? (h[..at], h[(at + 1)..])
        : null;

    public string Location => inner.Location;

    /// <summary>Wraps <paramref name="store"/> when the variable is set (for commands that open stores without <see cref="RepositorySettings"/>).</summary>
    public static IObjectStore WrapFromEnvironment(IObjectStore store) =>
        Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } delays ? new DelayingObjectStore(store, Parse(delays), TimeProvider.System)
        : Environment.GetEnvironmentVariable(HangVariable) is { Length: > 0 } ? new DelayingObjectStore(store, new Dictionary<string, TimeSpan>(), TimeProvider.System)
        : store;

    /// <summary>Parses <c>op=duration,...</c> (ops put, get, stat, list, delete; durations like 200ms or 1s).</summary>
    public static IReadOnlyDictionary<string, TimeSpan> Parse(string value)
    {
        var result = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
        foreach (var part in value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            var op = eq > 0 ? part[..eq] : "";
            var text = eq > 0 ? part[(eq + 1)..] : "";
            var ms = text.EndsWith("ms", StringComparison.Ordinal) ? text[..^2] : text.EndsWith('s') ? text[..^1] : null;
            if (op is not ("put" or "get" or "stat" or "list" or "delete") || ms is null ||
                !double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0)
            {
                throw new UsageException($"invalid {Variable} '{value}': use op=duration pairs, e.g. {Variable}=delete=200ms,put=10ms");
            }

            result[op] = text.EndsWith("ms", StringComparison.Ordinal) ? TimeSpan.FromMilliseconds(n) : TimeSpan.FromSeconds(n);
        }

        return result;
    }

    public async Task PutAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await DelayAsync("put", cancellationToken);
        await HangAsync(key, cancellationToken);
        await inner.PutAsync(key, data, cancellationToken);
    }

    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        await DelayAsync("put", cancellationToken);
        await HangAsync(key, cancellationToken);
        return await inner.PutIfAbsentAsync(key, data, cancellationToken);
    }

    public async Task<byte[]> GetAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        await DelayAsync("get", cancellationToken);
        return await inner.GetAsync(key, offset, length, cancellationToken);
    }

    public async Task<byte[]?> TryGetAsync(string key, CancellationToken cancellationToken = default)
    {
        await DelayAsync("get", cancellationToken);
        return await inner.TryGetAsync(key, cancellationToken);
    }

    public async Task PutStreamAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        await DelayAsync("put", cancellationToken);
        await HangAsync(key, cancellationToken);
        await inner.PutStreamAsync(key, content, cancellationToken);
    }

    public async Task<bool> PutStreamIfAbsentAsync(string key, Stream content, CancellationToken cancellationToken = default)
    {
        await DelayAsync("put", cancellationToken);
        await HangAsync(key, cancellationToken);
        return await inner.PutStreamIfAbsentAsync(key, content, cancellationToken);
    }

    public async Task<ObjectReadStream> OpenReadAsync(string key, long offset = 0, long? length = null, CancellationToken cancellationToken = default)
    {
        await DelayAsync("get", cancellationToken);
        return await inner.OpenReadAsync(key, offset, length, cancellationToken);
    }

    public async Task<ObjectInfo?> StatAsync(string key, CancellationToken cancellationToken = default)
    {
        await DelayAsync("stat", cancellationToken);
        return await inner.StatAsync(key, cancellationToken);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await DelayAsync("list", cancellationToken);
        await foreach (var info in inner.ListAsync(prefix, cancellationToken))
        {
            yield return info;
        }
    }

    public async Task DeleteAsync(string key, CancellationToken cancellationToken = default)
    {
        await DelayAsync("delete", cancellationToken);
        await inner.DeleteAsync(key, cancellationToken);
    }

    private Task HangAsync(string key, CancellationToken ct) =>
        _hang is { } h && key.StartsWith(h.Prefix, StringComparison.Ordinal) && inner.Location.Contains(h.Location, StringComparison.Ordinal)
            ? Task.Delay(Timeout.InfiniteTimeSpan, ct)
            : Task.CompletedTask;

    private Task DelayAsync(string op, CancellationToken ct) =>
        delays.TryGetValue(op, out var delay) && delay > TimeSpan.Zero ? Task.Delay(delay, time, ct) : Task.CompletedTask;
}
