"""Plan: the next action for an order, from the store's conversation and the follow-up rules.

Orchestrates the pure policy over a store (any object with the `PlanStore` methods, e.g. the
SqlStore); writes each decision to the audit log so `dunbot plan` and the scheduler leave a trail.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from bot.core.decision import Decision, Event, events_from_records
from bot.core.model import Direction, Draft, DraftStatus, Order, OrderStatus
from bot.core.policy import next_action
from bot.core.ruleset import Ruleset
from bot.ports import MessageRecord


class PlanStore(Protocol):
    """What planning reads from the store (the tick's indexed look-ups), and where it writes."""

    def get_order(self, order_id: str) -> Order: ...

    def customer_orders(self, customer_email: str) -> list[Order]: ...

    def messages_for_order(self, order_id: str) -> list[MessageRecord]: ...

    def sent_to_customer(self, customer_email: str) -> list[datetime]: ...

    def drafts_for_order(
        self, order_id: str, statuses: Iterable[DraftStatus] | None = None
    ) -> list[tuple[Draft, str]]: ...

    def open_orders(self) -> list[Order]: ...

    def audit(
        self, event: str, *, order_id: str | None, detail: str, at: datetime | None = None
    ) -> None: ...


def plan_order(
    store: PlanStore,
    ruleset: Ruleset,
    order_id: str,
    *,
    now: datetime,
    default_tz: str,
    audit: bool = True,
) -> Decision:
    """The policy's decision for one order as of `now` (aware); audited as `plan.decision`,
    dated `now` (as the tick dates its entries).

    Reads what the tick reads: the conversation with our sent drafts (tagged with their rule),
    and the spacing of every mail this customer got or is about to get (pending drafts too)."""
    order = store.get_order(order_id)
    decision = next_action(
        order,
        history_of(
            store.messages_for_order(order_id),
            store.drafts_for_order(order_id, [DraftStatus.SENT]),
        ),
        ruleset,
        now=now,
        sent_to_customer=store.sent_to_customer(order.customer_email),
        default_tz=default_tz,
        reliable_payer=reliable_payer(order, store.customer_orders(order.customer_email)),
    )
    if audit:
        store.audit("plan.decision", order_id=order_id, detail=audit_detail(decision, now), at=now)
    return decision


def plan_open_orders(
    store: PlanStore, ruleset: Ruleset, *, now: datetime, default_tz: str
) -> list[tuple[Order, Decision]]:
    """The decision for every open order, each audited (a report; the tick plans due ones)."""
    return [
        (o, plan_order(store, ruleset, o.order_id, now=now, default_tz=default_tz))
        for o in store.open_orders()
    ]


def history_of(records: Sequence[MessageRecord], sent: Sequence[tuple[Draft, str]]) -> list[Event]:
    """The conversation as the policy sees it: stored messages (our own tagged with the rule
    that drafted them) plus drafts marked sent whose copy has not been read from Sent yet."""
    rules = {d.message_id: rule for d, rule in sent}
    events = [
        replace(e, rule_id=rules.get(e.message_id, e.rule_id))
        if e.direction is Direction.OUT
        else e
        for e in events_from_records(records)
    ]
    seen = {e.message_id for e in events}
    events += [
        Event(
            Direction.OUT,
            max(d.created_at, d.due_at),
            subject=d.subject,
            message_id=d.message_id,
            references=d.references,
            rule_id=rule,
        )
        for d, rule in sent
        if d.message_id not in seen
    ]
    return sorted(events, key=lambda e: e.at)


def reliable_payer(order: Order, orders: Sequence[Order]) -> bool:
    """A customer who has paid us before: a sudden request for time from them is a signal."""
    return any(o.status is OrderStatus.PAID and o.order_id != order.order_id for o in orders)


def audit_detail(decision: Decision, now: datetime) -> str:
    """One line of JSON: what was decided, when for, by which rule, as of when."""
    return json.dumps(
        {
            "now": now.isoformat(),
            "action": decision.action.value,
            "at": decision.at.isoformat() if decision.at else None,
            "rule_id": decision.rule_id,
            "template": decision.template,
            "mode": decision.mode,
            "reason": decision.reason,
        },
        ensure_ascii=False,
    )
