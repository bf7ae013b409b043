namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// The one place that turns an exception into an exit code and one line on stderr, <c>lifeline: message</c>.
/// Never a stack trace, except for unexpected exceptions when <c>LIFELINE_DEBUG=1</c>.
/// </summary>
internal static class ErrorReporter
{
    /// <summary>Maps an exception to its documented exit code and a one-line message.</summary>
    public static (int ExitCode, string Message) Describe(Exception exception)
    {
        return exception switch
        {
            CliException e => (e.ExitCode, e.Message),
            OperationCanceledException => (ExitCodes.Interrupted, "interrupted"),
            _ when VaultErrors.TryDescribe(exception) is { } vault => vault,
            UnauthorizedAccessException e => (ExitCodes.Failure, $"permission denied: {e.Message}"),
            IOException e => (ExitCodes.Failure, e.Message),
            _ => (ExitCodes.Failure, $"unexpected error: {exception.GetType().Name}: {exception.Message}"),
        };
    }

    /// <summary>Writes the line for <paramref name="exception"/> and returns its exit code.</summary>
    public static int Report(Exception exception, TextWriter error, Func<string, string?> environment)
    {
        var (code, message) = Describe(exception);
        error.WriteLine($"lifeline: {CliConsole.OneLine(message)}");
        var known = exception is CliException or OperationCanceledException || VaultErrors.TryDescribe(exception) is not null;
        if (!known && environment("LIFELINE_DEBUG") == "1")
        {
            error.WriteLine(exception.ToString());
        }

        return code;
    }
}
