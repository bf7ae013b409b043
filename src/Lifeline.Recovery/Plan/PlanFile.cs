using System.Text;
using YamlDotNet.RepresentationModel;

namespace Lifeline.Recovery.Plan;

/// <summary>Reading and writing <c>lifeline.yaml</c>.</summary>
public static class PlanFile
{
    /// <summary>The plan's file name where none is given.</summary>
    public const string DefaultFileName = "lifeline.yaml";

    /// <summary>The largest plan file read (1 MiB): a plan is a page of text.</summary>
    public const int MaxBytes = 1 << 20;

    /// <summary>Parses plan text; <paramref name="fileName"/> is named in every error.</summary>
    public static PlanParseResult Parse(string yaml, string fileName = DefaultFileName) => PlanParser.Parse(yaml, fileName);

    /// <summary>Reads and parses the plan at <paramref name="path"/>; a missing or unreadable file is an error, not an exception.</summary>
    public static async Task<PlanParseResult> LoadAsync(string path, CancellationToken cancellationToken = default)
    {
        string text;
        try
        {
            if (new FileInfo(path) is { Exists: true, Length: > MaxBytes } big)
            {
                return Failed(path, $"the plan file is {big.Length} bytes, more than a plan can be ({MaxBytes})", "point --plan at the lifeline.yaml, not at a data file");
            }

            text = await File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return Failed(path, "no plan file here", "write one with `lifeline plan init` (or `--recommended`), or name it with --plan");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Failed(path, $"cannot read the plan file: {e.Message}", "check the path and its permissions");
        }

        return PlanParser.Parse(text, path);
    }

    /// <summary>Writes <paramref name="yaml"/> to <paramref name="path"/> without ever leaving a half-written file;
    /// refuses to replace an existing file unless <paramref name="overwrite"/>.</summary>
    /// <exception cref="IOException">The file exists and <paramref name="overwrite"/> is false (one-line message).</exception>
    public static async Task WriteAsync(string path, string yaml, bool overwrite, CancellationToken cancellationToken = default)
    {
        if (!overwrite && File.Exists(path))
        {
            throw new IOException($"{path} already exists: edit it, or pass --force to replace it");
        }

        var directory = Path.GetDirectoryName(Path.GetFullPath(path))!;
        Directory.CreateDirectory(directory);
        var temp = Path.Combine(directory, $".{Path.GetFileName(path)}.{Guid.NewGuid():N}.tmp");
        try
        {
            await File.WriteAllTextAsync(temp, yaml, new UTF8Encoding(false), cancellationToken);
            // without overwrite, .NET moves by link + unlink on Unix: the name is taken whole or not at all, never replaced
            File.Move(temp, path, overwrite);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>The plan as YAML (no comments): what <see cref="Parse"/> reads back to the same plan.</summary>
    public static string Write(LifelinePlan plan) => PlanWriter.Write(plan);

    private static PlanParseResult Failed(string path, string message, string fix) =>
        new(null, [new PlanFinding { Severity = FindingSeverity.Error, Rule = PlanRules.MissingField, Subject = "plan", File = path, Mark = new SourceMark(1, 1), Message = message, Fix = fix }]);
}

/// <summary>Turns a plan back into YAML in the parser's key order.</summary>
internal static class PlanWriter
{
    public static string Write(LifelinePlan plan)
    {
        var root = new YamlMappingNode();
        root.Add("version", Scalar(plan.Version.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        AddString(root, "name", plan.Name);
        AddString(root, "owner", plan.Owner);

        var objectives = new YamlMappingNode { { "rto", Pair(plan.Objectives.Rto) }, { "rpo", Pair(plan.Objectives.Rpo) } };
        if (plan.Objectives.Scenarios.Count > 0)
        {
            var scenarios = new YamlMappingNode();
            foreach (var s in plan.Objectives.Scenarios)
            {
                var node = new YamlMappingNode();
                AddString(node, "title", s.Title);
                AddString(node, "impact", s.Impact);
                node.Add("rto", Pair(s.Rto));
                node.Add("rpo", Pair(s.Rpo));
                AddDuration(node, "restore-budget", s.RestoreBudget);
                node.Add("components", List(s.Components));
                if (s.Steps.Count > 0)
                {
                    var steps = new YamlMappingNode();
                    foreach (var step in s.Steps)
                    {
                        steps.Add(step.Name, PlanDuration.Format(step.Budget));
                    }

                    node.Add("steps", steps);
                }
                scenarios.Add(s.Name, node);
            }

            objectives.Add("scenarios", scenarios);
        }

        root.Add("objectives", objectives);

        var components = new YamlMappingNode();
        foreach (var c in plan.Components)
        {
            var node = new YamlMappingNode();
            if (c.Kind is { } kind)
            {
                node.Add("kind", kind switch
                {
                    ComponentKind.Registry => "registry",
                    ComponentKind.LakeTable => "lake-table",
                    ComponentKind.Configuration => "configuration",
                    _ => "jobs",
                });
            }

            AddString(node, "table", c.Table);
            AddString(node, "policy", c.Policy);
            AddDuration(node, "compliance", c.Compliance);
            if (c.Files.Count > 0)
            {
                node.Add("files", List(c.Files));
            }

            if (c.Env.Count > 0)
            {
                node.Add("env", List(c.Env));
            }

            if (c.Secrets.Count > 0)
            {
                node.Add("secrets", List(c.Secrets));
            }

            if (c.Hooks is { } hooks)
            {
                var h = new YamlMappingNode();
                AddString(h, "pre", hooks.Pre);
                AddString(h, "post", hooks.Post);
                AddDuration(h, "timeout", hooks.Timeout);
                node.Add("hooks", h);
            }

            AddString(node, "data", c.Data);
            AddString(node, "postgres", c.Postgres);
            AddString(node, "api", c.Api);
            AddString(node, "token-env", c.TokenEnv);
            AddString(node, "location", c.Location);
            AddString(node, "store", c.Store);
            components.Add(c.Name, node);
        }

        root.Add("components", components);
        if (plan.Sources.Data is not null || plan.Sources.Lake is not null)
        {
            var sources = new YamlMappingNode();
            AddString(sources, "data", plan.Sources.Data);
            AddString(sources, "lake", plan.Sources.Lake);
            root.Add("sources", sources);
        }

        var policies = new YamlMappingNode();
        foreach (var p in plan.Policies)
        {
            var node = new YamlMappingNode { { "schedule", p.Schedule.OnChange ? Scalar(BackupSchedule.OnChangeText) : Quoted(p.Schedule.ToString()) } };
            AddDuration(node, "coalesce", p.Coalesce);
            if (p.Full is not null)
            {
                node.Add("full", Quoted(p.Full));
            }

            AddString(node, "timezone", p.TimeZone);
            if (p.Retention is { } r)
            {
                var retention = new YamlMappingNode();
                AddInt(retention, "keep-last", r.Last);
                AddDuration(retention, "keep-within", r.Within);
                AddInt(retention, "hourly", r.Hourly);
                AddInt(retention, "daily", r.Daily);
                AddInt(retention, "weekly", r.Weekly);
                AddInt(retention, "monthly", r.Monthly);
                AddInt(retention, "yearly", r.Yearly);
                node.Add("retention", retention);
            }

            var locations = new YamlMappingNode();
            foreach (var (role, name) in p.Locations.Named())
            {
                locations.Add(role, name);
            }

            node.Add("locations", locations);
            policies.Add(p.Name, node);
        }

        root.Add("policies", policies);

        var locationsNode = new YamlMappingNode();
        foreach (var l in plan.Locations)
        {
            var node = new YamlMappingNode { { "url", l.Url } };
            AddString(node, "region", l.Region);
            AddString(node, "failure-domain", l.FailureDomain);
            locationsNode.Add(l.Name, node);
        }

        root.Add("locations", locationsNode);

        var checks = new YamlMappingNode();
        foreach (var c in plan.Verification.Checks)
        {
            checks.Add(c.Name, new YamlMappingNode { { "schedule", Quoted(c.Schedule) }, { "run", List(c.Run) } });
        }

        root.Add("verification", new YamlMappingNode { { "after-backup", plan.Verification.AfterBackup ? "true" : "false" }, { "checks", checks } });

        var drills = new YamlMappingNode();
        foreach (var d in plan.Drills)
        {
            drills.Add(d.Name, new YamlMappingNode { { "scenarios", List(d.Scenarios) }, { "schedule", Quoted(d.Schedule) }, { "checklist", List(d.Checklist) } });
        }

        root.Add("drills", drills);

        var channels = new YamlMappingNode();
        foreach (var c in plan.Notifications.Channels)
        {
            var node = new YamlMappingNode { { "kind", c.Kind } };
            AddString(node, "target", c.Target);
            AddString(node, "secret-env", c.SecretEnv);
            node.Add("for", List(c.For));
            channels.Add(c.Name, node);
        }

        var notifications = new YamlMappingNode { { "channels", channels } };
        AddDuration(notifications, "first-notice", plan.Notifications.FirstNotice);
        AddDuration(notifications, "stakeholder-update", plan.Notifications.StakeholderUpdate);
        AddDuration(notifications, "updates-every", plan.Notifications.UpdatesEvery);
        root.Add("notifications", notifications);

        var roles = new YamlMappingNode();
        foreach (var r in plan.Roles)
        {
            var node = new YamlMappingNode();
            AddString(node, "title", r.Title);
            AddString(node, "duty", r.Duty);
            node.Add("notify", List(r.Notify));
            roles.Add(r.Name, node);
        }

        root.Add("roles", roles);
        AddBatchJobs(root, plan.Jobs);
        AddMaintenance(root, plan.Maintenance);

        var writer = new StringWriter { NewLine = "\n" };
        new YamlStream(new YamlDocument(root)).Save(writer, assignAnchors: false);
        var text = writer.ToString();
        // YamlStream.Save ends the document with "..."; a plan file is one document
        return text.EndsWith("...\n", StringComparison.Ordinal) ? text[..^4] : text;
    }

    /// <summary>The <c>maintenance:</c> section, only when it is not the default.</summary>
    private static void AddMaintenance(YamlMappingNode root, MaintenancePlan maintenance)
    {
        if (maintenance == new MaintenancePlan())
        {
            return;
        }

        var node = new YamlMappingNode();
        node.Add("forget", maintenance.Forget is { } forget ? Quoted(forget) : new YamlScalarNode("off"));
        node.Add("prune", maintenance.Prune is { } prune ? Quoted(prune) : new YamlScalarNode("off"));
        AddString(node, "timezone", maintenance.TimeZone);
        root.Add("maintenance", node);
    }

    /// <summary>The <c>jobs:</c> section (scheduler batch jobs), only when the plan has some.</summary>
    private static void AddBatchJobs(YamlMappingNode root, IReadOnlyList<PlanBatchJob> jobs)
    {
        if (jobs.Count == 0)
        {
            return;
        }

        var node = new YamlMappingNode();
        foreach (var j in jobs)
        {
            var job = new YamlMappingNode();
            if (j.BuiltIn is { } builtIn)
            {
                job.Add("builtin", builtIn);
                if (j.Args.Count > 0)
                {
                    job.Add("args", List(j.Args));
                }
            }
            else
            {
                job.Add("command", List(j.Command));
            }

            job.Add("schedule", Quoted(j.Schedule));
            AddString(job, "timezone", j.TimeZone);
            AddDuration(job, "timeout", j.Timeout);
            if (j.Retries > 0)
            {
                job.Add("retries", j.Retries.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            AddDuration(job, "retry-delay", j.RetryDelay);
            node.Add(j.Name, job);
        }

        root.Add("jobs", node);
    }

    private static YamlNode Pair(ObjectivePair pair)
    {
        var node = new YamlMappingNode();
        AddDuration(node, "target", pair.Target);
        AddDuration(node, "max", pair.Max);
        return node;
    }

    private static YamlSequenceNode List(IEnumerable<string> items)
    {
        var node = new YamlSequenceNode(items.Select(i => (YamlNode)new YamlScalarNode(i)));
        node.Style = YamlDotNet.Core.Events.SequenceStyle.Flow;
        return node;
    }

    private static YamlScalarNode Scalar(string value) => new(value);

    private static YamlScalarNode Quoted(string value) => new(value) { Style = YamlDotNet.Core.ScalarStyle.DoubleQuoted };

    private static void AddString(YamlMappingNode node, string key, string? value)
    {
        if (value is not null)
        {
            node.Add(key, new YamlScalarNode(value));
        }
    }

    private static void AddDuration(YamlMappingNode node, string key, TimeSpan? value)
    {
        if (value is { } v)
        {
            node.Add(key, PlanDuration.Format(v));
        }
    }

    private static void AddInt(YamlMappingNode node, string key, int? value)
    {
        if (value is { } v)
        {
            node.Add(key, v.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
    }
}
