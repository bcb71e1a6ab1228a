"""The next action for one order: a walk over named rules that records every hit and miss.

Pure: the conversation (`Event`s), the rules, `now` and the customer's previous follow-up times
come in; a `Decision` comes out. The walk, in order: order-closed, bounce, the answer to the
customer's unanswered reply (per intent), the pause after an auto-reply, the due-date reminder,
the silence ladder. Bad-debt signals add alerts to whatever decides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Literal, Protocol
from zoneinfo import ZoneInfo

from bot.core.calendar import (
    CalendarRules,
    add_business_days,
    customer_zone,
    local_start,
    next_send_time,
    previous_business_day,
)
from bot.core.model import Direction, Intent, Kind, Order, OrderStatus, Understanding
from bot.core.ruleset import DRAFT_ONLY, Answer, LadderStep, Mode, Ruleset


class Action(StrEnum):
    WAIT = "wait"  # nothing to send; look again at `at`
    FOLLOW_UP = "follow_up"  # a ladder step or reminder, due at `at`
    ANSWER = "answer"  # answer the customer's reply, due at `at`
    STOP = "stop"  # stop following up (paid, cancelled)
    ESCALATE = "escalate"  # a person must act (dispute, bounce, unclear reply)
    NONE = "none"  # nothing to do


@dataclass(frozen=True, slots=True)
class Event:
    """One message of an order's conversation, as the policy needs it."""

    direction: Direction
    at: datetime  # timezone-aware
    kind: Kind = Kind.HUMAN
    intent: Intent = Intent.NONE
    promised: date | None = None  # promised payment date, or out-of-office return date
    bounce_recipient: str | None = None
    sender: str = ""
    language: str = ""
    subject: str = ""
    message_id: str = ""
    references: tuple[str, ...] = ()
    rule_id: str | None = None  # for our own follow-ups, when the store knows which rule sent it


class RecordLike(Protocol):
    """The attributes of bot.ports.MessageRecord that the policy reads."""

    @property
    def direction(self) -> Direction: ...
    @property
    def date(self) -> datetime | None: ...
    @property
    def sender(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def understanding(self) -> Understanding | None: ...


def events_from_records(records: Iterable[RecordLike]) -> list[Event]:
    """Stored messages -> Events, oldest first; a message without a Date cannot be placed."""
    events = [_event(r) for r in records if r.date is not None]
    return sorted(events, key=lambda e: e.at)


def _event(r: RecordLike) -> Event:
    u = r.understanding
    at = (
        r.date
        if r.date is not None and r.date.tzinfo
        else (r.date or datetime.min).replace(tzinfo=ZoneInfo("UTC"))
    )
    return Event(
        direction=r.direction,
        at=at,
        kind=u.kind if u else Kind.HUMAN,
        intent=u.intent if u else Intent.NONE,
        promised=u.date if u else None,
        bounce_recipient=u.bounce_recipient if u else None,
        sender=r.sender.lower(),
        language=u.language if u else "",
        subject=r.subject,
        message_id=r.message_id,
        references=tuple(r.references),
        rule_id=getattr(r, "rule_id", None),
    )


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule_id: str
    hit: bool
    why: str

    def as_json(self) -> dict[str, object]:
        return {"rule_id": self.rule_id, "hit": self.hit, "why": self.why}


@dataclass(frozen=True, slots=True)
class Notice:
    """Someone to tell: the salesperson or the manager, and why."""

    to: str
    why: str


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    at: datetime | None  # aware, in the customer's zone
    reason: str
    rule_id: str
    language: str = "en"
    template: str | None = None
    mode: Mode | None = None
    recipients: tuple[str, ...] = ()  # roles: buyer, finance, decision_maker, manager
    alerts: tuple[Notice, ...] = ()
    status: OrderStatus | None = None  # the order's new status, when it changes
    flag_contact: str | None = None  # an address to mark as bouncing
    hits: tuple[RuleHit, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "at": self.at.isoformat() if self.at else None,
            "template": self.template,
            "language": self.language,
            "mode": self.mode,
            "reason": self.reason,
            "rule_id": self.rule_id,
            "recipients": list(self.recipients),
            "alerts": [{"to": a.to, "why": a.why} for a in self.alerts],
            "status": self.status.value if self.status else None,
            "flag_contact": self.flag_contact,
            "hits": [h.as_json() for h in self.hits],
        }


@dataclass(frozen=True)
class Context:
    """Everything a rule looks at, computed once per decision."""

    order: Order
    rules: Ruleset
    history: tuple[Event, ...]
    now: datetime
    tz: ZoneInfo
    sent: tuple[datetime, ...]
    language: str
    reliable_payer: bool = False
    pending: tuple[Event, ...] = field(default=())  # inbound after our last outgoing message

    @property
    def country(self) -> str | None:
        return self.order.country

    def send_time(self, earliest: datetime, *, on_time_for: date | None = None) -> datetime:
        """The first allowed follow-up time at or after `earliest` (spacing included)."""
        cal = self.rules.calendar
        return next_send_time(
            earliest,
            tz=self.tz,
            country=self.country,
            window=cal.send_window(),
            rules=cal.rules(),
            sent=self.sent,
            on_time_for=on_time_for,
        )

    def reply_time(self, earliest: datetime) -> datetime:
        """An answer to the customer goes out promptly: a business day, in the window."""
        lenient = CalendarRules(avoid_first_working_day_of_week=False, avoid_first_days_of_month=0)
        return next_send_time(
            earliest,
            tz=self.tz,
            country=self.country,
            window=self.rules.calendar.send_window(),
            rules=lenient,
            spacing=False,
        )

    def day_start(self, day: date) -> datetime:
        return local_start(day, self.rules.calendar.send_window(), self.tz)

    def local_date(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()


# A rule looks at the context and returns (decision or None, why).
Verdict = tuple[Decision | None, str]


@dataclass(frozen=True)
class Rule:
    id: str
    check: Callable[[Context], Verdict]


def next_action(
    order: Order,
    history: Sequence[Event],
    ruleset: Ruleset,
    *,
    now: datetime,
    sent_to_customer: Sequence[datetime],
    default_tz: str,
    reliable_payer: bool = False,
) -> Decision:
    """The next action for `order` as of `now`, which rule decided, and the whole rule walk.

    `history` is the order's conversation; `sent_to_customer` every follow-up this customer got
    (all orders) for spacing and the weekly cap; `reliable_payer` turns a sudden request for
    time into a bad-debt signal. `now` must be timezone-aware (ValueError otherwise).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    ctx = _context(order, history, ruleset, now, sent_to_customer, default_tz, reliable_payer)
    hits = [
        RuleHit(f"override-{name.replace(':', '-')}", True, f"override {name} applies")
        for name in ctx.rules.applied
    ]
    for rule in RULES:
        decision, why = rule.check(ctx)
        hits.append(
            RuleHit(rule.id if decision is None else decision.rule_id, decision is not None, why)
        )
        if decision is not None:
            return _with_signals(ctx, decision, hits)
    raise AssertionError("the silence ladder always decides")  # pragma: no cover


def _context(
    order: Order,
    history: Sequence[Event],
    ruleset: Ruleset,
    now: datetime,
    sent: Sequence[datetime],
    default_tz: str,
    reliable_payer: bool,
) -> Context:
    events = tuple(sorted(history, key=lambda e: e.at))
    last_out = max((i for i, e in enumerate(events) if e.direction is Direction.OUT), default=-1)
    tz = customer_zone(order.timezone, order.country, default_tz)
    return Context(
        order=order,
        rules=ruleset.for_order(order),
        history=events,
        now=now.astimezone(tz),
        tz=tz,
        sent=tuple(sent),
        language=customer_language(order, events),
        reliable_payer=reliable_payer,
        pending=events[last_out + 1 :],
    )


def customer_language(order: Order, history: Sequence[Event]) -> str:
    """The language of their last reply, else the order's, else English."""
    for e in reversed(history):
        if e.direction is Direction.IN and e.kind is Kind.HUMAN and e.language:
            return e.language
    return order.language or "en"


def _decision(
    ctx: Context,
    action: Action,
    rule_id: str,
    reason: str,
    *,
    at: datetime | None | Literal["now"] = "now",
    template: str | None = None,
    mode: Mode | None = None,
    recipients: tuple[str, ...] = (),
    alerts: tuple[Notice, ...] = (),
    status: OrderStatus | None = None,
    flag_contact: str | None = None,
) -> Decision:
    return Decision(
        action=action,
        at=ctx.now if at == "now" else at,
        reason=reason,
        rule_id=rule_id,
        language=ctx.language,
        template=template,
        mode=mode if template else None,
        recipients=recipients if template else (),
        alerts=alerts,
        status=status,
        flag_contact=flag_contact,
    )


def _order_closed(ctx: Context) -> Verdict:
    status = ctx.order.status
    if status is OrderStatus.OPEN:
        return None, "order is open"
    why = f"order is {status.value}: nothing to follow up"
    return _decision(ctx, Action.NONE, "order-closed", why, at=None), why


def _bounce(ctx: Context) -> Verdict:
    bounced = [e for e in ctx.pending if e.kind is Kind.BOUNCE]
    if not bounced:
        return None, "no bounce since our last message"
    e, answer = bounced[-1], ctx.rules.answers["bounce"]
    who = e.bounce_recipient or ctx.order.customer_email
    why = f"mail to {who} bounced on {ctx.local_date(e.at)}: flag the contact, a person must act"
    return _decision(
        ctx,
        Action.ESCALATE,
        answer.id,
        why,
        flag_contact=who,
        template=answer.template,
        mode="draft",
        recipients=answer.to,
        alerts=_notices(answer, why),
    ), why


def _human_reply(ctx: Context) -> Verdict:
    replies = [e for e in ctx.pending if e.kind is Kind.HUMAN]
    if not replies:
        return None, "no unanswered reply from the customer"
    e = replies[-1]
    key = e.intent.value if e.intent.value in ctx.rules.answers else "other"
    answer = ctx.rules.answers[key]
    if answer.action == "wait":
        return _wait(ctx, e, answer, key)
    return _answer(ctx, e, answer, key), f"the customer's reply says {key}"


def _answer(ctx: Context, e: Event, answer: Answer, key: str) -> Decision:
    why = f"customer replied on {ctx.local_date(e.at)} ({key}): rule {answer.id}"
    mode: Mode = "draft" if key in DRAFT_ONLY else answer.mode
    alerts = _notices(answer, why)
    if answer.action == "stop":
        status = OrderStatus.CLAIMED_PAID if answer.status == "claimed_paid" else None
        if status is not None:  # the salesperson confirms; the customer's word is not money
            confirm = "the customer says it is paid: please confirm the money arrived"
            alerts = (*(a for a in alerts if a.to != "salesperson"), Notice("salesperson", confirm))
        return _decision(
            ctx,
            Action.STOP,
            answer.id,
            why,
            status=status,
            alerts=alerts,
            template=answer.template,
            mode=mode,
            recipients=answer.to,
        )
    action = Action.ESCALATE if answer.action == "escalate" else Action.ANSWER
    at = ctx.now if action is Action.ESCALATE else ctx.reply_time(max(ctx.now, e.at))
    return _decision(
        ctx,
        action,
        answer.id,
        why,
        at=at,
        template=answer.template,
        mode=mode,
        recipients=answer.to,
        alerts=alerts,
    )


def _wait(ctx: Context, e: Event, answer: Answer, key: str) -> Verdict:
    """promise / absent: wait until the date, then check in (promise) or resume the ladder."""
    resume = resume_at(ctx, e, answer)
    if key == "absent":
        if ctx.now < resume:
            why = f"customer away until {ctx.local_date(resume)}: pause ({answer.id})"
            return _decision(ctx, Action.WAIT, answer.id, why, at=resume), why
        return None, f"customer was away until {ctx.local_date(resume)}: the ladder resumes"
    return _promise(ctx, e, answer, resume)


def _promise(ctx: Context, e: Event, answer: Answer, check: datetime) -> Verdict:
    said = f"promised to pay by {e.promised}" if e.promised else "promised to pay (no date)"
    if ctx.now < check:
        why = f"customer {said}: wait, check in on {ctx.local_date(check)} ({answer.id})"
        return _decision(
            ctx,
            Action.WAIT,
            answer.id,
            why,
            at=check,
            template=answer.template,
            mode=answer.mode,
            recipients=answer.to,
        ), why
    why = f"customer {said}; no news since: check in ({answer.id})"
    at = ctx.send_time(max(check, ctx.now), on_time_for=ctx.local_date(check))
    return _decision(
        ctx,
        Action.FOLLOW_UP,
        answer.id,
        why,
        at=at,
        template=answer.template,
        mode=answer.mode,
        recipients=answer.to,
        alerts=_notices(answer, why),
    ), why


def resume_at(ctx: Context, e: Event, answer: Answer) -> datetime:
    """When a pause ends: the business day after a promised date, the return day, or `pause`."""
    base = ctx.local_date(e.at)
    if e.promised is not None and e.promised >= base:
        days = 1 if e.intent is Intent.PROMISE else 0
        return ctx.day_start(add_business_days(e.promised, days, ctx.country))
    return ctx.day_start(add_business_days(base, max(answer.pause, 1), ctx.country))


def _auto_reply(ctx: Context) -> Verdict:
    autos = [e for e in ctx.pending if e.kind is Kind.AUTO_REPLY]
    if not autos:
        return None, "no auto-reply since our last message"
    answer = ctx.rules.answers["auto_reply"]
    resume = resume_at(ctx, autos[-1], answer)
    if ctx.now >= resume:
        return None, f"auto-reply pause ended {ctx.local_date(resume)}: the ladder resumes"
    why = f"auto-reply: away until {ctx.local_date(resume)}; pause ({answer.id})"
    return _decision(ctx, Action.WAIT, answer.id, why, at=resume), why


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


def _due_date(ctx: Context) -> Verdict:
    rule, day, due = ctx.rules.due_date, due_day(ctx), ctx.order.due_date
    if not rule.enabled or day is None or due is None:
        return None, "no due date" if rule.enabled else "due-date reminder disabled"
    if due_reminder(ctx, day) is not None:
        return None, f"due-date reminder for {due} already sent"
    if ctx.local_date(ctx.now) > due:
        return None, f"due date {due} passed without a reminder: the ladder takes over"
    at = ctx.send_time(max(ctx.day_start(day), ctx.now), on_time_for=day)
    why = f"payment due {due}: remind on time, {at:%Y-%m-%d %H:%M %Z}"
    return _decision(
        ctx,
        Action.FOLLOW_UP,
        rule.id,
        why,
        at=at,
        template=rule.template,
        mode=rule.mode,
        recipients=rule.to,
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


def _ladder(ctx: Context) -> Verdict:
    day = due_day(ctx)
    if day is not None and ctx.local_date(ctx.now) < day:
        why = f"payment not due before {ctx.order.due_date}: no chasing before then"
        return _decision(ctx, Action.NONE, "not-due-yet", why, at=None), why
    anchor = ladder_anchor(ctx)
    if anchor is None:
        why = "no conversation and no due date: nothing to follow up yet"
        return _decision(ctx, Action.NONE, "no-conversation", why, at=None), why
    position = ladder_position(ctx)
    if position >= len(ctx.rules.ladder):
        why = f"all {len(ctx.rules.ladder)} ladder steps sent, no answer: a person decides"
        return _decision(
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
    if skipped:
        why += f"; {', '.join(skipped)} came due while dunbot was down: only the latest is proposed"
    mode: Mode = step.mode
    alerts = _notices(step, why)
    if _silent_after_dispute(ctx):
        mode = "draft"
        alerts += (Notice("manager", "bad-debt signal: silence after a dispute"),)
    return _decision(
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


def _silent_after_dispute(ctx: Context) -> bool:
    replies = [e for e in ctx.history if e.direction is Direction.IN and e.kind is Kind.HUMAN]
    return bool(replies) and replies[-1].intent is Intent.DISPUTE


def _notices(rule: Answer | LadderStep, why: str) -> tuple[Notice, ...]:
    return tuple(Notice(who, why) for who in rule.alert)


RULES: tuple[Rule, ...] = (
    Rule("order-closed", _order_closed),
    Rule("bounce", _bounce),
    Rule("customer-reply", _human_reply),
    Rule("auto-reply-pause", _auto_reply),
    Rule("due-date-reminder", _due_date),
    Rule("silence-ladder", _ladder),
)


def _with_signals(ctx: Context, decision: Decision, hits: list[RuleHit]) -> Decision:
    """Add the bad-debt signals (alerts to the manager) unless the order is closed."""
    alerts = list(decision.alerts)
    if decision.rule_id != "order-closed":
        for signal in SIGNALS:
            why = signal(ctx)
            hits.append(
                RuleHit(
                    signal.__name__.strip("_").replace("_", "-"), why is not None, why or "no sign"
                )
            )
            if why:
                alerts.append(Notice("manager", f"bad-debt signal: {why}"))
    return replace(decision, alerts=tuple(dict.fromkeys(alerts)), hits=tuple(hits))


def _reliable_payer_asks_time(ctx: Context) -> str | None:
    asks = {Intent.CASH_FLOW, Intent.PROMISE, Intent.POOR_SALES}
    reply = _last_pending_reply(ctx)
    if ctx.reliable_payer and reply is not None and reply.intent in asks:
        return f"a reliable payer suddenly asks for time ({reply.intent.value})"
    return None


def _new_contact(ctx: Context) -> str | None:
    reply = _last_pending_reply(ctx)
    known = {ctx.order.customer_email.lower(), *(c.email.lower() for c in ctx.order.contacts)}
    if reply is not None and reply.sender and reply.sender not in known:
        return f"a new contact person writes: {reply.sender}"
    return None


def _bounced_address(ctx: Context) -> str | None:
    if any(e.kind is Kind.BOUNCE for e in ctx.pending):
        return "an address of this customer bounced"
    return None


def _last_pending_reply(ctx: Context) -> Event | None:
    replies = [e for e in ctx.pending if e.kind is Kind.HUMAN]
    return replies[-1] if replies else None


SIGNALS: tuple[Callable[[Context], str | None], ...] = (
    _reliable_payer_asks_time,
    _new_contact,
    _bounced_address,
)
