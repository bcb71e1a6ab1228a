"""The approval side of the outbox's tables: each approval token is used once, and each
approver is mailed once per draft. `SqlOutbox` (bot.adapters.store.outbox) takes these methods
from `ApprovalTables`; `use_token_row` lets a token be consumed inside an outbox transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Connection, Engine, String, Table, insert, select
from sqlalchemy.exc import IntegrityError

from bot.adapters.store.tables import UtcDateTime, metadata

approval_uses = Table(
    "approval_uses",
    metadata,
    Column("token", String(64), primary_key=True),  # a token approves (or skips) once
    Column("draft_id", String(64), nullable=False, index=True),
    Column("approver", String(320), nullable=False),
    Column("command", String(20), nullable=False),
    Column("used_at", UtcDateTime, nullable=False),
)

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("draft_id", String(64), primary_key=True),  # each approver is asked once per draft
    Column("approver", String(320), primary_key=True),
    Column("message_id", String(998), nullable=False),
    Column("sent_at", UtcDateTime, nullable=False),
)


class ApprovalTables:
    """Token uses and approval requests; every public method is one transaction."""

    _engine: Engine

    def use_token(self, draft_id: str, token: tuple[str, str, str], *, now: datetime) -> bool:
        """Record a token use on its own (skip, snooze...); False if it was used before."""
        try:
            with self._engine.begin() as conn:
                use_token_row(conn, draft_id, token, now)
        except IntegrityError:
            return False
        return True

    def used_tokens(self, draft_id: str) -> set[str]:
        query = select(approval_uses.c.token).where(approval_uses.c.draft_id == draft_id)
        with self._engine.begin() as conn:
            return set(conn.scalars(query))

    # --- approval requests ---------------------------------------------------------------------

    def requested(self, draft_id: str) -> set[str]:
        """The approvers this draft was already mailed to."""
        query = select(approval_requests.c.approver).where(approval_requests.c.draft_id == draft_id)
        with self._engine.begin() as conn:
            return set(conn.scalars(query))

    def record_request(
        self, draft_id: str, approver: str, *, message_id: str, now: datetime
    ) -> bool:
        """Remember that `approver` was asked about this draft; False if recorded before."""
        try:
            with self._engine.begin() as conn:
                conn.execute(
                    insert(approval_requests).values(
                        draft_id=draft_id, approver=approver, message_id=message_id, sent_at=now
                    )
                )
        except IntegrityError:
            return False
        return True


def use_token_row(
    conn: Connection, draft_id: str, token: tuple[str, str, str], now: datetime
) -> None:
    """Consume `token` = (token, approver, command) in the caller's transaction; a token used
    before raises IntegrityError (the primary key)."""
    value, approver, command = token
    conn.execute(
        insert(approval_uses).values(
            token=value, draft_id=draft_id, approver=approver, command=command, used_at=now
        )
    )


__all__ = ["ApprovalTables", "approval_requests", "approval_uses", "use_token_row"]
