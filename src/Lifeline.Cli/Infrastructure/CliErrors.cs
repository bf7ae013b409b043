namespace Lifeline.Cli.Infrastructure;

/// <summary>An error the command line reports as one line with a chosen exit code (no stack trace).</summary>
internal class CliException : Exception
{
    public CliException(int exitCode, string message, Exception? inner = null)
        : base(message, inner)
    {
        ExitCode = exitCode;
    }

    /// <summary>The documented exit code (<see cref="ExitCodes"/>).</summary>
    public int ExitCode { get; }
}

/// <summary>Wrong usage found after parsing (a bad duration, time or missing setting): exit code 2.</summary>
internal sealed class UsageException : CliException
{
    public UsageException(string message)
        : base(ExitCodes.Usage, message)
    {
    }
}
