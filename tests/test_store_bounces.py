"""Bounced addresses in the store (migration 0005), on SQLite and PostgreSQL: flag once per
bounce, clear when the address writes again or by hand; audit entries dated by the caller."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from bot.adapters.store import SqlStore
from bot.core.model import Contact, DraftStatus, Intent, Kind, OrderStatus, Understanding
from bot.errors import OrderLookupError
from bot.ports import FolderState
from bot.services.tick import run_tick
from tests.test_store import order, record
from tests.test_tick import RENDERER, RULES, make_config
from tests.test_tick import order as tick_order
from tests.test_tick import record as tick_record

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)
FIN = "finance@acme.test"


def flag(store: SqlStore, at: datetime = T0, **kw: object) -> bool:
    values: dict[str, object] = {
        "order_id": "PO-1",
        "bounced_at": at,
        "message_id": "dsn1@mx.acme.test",
        "status": "5.1.1",
        "now": at + timedelta(minutes=5),
    }
    values.update(kw)
    return store.flag_bounced("Buyer@Acme.test", "Finance@Acme.test", **values)  # type: ignore[arg-type]


def with_finance(store: SqlStore) -> None:
    store.upsert_orders([order("PO-1"), order("PO-2")])
    store.add_contact("buyer@acme.test", Contact(FIN, "Fin", "finance"))


def human_from(store: SqlStore, n: int, sender: str, at: datetime, kind: Kind = Kind.HUMAN) -> None:
    u = Understanding(kind, Intent.QUESTION, "en", None, "PO-2", "Is the invoice right?")
    msg = replace(record(n, order_id="PO-2"), sender=sender, date=at, understanding=u)
    store.save_batch(FolderState("sales", "INBOX", 7, n), [msg], [])


def test_migration_0005_creates_the_table(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0005"
        columns = {c["name"] for c in inspect(conn).get_columns("bounced_contacts")}
    assert {"customer_id", "email", "order_id", "message_id", "status", "cleared_at"} <= columns


def test_flag_is_idempotent_and_keeps_the_dsn(store: SqlStore) -> None:
    with_finance(store)
    assert flag(store) is True
    assert flag(store) is False  # the same bounce planned again
    assert flag(store, T0 + timedelta(hours=1), message_id="dsn2@mx") is False  # still flagged
    (b,) = store.bounced_contacts("buyer@acme.test")
    assert (b.email, b.order_id, b.status) == (FIN, "PO-1", "5.1.1")
    assert b.message_id == "dsn2@mx" and b.bounced_at == T0 + timedelta(hours=1)  # the newest
    assert b.flagged_at == T0 + timedelta(minutes=5)
    assert store.bounced_addresses("BUYER@acme.test") == {FIN}
    log = [e for e in store.audit_log("PO-1") if e.event == "contact.bounced"]
    assert [(e.detail, e.at) for e in log] == [(FIN, T0 + timedelta(minutes=5))]


def test_flag_for_an_unknown_customer(store: SqlStore) -> None:
    with pytest.raises(OrderLookupError):
        store.flag_bounced("nobody@x.test", FIN, order_id=None, bounced_at=T0)


def test_a_human_message_after_the_bounce_clears_the_flag(store: SqlStore) -> None:
    with_finance(store)
    flag(store)
    human_from(store, 1, FIN, T0 - timedelta(hours=1))  # before the bounce: no sign of life
    human_from(store, 2, FIN, T0 + timedelta(hours=1), kind=Kind.AUTO_REPLY)  # a machine
    human_from(store, 3, "buyer@acme.test", T0 + timedelta(hours=2))  # someone else
    assert store.revive_contacts("buyer@acme.test", now=T0 + timedelta(days=1)) == []
    human_from(store, 4, "Finance@Acme.test", T0 + timedelta(hours=3))
    later = T0 + timedelta(days=1)
    assert store.revive_contacts("buyer@acme.test", now=later) == [FIN]
    assert store.bounced_contacts("buyer@acme.test") == []
    (working,) = [e for e in store.audit_log("PO-2") if e.event == "contact.working"]
    assert working.at == later and "m4@acme.test" in working.detail
    assert store.revive_contacts("buyer@acme.test", now=later) == []  # nothing left to clear
    # The bounce it was cleared of, planned again, changes nothing; a newer bounce flags again.
    assert flag(store) is False and store.bounced_addresses("buyer@acme.test") == set()
    assert flag(store, T0 + timedelta(days=2), message_id="dsn3@mx") is True
    assert store.bounced_addresses("buyer@acme.test") == {FIN}


def test_clear_by_hand_plans_the_customers_open_orders_again(store: SqlStore) -> None:
    with_finance(store)
    store.set_order_status("PO-2", OrderStatus.PAID, reason="test")
    for order_id in ("PO-1", "PO-2"):
        store.set_next_due(order_id, T0 + timedelta(days=30))
    flag(store)
    when = T0 + timedelta(days=1)
    assert store.clear_bounced("PO-1", " FINANCE@acme.test", by="alice", now=when) is True
    assert store.bounced_contacts("buyer@acme.test") == []
    assert store.next_due("PO-1") is None
    assert store.next_due("PO-2") == T0 + timedelta(days=30)  # paid: stays asleep
    (entry,) = [e for e in store.audit_log("PO-1") if e.event == "contact.working"]
    assert entry.at == when and entry.detail == f"{FIN} cleared by alice"
    assert store.clear_bounced("PO-1", FIN, by="alice") is False  # not flagged (any more)
    with pytest.raises(OrderLookupError):
        store.clear_bounced("PO-404", FIN, by="alice")


def test_flags_belong_to_one_customer(store: SqlStore) -> None:
    with_finance(store)
    store.upsert_orders([order("PO-9", customer_email="other@else.test")])
    flag(store)
    assert store.bounced_addresses("other@else.test") == frozenset()
    store.flag_bounced("other@else.test", FIN, order_id="PO-9", bounced_at=T0)
    assert store.bounced_addresses("other@else.test") == {FIN}
    store.clear_bounced("PO-9", FIN, by="test")
    assert store.bounced_addresses("buyer@acme.test") == {FIN}  # still flagged for Acme


def test_audit_and_status_changes_take_the_callers_time(store: SqlStore) -> None:
    """`sync --now` replays: the store dates what it is told, its clock only otherwise."""
    store.upsert_orders([order("PO-1")])
    then = datetime(2031, 1, 2, 3, 4, tzinfo=UTC)
    store.audit("plan.decision", order_id="PO-1", detail="x", at=then)
    store.set_order_status("PO-1", OrderStatus.PAUSED, reason="test", at=then + timedelta(hours=1))
    store.audit("plan.decision", order_id="PO-1", detail="wall clock")
    log = store.audit_log("PO-1")
    assert [e.at for e in log[:2]] == [then, then + timedelta(hours=1)]
    assert abs(log[2].at - datetime.now(UTC)) < timedelta(minutes=5)


def test_draft_status_takes_the_callers_time(store: SqlStore) -> None:
    store.upsert_orders([tick_order("PO-1")])
    sent = tick_record("PO-1", datetime(2026, 3, 2, 9, tzinfo=UTC))
    store.save_batch(FolderState("sales", "Sent", 1, sent.uid), [sent], [])
    now = datetime(2026, 3, 6, 11, tzinfo=UTC)
    (draft,) = run_tick(store, RULES, RENDERER, make_config(), now=now).drafts
    store.set_draft_status(draft.draft_id, DraftStatus.REJECTED, reason="no", at=now)
    entries = [e for e in store.audit_log("PO-1") if e.event in {"plan.decision", "draft.status"}]
    assert entries and all(e.at == now for e in entries)
