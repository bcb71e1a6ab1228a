"""Replay stored conversations under a set of rules, day by day, without touching the store.

`replay(orders, histories, ruleset, since=..., until=...)` is pure: at each step it shows the
policy only the messages dated up to then, plus the mails the simulation itself "sent", and
records what would have gone out and when (follow-ups of one customer due on the same step are
merged into one mail, as the tick does), stops and escalations. So a user can tune the YAML
before it touches a customer.

Orders replay with their current status, except `claimed_paid`, which replays as open: the
customer's "paid" reply is in the history and stops the ladder where it happened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.decision import Action, Decision, Event
from bot.core.model import Direction, Order, OrderStatus
from bot.core.policy import next_action
from bot.core.ruleset import Ruleset

MAIL = frozenset({Action.FOLLOW_UP, Action.ANSWER, Action.ESCALATE})


@dataclass(frozen=True, slots=True)
class Happening:
    """Something the rules would have done: a mail (merged when several orders), a stop, an alert."""

    at: datetime
    order_ids: tuple[str, ...]
    customer_email: str
    action: str
    rule_id: str
    template: str | None
    language: str
    mode: str | None
    recipients: tuple[str, ...]
    reason: str

    def as_json(self) -> dict[str, object]:
        return {
            "at": self.at.isoformat(),
            "order_ids": list(self.order_ids),
            "customer_email": self.customer_email,
            "action": self.action,
            "rule_id": self.rule_id,
            "template": self.template,
            "language": self.language,
            "mode": self.mode,
            "recipients": list(self.recipients),
            "reason": self.reason,
        }


@dataclass(slots=True)
class _State:
    orders: dict[str, Order]
    real: Mapping[str, Sequence[Event]]
    sent: dict[str, list[Event]]  # simulated mails per order
    told: dict[str, tuple[str, datetime | None]]  # last non-mail happening per order


def replay(
    orders: Sequence[Order],
    histories: Mapping[str, Sequence[Event]],
    ruleset: Ruleset,
    *,
    since: datetime,
    until: datetime,
    default_tz: str,
    step: timedelta = timedelta(days=1),
) -> list[Happening]:
    """What the rules would have done between `since` and `until` (aware), in time order."""
    state = _State(
        orders={o.order_id: _as_replayed(o) for o in orders},
        real=histories,
        sent={o.order_id: [] for o in orders},
        told={},
    )
    out: list[Happening] = []
    t = since
    while t <= until:
        out += _step(state, ruleset, t, step, default_tz)
        t += step
    return sorted(out, key=lambda h: (h.at, h.order_ids))


def _as_replayed(order: Order) -> Order:
    return (
        replace(order, status=OrderStatus.OPEN)
        if order.status is OrderStatus.CLAIMED_PAID
        else order
    )


def _visible(state: _State, order_id: str, t: datetime) -> list[Event]:
    real = [e for e in state.real.get(order_id, ()) if e.at <= t]
    return sorted([*real, *state.sent[order_id]], key=lambda e: e.at)


def _sent_times(state: _State, email: str, t: datetime) -> list[datetime]:
    ids = [o.order_id for o in state.orders.values() if o.customer_email.lower() == email]
    return sorted(e.at for i in ids for e in _visible(state, i, t) if e.direction is Direction.OUT)


def _decide(state: _State, order: Order, ruleset: Ruleset, now: datetime, tz: str) -> Decision:
    return next_action(
        order,
        _visible(state, order.order_id, now),
        ruleset,
        now=now,
        sent_to_customer=_sent_times(state, order.customer_email.lower(), now),
        default_tz=tz,
    )


def _is_mail(d: Decision, now: datetime) -> bool:
    return d.action in MAIL and bool(d.template) and d.at is not None and d.at <= now


def _step(
    state: _State, ruleset: Ruleset, t: datetime, step: timedelta, tz: str
) -> list[Happening]:
    """One step: what is due by its end is decided again at its own time, as the tick would."""
    due: dict[tuple[str, ...], list[tuple[Order, Decision]]] = {}
    out: list[Happening] = []
    for order in list(state.orders.values()):
        if order.status is not OrderStatus.OPEN:
            continue
        d, when = _decide(state, order, ruleset, t, tz), t
        if d.action in MAIL and d.template and d.at is not None and t < d.at < t + step:
            when = d.at
            d = _decide(state, order, ruleset, when, tz)
        if _is_mail(d, when):
            key = (
                (order.customer_email.lower(),)
                if d.action is Action.FOLLOW_UP
                else ("order", order.order_id)
            )
            due.setdefault(key, []).append((order, d))
        else:
            out += _other(state, order, d, t)
    for group in due.values():
        out.append(_mail(state, group))
    return out


def _mail(state: _State, group: list[tuple[Order, Decision]]) -> Happening:
    lead, d = group[0]
    at = min(dec.at for _, dec in group if dec.at is not None)
    for order, dec in group:
        state.sent[order.order_id].append(Event(Direction.OUT, at, rule_id=dec.rule_id))
    merged = len(group) > 1
    reason = d.reason if not merged else "; ".join(f"{o.order_id}: {x.reason}" for o, x in group)
    return Happening(
        at=at,
        order_ids=tuple(o.order_id for o, _ in group),
        customer_email=lead.customer_email.lower(),
        action=d.action.value,
        rule_id=d.rule_id,
        template=d.template,
        language=d.language,
        mode=d.mode,
        recipients=d.recipients,
        reason=reason,
    )


def _other(state: _State, order: Order, d: Decision, t: datetime) -> list[Happening]:
    """Stops and escalations without a mail, once per change of the conversation."""
    if d.status is not None:
        state.orders[order.order_id] = replace(order, status=d.status)
    elif d.action not in (Action.ESCALATE, Action.STOP) and not (
        d.action is Action.NONE and d.alerts
    ):
        return []
    seen = _visible(state, order.order_id, t)
    key = (d.rule_id, seen[-1].at if seen else None)
    if state.told.get(order.order_id) == key:
        return []
    state.told[order.order_id] = key
    return [
        Happening(
            at=t,
            order_ids=(order.order_id,),
            customer_email=order.customer_email.lower(),
            action=d.action.value,
            rule_id=d.rule_id,
            template=d.template,
            language=d.language,
            mode=d.mode,
            recipients=tuple(a.to for a in d.alerts),
            reason=d.reason,
        )
    ]
