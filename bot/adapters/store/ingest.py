"""The ingest side of SqlStore: stored messages, folders' read positions, quarantine.

A mixin of SqlStore (same engine, same transactions), like drafts.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, Table, delete, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite

from bot.adapters.store import rows
from bot.adapters.store.tables import folder_state, messages, quarantine
from bot.ports import FolderState, MessageRecord, Quarantined


class IngestMixin:
    """Message, folder-state and quarantine methods of SqlStore; every public method is one
    transaction."""

    if TYPE_CHECKING:
        _engine: Engine
        _clock: Callable[[], datetime]
        _insert: Callable[[Table], postgresql.Insert | sqlite.Insert]

    def folder_state(self, mailbox: str, folder: str) -> FolderState | None:
        query = select(folder_state).where(
            folder_state.c.mailbox == mailbox, folder_state.c.folder == folder
        )
        with self._engine.begin() as conn:
            row = conn.execute(query).first()
        return (
            None
            if row is None
            else FolderState(row.mailbox, row.folder, row.uidvalidity, row.last_uid)
        )

    def save_batch(
        self,
        state: FolderState,
        records: Sequence[MessageRecord],
        quarantined: Sequence[Quarantined],
    ) -> int:
        """Store records (ignoring Message-IDs this mailbox already has), quarantine the rest,
        and set the folder state, all in one transaction. Returns how many records were new."""
        now = self._clock()
        with self._engine.begin() as conn:
            new = self._insert_messages(conn, records, now)
            if quarantined:
                conn.execute(insert(quarantine), [rows.quarantine_row(q, now) for q in quarantined])
            self._put_folder_state(conn, state)
        return new

    def _insert_messages(
        self, conn: Connection, records: Sequence[MessageRecord], now: datetime
    ) -> int:
        if not records:
            return 0
        stmt = (
            self._insert(messages)
            .on_conflict_do_nothing(index_elements=[messages.c.mailbox, messages.c.message_id])
            .returning(messages.c.id)
        )
        return len(conn.execute(stmt, [rows.message_row(r, now) for r in records]).all())

    def _put_folder_state(self, conn: Connection, state: FolderState) -> None:
        stmt = self._insert(folder_state).values(
            mailbox=state.mailbox,
            folder=state.folder,
            uidvalidity=state.uidvalidity,
            last_uid=state.last_uid,
        )
        stmt = stmt.on_conflict_do_update(
            index_elements=[folder_state.c.mailbox, folder_state.c.folder],
            set_={"uidvalidity": stmt.excluded.uidvalidity, "last_uid": stmt.excluded.last_uid},
        )
        conn.execute(stmt)

    def forget_folder(self, mailbox: str, folder: str) -> None:
        """Drop the folder's read position (after a UIDVALIDITY change); stored messages stay."""
        with self._engine.begin() as conn:
            conn.execute(
                delete(folder_state).where(
                    folder_state.c.mailbox == mailbox, folder_state.c.folder == folder
                )
            )

    def known_message_ids(self, mailbox: str, message_ids: Iterable[str]) -> set[str]:
        wanted = sorted(set(message_ids))
        found: set[str] = set()
        with self._engine.begin() as conn:
            for chunk in rows.chunks(wanted):
                query = select(messages.c.message_id).where(
                    messages.c.mailbox == mailbox, messages.c.message_id.in_(chunk)
                )
                found.update(conn.scalars(query))
        return found

    def orders_by_message_id(self, message_ids: Iterable[str]) -> dict[str, str]:
        """For each given Message-ID already stored and threaded, the order it belongs to."""
        wanted = sorted(set(message_ids))
        found: dict[str, str] = {}
        with self._engine.begin() as conn:
            for chunk in rows.chunks(wanted):
                query = select(messages.c.message_id, messages.c.order_id).where(
                    messages.c.message_id.in_(chunk), messages.c.order_id.is_not(None)
                )
                found.update({row.message_id: row.order_id for row in conn.execute(query)})
        return found

    def message_count(self, mailbox: str | None = None) -> int:
        query = select(func.count()).select_from(messages)
        if mailbox is not None:
            query = query.where(messages.c.mailbox == mailbox)
        with self._engine.begin() as conn:
            return int(conn.scalar(query) or 0)

    def messages_for_order(self, order_id: str) -> list[MessageRecord]:
        """The order's conversation, oldest first (undated messages last, in arrival order)."""
        query = (
            select(messages)
            .where(messages.c.order_id == order_id)
            .order_by(messages.c.date.is_(None), messages.c.date, messages.c.id)
        )
        with self._engine.begin() as conn:
            return [rows.message_record(row) for row in conn.execute(query)]

    def quarantined(self, mailbox: str | None = None) -> list[Quarantined]:
        query = select(quarantine).order_by(quarantine.c.id)
        if mailbox is not None:
            query = query.where(quarantine.c.mailbox == mailbox)
        with self._engine.begin() as conn:
            return [
                Quarantined(r.mailbox, r.folder, r.uid, r.reason, bytes(r.raw))
                for r in conn.execute(query)
            ]
