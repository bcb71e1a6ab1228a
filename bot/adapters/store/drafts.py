"""The planning tick's part of SqlStore: due orders, drafts, and the spacing look-ups.

A mixin of SqlStore (same engine, same transactions). How an order becomes due (the design):

- `orders.next_due_at` is when the tick looks at the order again; the tick sets it after each
  decision. NULL means "plan at the next tick": new orders start so, and an import or a status
  change (`upsert_orders`, `set_order_status`) resets it to NULL.
- New messages: the tick keeps a watermark (`tick_state['messages']`, the highest messages.id it
  planned for); orders with messages above it are due too. Ingest needs no extra call, and the
  query walks the messages primary key, not every order.

Both are indexed queries (ix_orders_next_due_at, pk_messages), never a scan of all orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from bot.adapters.store.rows import chunks, clean, draft_from_row, draft_row
from bot.adapters.store.tables import (
    customers,
    draft_orders,
    drafts,
    messages,
    orders,
    tick_state,
)
from bot.core.model import Direction, Draft, DraftStatus, Order, OrderStatus
from bot.errors import BotError

NEVER = datetime(9000, 1, 1, tzinfo=UTC)  # parked: only news or a status change wakes it
WATERMARK = "messages"
# Drafts that still speak for their orders: the tick makes no other draft for them meanwhile.
LIVE_STATUSES = (
    DraftStatus.PENDING.value,
    DraftStatus.APPROVED.value,
    DraftStatus.SNOOZED.value,
    DraftStatus.HELD.value,
)


class DraftLookupError(BotError, LookupError):
    """No draft with that id."""


@dataclass(frozen=True, slots=True)
class DueOrders:
    """The orders the tick should plan now, and the message watermark to commit afterwards."""

    order_ids: tuple[str, ...]
    watermark: int


class DraftsMixin:
    """Draft and due-order methods of SqlStore; every public method is one transaction."""

    if TYPE_CHECKING:
        _engine: Engine
        _clock: Callable[[], datetime]

        def _orders(self, conn: Connection, where: Any) -> list[Order]: ...

        def _audit(
            self, conn: Connection, event: str, order_id: str | None, detail: str, at: datetime
        ) -> None: ...

    # --- due orders ----------------------------------------------------------------------------

    def due_orders(self, now: datetime, *, limit: int | None = None) -> DueOrders:
        """Open orders whose next_due_at passed or is NULL, plus those with new messages.

        Both look-ups walk an index (ix_orders_next_due_at, the messages primary key); the
        status is checked on the few rows found, and a closed order found this way is parked
        at NEVER so it is not found again."""
        with self._engine.begin() as conn:
            mark = int(
                conn.scalar(select(tick_state.c.value).where(tick_state.c.name == WATERMARK)) or 0
            )
            top = int(conn.scalar(select(func.max(messages.c.id))) or 0)
            due = select(orders.c.order_id, orders.c.status).where(
                or_(orders.c.next_due_at.is_(None), orders.c.next_due_at <= now)
            )
            found = {row.order_id: row.status for row in conn.execute(due.limit(limit))}
            changed = (
                select(messages.c.order_id)
                .where(messages.c.id > mark, messages.c.id <= top, messages.c.order_id.is_not(None))
                .distinct()
            )
            news = [o for o in conn.scalars(changed) if o not in found]
            for chunk in chunks(news):
                query = select(orders.c.order_id, orders.c.status).where(
                    orders.c.order_id.in_(chunk)
                )
                found.update({row.order_id: row.status for row in conn.execute(query)})
            closed = [o for o, status in found.items() if status != OrderStatus.OPEN.value]
            for chunk in chunks(closed):
                conn.execute(
                    update(orders).where(orders.c.order_id.in_(chunk)).values(next_due_at=NEVER)
                )
        return DueOrders(tuple(sorted(o for o in found if o not in closed)), top)

    def commit_watermark(self, value: int) -> None:
        """Every message up to messages.id `value` has been planned for."""
        self.set_tick_value(WATERMARK, value)

    def tick_value(self, name: str) -> int | None:
        """A named counter of the tick (the message watermark, the rules fingerprint)."""
        with self._engine.begin() as conn:
            value = conn.scalar(select(tick_state.c.value).where(tick_state.c.name == name))
        return None if value is None else int(value)

    def set_tick_value(self, name: str, value: int) -> None:
        with self._engine.begin() as conn:
            done = conn.execute(
                update(tick_state).where(tick_state.c.name == name).values(value=value)
            )
            if not done.rowcount:
                conn.execute(insert(tick_state).values(name=name, value=value))

    def replan_open_orders(self) -> int:
        """Every open order is planned at the next tick (after a rules change); how many."""
        with self._engine.begin() as conn:
            result = conn.execute(
                update(orders)
                .where(orders.c.status == OrderStatus.OPEN.value)
                .values(next_due_at=None)
            )
        return int(result.rowcount or 0)

    def set_next_due(self, order_id: str, at: datetime | None) -> None:
        """When the tick looks at this order again (None: at the next tick)."""
        with self._engine.begin() as conn:
            conn.execute(update(orders).where(orders.c.order_id == order_id).values(next_due_at=at))

    def next_due(self, order_id: str) -> datetime | None:
        with self._engine.begin() as conn:
            value = conn.scalar(select(orders.c.next_due_at).where(orders.c.order_id == order_id))
        return value if isinstance(value, datetime) else None

    # --- one customer ----------------------------------------------------------------------------

    def customer_orders(self, customer_email: str) -> list[Order]:
        """Every order of this customer (indexed: customers.email, orders.customer_id)."""
        with self._engine.begin() as conn:
            return self._orders(conn, customers.c.email == customer_email.lower())

    def sent_to_customer(self, customer_email: str) -> list[datetime]:
        """When this customer got (or is about to get) a follow-up, over all their orders:
        our stored outgoing messages, sent drafts, and the due times of live drafts."""
        email = customer_email.lower()
        outgoing = (
            select(messages.c.date)
            .join(orders, orders.c.order_id == messages.c.order_id)
            .join(customers, customers.c.id == orders.c.customer_id)
            .where(
                customers.c.email == email,
                messages.c.direction == Direction.OUT.value,
                messages.c.date.is_not(None),
            )
        )
        planned = select(drafts.c.due_at, drafts.c.updated_at, drafts.c.status).where(
            drafts.c.customer_email == email,
            drafts.c.status.in_((*LIVE_STATUSES, DraftStatus.SENT.value)),
        )
        with self._engine.begin() as conn:
            times = [t for t in conn.scalars(outgoing) if t is not None]
            for row in conn.execute(planned):
                times.append(row.updated_at if row.status == DraftStatus.SENT.value else row.due_at)
        return sorted(times)

    # --- drafts ----------------------------------------------------------------------------------

    def add_draft(self, draft: Draft, rule_ids: Mapping[str, str] | None = None) -> bool:
        """Store a new draft for its orders, in one transaction; False (nothing stored) when one
        of them already has a pending draft. `rule_ids`: each order's own rule (merged drafts)."""
        rules = rule_ids or {}
        links = [
            {
                "draft_id": draft.draft_id,
                "order_id": order_id,
                "rule_id": rules.get(order_id, draft.rule_id),
                "status": draft.status.value,
            }
            for order_id in draft.order_ids
        ]
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(drafts).values(draft_row(draft)))
                conn.execute(insert(draft_orders), links)
                detail = f"{draft.draft_id} {draft.rule_id} to {', '.join(draft.to)}"
                for order_id in draft.order_ids:
                    self._audit(conn, "draft.created", order_id, detail, draft.created_at)
        except IntegrityError:
            return False
        return True

    def get_draft(self, draft_id: str) -> Draft:
        with self._engine.begin() as conn:
            row = conn.execute(select(drafts).where(drafts.c.draft_id == draft_id)).first()
        if row is None:
            raise DraftLookupError(f"no draft {draft_id!r}; see `dunbot queue list`")
        return draft_from_row(row)

    def list_drafts(self, statuses: Iterable[DraftStatus] | None = None) -> list[Draft]:
        """Drafts (with these statuses), oldest due first."""
        query = select(drafts).order_by(drafts.c.due_at, drafts.c.draft_id)
        if statuses is not None:
            query = query.where(drafts.c.status.in_([s.value for s in statuses]))
        with self._engine.begin() as conn:
            return [draft_from_row(row) for row in conn.execute(query)]

    def drafts_for_order(
        self, order_id: str, statuses: Iterable[DraftStatus] | None = None
    ) -> list[tuple[Draft, str]]:
        """This order's drafts with the order's own rule id, oldest first."""
        query = (
            select(drafts, draft_orders.c.rule_id.label("order_rule_id"))
            .join(draft_orders, draft_orders.c.draft_id == drafts.c.draft_id)
            .where(draft_orders.c.order_id == order_id)
            .order_by(drafts.c.created_at, drafts.c.draft_id)
        )
        if statuses is not None:
            query = query.where(draft_orders.c.status.in_([s.value for s in statuses]))
        with self._engine.begin() as conn:
            return [(draft_from_row(row), str(row.order_rule_id)) for row in conn.execute(query)]

    def set_draft_status(
        self, draft_id: str, status: DraftStatus, *, reason: str, at: datetime | None = None
    ) -> None:
        """Change a draft's status (and its order links'), with an audit entry per order;
        dated `at` (the caller's `now`), else the store's clock."""
        now = at or self._clock()
        with self._engine.begin() as conn:
            old = conn.scalar(select(drafts.c.status).where(drafts.c.draft_id == draft_id))
            if old is None:
                raise DraftLookupError(f"no draft {draft_id!r}; see `dunbot queue list`")
            conn.execute(
                update(drafts)
                .where(drafts.c.draft_id == draft_id)
                .values(status=status.value, status_reason=clean(reason), updated_at=now)
            )
            conn.execute(
                update(draft_orders)
                .where(draft_orders.c.draft_id == draft_id)
                .values(status=status.value)
            )
            linked = conn.scalars(
                select(draft_orders.c.order_id).where(draft_orders.c.draft_id == draft_id)
            )
            detail = f"{draft_id}: {old} -> {status.value}: {reason}"
            for order_id in list(linked):
                self._audit(conn, "draft.status", order_id, detail, now)
