"""The Store contract, run over SQLite and a real PostgreSQL (the `store` fixture)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.exc import IntegrityError

from bot.adapters.store import SqlStore
from bot.adapters.store.tables import metadata
from bot.core.model import Contact, Direction, Intent, Kind, Order, OrderStatus, Understanding
from bot.errors import OrderLookupError
from bot.ports import FolderState, MessageRecord, Quarantined, Store

T0 = datetime(2025, 3, 1, 9, 30, tzinfo=UTC)


def order(order_id: str = "PO-1", **changes: object) -> Order:
    values: dict[str, object] = {
        "order_id": order_id,
        "customer_email": "buyer@acme.test",
        "customer_name": "Acme",
        "amount": Decimal("12500.00"),
        "currency": "EUR",
        "due_date": date(2025, 3, 31),
        "language": "de",
        "country": "DE",
        "timezone": "Europe/Berlin",
        "mailbox": "sales",
    }
    values.update(changes)
    return Order(**values)  # type: ignore[arg-type]


def record(
    n: int, *, order_id: str | None = None, mailbox: str = "sales", **changes: object
) -> MessageRecord:
    values: dict[str, object] = {
        "mailbox": mailbox,
        "folder": "INBOX",
        "uid": n,
        "message_id": f"m{n}@acme.test",
        "direction": Direction.IN,
        "subject": f"Re: PO-1 ({n})",
        "sender": "buyer@acme.test",
        "recipients": ("sales@example.test", "cc@example.test"),
        "date": T0 + timedelta(hours=n),
        "in_reply_to": f"m{n - 1}@acme.test" if n > 1 else None,
        "references": tuple(f"m{i}@acme.test" for i in range(max(1, n - 10), n)),
        "text": "We will pay next week.\n" * 20,
        "order_id": order_id,
        "match_reason": "References",
        "understanding": Understanding(
            Kind.HUMAN, Intent.PROMISE, "en", date(2025, 3, 10), "PO-1", "We will pay next week."
        ),
    }
    values.update(changes)
    return MessageRecord(**values)  # type: ignore[arg-type]


STATE = FolderState("sales", "INBOX", uidvalidity=7, last_uid=10)


def test_sqlstore_is_a_store(store: SqlStore) -> None:
    contract: Store = store
    assert contract.folder_state("sales", "INBOX") is None


def test_migrations_create_exactly_the_tables(store: SqlStore) -> None:
    with store.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        assert compare_metadata(context, metadata) == []


def test_save_batch_is_idempotent_on_message_id(store: SqlStore) -> None:
    store.upsert_orders([order()])
    batch = [record(1, order_id="PO-1"), record(2), record(2)]  # a duplicate inside the batch too
    assert store.save_batch(STATE, batch, []) == 2
    assert store.save_batch(STATE, batch, []) == 0
    assert store.save_batch(STATE, [record(2), record(3)], []) == 1
    assert store.message_count("sales") == 3
    assert store.save_batch(STATE, [record(2, mailbox="support")], []) == 1  # per mailbox
    assert store.message_count() == 4
    assert store.known_message_ids("sales", ["m1@acme.test", "m3@acme.test", "m9@acme.test"]) == {
        "m1@acme.test",
        "m3@acme.test",
    }
    assert store.known_message_ids("support", ["m1@acme.test"]) == set()


def test_save_batch_is_one_transaction(store: SqlStore) -> None:
    bad = record(2, order_id="NO-SUCH-ORDER")  # violates the foreign key
    with pytest.raises(IntegrityError):
        store.save_batch(STATE, [record(1), bad], [Quarantined("sales", "INBOX", 3, "x", b"raw")])
    assert store.message_count() == 0
    assert store.quarantined() == []
    assert store.folder_state("sales", "INBOX") is None


def test_folder_state_moves_and_can_be_forgotten(store: SqlStore) -> None:
    assert store.folder_state("sales", "INBOX") is None
    store.save_batch(STATE, [], [])
    assert store.folder_state("sales", "INBOX") == STATE
    later = FolderState("sales", "INBOX", uidvalidity=7, last_uid=2**40)
    store.save_batch(later, [record(1)], [])
    assert store.folder_state("sales", "INBOX") == later
    assert store.folder_state("sales", "Sent") is None
    store.forget_folder("sales", "INBOX")
    assert store.folder_state("sales", "INBOX") is None
    assert store.message_count() == 1


def test_orders_by_message_id_only_threaded(store: SqlStore) -> None:
    store.upsert_orders([order("PO-1"), order("PO-2")])
    store.save_batch(STATE, [record(1, order_id="PO-1"), record(2, order_id="PO-2"), record(3)], [])
    ids = [f"m{i}@acme.test" for i in range(1, 5)]
    assert store.orders_by_message_id(ids) == {"m1@acme.test": "PO-1", "m2@acme.test": "PO-2"}
    assert store.orders_by_message_id([]) == {}


def test_many_ids_are_chunked(store: SqlStore) -> None:
    store.upsert_orders([order()])
    store.save_batch(STATE, [record(i, order_id="PO-1") for i in range(1, 1201)], [])
    ids = [f"m{i}@acme.test" for i in range(1, 2001)]
    assert len(store.orders_by_message_id(ids)) == 1200
    assert len(store.known_message_ids("sales", ids)) == 1200


def test_messages_round_trip_oldest_first(store: SqlStore) -> None:
    store.upsert_orders([order()])
    berlin = timezone(timedelta(hours=1))
    early = record(
        5,
        order_id="PO-1",
        date=datetime(2025, 2, 1, 10, 0, tzinfo=berlin),
        understanding=None,
        direction=Direction.OUT,
    )
    undated = record(6, order_id="PO-1", date=None)
    store.save_batch(STATE, [record(3, order_id="PO-1"), undated, early, record(4)], [])
    history = store.messages_for_order("PO-1")
    assert [m.uid for m in history] == [5, 3, 6]
    assert history[0].date == datetime(2025, 2, 1, 9, 0, tzinfo=UTC)
    assert history[0].date.tzinfo is not None and history[0].understanding is None
    assert history[0].direction is Direction.OUT
    assert history[1] == record(3, order_id="PO-1")
    assert store.messages_for_order("PO-9") == []


def test_text_postgresql_would_refuse_is_cleaned(store: SqlStore) -> None:
    odd = record(1, text="nul\x00here \udcff", subject="x" * 5000, sender="s" * 400 + "@x.test")
    assert store.save_batch(STATE, [odd], []) == 1
    assert store.message_count() == 1


def test_quarantine_keeps_raw_bytes(store: SqlStore) -> None:
    raw = bytes(range(256)) + b"\r\n\x00Subject: =?bogus?=\r\n"
    store.save_batch(
        STATE, [], [Quarantined("sales", "INBOX", 9, "MessageParseError: no headers", raw)]
    )
    assert store.quarantined() == [
        Quarantined("sales", "INBOX", 9, "MessageParseError: no headers", raw)
    ]
    assert store.quarantined("support") == []


def test_upsert_orders_updates_never_duplicates(store: SqlStore) -> None:
    assert store.upsert_orders([order("PO-1"), order("PO-2", amount=Decimal("1234.567"))]) == (2, 0)
    store.set_order_status("PO-1", OrderStatus.PAID, reason="bank statement")
    changed = order("PO-1", amount=Decimal("13000.5"), due_date=None, customer_name="Acme KG")
    assert store.upsert_orders([changed, order("PO-3", customer_email="other@x.test")]) == (1, 1)
    got = store.get_order("PO-1")
    assert got.amount == Decimal("13000.50") and str(got.amount) == "13000.50"
    assert got.due_date is None and got.customer_name == "Acme KG"
    assert got.status is OrderStatus.PAID  # an import never resets a status
    assert store.get_order("PO-2").amount == Decimal("1234.567")
    assert [o.order_id for o in store.list_orders()] == ["PO-1", "PO-2", "PO-3"]
    assert [o.order_id for o in store.list_orders(OrderStatus.PAID)] == ["PO-1"]


def test_get_order_unknown(store: SqlStore) -> None:
    with pytest.raises(OrderLookupError, match="PO-404"):
        store.get_order("PO-404")


def test_open_orders_excludes_settled(store: SqlStore) -> None:
    store.upsert_orders(
        [
            order("PO-1", due_date=date(2025, 5, 1)),
            order("PO-2", due_date=date(2025, 4, 1)),
            order("PO-3"),
            order("PO-4"),
            order("PO-5", due_date=None),
            order("PO-6"),
        ]
    )
    store.set_order_status("PO-3", OrderStatus.PAID, reason="paid")
    store.set_order_status("PO-4", OrderStatus.CANCELLED, reason="cancelled")
    store.set_order_status("PO-6", OrderStatus.PAUSED, reason="phone call")
    found = store.open_orders()
    assert [o.order_id for o in found] == ["PO-6", "PO-2", "PO-1", "PO-5"]
    assert found[0].status is OrderStatus.PAUSED


def test_status_change_is_audited(store: SqlStore) -> None:
    store.upsert_orders([order()])
    store.set_order_status("PO-1", OrderStatus.PAUSED, reason="talking on the phone")
    store.audit("draft.held", order_id="PO-1", detail="waiting for approval")
    trail = store.audit_log("PO-1")
    assert [(a.event, a.detail) for a in trail] == [
        ("order.status", "open -> paused: talking on the phone"),
        ("draft.held", "waiting for approval"),
    ]
    assert trail[0].at.tzinfo is not None
    with pytest.raises(OrderLookupError):
        store.set_order_status("PO-404", OrderStatus.PAID, reason="x")
    assert len(store.audit_log()) == 3  # import summary + the two above; none for PO-404


def test_contacts_belong_to_the_customer(store: SqlStore) -> None:
    store.upsert_orders([order("PO-1"), order("PO-2")])
    assert store.add_contact("Buyer@acme.test", Contact("finance@acme.test", "Finance", "finance"))
    assert not store.add_contact(
        "buyer@acme.test", Contact("finance@acme.test", "Finance", "finance")
    )
    assert store.get_order("PO-2").contacts == (Contact("finance@acme.test", "Finance", "finance"),)
    with pytest.raises(OrderLookupError):
        store.add_contact("nobody@x.test", Contact("a@x.test"))


def test_reopen_keeps_data(store_url: str) -> None:
    with SqlStore.open(store_url) as first:
        first.upsert_orders([order()])
    with SqlStore.open(store_url) as second:
        assert second.get_order("PO-1").amount == Decimal("12500.00")


def test_save_batch_in_many_batches_keeps_every_message(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The ingest path: thousands of messages in batches, folder state moving with each batch.

    (Speed is measured by bench/ingest.py, not here.)"""
    url = f"sqlite:///{tmp_path_factory.mktemp('many') / 'many.db'}"
    with SqlStore.open(url) as store:
        records = [record(i) for i in range(1, 4001)]
        for first in range(0, len(records), 250):
            state = FolderState("sales", "INBOX", 1, first + 250)
            store.save_batch(state, records[first : first + 250], [])
        assert store.message_count() == 4000
        assert store.folder_state("sales", "INBOX") == FolderState("sales", "INBOX", 1, 4000)
