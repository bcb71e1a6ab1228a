"""The policy's timed follow-ups: the due-date reminder and the silence ladder (with catch-up).

Silence is counted in business days of the customer's country from the last message (or a due
date that passed, or the end of a pause); after downtime only the latest due step is proposed.
"""

from __future__ import annotations

from datetime import date, datetime

from bot.core.answers import resume_at
from bot.core.calendar import add_business_days, previous_business_day
from bot.core.context import Context, Verdict, make_decision, notices
from bot.core.decision import Action, Event, Notice
from bot.core.model import Direction, Intent, Kind
from bot.core.ruleset import LadderStep, Mode


def due_day(ctx: Context) -> date | None:
    """The day of the due-date reminder: the due date, or the business day before it."""
    due = ctx.order.due_date
    return previous_business_day(due, ctx.country) if due else None


def due_reminder(ctx: Context, day: date) -> Event | None:
    """Our due-date reminder: by rule id, else the first outgoing message from the due day on."""
    outs = [e for e in ctx.history if e.direction is Direction.OUT]
    tagged = [e for e in outs if e.rule_id == ctx.rules.due_date.id]
    late = [e for e in outs if e.rule_id is None and ctx.local_date(e.at) >= day]
    found = tagged or late
    return found[0] if found else None


def due_date_reminder(ctx: Context) -> Verdict:
    rule, day, due = ctx.rules.due_date, due_day(ctx), ctx.order.due_date
    if not rule.enabled or day is None or due is None:
        return None, "no due date" if rule.enabled else "due-date reminder disabled"
    if due_reminder(ctx, day) is not None:
        return None, f"due-date reminder for {due} already sent"
    if ctx.local_date(ctx.now) > due:
        return None, f"due date {due} passed without a reminder: the ladder takes over"
    at = ctx.send_time(max(ctx.day_start(day), ctx.now), on_time_for=day)
    why = f"payment due {due}: remind on time, {at:%Y-%m-%d %H:%M %Z}"
    mode, alerts = _after_dispute(ctx, rule.mode, ())
    return make_decision(
        ctx,
        Action.FOLLOW_UP,
        rule.id,
        why,
        at=at,
        template=rule.template,
        mode=mode,
        recipients=rule.to,
        alerts=alerts,
    ), why


def ladder_position(ctx: Context) -> int:
    """How many ladder steps went out since the customer's last reply.

    Our follow-ups carry their rule id when the store knows it; otherwise every outgoing message
    after the last reply counts, except the first (the answer to that reply, or the order mail
    that opened the conversation) and the due-date reminder.
    """
    last_in = max(
        (
            i
            for i, e in enumerate(ctx.history)
            if e.direction is Direction.IN and e.kind is Kind.HUMAN
        ),
        default=-1,
    )
    outs = [e for e in ctx.history[last_in + 1 :] if e.direction is Direction.OUT]
    steps = [i for i in (ctx.rules.step(e.rule_id or "") for e in outs) if i is not None]
    if steps:
        return max(steps) + 1
    day = due_day(ctx)
    unknown = [e for e in outs if e.rule_id is None]
    reminder = due_reminder(ctx, day) if day is not None else None
    unknown = [e for e in unknown if e is not reminder]
    return max(len(unknown) - 1, 0)


def ladder_anchor(ctx: Context) -> datetime | None:
    """Silence is counted from the last message, a due date that passed, or a pause's end."""
    times = [e.at for e in ctx.history]
    day = due_day(ctx)
    if day is not None and ctx.local_date(ctx.now) >= day:
        times.append(ctx.day_start(day))
    for e in ctx.pending:
        if e.kind is Kind.AUTO_REPLY or e.intent is Intent.ABSENT:
            key = "auto_reply" if e.kind is Kind.AUTO_REPLY else "absent"
            times.append(resume_at(ctx, e, ctx.rules.answers[key]))
    return max(times) if times else None


def silence_ladder(ctx: Context) -> Verdict:
    day = due_day(ctx)
    if day is not None and ctx.local_date(ctx.now) < day:
        why = f"payment not due before {ctx.order.due_date}: no chasing before then"
        return make_decision(ctx, Action.NONE, "not-due-yet", why, at=None), why
    anchor = ladder_anchor(ctx)
    if anchor is None:
        why = "no conversation and no due date: nothing to follow up yet"
        return make_decision(ctx, Action.NONE, "no-conversation", why, at=None), why
    position = ladder_position(ctx)
    if position >= len(ctx.rules.ladder):
        why = f"all {len(ctx.rules.ladder)} ladder steps sent, no answer: a person decides"
        return make_decision(
            ctx, Action.NONE, "ladder-finished", why, at=None, alerts=(Notice("manager", why),)
        ), why
    return _ladder_step(ctx, anchor, position)


def _schedule(ctx: Context, anchor: datetime, position: int) -> tuple[int, datetime, list[str]]:
    """Walk the steps from `position` as if each went out when due; the latest due one wins."""
    chosen, due_at, skipped = position, anchor, []
    t = anchor
    for i in range(position, len(ctx.rules.ladder)):
        step = ctx.rules.ladder[i]
        t = ctx.day_start(add_business_days(ctx.local_date(t), step.after, ctx.country))
        if i == position:
            due_at = t
        elif t <= ctx.now:
            skipped.append(ctx.rules.ladder[chosen].id)
            chosen, due_at = i, t
        if t > ctx.now:
            break
    return chosen, due_at, skipped


def _ladder_step(ctx: Context, anchor: datetime, position: int) -> Verdict:
    index, due_at, skipped = _schedule(ctx, anchor, position)
    step: LadderStep = ctx.rules.ladder[index]
    at = ctx.send_time(max(due_at, ctx.now))
    why = (
        f"silent since {ctx.local_date(anchor)}: step {index + 1} of "
        f"{len(ctx.rules.ladder)} ({step.id}) due {ctx.local_date(due_at)}"
    )
    if skipped:  # dunbot was down, or a draft was held back (snoozed, left in the queue)
        why += f"; {', '.join(skipped)} came due but never went out: only the latest is proposed"
    mode, alerts = _after_dispute(ctx, step.mode, notices(step, why))
    return make_decision(
        ctx,
        Action.FOLLOW_UP,
        step.id,
        why,
        at=at,
        template=step.template,
        mode=mode,
        recipients=step.to,
        alerts=alerts,
    ), why


def _after_dispute(
    ctx: Context, mode: Mode, alerts: tuple[Notice, ...]
) -> tuple[Mode, tuple[Notice, ...]]:
    """After a dispute (the customer's last word) no follow-up goes out unattended: a draft,
    and silence after a dispute is a bad-debt signal for the manager."""
    replies = [e for e in ctx.history if e.direction is Direction.IN and e.kind is Kind.HUMAN]
    if not replies or replies[-1].intent is not Intent.DISPUTE:
        return mode, alerts
    return "draft", (*alerts, Notice("manager", "bad-debt signal: silence after a dispute"))
