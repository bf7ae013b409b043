using System.Globalization;
using System.Text.RegularExpressions;
using Cronos;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Lifeline.Recovery.Plan;

/// <summary>The result of reading a plan file: the plan, or the errors that stopped it (each with file, line and fix).</summary>
/// <param name="Plan">The plan, when <see cref="Errors"/> is empty.</param>
/// <param name="Errors">Syntax, type, unknown-key and value errors, in file order.</param>
public sealed record PlanParseResult(LifelinePlan? Plan, IReadOnlyList<PlanFinding> Errors)
{
    /// <summary>True when the file was read without errors.</summary>
    public bool Succeeded => Plan is not null && Errors.Count == 0;
}

/// <summary>Reads <c>lifeline.yaml</c> with YamlDotNet's representation model, so that every element keeps its
/// line and column; unknown keys, bad durations and bad cron expressions are errors, collected rather than thrown.</summary>
internal sealed partial class PlanParser
{
    internal static readonly string[] TopKeys =
        ["version", "name", "owner", "objectives", "components", "policies", "locations", "verification", "drills", "notifications", "roles", "sources", "jobs", "maintenance"];

    private static readonly string[] ObjectiveKeys = ["rto", "rpo", "scenarios"];
    private static readonly string[] PairKeys = ["target", "max"];
    private static readonly string[] ScenarioKeys = ["title", "impact", "rto", "rpo", "restore-budget", "components", "steps"];
    private static readonly string[] Impacts = ["low", "medium", "high", "critical"];
    private static readonly string[] ComponentKeys =
        ["kind", "table", "policy", "compliance", "files", "env", "secrets", "hooks", "data", "postgres", "api", "token-env", "location", "store"];

    private static readonly string[] SourceKeys = ["data", "lake"];
    private static readonly string[] HookKeys = ["pre", "post", "timeout"];
    private static readonly string[] KindNames = ["registry", "lake-table", "configuration", "jobs"];
    private static readonly string[] PolicyKeys = ["schedule", "coalesce", "full", "timezone", "retention", "locations"];
    private static readonly string[] RetentionKeys = ["keep-last", "keep-within", "hourly", "daily", "weekly", "monthly", "yearly"];
    private static readonly string[] RoleKeys = ["primary", "secondary", "tertiary"];
    private static readonly string[] LocationKeys = ["url", "region", "failure-domain"];
    private static readonly string[] VerificationKeys = ["after-backup", "checks"];
    private static readonly string[] CheckKeys = ["schedule", "run"];
    private static readonly string[] DrillKeys = ["scenarios", "schedule", "checklist"];
    private static readonly string[] NotificationKeys = ["channels", "first-notice", "stakeholder-update", "updates-every", "heartbeat"];
    private static readonly string[] ChannelKeys = ["kind", "target", "secret-env", "for", "url", "secret-file", "smtp", "from", "to", "username-env", "password-env", "tls"];
    private static readonly string[] HeartbeatKeys = ["url", "url-env", "every", "method"];
    private static readonly string[] PlanRoleKeys = ["title", "duty", "notify"];
    private static readonly string[] MaintenanceKeys = ["forget", "prune", "timezone"];
    private static readonly string[] BatchJobKeys = ["command", "builtin", "args", "schedule", "timezone", "timeout", "retries", "retry-delay"];

    private readonly string _file;
    private readonly List<PlanFinding> _errors = [];
    private readonly Dictionary<string, SourceMark> _marks = new(StringComparer.Ordinal);

    private PlanParser(string file) => _file = file;

    /// <summary>Parses <paramref name="yaml"/>, naming <paramref name="file"/> in every error.</summary>
    public static PlanParseResult Parse(string yaml, string file)
    {
        var parser = new PlanParser(file);
        var plan = parser.ParseDocument(yaml);
        return new PlanParseResult(parser._errors.Count == 0 ? plan : null, parser._errors);
    }

    private LifelinePlan? ParseDocument(string yaml)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(yaml));
        }
        catch (YamlException e)
        {
            Error(PlanRules.YamlSyntax, "plan", new SourceMark(ToInt(e.Start.Line), ToInt(e.Start.Column)),
                $"not valid YAML: {StripMarks(e)}", "fix the YAML at this position (indent with spaces, quote values containing ': ' or '#')");
            return null;
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            // YamlDotNet gives up without a mark on some unterminated flow collections; the last token it read is the place
            Error(PlanRules.YamlSyntax, "plan", LastGoodToken(yaml),
                "not valid YAML: the parser stopped after this point (a '{', '[' or quote not closed?)", "close the bracket or quote that opens here");
            return null;
        }

        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is YamlScalarNode { Value: null or "" })
        {
            Error(PlanRules.MissingField, "plan", new SourceMark(1, 1), "the plan file is empty", "start from `lifeline plan init` or docs/plan.md");
            return null;
        }

        if (stream.Documents.Count > 1)
        {
            Error(PlanRules.BadValue, "plan", Mark(stream.Documents[1].RootNode), "the plan file holds more than one YAML document", "keep one document (remove the second '---')");
        }

        var root = Map(stream.Documents[0].RootNode, "", "the plan", TopKeys);
        if (root is null)
        {
            return null;
        }

        _marks[""] = Mark(stream.Documents[0].RootNode);
        var version = Int(root, "version", "", 0);
        if (version is null && !root.ContainsKey("version"))
        {
            Error(PlanRules.MissingField, "plan", new SourceMark(1, 1), "no 'version'", "add `version: 1` as the first line");
        }
        else if (version is { } v && v != 1)
        {
            Error(PlanRules.BadVersion, "plan", _marks["version"], $"version {v} is not known to this Lifeline (it reads version 1)", "write `version: 1`, or upgrade Lifeline");
        }

        var objectives = ParseObjectives(root);
        return new LifelinePlan
        {
            Version = version ?? 1,
            Name = String(root, "name", ""),
            Owner = String(root, "owner", ""),
            Objectives = objectives,
            Components = Entries(root, "components").Select(e => ParseComponent(e.Name, e.Value, e.Path)).ToList(),
            Policies = Entries(root, "policies").Select(e => ParsePolicy(e.Name, e.Value, e.Path)).OfType<BackupPolicy>().ToList(),
            Locations = Entries(root, "locations").Select(e => ParseLocation(e.Name, e.Value, e.Path)).OfType<PlanLocation>().ToList(),
            Verification = ParseVerification(root),
            Drills = Entries(root, "drills").Select(e => ParseDrill(e.Name, e.Value, e.Path)).OfType<DrillPlan>().ToList(),
            Notifications = ParseNotifications(root),
            Roles = Entries(root, "roles").Select(e => ParseRole(e.Name, e.Value, e.Path)).ToList(),
            Sources = ParseSources(root),
            Jobs = ParseBatchJobs(root),
            Maintenance = ParseMaintenance(root),
            Source = new PlanSource(_file, _marks),
        };
    }

    private PlanObjectives ParseObjectives(YamlMap root)
    {
        var map = Map(root.Value("objectives"), "objectives", "'objectives'", ObjectiveKeys);
        if (map is null)
        {
            if (!root.ContainsKey("objectives"))
            {
                Error(PlanRules.MissingField, "objectives", new SourceMark(1, 1), "no 'objectives'", "add `objectives:` with `rto:` and `rpo:` (target and max), see docs/plan.md");
            }

            return new PlanObjectives { Rto = new(null, null), Rpo = new(null, null) };
        }

        var rto = Pair(map, "rto", "objectives", required: true);
        var rpo = Pair(map, "rpo", "objectives", required: true);
        var scenarios = Entries(map, "scenarios", "objectives").Select(e => ParseScenario(e.Name, e.Value, e.Path)).ToList();
        return new PlanObjectives { Rto = rto, Rpo = rpo, Scenarios = scenarios };
    }

    private ObjectivePair Pair(YamlMap map, string key, string path, bool required)
    {
        var node = map.Value(key);
        var at = Join(path, key);
        var subject = path.StartsWith("objectives.scenarios.", StringComparison.Ordinal) ? "scenario " + path.Split('.')[2] : "objectives";
        if (node is null)
        {
            if (required)
            {
                Error(PlanRules.MissingField, subject, _marks.GetValueOrDefault(path, new SourceMark(1, 1)), $"no '{key}' in {Describe(path)}",
                    $"add `{key}: {{ target: 1h, max: 4h }}`");
            }

            return new(null, null);
        }

        if (node is YamlScalarNode)
        {
            return new(Duration(node, at, subject), null);
        }

        var pair = Map(node, at, $"'{key}'", PairKeys);
        if (pair is null)
        {
            return new(null, null);
        }

        var target = Duration(pair, "target", at, subject);
        if (target is null && !pair.ContainsKey("target"))
        {
            Error(PlanRules.MissingField, subject, Mark(node), $"'{key}' has no 'target'", $"add `target:` to '{key}' (e.g. `target: 1h`)");
        }

        return new(target, Duration(pair, "max", at, subject));
    }

    private PlanScenario ParseScenario(string name, YamlNode node, string path)
    {
        var map = Map(node, path, $"scenario '{name}'", ScenarioKeys) ?? YamlMap.Empty;
        var impact = String(map, "impact", path);
        if (impact is not null && !Impacts.Contains(impact))
        {
            Error(PlanRules.BadValue, "scenario " + name, _marks[Join(path, "impact")], $"impact '{impact}' is not one of {string.Join(", ", Impacts)}{Suggestions.DidYouMean(impact, Impacts)}",
                "write low, medium, high or critical");
        }

        return new PlanScenario
        {
            Name = name,
            Title = String(map, "title", path),
            Impact = impact,
            Rto = Pair(map, "rto", path, required: false),
            Rpo = Pair(map, "rpo", path, required: false),
            RestoreBudget = Duration(map, "restore-budget", path, "scenario " + name),
            Components = StringList(map, "components", path),
            Steps = Entries(map, "steps", path)
                .Select(e => Duration(e.Value, e.Path, "scenario " + name) is { } budget ? new ScenarioStep(e.Name, budget) : null)
                .OfType<ScenarioStep>()
                .ToList(),
        };
    }

    private PlanComponent ParseComponent(string name, YamlNode node, string path)
    {
        var map = Map(node, path, $"component '{name}'", ComponentKeys) ?? YamlMap.Empty;
        ComponentKind? kind = null;
        if (String(map, "kind", path) is { } kindText)
        {
            kind = kindText switch
            {
                "registry" => ComponentKind.Registry,
                "lake-table" => ComponentKind.LakeTable,
                "configuration" => ComponentKind.Configuration,
                "jobs" => ComponentKind.Jobs,
                _ => null,
            };
            if (kind is null)
            {
                Error(PlanRules.UnknownComponent, name, _marks[Join(path, "kind")],
                    $"kind '{kindText}' is not one Lifeline protects{Suggestions.DidYouMean(kindText, KindNames)}", $"write one of {string.Join(", ", KindNames)}");
            }
        }

        return new PlanComponent
        {
            Name = name,
            Kind = kind,
            Table = String(map, "table", path),
            Policy = String(map, "policy", path),
            Compliance = Duration(map, "compliance", path, name),
            Files = StringList(map, "files", path),
            Env = StringList(map, "env", path),
            Secrets = StringList(map, "secrets", path),
            Hooks = Map(map.Value("hooks"), Join(path, "hooks"), "'hooks'", HookKeys) is { } h
                ? new ComponentHooks
                {
                    Pre = String(h, "pre", Join(path, "hooks")),
                    Post = String(h, "post", Join(path, "hooks")),
                    Timeout = Duration(h, "timeout", Join(path, "hooks"), name),
                }
                : null,
            Data = SourceString(map, "data", path, name),
            Postgres = SourceString(map, "postgres", path, name),
            Api = SourceString(map, "api", path, name),
            TokenEnv = EnvNameValue(map, "token-env", path, name),
            Location = SourceString(map, "location", path, name),
            Store = SourceString(map, "store", path, name),
        };
    }

    // ---- sources (where components live) ---------------------------------------------------------------------------

    private PlanSources ParseSources(YamlMap root)
    {
        var map = Map(root.Value("sources"), "sources", "'sources'", SourceKeys);
        return map is null ? new PlanSources() : new PlanSources
        {
            Data = SourceString(map, "data", "sources", "sources"),
            Lake = SourceString(map, "lake", "sources", "sources"),
        };
    }

    /// <summary>A source value: a path or URL, with <c>${VAR}</c> references well formed (expanded only when used).</summary>
    private string? SourceString(YamlMap map, string key, string path, string subject)
    {
        var value = String(map, key, path);
        if (value is null)
        {
            return null;
        }

        var at = Join(path, key);
        if (value.Trim().Length == 0)
        {
            Error(PlanRules.BadValue, subject, _marks[at], $"'{at}' is empty", "write a path or URL, or remove the key to use the default layout (docs/plan.md, \"sources\")");
            return null;
        }

        if (SourceText.ReferenceError(value) is { } error)
        {
            Error(PlanRules.BadValue, subject, _marks[at], $"'{at}': {error}", "write `${NAME}` with NAME a variable name (letters, digits, '_'), or `$$` for a literal '$'");
            return null;
        }

        if (key is "api" && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") && !value.Contains("${", StringComparison.Ordinal))
        {
            Error(PlanRules.BadUrl, subject, _marks[at], $"'{at}' is not an http:// or https:// URL", "write the MLflow server's URL, e.g. `api: http://mlflow:5000`");
            return null;
        }

        if (key is "api" && Uri.TryCreate(value, UriKind.Absolute, out var withUser) && !string.IsNullOrEmpty(withUser.UserInfo))
        {
            Error(PlanRules.BadUrl, subject, _marks[at], $"'{at}' holds credentials", "remove them from the URL and name the token's variable in `token-env`");
            return null;
        }

        if (key is "location" or "lake" && value.Contains("://", StringComparison.Ordinal) && !value.Contains("${", StringComparison.Ordinal) && LocationUrlError(value) is { } urlError)
        {
            Error(PlanRules.BadUrl, subject, _marks[at], $"'{at}': {urlError}", "write a path, file:///path, s3://bucket/prefix or azure://container/prefix");
            return null;
        }

        return value;
    }

    private string? EnvNameValue(YamlMap map, string key, string path, string subject)
    {
        var value = String(map, key, path);
        if (value is not null && !EnvName().IsMatch(value))
        {
            Error(PlanRules.BadValue, subject, _marks[Join(path, key)], $"'{Join(path, key)}' must name an environment variable, not hold the secret",
                "write the variable's name (e.g. MLFLOW_TRACKING_TOKEN) and set the token in the environment");
            return null;
        }

        return value;
    }

    private BackupPolicy? ParsePolicy(string name, YamlNode node, string path)
    {
        var subject = "policy " + name;
        var map = Map(node, path, $"policy '{name}'", PolicyKeys);
        if (map is null)
        {
            return null;
        }

        var scheduleText = String(map, "schedule", path);
        var timeZone = String(map, "timezone", path);
        if (timeZone is not null && !TryFindTimeZone(timeZone, out _))
        {
            Error(PlanRules.BadValue, subject, _marks[Join(path, "timezone")], $"unknown time zone '{timeZone}'", "write an IANA zone such as UTC or Europe/London");
        }

        BackupSchedule? schedule = null;
        if (scheduleText is null)
        {
            Error(PlanRules.MissingField, subject, Mark(node), $"policy '{name}' has no 'schedule'", "add `schedule: on-change` or a cron expression such as `schedule: \"0 2 * * *\"`");
        }
        else if (scheduleText == BackupSchedule.OnChangeText)
        {
            schedule = new BackupSchedule { OnChange = true };
        }
        else if (Cron(scheduleText, Join(path, "schedule"), subject))
        {
            schedule = new BackupSchedule { Cron = scheduleText };
        }

        var coalesce = Duration(map, "coalesce", path, subject);
        if (coalesce is not null && schedule is { OnChange: false })
        {
            Error(PlanRules.BadValue, subject, _marks[Join(path, "coalesce")], "'coalesce' applies only to `schedule: on-change`", "remove 'coalesce', or make the schedule on-change");
        }

        var full = String(map, "full", path);
        if (full is not null)
        {
            Cron(full, Join(path, "full"), subject);
        }

        RetentionPolicy? retention = null;
        if (Map(map.Value("retention"), Join(path, "retention"), "'retention'", RetentionKeys) is { } r)
        {
            var at = Join(path, "retention");
            retention = new RetentionPolicy
            {
                Last = Int(r, "keep-last", at, 1),
                Within = Duration(r, "keep-within", at, subject),
                Hourly = Int(r, "hourly", at, 1),
                Daily = Int(r, "daily", at, 1),
                Weekly = Int(r, "weekly", at, 1),
                Monthly = Int(r, "monthly", at, 1),
                Yearly = Int(r, "yearly", at, 1),
            };
        }

        var locations = new PolicyLocations(null, null, null);
        if (Map(map.Value("locations"), Join(path, "locations"), "'locations'", RoleKeys) is { } l)
        {
            var at = Join(path, "locations");
            locations = new PolicyLocations(String(l, "primary", at), String(l, "secondary", at), String(l, "tertiary", at));
        }

        return schedule is null ? null : new BackupPolicy
        {
            Name = name,
            Schedule = schedule,
            Coalesce = coalesce,
            Full = full,
            TimeZone = timeZone,
            Retention = retention,
            Locations = locations,
        };
    }

    private PlanLocation? ParseLocation(string name, YamlNode node, string path)
    {
        var map = Map(node, path, $"location '{name}'", LocationKeys);
        if (map is null)
        {
            return null;
        }

        var url = String(map, "url", path);
        if (url is null)
        {
            Error(PlanRules.MissingField, "location " + name, Mark(node), $"location '{name}' has no 'url'", "add `url:` with a path, s3://bucket/prefix or azure://container/prefix");
            return null;
        }

        if (LocationUrlError(url) is { } problem)
        {
            Error(PlanRules.BadUrl, "location " + name, _marks[Join(path, "url")], problem, "use a path, file:///path, s3://bucket/prefix or azure://container/prefix; credentials go in the environment");
        }

        return new PlanLocation
        {
            Name = name,
            Url = url,
            Region = String(map, "region", path),
            FailureDomain = String(map, "failure-domain", path),
        };
    }

    private VerificationPlan ParseVerification(YamlMap root)
    {
        var map = Map(root.Value("verification"), "verification", "'verification'", VerificationKeys);
        if (map is null)
        {
            return new VerificationPlan();
        }

        var checks = new List<VerificationCheck>();
        foreach (var (name, node, path) in Entries(map, "checks", "verification"))
        {
            var check = Map(node, path, $"check '{name}'", CheckKeys) ?? YamlMap.Empty;
            var schedule = String(check, "schedule", path);
            if (schedule is null)
            {
                Error(PlanRules.MissingField, "verification " + name, Mark(node), $"check '{name}' has no 'schedule'", "add `schedule:` with a cron expression such as \"0 6 * * *\"");
                continue;
            }

            Cron(schedule, Join(path, "schedule"), "verification " + name);
            var run = StringList(check, "run", path);
            KnownItems(run, VerificationPlan.KnownChecks, Join(path, "run"), "verification " + name, "check");
            checks.Add(new VerificationCheck { Name = name, Schedule = schedule, Run = run });
        }

        return new VerificationPlan { AfterBackup = Bool(map, "after-backup", "verification") ?? true, Checks = checks };
    }

    private DrillPlan? ParseDrill(string name, YamlNode node, string path)
    {
        var map = Map(node, path, $"drill '{name}'", DrillKeys) ?? YamlMap.Empty;
        var schedule = String(map, "schedule", path);
        if (schedule is null)
        {
            Error(PlanRules.MissingField, "drill " + name, Mark(node), $"drill '{name}' has no 'schedule'", "add `schedule:` with a cron expression such as \"0 10 1 * *\" (monthly)");
            return null;
        }

        Cron(schedule, Join(path, "schedule"), "drill " + name);
        var checklist = StringList(map, "checklist", path);
        KnownItems(checklist, DrillPlan.KnownChecklist, Join(path, "checklist"), "drill " + name, "checklist item");
        return new DrillPlan { Name = name, Scenarios = StringList(map, "scenarios", path), Schedule = schedule, Checklist = checklist };
    }

    private NotificationPlan ParseNotifications(YamlMap root)
    {
        var map = Map(root.Value("notifications"), "notifications", "'notifications'", NotificationKeys);
        if (map is null)
        {
            return new NotificationPlan();
        }

        var channels = new List<NotificationChannel>();
        foreach (var (name, node, path) in Entries(map, "channels", "notifications"))
        {
            var subject = "channel " + name;
            var channel = Map(node, path, $"channel '{name}'", ChannelKeys) ?? YamlMap.Empty;
            var kind = String(channel, "kind", path);
            if (kind is null)
            {
                Error(PlanRules.MissingField, subject, Mark(node), $"channel '{name}' has no 'kind'", $"add `kind:` ({string.Join(", ", NotificationChannel.KnownKinds)})");
                continue;
            }

            if (!NotificationChannel.KnownKinds.Contains(kind))
            {
                Error(PlanRules.BadValue, subject, _marks[Join(path, "kind")], $"kind '{kind}' is not known{Suggestions.DidYouMean(kind, NotificationChannel.KnownKinds)}",
                    $"write one of {string.Join(", ", NotificationChannel.KnownKinds)}");
            }

            var target = String(channel, "target", path);
            var secretEnv = String(channel, "secret-env", path);
            if (secretEnv is not null && !EnvName().IsMatch(secretEnv))
            {
                Error(PlanRules.BadValue, subject, _marks[Join(path, "secret-env")], "'secret-env' must name an environment variable, not hold the secret",
                    "write the variable's name (e.g. PAGERDUTY_ROUTING_KEY) and set the secret in the environment");
            }

            var url = String(channel, "url", path);
            var secretFile = String(channel, "secret-file", path);
            if (kind is "pagerduty" or "slack" or "webhook" && secretEnv is null && secretFile is null && !(kind == "webhook" && url is not null))
            {
                Error(PlanRules.MissingField, subject, Mark(node), $"a {kind} channel needs 'secret-env' (its routing key or webhook URL is a secret)",
                    "add `secret-env: NAME` and set NAME in the environment (or `secret-file: PATH`)");
            }

            foreach (var key in new[] { "username-env", "password-env" })
            {
                if (String(channel, key, path) is { } variable && !EnvName().IsMatch(variable))
                {
                    Error(PlanRules.BadValue, subject, _marks[Join(path, key)], $"'{key}' must name an environment variable, not hold the value",
                        "write the variable's name and set the value in the environment");
                }
            }

            var tls = String(channel, "tls", path);
            if (tls is not null && !NotificationChannel.KnownTls.Contains(tls))
            {
                Error(PlanRules.BadValue, subject, _marks[Join(path, "tls")], $"tls '{tls}' is not known{Suggestions.DidYouMean(tls, NotificationChannel.KnownTls)}",
                    $"write one of {string.Join(", ", NotificationChannel.KnownTls)}");
            }

            if (target is not null && target.Contains("://", StringComparison.Ordinal) && (target.Contains('?', StringComparison.Ordinal) || target.Contains('@', StringComparison.Ordinal)))
            {
                Error(PlanRules.BadValue, subject, _marks[Join(path, "target")], "'target' looks like a URL with credentials or a token",
                    "put the secret URL in an environment variable named by 'secret-env'");
            }

            var to = StringList(channel, "to", path);
            if (kind == "email" && to.Count == 0 && (target is null || !target.Contains('@', StringComparison.Ordinal)))
            {
                Error(PlanRules.BadValue, subject, _marks.GetValueOrDefault(Join(path, "target"), Mark(node)), "an email channel needs an address in 'target' (or 'to')", "write `target: someone@example.com`");
            }

            var uses = StringList(channel, "for", path);
            KnownItems(uses, NotificationChannel.KnownUses, Join(path, "for"), subject, "use");
            channels.Add(new NotificationChannel
            {
                Name = name, Kind = kind, Target = target, SecretEnv = secretEnv, For = uses, Url = url, SecretFile = secretFile,
                Smtp = String(channel, "smtp", path), From = String(channel, "from", path), To = to,
                UsernameEnv = String(channel, "username-env", path), PasswordEnv = String(channel, "password-env", path), Tls = tls,
            });
        }

        return new NotificationPlan
        {
            Channels = channels,
            FirstNotice = Duration(map, "first-notice", "notifications", "notifications"),
            StakeholderUpdate = Duration(map, "stakeholder-update", "notifications", "notifications"),
            UpdatesEvery = Duration(map, "updates-every", "notifications", "notifications"),
            Heartbeat = ParseHeartbeat(map),
        };
    }

    private HeartbeatPlan? ParseHeartbeat(YamlMap notifications)
    {
        const string path = "notifications.heartbeat";
        var map = Map(notifications.Value("heartbeat"), path, "'notifications.heartbeat'", HeartbeatKeys);
        if (map is null)
        {
            return null;
        }

        var url = String(map, "url", path);
        var urlEnv = String(map, "url-env", path);
        if (url is null && urlEnv is null)
        {
            Error(PlanRules.MissingField, "notifications", _marks.GetValueOrDefault(path, new SourceMark(1, 1)), "the heartbeat has no 'url'",
                "add `url: https://...` (the dead man's switch's check-in URL), or `url-env: NAME` when the URL holds a token");
        }

        if (urlEnv is not null && !EnvName().IsMatch(urlEnv))
        {
            Error(PlanRules.BadValue, "notifications", _marks[Join(path, "url-env")], "'url-env' must name an environment variable, not hold the URL",
                "write the variable's name and set the URL in the environment");
        }

        var method = String(map, "method", path);
        if (method is not null && method is not ("get" or "post"))
        {
            Error(PlanRules.BadValue, "notifications", _marks[Join(path, "method")], $"heartbeat method '{method}' is not known", "write `method: get` or `method: post`");
        }

        var every = Duration(map, "every", path, "notifications");
        if (every is { } e && e < TimeSpan.FromSeconds(1))
        {
            Error(PlanRules.BadValue, "notifications", _marks[Join(path, "every")], $"the heartbeat every {e.TotalMilliseconds} ms is too often", "beat at most once a second (e.g. `every: 1m`)");
        }

        return new HeartbeatPlan { Url = url, UrlEnv = urlEnv, Every = every, Post = method == "post" };
    }

    private PlanRole ParseRole(string name, YamlNode node, string path)
    {
        var map = Map(node, path, $"role '{name}'", PlanRoleKeys) ?? YamlMap.Empty;
        return new PlanRole { Name = name, Title = String(map, "title", path), Duty = String(map, "duty", path), Notify = StringList(map, "notify", path) };
    }

    // ---- maintenance: when retention and prune run (docs/plan.md "maintenance") ----------------------------------

    private MaintenancePlan ParseMaintenance(YamlMap root)
    {
        var map = Map(root.Value("maintenance"), "maintenance", "'maintenance'", MaintenanceKeys);
        if (map is null)
        {
            return new MaintenancePlan();
        }

        string? Schedule(string key, string fallback)
        {
            var text = String(map, key, "maintenance");
            if (text is null)
            {
                return fallback;
            }

            if (text == "off")
            {
                return null;
            }

            return Cron(text, Join("maintenance", key), "maintenance") ? text : fallback;
        }

        var timeZone = String(map, "timezone", "maintenance");
        if (timeZone is not null && !TryFindTimeZone(timeZone, out _))
        {
            Error(PlanRules.BadValue, "maintenance", _marks[Join("maintenance", "timezone")], $"unknown time zone '{timeZone}'", "write an IANA zone such as UTC or Europe/London");
        }

        return new MaintenancePlan
        {
            Forget = Schedule("forget", MaintenancePlan.DefaultForget),
            Prune = Schedule("prune", MaintenancePlan.DefaultPrune),
            TimeZone = timeZone,
        };
    }

    // ---- jobs: user batch jobs for the scheduler (docs/plan.md "jobs") --------------------------------------------

    private List<PlanBatchJob> ParseBatchJobs(YamlMap root) =>
        Entries(root, "jobs").Select(e => ParseBatchJob(e.Name, e.Value, e.Path)).OfType<PlanBatchJob>().ToList();

    private PlanBatchJob? ParseBatchJob(string name, YamlNode node, string path)
    {
        var subject = "job " + name;
        var map = Map(node, path, $"job '{name}'", BatchJobKeys);
        if (map is null)
        {
            return null;
        }

        var schedule = String(map, "schedule", path);
        if (schedule is null)
        {
            Error(PlanRules.MissingField, subject, Mark(node), $"job '{name}' has no 'schedule'", "add `schedule:` with a cron expression such as \"0 3 * * *\" (daily at 03:00)");
            return null;
        }

        if (!Cron(schedule, Join(path, "schedule"), subject))
        {
            return null;
        }

        var timeZone = String(map, "timezone", path);
        if (timeZone is not null && !TryFindTimeZone(timeZone, out _))
        {
            Error(PlanRules.BadValue, subject, _marks[Join(path, "timezone")], $"unknown time zone '{timeZone}'", "write an IANA zone such as UTC or Europe/London");
        }

        var command = StringList(map, "command", path);
        var builtIn = String(map, "builtin", path);
        if (command.Count == 0 && builtIn is null)
        {
            Error(PlanRules.MissingField, subject, Mark(node), $"job '{name}' has neither 'command' nor 'builtin'",
                $"add `command: [program, arg1, ...]` (run without a shell) or `builtin: {PlanBatchJob.KnownBuiltIns[0]}`");
            return null;
        }

        if (command.Count > 0 && builtIn is not null)
        {
            Error(PlanRules.BadValue, subject, _marks[Join(path, "builtin")], $"job '{name}' has both 'command' and 'builtin'", "keep one of them");
            return null;
        }

        if (builtIn is not null && !PlanBatchJob.KnownBuiltIns.Contains(builtIn))
        {
            Error(PlanRules.BadValue, subject, _marks[Join(path, "builtin")], $"unknown built-in job '{builtIn}'{Suggestions.DidYouMean(builtIn, PlanBatchJob.KnownBuiltIns)}",
                $"write one of {string.Join(", ", PlanBatchJob.KnownBuiltIns)}, or use `command:`");
        }

        var args = StringList(map, "args", path);
        if (args.Count > 0 && builtIn is null)
        {
            Error(PlanRules.BadValue, subject, _marks[Join(path, "args")], "'args' applies only to a 'builtin' job", "put the arguments in the `command:` list");
        }

        var timeout = Duration(map, "timeout", path, subject);
        if (timeout is { } t && t <= TimeSpan.Zero)
        {
            Error(PlanRules.BadDuration, subject, _marks[Join(path, "timeout")], "a job's 'timeout' must be longer than 0", "write e.g. `timeout: 30m`");
        }

        return new PlanBatchJob
        {
            Name = name,
            Command = command,
            BuiltIn = builtIn,
            Args = args,
            Schedule = schedule,
            TimeZone = timeZone,
            Timeout = timeout,
            Retries = Int(map, "retries", path, 0) ?? 0,
            RetryDelay = Duration(map, "retry-delay", path, subject),
        };
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    /// <summary>The reason a location URL cannot be used, or null.</summary>
    internal static string? LocationUrlError(string url)
    {
        if (string.IsNullOrWhiteSpace(url))
        {
            return "empty location url";
        }

        if (!url.Contains("://", StringComparison.Ordinal))
        {
            return null;
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return $"malformed location url '{url}'";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return $"location url '{Redact(url)}' contains credentials";
        }

        if (uri.Scheme == "file")
        {
            return !string.IsNullOrEmpty(uri.Host) && uri.Host != "localhost" ? $"file location '{url}' must be file:///absolute/path (no host)"
                : uri.Query.Length > 0 ? $"file location '{url}' takes no options" : null;
        }

        string[] options = uri.Scheme switch
        {
            "s3" => ["endpoint", "region", "conditional-writes", "sort-listings"],
            "azure" => ["endpoint"],
            _ => [],
        };
        if (options.Length == 0)
        {
            return $"unsupported scheme '{uri.Scheme}' in '{Redact(url)}'";
        }

        if (string.IsNullOrEmpty(uri.Host))
        {
            return $"location url '{Redact(url)}' names no {(uri.Scheme == "s3" ? "bucket" : "container")}";
        }

        foreach (var part in uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part.Split('=')[0];
            if (!options.Contains(name))
            {
                // the value is not echoed: an unknown option is often a pasted token or key
                return $"unknown option '{name}' in a {uri.Scheme}:// location (it takes {string.Join(", ", options)})";
            }
        }

        return null;
    }

    private static string Redact(string url) => Regex.Replace(url.Split('?')[0], "//[^/@]*@", "//***@");

    private bool Cron(string text, string path, string subject)
    {
        try
        {
            CronExpression.Parse(text, CronFormat.Standard);
            return true;
        }
        catch (CronFormatException e)
        {
            Error(PlanRules.BadSchedule, subject, _marks.GetValueOrDefault(path, new SourceMark(1, 1)), $"'{text}' is not a cron expression: {e.Message.TrimEnd('.')}",
                "write five fields `minute hour day-of-month month day-of-week` (\"0 2 * * *\" is daily at 02:00), a macro such as @daily, or on-change");
            return false;
        }
    }

    internal static bool TryFindTimeZone(string id, out TimeZoneInfo zone)
    {
        try
        {
            zone = TimeZoneInfo.FindSystemTimeZoneById(id);
            return true;
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            zone = TimeZoneInfo.Utc;
            return false;
        }
    }

    private void KnownItems(IReadOnlyList<string> items, IReadOnlyList<string> known, string path, string subject, string what)
    {
        for (var i = 0; i < items.Count; i++)
        {
            if (!known.Contains(items[i]))
            {
                Error(PlanRules.BadValue, subject, _marks.GetValueOrDefault($"{path}[{i}]", _marks.GetValueOrDefault(path, new SourceMark(1, 1))),
                    $"unknown {what} '{items[i]}'{Suggestions.DidYouMean(items[i], known)}", $"write one of {string.Join(", ", known)}");
            }
        }
    }

    private IEnumerable<(string Name, YamlNode Value, string Path)> Entries(YamlMap parent, string key, string parentPath = "")
    {
        var path = Join(parentPath, key);
        var map = Map(parent.Value(key), path, $"'{key}'", null);
        if (map is null)
        {
            yield break;
        }

        foreach (var (name, value) in map.Pairs)
        {
            var at = Join(path, name);
            if (!NameRegex().IsMatch(name))
            {
                Error(PlanRules.BadValue, name, _marks[at], $"'{name}' is not a valid name in '{key}'", "use letters, digits, '-' and '_' (e.g. audit_logs, region-b)");
                continue;
            }

            yield return (name, value, at);
        }
    }

    private YamlMap? Map(YamlNode? node, string path, string what, IReadOnlyList<string>? allowed)
    {
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode s && IsNull(s))
        {
            return YamlMap.Empty;
        }

        if (node is not YamlMappingNode mapping)
        {
            Error(PlanRules.BadValue, SubjectOf(path), Mark(node), $"{what} must be a mapping of `key: value` lines", $"indent the keys of {what} under it (see docs/plan.md)");
            return null;
        }

        var pairs = new List<(string, YamlNode)>();
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Error(PlanRules.BadValue, SubjectOf(path), Mark(keyNode), $"a key in {what} is not a plain name", "write keys as plain names");
                continue;
            }

            var at = Join(path, key);
            _marks[at] = Mark(keyNode);
            if (allowed is not null && !allowed.Contains(key))
            {
                Error(PlanRules.UnknownKey, SubjectOf(path), Mark(keyNode), $"unknown key '{key}' in {what}{Suggestions.DidYouMean(key, allowed)}",
                    $"use one of {string.Join(", ", allowed)}");
                continue;
            }

            pairs.Add((key, value));
        }

        return new YamlMap(pairs);
    }

    private string? String(YamlMap map, string key, string path)
    {
        var node = map.Value(key);
        if (node is null)
        {
            return null;
        }

        if (node is not YamlScalarNode s)
        {
            Error(PlanRules.BadValue, SubjectOf(path), Mark(node), $"'{key}' must be a single value", $"write `{key}: value` on one line");
            return null;
        }

        return IsNull(s) ? null : s.Value;
    }

    private TimeSpan? Duration(YamlMap map, string key, string path, string subject)
    {
        var node = map.Value(key);
        return node is null ? null : Duration(node, Join(path, key), subject);
    }

    private TimeSpan? Duration(YamlNode node, string path, string subject)
    {
        if (node is not YamlScalarNode s || IsNull(s))
        {
            Error(PlanRules.BadDuration, subject, Mark(node), $"'{path}' must be a duration", PlanDuration.Hint);
            return null;
        }

        if (!PlanDuration.TryParse(s.Value, out var value, out var error))
        {
            Error(PlanRules.BadDuration, subject, Mark(node), $"bad duration for '{path}': {error}", PlanDuration.Hint);
            return null;
        }

        return value;
    }

    private int? Int(YamlMap map, string key, string path, int min)
    {
        var node = map.Value(key);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode s && int.TryParse(s.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var value) && value >= min)
        {
            return value;
        }

        Error(PlanRules.BadValue, SubjectOf(path), Mark(node), $"'{Join(path, key)}' must be a whole number of at least {min}", $"write `{key}: N` with N ≥ {min}");
        return null;
    }

    private bool? Bool(YamlMap map, string key, string path)
    {
        var node = map.Value(key);
        if (node is null)
        {
            return null;
        }

        if (node is YamlScalarNode { Value: "true" or "false" } s)
        {
            return s.Value == "true";
        }

        Error(PlanRules.BadValue, SubjectOf(path), Mark(node), $"'{Join(path, key)}' must be true or false", $"write `{key}: true` or `{key}: false`");
        return null;
    }

    private List<string> StringList(YamlMap map, string key, string path)
    {
        var node = map.Value(key);
        var at = Join(path, key);
        if (node is null || node is YamlScalarNode n && IsNull(n))
        {
            return [];
        }

        if (node is not YamlSequenceNode sequence)
        {
            Error(PlanRules.BadValue, SubjectOf(path), Mark(node), $"'{at}' must be a list", $"write `{key}: [a, b]`");
            return [];
        }

        var list = new List<string>();
        foreach (var item in sequence.Children)
        {
            if (item is YamlScalarNode { Value: { Length: > 0 } v })
            {
                _marks[$"{at}[{list.Count}]"] = Mark(item);
                list.Add(v);
            }
            else
            {
                Error(PlanRules.BadValue, SubjectOf(path), Mark(item), $"an item of '{at}' is not a plain name", $"write `{key}: [a, b]`");
            }
        }

        return list;
    }

    private static bool IsNull(YamlScalarNode s) => s.Style == YamlDotNet.Core.ScalarStyle.Plain && s.Value is null or "" or "~" or "null";

    private static string SubjectOf(string path)
    {
        var parts = path.Split('.');
        return parts switch
        {
            ["components", var name, ..] => name,
            ["policies", var name, ..] => "policy " + name,
            ["locations", var name, ..] => "location " + name,
            ["objectives", "scenarios", var name, ..] => "scenario " + name,
            ["objectives", ..] => "objectives",
            ["verification", "checks", var name, ..] => "verification " + name,
            ["drills", var name, ..] => "drill " + name,
            ["notifications", "channels", var name, ..] => "channel " + name,
            ["roles", var name, ..] => "role " + name,
            ["jobs", var name, ..] => "job " + name,
            [var first, ..] when first.Length > 0 => first,
            _ => "plan",
        };
    }

    private static string Describe(string path) => SubjectOf(path) is var s && s == "objectives" ? "'objectives'" : s;

    private static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    private static SourceMark Mark(YamlNode node) => new(ToInt(node.Start.Line), ToInt(node.Start.Column));

    private static int ToInt(long value) => (int)Math.Clamp(value, 1, int.MaxValue);

    private static SourceMark LastGoodToken(string yaml)
    {
        var mark = new SourceMark(1, 1);
        try
        {
            var scanner = new Scanner(new StringReader(yaml));
            while (scanner.MoveNext())
            {
                if (scanner.Current is { } token)
                {
                    mark = new SourceMark(ToInt(token.Start.Line), ToInt(token.Start.Column));
                }
            }
        }
        catch (Exception e) when (e is YamlException or InvalidOperationException or ArgumentException)
        {
            // the mark of the last token read is the answer
        }

        return mark;
    }

    private static string StripMarks(YamlException e)
    {
        var message = e.Message;
        // YamlDotNet prefixes "(Line: 3, Col: 5, Idx: 20) - (Line: 3, Col: 6, Idx: 21): "
        var match = Regex.Match(message, @"^\(Line: \d+, Col: \d+, Idx: \d+\) - \(Line: \d+, Col: \d+, Idx: \d+\): ");
        return (match.Success ? message[match.Length..] : message).Trim().TrimEnd('.');
    }

    private void Error(string rule, string subject, SourceMark mark, string message, string fix) =>
        _errors.Add(new PlanFinding { Severity = FindingSeverity.Error, Rule = rule, Subject = subject, File = _file, Mark = mark, Message = message, Fix = fix });

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]*$")]
    private static partial Regex NameRegex();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvName();
}

/// <summary>A mapping's accepted keys in file order.</summary>
internal sealed class YamlMap(List<(string Key, YamlNode Value)> pairs)
{
    public static readonly YamlMap Empty = new([]);

    public IReadOnlyList<(string Key, YamlNode Value)> Pairs => pairs;

    public bool ContainsKey(string key) => pairs.Exists(p => p.Key == key);

    public YamlNode? Value(string key) => pairs.Find(p => p.Key == key).Value;
}
