"""The outbox's part of the store: rows that must be sent exactly once, claimed under leases.

`SqlOutbox(store)` shares the SqlStore's engine and clock; every public method is one
transaction. Claiming is safe with several daemons on one database: on PostgreSQL the candidate
row is locked with `SELECT ... FOR UPDATE SKIP LOCKED` (a second daemon skips it instead of
waiting), and on both databases the claim itself is a conditional UPDATE that only succeeds
while the row is still claimable (SQLite serialises writers with BEGIN IMMEDIATE).
A row is claimable when it is queued and due, or `sending` with an expired lease (its
sender died): such a claim is marked `resumed`, and the service looks before sending again.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Index,
    Integer,
    LargeBinary,
    Row,
    String,
    Table,
    Text,
    and_,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from bot.adapters.store.approvals import ApprovalTables, use_token_row
from bot.adapters.store.rows import clean, join_lines, split_lines
from bot.adapters.store.tables import UtcDateTime, audit, draft_orders, drafts, metadata
from bot.core.model import DraftStatus, Order
from bot.ports import NewOutboxItem, OutboxItem, OutboxState

outbox = Table(
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("draft_id", String(64), nullable=False, unique=True),  # approved twice: queued once
    Column("mailbox", String(100), nullable=False),
    Column("order_ids", Text, nullable=False),  # one per line
    Column("message_id", String(998), nullable=False, unique=True),
    Column("sender", String(320), nullable=False),
    Column("recipients", Text, nullable=False),  # To + Cc, one per line
    Column("journal", String(320), nullable=True),
    Column("raw", LargeBinary, nullable=False),
    Column("state", String(10), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UtcDateTime, nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    Column("lease_owner", String(100), nullable=True),
    Column("lease_until", UtcDateTime, nullable=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    Column("sent_at", UtcDateTime, nullable=True),
)
Index("ix_outbox_state_next_attempt_at", outbox.c.state, outbox.c.next_attempt_at)
Index("ix_outbox_mailbox_sent_at", outbox.c.mailbox, outbox.c.sent_at)


class _Store(Protocol):
    @property
    def engine(self) -> Engine: ...

    def get_order(self, order_id: str) -> Order: ...

    def bounced_addresses(self, customer_email: str) -> frozenset[str]: ...


def _noop(point: str) -> None:
    """No failpoint (tests pass one that kills the process at a named point)."""


class SqlOutbox(ApprovalTables):
    """Outbox rows, approval-token uses and approval requests in the SqlStore's database."""

    def __init__(self, store: _Store) -> None:
        self._store = store
        self._engine = store.engine

    def get_order(self, order_id: str) -> Order:
        """The order (OrderLookupError if none), for the recipient check before sending."""
        return self._store.get_order(order_id)

    def bounced_addresses(self, customer_email: str) -> frozenset[str]:
        """The customer's addresses that bounced, for the same check."""
        return self._store.bounced_addresses(customer_email)

    # --- queueing ------------------------------------------------------------------------------

    def enqueue(
        self, item: NewOutboxItem, *, now: datetime, token: tuple[str, str, str] | None = None
    ) -> bool:
        """Queue the message and mark its draft approved, in one transaction; `token` =
        (token, approver, command) is consumed in the same transaction. False (nothing changed)
        when this draft or Message-ID is already in the outbox or the token was used."""
        try:
            with self._engine.begin() as conn:
                if token is not None:
                    use_token_row(conn, item.draft_id, token, now)
                conn.execute(insert(outbox).values(_new_row(item, now)))
                _set_draft(
                    conn, item.draft_id, DraftStatus.APPROVED, "approved: queued to send", now
                )
                _audit(
                    conn,
                    "outbox.queued",
                    item,
                    f"{item.message_id} to {', '.join(item.recipients)}",
                    now,
                )
        except IntegrityError:
            return False
        return True

    # --- claiming and settling -----------------------------------------------------------------

    def claim(
        self, mailbox: str, *, owner: str, now: datetime, lease: timedelta
    ) -> OutboxItem | None:
        """Take the next due row of this mailbox under a lease until now + lease, or None."""
        with self._engine.begin() as conn:
            query = (
                select(outbox.c.id, outbox.c.state, outbox.c.attempts)
                .where(outbox.c.mailbox == mailbox, _claimable(now))
                .order_by(outbox.c.next_attempt_at, outbox.c.id)
                .limit(1)
            )
            if conn.dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            found = conn.execute(query).first()
            if found is None:
                return None
            claimed = conn.execute(
                update(outbox)
                .where(outbox.c.id == found.id, _claimable(now))
                .values(
                    state=OutboxState.SENDING.value,
                    attempts=outbox.c.attempts + 1,
                    lease_owner=owner,
                    lease_until=now + lease,
                    updated_at=now,
                )
            )
            if claimed.rowcount != 1:
                return None
            row = conn.execute(select(outbox).where(outbox.c.id == found.id)).one()
        resumed = found.state == OutboxState.SENDING.value or found.attempts > 0
        return _item(row, resumed=resumed)

    def mark_sent(
        self,
        outbox_id: int,
        *,
        owner: str,
        now: datetime,
        note: str,
        before_commit: Callable[[str], None] = _noop,
    ) -> bool:
        """Sent: the row, its draft and its orders' links, one transaction. False if the lease
        was lost meanwhile (another daemon took over; it will find the message in Sent)."""
        with self._engine.begin() as conn:
            done = conn.execute(
                _owned(outbox_id, owner).values(
                    state=OutboxState.SENT.value,
                    sent_at=now,
                    updated_at=now,
                    lease_owner=None,
                    lease_until=None,
                    last_error="",
                )
            )
            if done.rowcount != 1:
                return False
            row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
            _set_draft(conn, row.draft_id, DraftStatus.SENT, note, now)
            _audit(conn, "outbox.sent", _item(row), f"{row.message_id}: {note}", now)
            before_commit("before_commit")
        return True

    def retry_later(
        self, outbox_id: int, *, owner: str, at: datetime, error: str, now: datetime
    ) -> bool:
        """Back to queued until `at` (a temporary failure), with the reason kept."""
        with self._engine.begin() as conn:
            done = conn.execute(
                _owned(outbox_id, owner).values(
                    state=OutboxState.QUEUED.value,
                    next_attempt_at=at,
                    last_error=clean(error),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )
            if done.rowcount == 1:
                row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
                _audit(conn, "outbox.retry", _item(row), f"{error}; next try {at.isoformat()}", now)
        return done.rowcount == 1

    def mark_failed(self, outbox_id: int, *, owner: str, error: str, now: datetime) -> bool:
        """Failed for good (5xx, or a recipient that is not the order's): kept, audited."""
        with self._engine.begin() as conn:
            done = conn.execute(
                _owned(outbox_id, owner).values(
                    state=OutboxState.FAILED.value,
                    last_error=clean(error),
                    lease_owner=None,
                    lease_until=None,
                    updated_at=now,
                )
            )
            if done.rowcount == 1:
                row = conn.execute(select(outbox).where(outbox.c.id == outbox_id)).one()
                _set_draft(conn, row.draft_id, DraftStatus.HELD, f"sending failed: {error}", now)
                _audit(conn, "outbox.failed", _item(row), error, now)
        return done.rowcount == 1

    def hold(self, draft_id: str, *, reason: str, now: datetime, status: DraftStatus) -> bool:
        """Take a queued (not yet claimed) row out of the outbox and give its draft `status`,
        one transaction. False when the row is being sent or sent already (too late to hold)."""
        with self._engine.begin() as conn:
            done = conn.execute(
                update(outbox)
                .where(outbox.c.draft_id == draft_id, outbox.c.state == OutboxState.QUEUED.value)
                .values(
                    state=OutboxState.FAILED.value,
                    last_error=clean(f"held: {reason}"),
                    updated_at=now,
                )
            )
            if done.rowcount != 1:
                return False
            row = conn.execute(select(outbox).where(outbox.c.draft_id == draft_id)).one()
            _set_draft(conn, draft_id, status, f"held before sending: {reason}", now)
            _audit(conn, "outbox.held", _item(row), reason, now)
        return True

    # --- reading -------------------------------------------------------------------------------

    def unattended_since(self, mailbox: str, since: datetime) -> int:
        """How many drafts of this mailbox were queued without approval (mode: send) since
        `since`: the daily cap's count."""
        query = (
            select(func.count())
            .select_from(outbox.join(drafts, drafts.c.draft_id == outbox.c.draft_id))
            .where(
                outbox.c.mailbox == mailbox,
                outbox.c.created_at >= since,
                drafts.c.mode == "send",
            )
        )
        with self._engine.begin() as conn:
            return int(conn.scalar(query) or 0)

    def sent_since(self, mailbox: str, since: datetime) -> int:
        """How many messages this mailbox sent after `since` (the rate limit's window)."""
        query = select(func.count()).where(outbox.c.mailbox == mailbox, outbox.c.sent_at > since)
        with self._engine.begin() as conn:
            return int(conn.scalar(query) or 0)

    def items(self, state: OutboxState | None = None) -> list[OutboxItem]:
        query = select(outbox).order_by(outbox.c.id)
        if state is not None:
            query = query.where(outbox.c.state == state.value)
        with self._engine.begin() as conn:
            return [_item(row) for row in conn.execute(query)]

    def item(self, draft_id: str) -> OutboxItem | None:
        with self._engine.begin() as conn:
            row = conn.execute(select(outbox).where(outbox.c.draft_id == draft_id)).first()
        return None if row is None else _item(row)

    def next_due(self, mailbox: str) -> datetime | None:
        """When the earliest queued row of this mailbox is due (for the scheduler)."""
        query = select(func.min(outbox.c.next_attempt_at)).where(
            outbox.c.mailbox == mailbox, outbox.c.state == OutboxState.QUEUED.value
        )
        with self._engine.begin() as conn:
            value = conn.scalar(query)
        return value if isinstance(value, datetime) else None


def _claimable(now: datetime) -> Any:
    return or_(
        and_(outbox.c.state == OutboxState.QUEUED.value, outbox.c.next_attempt_at <= now),
        and_(outbox.c.state == OutboxState.SENDING.value, outbox.c.lease_until < now),
    )


def _owned(outbox_id: int, owner: str) -> Any:
    return update(outbox).where(
        outbox.c.id == outbox_id,
        outbox.c.state == OutboxState.SENDING.value,
        outbox.c.lease_owner == owner,
    )


def _set_draft(
    conn: Connection, draft_id: str, status: DraftStatus, reason: str, now: datetime
) -> None:
    """The draft's status and its order links' (the tick's tables), in the caller's transaction."""
    conn.execute(
        update(drafts)
        .where(drafts.c.draft_id == draft_id)
        .values(status=status.value, status_reason=clean(reason), updated_at=now)
    )
    conn.execute(
        update(draft_orders).where(draft_orders.c.draft_id == draft_id).values(status=status.value)
    )


def _audit(
    conn: Connection, event: str, item: NewOutboxItem | OutboxItem, detail: str, now: datetime
) -> None:
    rows = [
        {
            "at": now,
            "event": event,
            "order_id": order_id,
            "detail": clean(f"{item.draft_id}: {detail}"),
        }
        for order_id in item.order_ids or (None,)
    ]
    conn.execute(insert(audit), rows)


def _new_row(item: NewOutboxItem, now: datetime) -> dict[str, Any]:
    return {
        "draft_id": item.draft_id,
        "mailbox": item.mailbox,
        "order_ids": join_lines(item.order_ids),
        "message_id": item.message_id,
        "sender": item.sender,
        "recipients": join_lines(item.recipients),
        "journal": item.journal,
        "raw": item.raw,
        "state": OutboxState.QUEUED.value,
        "attempts": 0,
        "next_attempt_at": now,
        "last_error": "",
        "created_at": now,
        "updated_at": now,
    }


def _item(row: Row[Any], *, resumed: bool = False) -> OutboxItem:
    return OutboxItem(
        outbox_id=row.id,
        draft_id=row.draft_id,
        mailbox=row.mailbox,
        order_ids=split_lines(row.order_ids),
        message_id=row.message_id,
        sender=row.sender,
        recipients=split_lines(row.recipients),
        journal=row.journal,
        raw=bytes(row.raw),
        state=OutboxState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        resumed=resumed,
    )


__all__ = ["NewOutboxItem", "SqlOutbox", "outbox"]
