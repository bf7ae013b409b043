using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Plan;

namespace Lifeline.Cli.Commands;

/// <summary>How the commands open the plan file (the recovery commands through <see cref="RecoverySession"/>), and how
/// those that read what <c>lifeline up</c> keeps (<c>incidents</c>, <c>notify</c>) find the data directory:
/// <c>--data</c>, else the plan's default beside the plan file.</summary>
internal static class PlanAndData
{
    /// <summary>The plan at <paramref name="planPath"/>, read and valid, and its data directory.</summary>
    /// <exception cref="CliException">No plan file there, or it cannot be read (exit 50).</exception>
    public static async Task<(LifelinePlan Plan, string PlanPath, string DataDirectory)> OpenAsync(string planPath, string? data, CancellationToken ct)
    {
        var (plan, path) = await LoadAsync(planPath, ct);
        return (plan, path, DataDirectory(path, data));
    }

    /// <summary>The plan at <paramref name="planPath"/>, read and valid, and its full path.</summary>
    /// <exception cref="CliException">No plan file there, or it cannot be read (exit 50).</exception>
    public static Task<(LifelinePlan Plan, string PlanPath)> LoadAsync(string planPath, CancellationToken ct) => LoadAsync(planPath, countMoreErrors: false, ct);

    /// <summary>The plan at <paramref name="planPath"/>, read and valid, and its full path; with
    /// <paramref name="countMoreErrors"/> the message of a plan with several errors says how many more and where to see them.</summary>
    /// <exception cref="CliException">No plan file there, or it cannot be read (exit 50).</exception>
    public static async Task<(LifelinePlan Plan, string PlanPath)> LoadAsync(string planPath, bool countMoreErrors, CancellationToken ct)
    {
        var path = Path.GetFullPath(planPath);
        if (!File.Exists(path))
        {
            throw new CliException(ExitCodes.PlanHasErrors, $"no plan file at {path}: run 'lifeline plan init' to write one, or name it with --plan FILE");
        }

        var parsed = await PlanFile.LoadAsync(path, ct);
        if (!parsed.Succeeded)
        {
            var more = countMoreErrors && parsed.Errors.Count > 1 ? $" ({parsed.Errors.Count - 1} more: run 'lifeline plan check --plan {planPath}')" : "";
            throw new CliException(ExitCodes.PlanHasErrors, $"the plan cannot be read: {parsed.Errors[0]}{more}");
        }

        return (parsed.Plan!, path);
    }

    /// <summary>The data directory: <paramref name="data"/> when given, else the plan's default (<c>lifeline-data</c> beside the plan file).</summary>
    public static string DataDirectory(string planPath, string? data) =>
        Path.GetFullPath(data is { Length: > 0 } d ? d : DeploymentLayout.DefaultDataDirectory(Path.GetFullPath(planPath)));
}
