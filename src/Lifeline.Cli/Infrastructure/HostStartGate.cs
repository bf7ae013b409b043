using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lifeline.Cli.Infrastructure;

/// <summary>
/// Keeps the generic host's own log lines (category <c>Microsoft.Extensions.Hosting</c>) quiet until a server has
/// started, and for good once its start failed: a start failure (a port in use) is reported once, as the command's
/// one error line, not as a Kestrel stack trace on stdout. After a successful start the host logs as configured
/// (a failing background service is an operational signal).
/// </summary>
internal sealed class HostStartGate
{
    private const string HostingCategory = "Microsoft.Extensions.Hosting";
    private volatile bool _open;

    /// <summary>True once the server has started; the host's log lines pass from then on.</summary>
    public bool IsOpen => _open;

    /// <summary>Lets the host's log lines through (call after the server started).</summary>
    public void Open() => _open = true;

    /// <summary>Adds the gate to a logging builder, passing <paramref name="minimum"/> and above once open.</summary>
    public void AddTo(ILoggingBuilder logging, LogLevel minimum = LogLevel.Warning) =>
        logging.AddFilter(HostingCategory, level => _open && level >= minimum);

    /// <summary>Adds the gate to a service collection whose logging is already configured (a host built elsewhere).</summary>
    public void AddTo(IServiceCollection services, LogLevel minimum = LogLevel.Warning) =>
        services.Configure<LoggerFilterOptions>(o => o.Rules.Add(new LoggerFilterRule(null, HostingCategory, null, (_, _, level) => _open && level >= minimum)));
}
