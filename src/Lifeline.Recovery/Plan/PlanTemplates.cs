namespace Lifeline.Recovery.Plan;

/// <summary>Where the templates put the three locations. The defaults are the one-machine layout of
/// <c>lifeline demo</c> (relative to the plan file) with object storage in Azure Blob.</summary>
public sealed record PlanTemplateOptions
{
    /// <summary>The primary location (same region); default <c>./lifeline-data/region-a/vault</c>.</summary>
    public string PrimaryUrl { get; init; } = "./lifeline-data/region-a/vault";

    /// <summary>The secondary location (another region); default <c>./lifeline-data/region-b/vault</c> for the customer's
    /// plan and <c>s3://lifeline-region-b/vault?region=eu-west-2</c> for the recommended one.</summary>
    public string? SecondaryUrl { get; init; }

    /// <summary>The tertiary location (object storage); default <c>azure://lifeline-tertiary/vault</c>.</summary>
    public string TertiaryUrl { get; init; } = "azure://lifeline-tertiary/vault";

    /// <summary>The data directory the components live in (<c>sources.data</c>); default <c>./lifeline-data</c>.</summary>
    public string DataDirectory { get; init; } = "./" + PlanSources.DefaultData;
}

/// <summary>The plans <c>lifeline plan init</c> writes: the customer's plan as its document states it, and Lifeline's
/// recommended plan that meets every objective with a wide margin.</summary>
public static class PlanTemplates
{
    /// <summary>The customer's plan (<c>DISASTER_RECOVERY_PLAN.md</c> 1.0) with every number of the document and
    /// comments citing its sections. <c>plan check</c> reports its contradictions.</summary>
    public static string Customer(PlanTemplateOptions? options = null) =>
        Fill(CustomerText, options ?? new PlanTemplateOptions(), "./lifeline-data/region-b/vault");

    /// <summary>Lifeline's recommended plan: registry and tables on change, hourly/daily/weekly/monthly/yearly
    /// retention that keeps every compliance period, three locations in distinct failure domains.</summary>
    public static string Recommended(PlanTemplateOptions? options = null) =>
        Fill(RecommendedText, options ?? new PlanTemplateOptions(), "s3://lifeline-region-b/vault?region=eu-west-2");

    /// <summary><see cref="Recommended"/> when <paramref name="recommended"/>, else <see cref="Customer"/>.</summary>
    public static string For(bool recommended, PlanTemplateOptions? options = null) => recommended ? Recommended(options) : Customer(options);

    private static string Fill(string text, PlanTemplateOptions options, string defaultSecondary) => text
        .Replace("{primary}", Quote(options.PrimaryUrl), StringComparison.Ordinal)
        .Replace("{secondary}", Quote(options.SecondaryUrl ?? defaultSecondary), StringComparison.Ordinal)
        .Replace("{tertiary}", Quote(options.TertiaryUrl), StringComparison.Ordinal)
        .Replace("{data}", Quote(options.DataDirectory), StringComparison.Ordinal);

    private static string Quote(string value) => "\"" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private const string CustomerText = """
        # lifeline.yaml: the customer's disaster-recovery plan as it stands
        # (DISASTER_RECOVERY_PLAN.md, "RAKEZ Lead Scoring Model", version 1.0). Every number is the document's;
        # where the document says nothing, this file says nothing either. `lifeline plan check` shows where the plan
        # cannot meet its own objectives; `lifeline plan init --recommended` writes a plan that does.
        # Field reference: docs/plan.md.
        version: 1
        name: RAKEZ Lead Scoring Model
        owner: ML Engineering Team

        objectives:
          # "Recovery Objectives": RTO target 4 hours, maximum acceptable 8 hours
          rto: { target: 4h, max: 8h }
          # "Recovery Objectives": RPO target 1 hour, maximum acceptable 4 hours
          rpo: { target: 1h, max: 4h }
          # "Disaster Scenarios": one number each, taken as the scenario's target (the maximum is the plan's).
          # steps: the scenario's procedure under "Recovery Procedures", each step with the document's time;
          # restore-budget: its "Restore ..." step.
          scenarios:
            workspace-failure:
              title: "Scenario 1: Databricks Workspace Failure"
              impact: high
              rto: 4h
              rpo: 1h
              restore-budget: 1h        # Procedure 1, step 3 "Restore Data (1 hour)"
              components: [jobs, leads, predictions, conversions, configuration]
              steps:                    # "Procedure 1: Databricks Workspace Recovery", "Total Time: ~4 hours"
                assess-damage: 15m
                restore-workspace: 2h
                restore-data: 1h
                restore-jobs: 30m
                validation: 30m
            registry-failure:
              title: "Scenario 2: MLflow Model Registry Failure"
              impact: critical
              rto: 2h
              rpo: 1h
              restore-budget: 1h        # Procedure 2, step 2 "Restore Model Registry (1 hour)"
              components: [registry]
              steps:                    # "Procedure 2: MLflow Model Registry Recovery", "Total Time: ~2 hours"
                assess-damage: 15m
                restore-model-registry: 1h
                restore-model-versions: 30m
                update-api-services: 15m
            api-failure:
              title: "Scenario 3: FastAPI Service Failure"
              impact: critical
              rto: 1h
              rpo: 0                    # "0 hours (stateless service)": nothing to restore but the service itself
              components: []
              steps:                    # "Procedure 3: FastAPI Service Recovery", "Total Time: ~1 hour"
                failover-to-secondary: 15m
                restore-primary: 30m
                validation: 15m
            data-loss:
              title: "Scenario 4: Data Loss (Delta Lake)"
              impact: critical
              rto: 8h
              rpo: 1h
              restore-budget: 4h        # Procedure 4, step 2 "Restore from Backup (4 hours)"
              components: [leads, predictions, conversions, audit_logs, monitoring_metrics]
              steps:                    # "Procedure 4: Data Recovery", "Total Time: ~8 hours"
                assess-data-loss: 30m
                restore-from-backup: 4h
                data-validation: 2h
                re-sync: 1h
            region-failure:
              title: "Scenario 5: Complete Region Failure"
              impact: critical
              rto: 8h
              rpo: 4h
              components: [registry, leads, predictions, conversions, audit_logs, monitoring_metrics, configuration, jobs]

        sources:                        # where the components live (docs/plan.md, "sources"); `lifeline up` uses the same layout
          data: {data}        # the registry in DATA/registry, the lake in DATA/lake, the job store in DATA/scheduler/jobs.db
          # lake: s3://bucket/lake      # the lake root when the tables are elsewhere: a path, s3:// or azure://

        components:
          registry: { policy: registry }                    # "1. Model Registry Backups"
          leads: { policy: delta-tables, compliance: 7y }   # "2. Data Backups": production data 7 years (compliance)
          predictions: { policy: delta-tables, compliance: 7y }
          conversions: { policy: delta-tables, compliance: 7y }
          audit_logs: { policy: audit-logs, compliance: 7y }  # "Audit logs: 7 years (compliance)"
          monitoring_metrics: { policy: monitoring, compliance: 2y }  # "Monitoring data: 2 years"
          configuration: { policy: configuration }          # "3. Configuration Backups"
          # Procedure 1 step 4 recreates "Databricks jobs" and "job schedules", but no backup names them.
          jobs: {}                      # (what Lifeline would back up: this file and DATA/scheduler/jobs.db)

        policies:
          registry:
            schedule: "0 1 * * *"       # "Frequency: Daily"
            retention: { keep-within: 30d }   # "Retention: 30 days"
            locations:                  # "Location: Secondary region + Object storage"
              secondary: secondary
              tertiary: tertiary
          delta-tables:
            schedule: "0 2 * * *"       # "Delta Lake tables: Daily incremental,
            full: "0 3 * * 0"           #  Weekly full"
            retention: { keep-within: 7y }    # "Production data: 7 years (compliance)"
            locations: { primary: primary, secondary: secondary, tertiary: tertiary }   # "Backup Locations"
          audit-logs:
            schedule: "0 2 * * *"       # "Audit logs: Daily"
            retention: { keep-within: 7y }    # "Audit logs: 7 years (compliance)"
            locations: { primary: primary, secondary: secondary, tertiary: tertiary }
          monitoring:
            schedule: "0 2 * * *"       # "Monitoring metrics: Daily"
            retention: { keep-within: 2y }    # "Monitoring data: 2 years"
            locations: { primary: primary, secondary: secondary, tertiary: tertiary }
          configuration:
            schedule: on-change         # "Frequency: On every change"; the document gives no retention or location
            locations: {}

        locations:                      # "Backup Locations"
          primary:                      # "Primary: Same region (Delta Lake)"
            url: {primary}
            region: region-a
          secondary:                    # "Secondary: Cross-region replication"
            url: {secondary}
            region: region-b
          tertiary:                     # "Tertiary: Object storage (S3/Azure Blob)"
            url: {tertiary}
            region: object-storage

        verification:                   # "Backup Verification"
          after-backup: true            # "Backup integrity verified" (taken as: after each backup)
          checks:
            daily:                      # "Daily Checks"
              schedule: "0 6 * * *"
              run: [backup-completed, size-in-range, integrity, replication]
            weekly:                     # "Weekly Tests"
              schedule: "0 4 * * 0"
              run: [restore-test, completeness, restore-speed, retention]

        drills:                         # "DR Drill Schedule" and "Test Checklist"
          api-failover:                 # "Monthly: FastAPI failover test"
            scenarios: [api-failure]
            schedule: "0 10 1 * *"
            checklist: [services-operational, performance, monitoring-alerting, documentation-updated]
          registry-recovery:            # "Quarterly: Model registry recovery test"
            scenarios: [registry-failure]
            schedule: "0 10 1 1,4,7,10 *"
            checklist: [backup-restored, services-operational, data-integrity, performance, monitoring-alerting, documentation-updated]
          full-dr:                      # "Semi-annually: Full DR drill"
            scenarios: [workspace-failure, registry-failure, api-failure, data-loss]
            schedule: "0 10 1 1,7 *"
            checklist: [backup-restored, services-operational, data-integrity, performance, monitoring-alerting, documentation-updated]
          region-failover:              # "Annually: Complete region failover test"
            scenarios: [region-failure]
            schedule: "0 10 1 3 *"
            checklist: [backup-restored, services-operational, data-integrity, performance, monitoring-alerting, documentation-updated]

        notifications:                  # "Communication Plan"
          channels:
            pagerduty: { kind: pagerduty, secret-env: PAGERDUTY_ROUTING_KEY, for: [immediate] }   # "Immediate: PagerDuty alert"
            slack-incidents: { kind: slack, target: "#incidents", secret-env: SLACK_WEBHOOK_URL, for: [status] }   # "Status Updates"
            management-email: { kind: email, target: management@example.com, for: [stakeholders] }   # "Stakeholder Updates"
            pr-team: { kind: manual, target: PR team, for: [external] }   # "External Communication: PR team (if needed)"
          first-notice: 15m             # "0-15 min: Initial assessment and team notification"
          stakeholder-update: 1h        # "15-60 min: Status update to stakeholders"
          updates-every: 2h             # "Every 2 hours: Progress updates"

        roles:                          # "Incident Response Team"
          ml-engineering-lead: { title: ML Engineering Lead, duty: Primary contact, notify: [pagerduty, slack-incidents] }
          devops-engineer: { title: DevOps Engineer, duty: Infrastructure recovery, notify: [pagerduty, slack-incidents] }
          data-engineer: { title: Data Engineer, duty: Data restoration, notify: [pagerduty, slack-incidents] }
          security-officer: { title: Security Officer, duty: Security validation, notify: [slack-incidents] }

        """;

    private const string RecommendedText = """
        # lifeline.yaml: Lifeline's recommended plan for the lead-scoring deployment. It keeps the customer's
        # objectives and scenarios (DISASTER_RECOVERY_PLAN.md) and meets each with a wide margin:
        # - the registry and the tables are backed up on change (continuous protection), so the worst-case RPO is
        #   minutes (gathering + backup + copies + verification), not a day;
        # - retention thins out with age (hourly, daily, weekly, monthly, yearly) and keeps every compliance period
        #   (production data and audit logs 7 years, monitoring 2 years);
        # - every policy writes three locations in three failure domains: a local disk, another region's object
        #   store, and a second provider's object storage.
        # Field reference: docs/plan.md.
        version: 1
        name: RAKEZ Lead Scoring Model
        owner: ML Engineering Team

        objectives:
          rto: { target: 4h, max: 8h }
          rpo: { target: 1h, max: 4h }
          scenarios:
            workspace-failure:
              title: "Scenario 1: Databricks Workspace Failure"
              impact: high
              rto: 4h
              rpo: 1h
              restore-budget: 1h
              components: [jobs, leads, predictions, conversions, configuration]
            registry-failure:
              title: "Scenario 2: MLflow Model Registry Failure"
              impact: critical
              rto: 2h
              rpo: 1h
              restore-budget: 1h
              components: [registry]
            api-failure:
              title: "Scenario 3: FastAPI Service Failure"
              impact: critical
              rto: 1h
              rpo: 0                    # stateless: the scoring API reloads its model from the registry
              components: []
            data-loss:
              title: "Scenario 4: Data Loss (Delta Lake)"
              impact: critical
              rto: 8h
              rpo: 1h
              restore-budget: 4h
              components: [leads, predictions, conversions, audit_logs, monitoring_metrics]
            region-failure:
              title: "Scenario 5: Complete Region Failure"
              impact: critical
              rto: 8h
              rpo: 4h
              components: [registry, leads, predictions, conversions, audit_logs, monitoring_metrics, configuration, jobs]

        sources:                        # where the components live (docs/plan.md, "sources"); `lifeline up` uses the same layout
          data: {data}        # the registry in DATA/registry, the lake in DATA/lake, the job store in DATA/scheduler/jobs.db
          # lake: s3://bucket/lake      # the lake root when the tables are elsewhere: a path, s3:// or azure://

        components:
          registry: { policy: registry }
          leads: { policy: tables, compliance: 7y }
          predictions: { policy: tables, compliance: 7y }
          conversions: { policy: tables, compliance: 7y }
          audit_logs: { policy: tables, compliance: 7y }
          monitoring_metrics: { policy: monitoring, compliance: 2y }
          configuration: { policy: configuration }
          jobs: { policy: configuration }   # the plan file (its schedules) and the scheduler's job store; on change, like configuration

        policies:
          registry:
            schedule: on-change         # every registered version, stage or alias change
            coalesce: 1m
            full: "0 3 * * 0"           # weekly re-read of all data (a verification, not a storage cost)
            retention: { keep-within: 48h, hourly: 72, daily: 60, weekly: 26, monthly: 24, yearly: 3 }
            locations: { primary: primary, secondary: secondary, tertiary: tertiary }
          tables:
            schedule: on-change         # every committed Delta version
            coalesce: 5m
            full: "0 3 * * 0"
            retention: { keep-within: 48h, hourly: 72, daily: 90, weekly: 104, monthly: 84, yearly: 8 }
            locations: { primary: primary, secondary: secondary, tertiary: tertiary }
          monitoring:
            schedule: on-change
            coalesce: 5m
            retention: { keep-within: 48h, hourly: 72, daily: 90, weekly: 52, monthly: 24, yearly: 3 }
            locations: { primary: primary, secondary: secondary, tertiary: tertiary }
          configuration:
            schedule: on-change
            coalesce: 1m
            retention: { keep-last: 100, daily: 90, monthly: 24 }
            locations: { primary: primary, secondary: secondary, tertiary: tertiary }

        locations:
          primary:                      # same region, local disk: the fastest restore
            url: {primary}
            region: region-a
            failure-domain: local-disk
          secondary:                    # another region
            url: {secondary}
            region: region-b
            failure-domain: region-b
          tertiary:                     # object storage with another provider
            url: {tertiary}
            region: object-storage
            failure-domain: second-provider

        verification:
          after-backup: true            # a snapshot counts as a recovery point once verified in every location
          checks:
            daily:
              schedule: "0 6 * * *"
              run: [backup-completed, size-in-range, integrity, replication]
            weekly:
              schedule: "0 4 * * 0"
              run: [restore-test, completeness, restore-speed, retention]

        drills:
          api-failover:
            scenarios: [api-failure]
            schedule: "0 10 1 * *"      # monthly
            checklist: [services-operational, performance, monitoring-alerting, documentation-updated]
          registry-recovery:
            scenarios: [registry-failure]
            schedule: "0 10 1 * *"      # monthly: the registry serves every prediction
            checklist: [backup-restored, services-operational, data-integrity, performance, monitoring-alerting, documentation-updated]
          data-recovery:
            scenarios: [workspace-failure, data-loss]
            schedule: "0 10 1 1,4,7,10 *"   # quarterly
            checklist: [backup-restored, services-operational, data-integrity, performance, monitoring-alerting, documentation-updated]
          region-failover:
            scenarios: [region-failure]
            schedule: "0 10 1 1,7 *"    # semi-annually
            checklist: [backup-restored, services-operational, data-integrity, performance, monitoring-alerting, documentation-updated]

        notifications:
          channels:
            pagerduty: { kind: pagerduty, secret-env: PAGERDUTY_ROUTING_KEY, for: [immediate] }
            slack-incidents: { kind: slack, target: "#incidents", secret-env: SLACK_WEBHOOK_URL, for: [status] }
            management-email: { kind: email, target: management@example.com, for: [stakeholders] }
            pr-team: { kind: manual, target: PR team, for: [external] }
          first-notice: 15m
          stakeholder-update: 1h
          updates-every: 2h

        roles:
          ml-engineering-lead: { title: ML Engineering Lead, duty: Primary contact, notify: [pagerduty, slack-incidents] }
          devops-engineer: { title: DevOps Engineer, duty: Infrastructure recovery, notify: [pagerduty, slack-incidents] }
          data-engineer: { title: Data Engineer, duty: Data restoration, notify: [pagerduty, slack-incidents] }
          security-officer: { title: Security Officer, duty: Security validation, notify: [slack-incidents] }

        """;
}
