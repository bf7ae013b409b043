using System.CommandLine;
using System.Globalization;
using Lifeline.Cli.Infrastructure;
using Lifeline.Recovery.Hosting;
using Lifeline.Recovery.Notifications;
using Lifeline.Recovery.Plan;
using Spectre.Console;

namespace Lifeline.Cli.Commands;

/// <summary>
/// <c>lifeline notify ls|test CHANNEL|flush</c>: the notification outbox of the plan's data directory
/// (<c>DATA/notifications/outbox.db</c>, docs/notifications.md). No running <c>up</c> is needed: the outbox is a file;
/// <c>test</c> and <c>flush</c> deliver from this process.
/// </summary>
internal static class NotifyCommands
{
    public static Command Create()
    {
        var command = new Command("notify", "The notification outbox: what is pending, sent or dead per channel; send a test notice; deliver what is pending");
        command.Subcommands.Add(CreateList());
        command.Subcommands.Add(CreateTest());
        command.Subcommands.Add(CreateFlush());
        return command;
    }

    private static Option<string?> DataOption() => new("--data") { Description = "The data directory (default: the plan's, as lifeline up uses: lifeline-data beside the plan file)" };

    private static Option<TimeSpan> TimeoutOption(int seconds, string what) => new("--timeout")
    {
        Description = $"How long to keep retrying {what} (default {seconds} s; e.g. 30s, 2m)",
        DefaultValueFactory = _ => TimeSpan.FromSeconds(seconds),
        CustomParser = r => PlanDuration.TryParse(r.Tokens.Count > 0 ? r.Tokens[0].Value : "", out var t, out var error) && t > TimeSpan.Zero ? t : Error(r, error),
    };

    private static TimeSpan Error(System.CommandLine.Parsing.ArgumentResult r, string? error)
    {
        r.AddError($"--timeout: {error ?? "give a positive duration"} (e.g. 30s, 2m)");
        return TimeSpan.Zero;
    }

    private static Command CreateList()
    {
        var plan = CommonOptions.PlanFile("The plan file");
        var data = DataOption();
        var all = new Option<bool>("--deliveries") { Description = "Also list the newest deliveries, one line each" };
        var command = new Command("ls", "The outbox per channel: pending, sent, dead and manual (someone must act), with the last failure") { plan, data, all };
        command.Run(async (context, ct) =>
        {
            var (lifelinePlan, outbox, _) = await OpenAsync(context.Get(plan)!, context.Get(data), context.Time, ct);
            var counts = await outbox.CountsAsync(ct);
            var deliveries = context.Get(all) || context.Json ? await outbox.ListAsync(limit: 50, cancellationToken: ct) : [];
            var manual = await outbox.ListAsync(DeliveryStates.Manual, 20, ct);
            context.Console.Document(new
            {
                outbox = outbox.Path,
                channels = counts.Select(c => new
                {
                    channel = c.Channel,
                    kind = lifelinePlan.Notifications.Channels.FirstOrDefault(x => x.Name == c.Channel)?.Kind,
                    pending = c.Pending, sent = c.Sent, dead = c.Dead, manual = c.Manual, lastFailure = c.LastReason,
                }),
                deliveries = deliveries.Select(Json),
            });
            context.Console.Table(["channel", "kind", "pending", "sent", "dead", "manual", "last failure"],
                counts.Select(c => (IReadOnlyList<string>)
                [
                    c.Channel, lifelinePlan.Notifications.Channels.FirstOrDefault(x => x.Name == c.Channel)?.Kind ?? "(not in the plan)",
                    N(c.Pending), N(c.Sent), N(c.Dead), N(c.Manual), c.LastReason ?? "",
                ]),
                rightAligned: new HashSet<int> { 2, 3, 4, 5 },
                cellColor: (row, column) => column == 4 && counts[row].Dead > 0 ? Color.Red : column == 2 && counts[row].Pending > 0 ? Color.Yellow : null);
            foreach (var m in manual)
            {
                context.Console.Line($"manual: {m.Channel} must act on \"{m.Summary}\" (incident {m.IncidentId}, {CliConsole.Time(m.CreatedAt)})");
            }

            if (context.Get(all))
            {
                context.Console.Table(["enqueued", "channel", "incident", "state", "attempts", "summary", "reason"],
                    deliveries.Select(d => (IReadOnlyList<string>)[CliConsole.Time(d.CreatedAt), d.Channel, d.IncidentId, d.State, N(d.Attempts), d.Summary, d.Reason ?? ""]));
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command CreateTest()
    {
        var name = new Argument<string>("CHANNEL") { Description = "The channel of the plan to send a test notice to" };
        var plan = CommonOptions.PlanFile("The plan file");
        var data = DataOption();
        var timeout = TimeoutOption(30, "the test notice");
        var command = new Command("test",
            $"Send a test notice (low urgency, marked as a drill) to one channel now through the outbox, and say whether it was accepted (exit {ExitCodes.NotificationPending} still pending, {ExitCodes.NotificationDead} refused)")
        {
            name, plan, data, timeout,
        };
        command.Run(async (context, ct) =>
        {
            var (lifelinePlan, outbox, baseDirectory) = await OpenAsync(context.Get(plan)!, context.Get(data), context.Time, ct);
            var channel = context.Get(name)!;
            var kind = lifelinePlan.Notifications.Channels.FirstOrDefault(c => c.Name == channel)?.Kind;
            var id = "test-" + Guid.NewGuid().ToString("N")[..12];
            var now = context.Time.GetUtcNow();
            await outbox.EnqueueAsync(new Notice
            {
                Id = id,
                IncidentId = id,
                Action = NoticeAction.Trigger,
                Severity = Lifeline.Recovery.Incidents.Severities.Info,
                Summary = $"Lifeline test notice to channel {channel}",
                Body = $"A test of the channel {channel} sent by `lifeline notify test` on {Environment.MachineName} at {CliConsole.Time(now)}. Nothing is wrong.",
                IsDrill = true,
                Time = now,
            }, [channel], ct);
            using var deliverer = new NotificationDeliverer(lifelinePlan, outbox, baseDirectory, time: context.Time);
            var delivery = await context.WithActivityAsync($"sending a test notice to {channel}",
                () => DeliverAsync(deliverer, outbox, context.Time, context.Get(timeout), d => d.NoticeId == id, ct));
            var mine = (await outbox.OfNoticeAsync(id, ct)).Single();
            context.Console.Document(new { channel, kind, notice = id, state = mine.State, attempts = mine.Attempts, reason = mine.Reason, accepted = mine.State is DeliveryStates.Sent or DeliveryStates.Manual });
            switch (mine.State)
            {
                case DeliveryStates.Sent:
                    context.Console.Line($"channel {channel} ({kind}) accepted the test notice {id} (attempt {mine.Attempts})");
                    return ExitCodes.Ok;
                case DeliveryStates.Manual:
                    context.Console.Line($"channel {channel} is manual: the test notice {id} is recorded for someone to act on (see 'lifeline notify ls')");
                    return ExitCodes.Ok;
                case DeliveryStates.Dead:
                    throw new CliException(ExitCodes.NotificationDead, $"channel {channel} refused the test notice: {mine.Reason}");
                default:
                    _ = delivery;
                    throw new CliException(ExitCodes.NotificationPending,
                        $"channel {channel} did not accept the test notice within {RecoveryCommands.Duration(context.Get(timeout))} ({mine.Attempts} attempts; last: {mine.Reason}); it stays in the outbox: lifeline up or 'lifeline notify flush' delivers it");
            }
        });
        return command;
    }

    private static Command CreateFlush()
    {
        var plan = CommonOptions.PlanFile("The plan file");
        var data = DataOption();
        var timeout = TimeoutOption(60, "what fails");
        var command = new Command("flush",
            $"Deliver every pending notice now, retrying with backoff until --timeout, then exit (exit {ExitCodes.NotificationPending} when some are still pending, {ExitCodes.NotificationDead} when some were given up)")
        {
            plan, data, timeout,
        };
        command.Run(async (context, ct) =>
        {
            var (lifelinePlan, outbox, baseDirectory) = await OpenAsync(context.Get(plan)!, context.Get(data), context.Time, ct);
            var pending = (await outbox.ListAsync(DeliveryStates.Pending, int.MaxValue, ct)).Select(d => d.Seq).ToHashSet();
            using var deliverer = new NotificationDeliverer(lifelinePlan, outbox, baseDirectory, time: context.Time);
            await context.WithActivityAsync($"delivering {pending.Count} pending notices", () => DeliverAsync(deliverer, outbox, context.Time, context.Get(timeout), d => pending.Contains(d.Seq), ct));
            var after = (await outbox.ListAsync(limit: int.MaxValue, cancellationToken: ct)).Where(d => pending.Contains(d.Seq)).ToList();
            int sent = after.Count(d => d.State == DeliveryStates.Sent), dead = after.Count(d => d.State == DeliveryStates.Dead), still = after.Count(d => d.State == DeliveryStates.Pending);
            context.Console.Document(new { delivered = sent, dead, pending = still, deliveries = after.Select(Json) });
            context.Console.Line($"flush: {sent} delivered, {dead} dead, {still} still pending (of {pending.Count})");
            foreach (var d in after.Where(d => d.State != DeliveryStates.Sent))
            {
                context.Console.Line($"{d.State}: {d.Channel}: \"{d.Summary}\" ({d.Attempts} attempts): {d.Reason}");
            }

            return dead > 0
                ? throw new CliException(ExitCodes.NotificationDead, $"{dead} notification{(dead == 1 ? " was" : "s were")} given up (listed above); see 'lifeline notify ls'")
                : still > 0
                    ? throw new CliException(ExitCodes.NotificationPending, $"{still} notification{(still == 1 ? " is" : "s are")} still pending after {RecoveryCommands.Duration(context.Get(timeout))} (listed above); they stay in the outbox")
                    : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>Delivers the deliveries <paramref name="mine"/> selects until none of them is pending or the time is up: the first round at once, then each at its retry time.</summary>
    private static async Task<int> DeliverAsync(NotificationDeliverer deliverer, NotificationOutbox outbox, TimeProvider time, TimeSpan timeout, Func<Delivery, bool> mine, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + timeout;
        var first = true;
        var rounds = 0;
        while (true)
        {
            var due = (await outbox.DueAsync(time.GetUtcNow(), ignoreSchedule: first, ct)).Where(mine).ToList();
            if (due.Count > 0)
            {
                await deliverer.DeliverDueAsync(first, mine, ct);
                rounds++;
            }

            first = false;
            var pending = (await outbox.DueAsync(DateTimeOffset.MaxValue, ignoreSchedule: true, ct)).Where(mine).ToList();
            if (pending.Count == 0)
            {
                return rounds;
            }

            var now = time.GetUtcNow();
            if (now >= deadline)
            {
                return rounds;
            }

            var next = pending.Min(d => d.NextAttemptAt);
            var wait = (next < deadline ? next : deadline) - now;
            await Task.Delay(wait > TimeSpan.FromMilliseconds(20) ? wait : TimeSpan.FromMilliseconds(20), time, ct);
        }
    }

    private static async Task<(LifelinePlan Plan, NotificationOutbox Outbox, string BaseDirectory)> OpenAsync(string planPath, string? data, TimeProvider time, CancellationToken ct)
    {
        var (plan, path, directory) = await PlanAndData.OpenAsync(planPath, data, ct);
        return (plan, NotificationOutbox.InDataDirectory(plan, directory, time), Path.GetDirectoryName(path)!);
    }

    private static string N(int n) => n.ToString(CultureInfo.InvariantCulture);

    private static object Json(Delivery d) => new
    {
        seq = d.Seq, notice = d.NoticeId, incident = d.IncidentId, channel = d.Channel, state = d.State, attempts = d.Attempts,
        enqueued = d.CreatedAt, nextAttempt = d.State == DeliveryStates.Pending ? d.NextAttemptAt : (DateTimeOffset?)null, finished = d.FinishedAt, reason = d.Reason, summary = d.Summary,
    };
}
