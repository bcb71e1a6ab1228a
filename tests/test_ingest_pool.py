"""A big folder is parsed and understood by worker processes: same records as in one process."""

from __future__ import annotations

import pytest

from bot.services import ingest
from bot.services.ingest import Knowledge, sync_mailbox
from tests.test_ingest_service import NOW, SPEC, ListMailbox, MemoryStore, knowledge, mail

__all__ = ["knowledge"]  # the module-scoped fixture, shared


def mailbox() -> ListMailbox:
    box = ListMailbox()
    box.add("Sent", mail("ask@supplier.test", "Payment for PO-4711", "Dear Bob, PO-4711 is due.",
                         sender="alice@supplier.test", to="bob@buyer.test"))  # fmt: skip
    box.add("Sent", b"\r\n\r\n")
    for i in range(30):
        parent = "ask@supplier.test" if i == 0 else f"m{i - 1}@buyer.test"
        body = ["We paid PO-4711 today.", "We will pay next Friday.", "Wir zahlen morgen."][i % 3]
        box.add("INBOX", mail(f"m{i}@buyer.test", "Re: payment", body,
                              sender=f"x{i}@elsewhere.test", reply_to=parent if i % 2 else None))  # fmt: skip
    box.add("INBOX", b"X-Garbage: yes\r\n\r\nnot a message\r\n")
    return box


@pytest.mark.parametrize("workers", [2])
def test_pool_gives_the_same_records_quarantine_and_states(
    knowledge: Knowledge, monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    serial, pooled = MemoryStore(), MemoryStore()
    one = sync_mailbox(SPEC, mailbox(), serial, knowledge, now=NOW, batch_size=7, workers=1)
    monkeypatch.setattr(ingest, "POOL_MIN_MESSAGES", 1)
    many = sync_mailbox(SPEC, mailbox(), pooled, knowledge, now=NOW, batch_size=7, workers=workers)
    assert many.summary() == one.summary() == "31 new, 2 quarantined, 15 unmatched (33 fetched)"
    assert list(pooled.messages.items()) == list(serial.messages.items())
    assert pooled.quarantine == serial.quarantine
    assert pooled.states == serial.states
    understood = [r for r in pooled.messages.values() if r.understanding is not None]
    assert len(understood) == 30  # every INBOX message, none of Sent
