using Lifeline.Registry;
using Lifeline.Registry.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Lifeline.Recovery.Hosting;

/// <summary>
/// The registry as a deployment service: the embedded registry (SQLite in <c>&lt;data&gt;/registry</c>) serving the
/// MLflow REST API on loopback, started in-process the way <c>lifeline registry serve</c> starts it.
/// </summary>
public sealed class RegistryDeploymentService : IDeploymentService
{
    private readonly DeploymentContext _context;
    private WebApplication? _app;
    private volatile DeploymentServiceState _state = new(DeploymentServiceStatus.Pending);

    /// <summary>Creates the service (nothing starts yet).</summary>
    public RegistryDeploymentService(DeploymentContext context) => _context = context;

    /// <inheritdoc/>
    public string Name => "registry";

    /// <inheritdoc/>
    public DeploymentServiceState State => _state;

    /// <summary>The registry's base URL once started.</summary>
    public Uri? Address { get; private set; }

    /// <inheritdoc/>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _state = new(DeploymentServiceStatus.Starting, Detail: "migrating and checking registry.db");
        var options = new RegistryOptions
        {
            DataDirectory = _context.Layout.Registry,
            Tokens = [new RegistryToken { Token = _context.RegistryToken, Role = RegistryRole.Admin }, .. _context.Options.RegistryTokens],
        };
        try
        {
            _app = await RegistryServer.StartAsync(options, $"http://{_context.Options.ListenAddress}:{_context.Options.RegistryPort}",
                logging => ServiceLogging.Configure(logging), _context.Time, cancellationToken);
        }
        catch (Exception e)
        {
            _state = new(DeploymentServiceStatus.Failed, Detail: e.Message);
            throw;
        }

        Address = _app.Address();
        _state = new(DeploymentServiceStatus.Running, Address.ToString().TrimEnd('/'), $"MLflow REST API, data in {_context.Layout.Registry}");
    }

    /// <inheritdoc/>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is { } app)
        {
            _app = null;
            try
            {
                await app.StopAsync(cancellationToken);
            }
            finally
            {
                await app.DisposeAsync();
            }
        }

        _state = _state with { Status = DeploymentServiceStatus.Stopped, Detail = "stopped" };
    }
}

/// <summary>How the in-process servers log: one line per event, warnings and above, on stderr (stdout is for the
/// summary); the generic host's own lines are off (a failed start is the command's one error line).</summary>
internal static class ServiceLogging
{
    public static void Configure(ILoggingBuilder logging)
    {
        logging.AddSimpleConsole(o => o.SingleLine = true);
        logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        logging.SetMinimumLevel(LogLevel.Warning);
        logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        logging.AddFilter("Microsoft.Hosting.Lifetime", LogLevel.None);
        logging.AddFilter("Microsoft.AspNetCore", LogLevel.Error);
    }
}
