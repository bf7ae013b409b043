using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery;

/// <summary>The weekly restore tests' log events (675x), beside Recovery's own in <c>Log.cs</c>; ids are stable.</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 6751, Level = LogLevel.Information, Message = "Check {Check} of {Component} in {Location}: passed {Passed}: {Summary}")]
    public static partial void RestoreTestRan(ILogger logger, string check, string component, string location, bool passed, string summary);
}
