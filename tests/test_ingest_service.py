"""The ingest service over tiny real stand-ins for the Store and the Mailbox (no servers).

The integration tests (test_ingest_integration.py) run the same path over Dovecot and SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.adapters.rulefiles import read_rules_dir
from bot.core import understand
from bot.core.model import Direction, Order, OrderStatus, ParsedMessage, Understanding
from bot.core.understand import UnderstandingRules
from bot.paths import DEFAULT_RULES_DIR
from bot.ports import FetchedMessage, FolderState, MessageRecord, Quarantined
from bot.services import ingest
from bot.services.ingest import Knowledge, MailboxSpec, sync_mailbox

NOW = datetime(2026, 3, 5, 9, 0, tzinfo=UTC)
SPEC = MailboxSpec(name="sales", address="alice@supplier.test")
ORDER = Order(
    order_id="PO-4711", customer_email="bob@buyer.test", customer_name="Bob",
    amount=Decimal("1200.00"), currency="USD", due_date=None,
)


class MemoryStore:
    """bot.ports.Store in a few dicts: idempotent on (mailbox, Message-ID), like the SQL store."""

    def __init__(self, orders: Sequence[Order] = (ORDER,), *, fail_on_save: int | None = None) -> None:
        self.orders = {o.order_id: o for o in orders}
        self.states: dict[tuple[str, str], FolderState] = {}
        self.messages: dict[tuple[str, str], MessageRecord] = {}
        self.quarantine: list[Quarantined] = []
        self.saves = 0
        self.fail_on_save = fail_on_save

    def folder_state(self, mailbox: str, folder: str) -> FolderState | None:
        return self.states.get((mailbox, folder))

    def save_batch(self, state: FolderState, records: Sequence[MessageRecord], quarantined: Sequence[Quarantined]) -> int:
        self.saves += 1
        if self.saves == self.fail_on_save:
            raise RuntimeError("database went away")
        new = 0
        for r in records:
            if (r.mailbox, r.message_id) not in self.messages:
                self.messages[(r.mailbox, r.message_id)] = r
                new += 1
        self.quarantine.extend(quarantined)
        self.states[(state.mailbox, state.folder)] = state
        return new

    def known_message_ids(self, mailbox: str, message_ids: Iterable[str]) -> set[str]:
        return {m for m in message_ids if (mailbox, m) in self.messages}

    def orders_by_message_id(self, message_ids: Iterable[str]) -> dict[str, str]:
        wanted = set(message_ids)
        return {m.message_id: m.order_id for m in self.messages.values() if m.message_id in wanted and m.order_id}

    def open_orders(self) -> list[Order]:
        return [o for o in self.orders.values() if o.status is OrderStatus.OPEN]

    def get_order(self, order_id: str) -> Order:
        return self.orders[order_id]

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str) -> None:
        raise NotImplementedError

    def audit(self, event: str, *, order_id: str | None, detail: str) -> None:
        raise NotImplementedError


class ListMailbox:
    """bot.ports.Mailbox over lists of raw messages; UIDs count from 1 per folder."""

    def __init__(self) -> None:
        self.folders: dict[str, list[bytes]] = {"INBOX": [], "Sent": []}
        self.validity = {"INBOX": 7, "Sent": 8}
        self.fetched: list[int] = []

    def add(self, folder: str, raw: bytes) -> int:
        self.folders[folder].append(raw)
        return len(self.folders[folder])

    def uidvalidity(self, folder: str) -> int:
        return self.validity[folder]

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        return list(range(last_uid + 1, len(self.folders[folder]) + 1))

    def fetch(self, folder: str, uids: Sequence[int]) -> Iterator[FetchedMessage]:
        for uid in uids:
            self.fetched.append(uid)
            yield FetchedMessage(uid, self.folders[folder][uid - 1])

    def wait_for_news(self, folder: str, timeout: float) -> bool:
        return False


def mail(msgid: str, subject: str, body: str, *, sender: str = "bob@buyer.test",
         to: str = "alice@supplier.test", reply_to: str | None = None) -> bytes:
    head = [f"From: {sender}", f"To: {to}", f"Subject: {subject}", f"Message-ID: <{msgid}>",
            "Date: Tue, 03 Mar 2026 10:00:00 +0800", "Content-Type: text/plain; charset=utf-8"]
    if reply_to:
        head += [f"In-Reply-To: <{reply_to}>", f"References: <{reply_to}>"]
    return ("\r\n".join(head) + "\r\n\r\n" + body + "\r\n").encode()


@pytest.fixture(scope="module")
def knowledge() -> Knowledge:
    return Knowledge.from_docs(read_rules_dir(DEFAULT_RULES_DIR))


def run(box: ListMailbox, store: MemoryStore, knowledge: Knowledge, batch: int = 250) -> ingest.SyncReport:
    return sync_mailbox(SPEC, box, store, knowledge, now=NOW, batch_size=batch)


@pytest.mark.parametrize("batch", [1, 250])
def test_threads_a_reply_whether_its_parent_is_in_the_same_batch_or_an_earlier_one(
    knowledge: Knowledge, batch: int
) -> None:
    box, store = ListMailbox(), MemoryStore()
    box.add("Sent", mail("ask@supplier.test", "Payment for PO-4711", "Dear Bob, the deposit for PO-4711 is due.",
                         sender="alice@supplier.test", to="bob@buyer.test"))
    box.add("INBOX", mail("r1@buyer.test", "Re: hello", "We will pay next week.", sender="carol@elsewhere.test",
                          reply_to="ask@supplier.test"))
    box.add("INBOX", mail("r2@buyer.test", "Re: hello", "Paid today.", sender="dave@other.test",
                          reply_to="r1@buyer.test"))
    report = run(box, store, knowledge, batch)
    assert report.total("new") == 3
    sent = store.messages[("sales", "ask@supplier.test")]
    r1, r2 = store.messages[("sales", "r1@buyer.test")], store.messages[("sales", "r2@buyer.test")]
    assert sent.direction is Direction.OUT and sent.understanding is None
    assert r1.direction is Direction.IN and r1.understanding is not None
    # Sent is read first, so strangers replying to our mail (and to each other) thread to its order.
    assert sent.order_id == "PO-4711"
    assert r1.order_id == "PO-4711" and "ask@supplier.test" in r1.match_reason
    assert r2.order_id == "PO-4711" and "r1@buyer.test" in r2.match_reason


def test_reply_in_the_same_batch_as_its_parent_threads_to_the_parents_order(knowledge: Knowledge) -> None:
    box, store = ListMailbox(), MemoryStore()
    box.add("INBOX", mail("p@buyer.test", "About PO-4711", "When must we pay PO-4711?"))
    box.add("INBOX", mail("c@other.test", "Re: About", "Our finance team pays Friday.",
                          sender="finance@unrelated.test", reply_to="p@buyer.test"))
    report = run(box, store, knowledge)
    child = store.messages[("sales", "c@other.test")]
    assert store.messages[("sales", "p@buyer.test")].order_id == "PO-4711"
    assert child.order_id == "PO-4711"
    assert "p@buyer.test" in child.match_reason
    assert report.total("unmatched") == 0
    assert store.saves == 2  # one batch for INBOX, one empty state save for the new Sent folder


def test_second_pass_fetches_nothing_and_next_pass_only_new_uids(knowledge: Knowledge) -> None:
    box, store = ListMailbox(), MemoryStore()
    box.add("INBOX", mail("a@buyer.test", "PO-4711", "hello"))
    run(box, store, knowledge)
    box.fetched.clear()
    assert run(box, store, knowledge).total("fetched") == 0
    assert box.fetched == []
    box.add("INBOX", mail("b@buyer.test", "PO-4711", "again"))
    report = run(box, store, knowledge)
    assert box.fetched == [2] and report.total("new") == 1
    assert store.states[("sales", "INBOX")] == FolderState("sales", "INBOX", 7, 2)


def test_uidvalidity_change_rereads_the_folder_without_duplicates(knowledge: Knowledge) -> None:
    box, store = ListMailbox(), MemoryStore()
    for i in range(3):
        box.add("INBOX", mail(f"m{i}@buyer.test", "PO-4711", f"message {i}"))
    run(box, store, knowledge)
    box.validity["INBOX"] = 99
    box.add("INBOX", mail("m3@buyer.test", "PO-4711", "message 3"))
    box.fetched.clear()
    report = run(box, store, knowledge)
    assert box.fetched == [1, 2, 3, 4]
    assert report.folders[1].folder == "INBOX" and report.folders[1].resynced
    assert report.total("new") == 1
    assert len(store.messages) == 4
    assert store.states[("sales", "INBOX")] == FolderState("sales", "INBOX", 99, 4)


def test_unparseable_and_failing_messages_are_quarantined_and_the_pass_goes_on(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch
) -> None:
    box, store = ListMailbox(), MemoryStore()
    box.add("INBOX", b"\r\n\r\n")
    box.add("INBOX", mail("boom@buyer.test", "PO-4711", "this one makes classify fail"))
    box.add("INBOX", mail("ok@buyer.test", "PO-4711", "fine"))
    real_classify = understand.classify

    def classify(msg: ParsedMessage, rules: UnderstandingRules, *, received_at: datetime) -> Understanding:
        if msg.message_id == "boom@buyer.test":
            raise ValueError("rule exploded")
        return real_classify(msg, rules, received_at=received_at)

    monkeypatch.setattr(ingest, "classify", classify)
    report = run(box, store, knowledge)
    reasons = {q.uid: q.reason for q in store.quarantine}
    assert reasons[1].startswith("parse: ") and "empty" in reasons[1]
    assert reasons[2] == "understand: ValueError: rule exploded"
    assert store.quarantine[0].raw == b"\r\n\r\n"
    assert list(store.messages) == [("sales", "ok@buyer.test")]
    assert report.total("quarantined") == 2 and report.total("new") == 1
    assert store.states[("sales", "INBOX")].last_uid == 3


def test_a_crash_between_batches_keeps_what_was_saved_and_the_rerun_continues(knowledge: Knowledge) -> None:
    box = ListMailbox()
    for i in range(5):
        box.add("INBOX", mail(f"m{i}@buyer.test", "PO-4711", f"message {i}"))
    store = MemoryStore(fail_on_save=3)  # 1: the empty Sent folder, 2: uids 1-2, 3: uids 3-4
    with pytest.raises(RuntimeError):
        run(box, store, knowledge, batch=2)
    assert store.states[("sales", "INBOX")].last_uid == 2 and len(store.messages) == 2
    store.fail_on_save = None
    box.fetched.clear()
    report = run(box, store, knowledge, batch=2)
    assert box.fetched == [3, 4, 5] and report.total("new") == 3 and len(store.messages) == 5


def test_a_batch_also_ends_at_its_byte_budget(knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch) -> None:
    box, store = ListMailbox(), MemoryStore()
    for i in range(5):
        box.add("INBOX", mail(f"b{i}@buyer.test", "PO-4711", f"attachment {i} " + "x" * 2000))
    monkeypatch.setattr(ingest, "BATCH_BYTES", 4000)  # two of these messages, not 250
    report = run(box, store, knowledge)
    assert report.total("new") == 5 and store.states[("sales", "INBOX")].last_uid == 5
    assert store.saves == 1 + 3  # the empty Sent folder, then INBOX in batches of 2, 2 and 1


def test_mail_from_the_own_address_in_inbox_is_outgoing(knowledge: Knowledge) -> None:
    box, store = ListMailbox(), MemoryStore()
    box.add("INBOX", mail("self@supplier.test", "PO-4711 reminder", "note to self",
                          sender="Alice@Supplier.test", to="bob@buyer.test"))
    run(box, store, knowledge)
    record = store.messages[("sales", "self@supplier.test")]
    assert record.direction is Direction.OUT and record.understanding is None
    assert record.order_id == "PO-4711"
