namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// Writes the one stderr line for an exception, <c>lifeline: message</c>, with the exit code <see cref="ErrorTable"/>
/// gives it. Never a stack trace, except for unexpected exceptions when <c>LIFELINE_DEBUG=1</c>.
/// </summary>
internal static class ErrorReporter
{
    /// <summary>Maps an exception to its documented exit code and a one-line message.</summary>
    public static (int ExitCode, string Message) Describe(Exception exception)
    {
        var (code, message, _) = ErrorTable.Describe(exception);
        return (code, message);
    }

    /// <summary>Writes the line for <paramref name="exception"/> and returns its exit code.</summary>
    public static int Report(Exception exception, TextWriter error, Func<string, string?> environment)
    {
        var (code, message, known) = ErrorTable.Describe(exception);
        error.WriteLine($"lifeline: {message}");
        if (!known && environment("LIFELINE_DEBUG") == "1")
        {
            error.WriteLine(exception.ToString());
        }

        return code;
    }
}
