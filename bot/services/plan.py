"""Plan: the next action for an order, from the store's conversation and the follow-up rules.

Orchestrates the pure policy over a store (any object with the `PlanStore` methods, e.g. the
SqlStore); writes each decision to the audit log so `dunbot plan` and the scheduler leave a trail.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from bot.core.model import Direction, Order, OrderStatus
from bot.core.policy import Decision, events_from_records, next_action
from bot.core.ruleset import Ruleset
from bot.ports import MessageRecord


class PlanStore(Protocol):
    """What planning reads from the store, and where it writes its trail."""

    def get_order(self, order_id: str) -> Order: ...

    def list_orders(self, status: OrderStatus | None = None) -> list[Order]: ...

    def messages_for_order(self, order_id: str) -> list[MessageRecord]: ...

    def open_orders(self) -> list[Order]: ...

    def audit(self, event: str, *, order_id: str | None, detail: str) -> None: ...


def plan_order(
    store: PlanStore,
    ruleset: Ruleset,
    order_id: str,
    *,
    now: datetime,
    default_tz: str,
    audit: bool = True,
) -> Decision:
    """The policy's decision for one order as of `now` (aware); audited as `plan.decision`."""
    order = store.get_order(order_id)
    siblings = _customer_orders(store, order)
    decision = next_action(
        order,
        events_from_records(store.messages_for_order(order_id)),
        ruleset,
        now=now,
        sent_to_customer=_sent_to_customer(store, siblings),
        default_tz=default_tz,
        reliable_payer=_reliable_payer(order, siblings),
    )
    if audit:
        store.audit("plan.decision", order_id=order_id, detail=audit_detail(decision, now))
    return decision


def plan_open_orders(
    store: PlanStore, ruleset: Ruleset, *, now: datetime, default_tz: str
) -> list[tuple[Order, Decision]]:
    """The decision for every open order (the scheduler tick's first half), each audited."""
    return [
        (o, plan_order(store, ruleset, o.order_id, now=now, default_tz=default_tz))
        for o in store.open_orders()
    ]


def _customer_orders(store: PlanStore, order: Order) -> list[Order]:
    email = order.customer_email.lower()
    return [o for o in store.list_orders() if o.customer_email.lower() == email]


def _sent_to_customer(store: PlanStore, orders: Sequence[Order]) -> list[datetime]:
    """When this customer got mail from us, over all their orders (for spacing and the cap)."""
    return sorted(
        m.date
        for o in orders
        for m in store.messages_for_order(o.order_id)
        if m.direction is Direction.OUT and m.date is not None and m.date.tzinfo is not None
    )


def _reliable_payer(order: Order, orders: Sequence[Order]) -> bool:
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
