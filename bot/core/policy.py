"""The next action for one order: a walk over named rules that records every hit and miss.

Pure: the conversation (`Event`s), the rules, `now` and the customer's previous follow-up times
come in; a `Decision` comes out. The walk, in order: order-closed, bounce, the answer to the
customer's unanswered reply (per intent), the pause after an auto-reply, the due-date reminder,
the silence ladder. Bad-debt signals add alerts to whatever decides.

The values live in bot.core.decision, the rules' shared view in bot.core.context, the answers
to replies in bot.core.answers, the timed follow-ups in bot.core.ladder.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from bot.core.answers import auto_reply, bounce, human_reply
from bot.core.calendar import customer_zone
from bot.core.context import Context, Rule, Verdict, customer_language, make_decision
from bot.core.decision import Action, Decision, Event, Notice, RuleHit
from bot.core.ladder import due_date_reminder, silence_ladder
from bot.core.model import Direction, Intent, Kind, Order, OrderStatus
from bot.core.ruleset import Ruleset


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


def _order_closed(ctx: Context) -> Verdict:
    status = ctx.order.status
    if status is OrderStatus.OPEN:
        return None, "order is open"
    why = f"order is {status.value}: nothing to follow up"
    return make_decision(ctx, Action.NONE, "order-closed", why, at=None), why


RULES: tuple[Rule, ...] = (
    Rule("order-closed", _order_closed),
    Rule("bounce", bounce),
    Rule("customer-reply", human_reply),
    Rule("auto-reply-pause", auto_reply),
    Rule("due-date-reminder", due_date_reminder),
    Rule("silence-ladder", silence_ladder),
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
