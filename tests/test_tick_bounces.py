"""Never send to a dead address: the tick keeps what bounced, the next follow-up skips it, nobody
left means an alert to the salesperson and no draft; a reply from the address clears it; the
command line shows and clears flags; `sync --now` dates the audit trail by the simulated time."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.adapters.store import SqlStore
from bot.cli import app
from bot.core.decision import Action
from bot.core.model import Contact, Direction, Draft, DraftStatus, Intent, Kind, Understanding
from bot.ports import MessageRecord
from tests.test_tick import add_messages, berlin, order, record, tick

BUYER, FINANCE = "buyer@acme.example", "finance@acme.example"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    with SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}") as s:
        yield s


def bounce(order_id: str, at: datetime, recipient: str) -> MessageRecord:
    base = record(order_id, at, Direction.IN, sender="mailer-daemon@mx.acme.example")
    u = Understanding(Kind.BOUNCE, Intent.NONE, "en", None, None, "", recipient, "5.1.1")
    return replace(base, understanding=u, subject="Undelivered Mail Returned to Sender")


def human(order_id: str, at: datetime, sender: str) -> MessageRecord:
    return record(order_id, at, Direction.IN, intent=Intent.QUESTION, sender=sender)


def start(store: SqlStore, order_id: str, email: str, finance: str | None = None) -> None:
    """An order due Tuesday 10 March whose proforma invoice went out on Monday 2 March."""
    store.upsert_orders([order(order_id, email, due_date=date(2026, 3, 10))])
    if finance:
        store.add_contact(email, Contact(finance, "Accounts", "finance"))
    add_messages(store, record(order_id, berlin(3, 2, 10)))


def walk(store: SqlStore, start_at: datetime, end: datetime) -> list[Draft]:
    """Tick every hour; each draft is sent at once (as an approver would)."""
    made: list[Draft] = []
    now = start_at
    while now < end:
        now += timedelta(hours=1)
        report = tick(store, now)
        assert report.errors == []
        for d in report.drafts:
            store.set_draft_status(d.draft_id, DraftStatus.SENT, reason="sent", at=now)
            made.append(d)
    return made


def test_after_the_finance_address_bounced_the_next_follow_up_goes_to_the_buyer_only(
    store: SqlStore,
) -> None:
    start(store, "PO-1", BUYER, FINANCE)
    start(store, "PO-2", "buyer@beta.example", "finance@beta.example")  # the same, no bounce
    dsn = bounce("PO-1", berlin(3, 2, 10) + timedelta(minutes=3), "Finance@Acme.example")
    add_messages(store, dsn)
    report = tick(store, berlin(3, 2, 12))
    assert (report.decisions["PO-1"].flag_contact or "").lower() == FINANCE
    assert report.decisions["PO-1"].action is Action.ESCALATE and report.drafts == []
    (flagged,) = store.bounced_contacts(BUYER)
    assert (flagged.email, flagged.status, flagged.message_id) == (FINANCE, "5.1.1", dsn.message_id)
    assert flagged.bounced_at == dsn.date
    # The salesperson writes to the buyer herself; then the rules go on, never to finance.
    add_messages(store, record("PO-1", berlin(3, 3, 9)))
    drafts = walk(store, berlin(3, 3, 9), berlin(3, 10, 18))
    mine = [d for d in drafts if "PO-1" in d.order_ids]
    assert mine and all(FINANCE not in (*d.to, *d.cc) for d in mine)
    (reminder,) = [d for d in mine if d.rule_id == "due-date-reminder"]
    assert reminder.to == (BUYER,)  # the rule names buyer and finance
    assert f"not to {FINANCE} (bounced)" in reminder.reason
    (control,) = [d for d in drafts if d.order_ids == ("PO-2",) and d.rule_id == reminder.rule_id]
    assert control.to == ("buyer@beta.example", "finance@beta.example")
    flags = [e for e in store.audit_log("PO-1") if e.event == "contact.bounced"]
    assert [e.detail for e in flags] == [FINANCE]  # once, however often it was planned


def test_when_every_address_bounced_the_salesperson_is_told_and_nothing_is_drafted(
    store: SqlStore,
) -> None:
    start(store, "PO-1", BUYER)
    start(store, "PO-2", BUYER)
    add_messages(store, bounce("PO-1", berlin(3, 2, 10) + timedelta(minutes=3), BUYER))
    tick(store, berlin(3, 2, 12))
    assert store.bounced_addresses(BUYER) == {BUYER}
    report = tick(store, berlin(3, 10, 10))  # PO-2's due-date reminder is due
    assert report.drafts == [] and store.list_drafts() == []
    decision = report.decisions["PO-2"]
    assert decision.action is Action.ESCALATE
    (told,) = [a for a in decision.alerts if a.to == "salesperson"]
    assert "every address of this customer bounced (buyer@acme.example)" in told.why
    alerts = [e for e in store.audit_log("PO-2") if e.event == "alert.salesperson"]
    assert len(alerts) == 1 and "add a working contact" in alerts[0].detail
    assert "alice.chen@supplier.example" in alerts[0].detail  # the salesperson's address
    assert store.next_due("PO-2") == berlin(3, 13, 10).astimezone(UTC)  # looked at again later
    # A person says the address works: the next tick writes to it.
    assert store.clear_bounced("PO-2", BUYER, by="alice", now=berlin(3, 10, 11))
    (draft,) = tick(store, berlin(3, 10, 12)).drafts
    assert draft.order_ids == ("PO-2",) and draft.to == (BUYER,)


def test_a_new_contact_takes_over_when_the_buyer_bounced(store: SqlStore) -> None:
    start(store, "PO-1", BUYER)
    start(store, "PO-2", BUYER)
    add_messages(store, bounce("PO-1", berlin(3, 2, 10) + timedelta(minutes=3), BUYER))
    tick(store, berlin(3, 2, 12))
    store.add_contact(BUYER, Contact(FINANCE, "Accounts", "finance"))
    (draft,) = tick(store, berlin(3, 10, 10)).drafts
    assert draft.order_ids == ("PO-2",) and draft.to == (FINANCE,)


def test_a_waiting_draft_of_another_order_to_the_bounced_address_is_replanned(
    store: SqlStore,
) -> None:
    start(store, "PO-1", BUYER, FINANCE)
    start(store, "PO-2", BUYER)
    promise = human("PO-1", berlin(3, 3, 9), BUYER)  # PO-1 waits: "we pay by 20 March"
    assert promise.understanding is not None
    u = replace(promise.understanding, intent=Intent.PROMISE, date=date(2026, 3, 20))
    add_messages(store, replace(promise, understanding=u))
    walk(store, berlin(3, 2, 10), berlin(3, 9, 18))
    (waiting,) = tick(store, berlin(3, 10, 10)).drafts  # not approved yet
    assert waiting.order_ids == ("PO-2",) and FINANCE in waiting.to  # the same customer's
    add_messages(store, bounce("PO-1", berlin(3, 10, 10) + timedelta(minutes=30), FINANCE))
    report = tick(store, berlin(3, 10, 11))
    assert report.superseded == 1 and report.drafts == []
    gone = store.get_draft(waiting.draft_id)
    assert gone.status is DraftStatus.SUPERSEDED
    (again,) = tick(store, berlin(3, 10, 12)).drafts
    assert again.order_ids == ("PO-2",) and again.to == (BUYER,)


def test_importing_the_order_again_with_a_working_address_needs_nothing_else(
    store: SqlStore,
) -> None:
    start(store, "PO-1", BUYER)
    add_messages(store, bounce("PO-1", berlin(3, 2, 10) + timedelta(minutes=3), BUYER))
    tick(store, berlin(3, 2, 12))
    add_messages(store, record("PO-1", berlin(3, 3, 9)))  # the salesperson calls, then writes
    assert tick(store, berlin(3, 10, 10)).drafts == []  # the reminder would go to nobody
    store.upsert_orders([order("PO-1", "ap@acme.example", due_date=date(2026, 3, 10))])
    (draft,) = tick(store, berlin(3, 10, 11)).drafts
    assert draft.to == ("ap@acme.example",)


def test_a_human_message_from_the_bounced_address_clears_it(store: SqlStore) -> None:
    start(store, "PO-1", BUYER, FINANCE)
    add_messages(store, bounce("PO-1", berlin(3, 2, 10) + timedelta(minutes=3), FINANCE))
    tick(store, berlin(3, 2, 12))
    assert store.bounced_addresses(BUYER) == {FINANCE}
    add_messages(store, human("PO-1", berlin(3, 4, 9), "Finance@Acme.example"))
    tick(store, berlin(3, 4, 10))
    assert store.bounced_addresses(BUYER) == frozenset()
    working = [e for e in store.audit_log("PO-1") if e.event == "contact.working"]
    assert len(working) == 1 and working[0].at == berlin(3, 4, 10)
    tick(store, berlin(3, 4, 11))  # the old bounce, planned again, does not flag it again
    assert store.bounced_addresses(BUYER) == frozenset()


def test_every_audit_entry_of_the_tick_is_dated_by_its_now(store: SqlStore) -> None:
    start(store, "PO-1", BUYER)
    add_messages(store, bounce("PO-1", berlin(3, 2, 10) + timedelta(minutes=3), BUYER))
    now = berlin(3, 2, 12)
    tick(store, now)
    by_tick = [e for e in store.audit_log("PO-1") if e.event != "order.status"]
    assert {e.event for e in by_tick} >= {"plan.decision", "contact.bounced", "alert.manager"}
    assert {e.at for e in by_tick} == {now.astimezone(UTC)}


# --- the command line ------------------------------------------------------------------------


CONFIG = "database: sqlite:///dunbot.db\ntimezone: Europe/Berlin\n"
CSV = (
    "order_id,customer_email,customer_name,amount,currency,due_date,country\n"
    "PO-7,buyer@acme.example,Acme,100.00,EUR,2026-03-10,DE\n"
)


def test_cli_sync_now_dates_the_audit_and_orders_show_and_unbounce(tmp_path: Path) -> None:
    config = tmp_path / "dunbot.yaml"
    config.write_text(CONFIG, encoding="utf-8")
    (tmp_path / "orders.csv").write_text(CSV, encoding="utf-8")

    def dunbot(*args: str) -> str:
        result = CliRunner().invoke(app, ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return result.stdout

    dunbot("orders", "import", str(tmp_path / "orders.csv"))
    dunbot("sync", "--once", "--now", "2031-03-04T05:06:00+01:00")
    shown = json.loads(dunbot("orders", "show", "PO-7", "--json"))
    planned = [a for a in shown["audit"] if a["event"] == "plan.decision"]
    assert planned and all(a["at"] == "2031-03-04T04:06:00+00:00" for a in planned)
    assert shown["bounced"] == []

    with SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}") as store:
        at = datetime(2031, 3, 4, 4, 30, tzinfo=UTC)
        store.flag_bounced(
            BUYER, BUYER, order_id="PO-7", bounced_at=at, message_id="d@mx", status="5.1.1"
        )
    shown = json.loads(dunbot("orders", "show", "PO-7", "--json"))
    assert [(b["email"], b["status"], b["message_id"]) for b in shown["bounced"]] == [
        (BUYER, "5.1.1", "d@mx")
    ]
    assert "bounced: buyer@acme.example (5.1.1)" in dunbot("orders", "show", "PO-7")
    assert "works again" in dunbot("orders", "unbounce", "PO-7", "Buyer@Acme.example")
    assert json.loads(dunbot("orders", "show", "PO-7", "--json"))["bounced"] == []
    again = CliRunner().invoke(app, ["--config", str(config), "orders", "unbounce", "PO-7", BUYER])
    assert again.exit_code == 2 and "is not flagged as bounced" in again.output
