using System.Runtime.ExceptionServices;

namespace Lifeline.Lake.Tests;

/// <summary>Collects the exceptions thrown (caught or not) in the async flow of one call: what a hot path costs in
/// first-chance exceptions, without those of tests running beside it.</summary>
internal static class FirstChanceExceptions
{
    private static readonly AsyncLocal<List<Exception>?> Collector = new();

    /// <summary>Runs <paramref name="action"/>; returns its result and every exception thrown in its flow.</summary>
    public static async Task<(T Result, IReadOnlyList<Exception> Thrown)> CollectAsync<T>(Func<Task<T>> action)
    {
        var thrown = new List<Exception>();
        AppDomain.CurrentDomain.FirstChanceException += OnFirstChance;
        try
        {
            Collector.Value = thrown; // flows into the call's continuations, and back out of this method never
            var result = await action();
            lock (thrown)
            {
                return (result, [.. thrown]);
            }
        }
        finally
        {
            Collector.Value = null;
            AppDomain.CurrentDomain.FirstChanceException -= OnFirstChance;
        }
    }

    private static void OnFirstChance(object? sender, FirstChanceExceptionEventArgs e)
    {
        if (Collector.Value is { } list)
        {
            lock (list)
            {
                list.Add(e.Exception);
            }
        }
    }
}
