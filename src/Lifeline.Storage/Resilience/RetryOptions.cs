namespace Lifeline.Storage.Resilience;

/// <summary>Options of <see cref="RetryingObjectStore"/>. Every property has a documented default.</summary>
public sealed record RetryOptions
{
    /// <summary>Retries after the first attempt. Default 5 (six attempts in all).</summary>
    public int MaxRetryAttempts { get; init; } = 5;

    /// <summary>The delay before the first retry; each later one doubles it. Default 200 ms. Zero retries at once.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The longest delay between two attempts. Default 15 s; <see cref="TimeSpan.Zero"/> means no cap.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>Whether delays are randomised (decorrelated jitter) so that many clients do not retry in step. Default true.</summary>
    public bool UseJitter { get; init; } = true;

    /// <summary>Which exceptions are retried. Default <see cref="TransientFaults.IsTransient"/>.</summary>
    public Func<Exception, bool> ShouldRetry { get; init; } = TransientFaults.IsTransient;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first invalid property.</summary>
    public void Validate()
    {
        if (MaxRetryAttempts is < 0 or > 100)
        {
            throw new ArgumentException($"RetryOptions.MaxRetryAttempts must be 0..100, not {MaxRetryAttempts}");
        }

        if (BaseDelay < TimeSpan.Zero || MaxDelay < TimeSpan.Zero || (MaxDelay < BaseDelay && MaxDelay != TimeSpan.Zero))
        {
            throw new ArgumentException($"RetryOptions delays must be non-negative with MaxDelay >= BaseDelay (BaseDelay {BaseDelay}, MaxDelay {MaxDelay})");
        }

        ArgumentNullException.ThrowIfNull(ShouldRetry);
    }
}
