"""Addresses that bounced: kept per customer so that drafts skip them.

A decision that flags a contact (a bounce came back) is recorded once per bounce; a human message
from that address, dated after its bounce, clears the flag (the store's `revive_contacts`). The
tick calls these before planning an order; drafts then skip flagged addresses, and when no
working address is left no draft is made: the salesperson is told (`nobody_left`) and the order
is looked at again after `stale_after`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from bot.core.decision import Decision, Notice
from bot.core.model import Draft, DraftStatus, Kind, Order
from bot.ports import MessageRecord

UNAPPROVED = (DraftStatus.PENDING, DraftStatus.SNOOZED, DraftStatus.HELD)


class BounceStore(Protocol):
    def flag_bounced(
        self,
        customer_email: str,
        email: str,
        *,
        order_id: str | None,
        bounced_at: datetime,
        message_id: str | None = None,
        status: str | None = None,
        now: datetime | None = None,
    ) -> bool: ...
    def bounced_addresses(self, customer_email: str) -> frozenset[str]: ...
    def revive_contacts(self, customer_email: str, *, now: datetime | None = None) -> list[str]: ...
    def customer_orders(self, customer_email: str) -> list[Order]: ...
    def drafts_for_order(
        self, order_id: str, statuses: Iterable[DraftStatus] | None = None
    ) -> list[tuple[Draft, str]]: ...


def record_bounce(
    store: BounceStore,
    order: Order,
    decision: Decision,
    records: Sequence[MessageRecord],
    now: datetime,
) -> str | None:
    """Keep the address the decision flags; the address when it is newly flagged (the same
    bounce planned again changes nothing), else None."""
    if not decision.flag_contact:
        return None
    address = decision.flag_contact.lower()
    bounce = bounce_of(records, address, order.customer_email)
    u = bounce.understanding if bounce is not None else None
    flagged = store.flag_bounced(
        order.customer_email,
        address,
        order_id=order.order_id,
        bounced_at=(bounce.date if bounce is not None else None) or now,
        message_id=bounce.message_id if bounce is not None else None,
        status=u.bounce_status if u is not None else None,
        now=now,
    )
    return address if flagged else None


def drafts_to(store: BounceStore, order: Order, address: str) -> list[tuple[Draft, str]]:
    """The customer's other drafts, not yet approved, that would go to `address` (this order's
    own are overtaken by its decision anyway; an approved one is the outbox's to check)."""
    return [
        (d, r)
        for other in store.customer_orders(order.customer_email)
        for d, r in store.drafts_for_order(other.order_id, UNAPPROVED)
        if address in (*d.to, *d.cc) and order.order_id not in d.order_ids
    ]


def bounce_of(
    records: Sequence[MessageRecord], address: str, customer_email: str
) -> MessageRecord | None:
    """The latest dated bounce of this address among the order's messages."""
    bounces = [
        (r.date, i, r)
        for i, r in enumerate(records)
        if r.date is not None
        and r.understanding is not None
        and r.understanding.kind is Kind.BOUNCE
        and (r.understanding.bounce_recipient or customer_email).lower() == address
    ]
    return max(bounces, key=lambda b: (b[0], b[1]))[2] if bounces else None


def nobody_left(dead: Iterable[str]) -> Notice:
    """What the salesperson is told when every address of the customer bounced."""
    return Notice(
        "salesperson",
        f"every address of this customer bounced ({', '.join(sorted(dead))}): nothing was sent;"
        " add a working contact (import the order again with a working customer_email) or,"
        " if an address works again, `dunbot orders unbounce ORDER ADDRESS`",
    )
