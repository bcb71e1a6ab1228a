"""The planning tick on a real store: due orders, drafts, merging, staleness, catch-up, rules."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.adapters.scheduler import RulesReloader, load_ruleset
from bot.adapters.store import SqlStore
from bot.adapters.templates import SandboxedRenderer
from bot.config import Config
from bot.core.model import (
    Contact,
    Direction,
    DraftStatus,
    Intent,
    Kind,
    Order,
    OrderStatus,
    Understanding,
)
from bot.core.ruleset import Ruleset
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR
from bot.ports import FolderState, MessageRecord
from bot.services.tick import FAR_FUTURE, TickReport, run_tick

BERLIN = ZoneInfo("Europe/Berlin")
RULES = load_ruleset(DEFAULT_RULES_DIR)
RENDERER = SandboxedRenderer(DEFAULT_TEMPLATES_DIR)
_uid = iter(range(1, 1_000_000))


def make_config(url: str = "sqlite:///unused.db") -> Config:
    server = {"host": "127.0.0.1", "port": 143, "security": "none"}
    return Config.model_validate(
        {
            "database": url,
            "timezone": "Europe/Berlin",
            "mailboxes": [
                {
                    "name": "sales",
                    "address": "alice.chen@supplier.example",
                    "imap": server,
                    "smtp": server,
                    "manager": "boss@supplier.example",
                }
            ],
        }
    )


CONFIG = make_config()


def berlin(month: int, day: int, hour: int = 11) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=BERLIN)


def order(order_id: str, email: str = "buyer@acme.example", **kw: object) -> Order:
    base: dict[str, object] = {
        "order_id": order_id,
        "customer_email": email,
        "customer_name": "Acme GmbH",
        "amount": Decimal("5000.00"),
        "currency": "EUR",
        "due_date": None,
        "country": "DE",
        "language": "de",
        "mailbox": "sales",
    }
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def record(
    order_id: str,
    at: datetime,
    direction: Direction = Direction.OUT,
    *,
    intent: Intent = Intent.OTHER,
    sender: str = "alice.chen@supplier.example",
    subject: str | None = None,
) -> MessageRecord:
    n = next(_uid)
    inbound = direction is Direction.IN
    return MessageRecord(
        mailbox="sales",
        folder="INBOX" if inbound else "Sent",
        uid=n,
        message_id=f"m{n}@{'acme' if inbound else 'supplier'}.example",
        direction=direction,
        subject=subject or f"Proforma invoice {order_id}",
        sender=sender,
        recipients=("buyer@acme.example",),
        date=at,
        in_reply_to=None,
        references=(),
        text="...",
        order_id=order_id,
        match_reason="test",
        understanding=Understanding(Kind.HUMAN, intent, "de", None, order_id, "...")
        if inbound
        else None,
    )


def add_messages(store: SqlStore, *records: MessageRecord) -> None:
    store.save_batch(FolderState("sales", "Sent", 1, max(r.uid for r in records)), records, [])


def tick(store: SqlStore, now: datetime, ruleset: Ruleset = RULES) -> TickReport:
    return run_tick(store, ruleset, RENDERER, CONFIG, now=now)


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlStore]:
    with SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}") as s:
        yield s


def silent_order(store: SqlStore, order_id: str, email: str = "buyer@acme.example") -> None:
    store.upsert_orders([order(order_id, email)])
    add_messages(store, record(order_id, berlin(3, 2, 10)))


# --- the store's part, on SQLite and PostgreSQL --------------------------------------------------


def test_due_orders_indexed_query(store: SqlStore) -> None:
    now = datetime(2026, 3, 10, 12, tzinfo=UTC)
    store.upsert_orders([order("PO-1"), order("PO-2"), order("PO-3")])
    store.set_order_status("PO-3", OrderStatus.PAID, reason="test")
    assert set(store.due_orders(now).order_ids) == {"PO-1", "PO-2"}  # new: never planned
    store.set_next_due("PO-1", now + timedelta(days=2))
    store.set_next_due("PO-2", now - timedelta(minutes=1))
    due = store.due_orders(now)
    assert due.order_ids == ("PO-2",)
    store.commit_watermark(due.watermark)
    add_messages(store, record("PO-1", berlin(3, 9)))  # news on PO-1: due again
    due = store.due_orders(now)
    assert set(due.order_ids) == {"PO-1", "PO-2"}
    store.commit_watermark(due.watermark)
    store.set_next_due("PO-2", FAR_FUTURE)
    assert store.due_orders(now).order_ids == ()
    store.set_order_status("PO-1", OrderStatus.PAUSED, reason="test")
    store.set_order_status("PO-1", OrderStatus.OPEN, reason="resumed")  # a change: plan again
    assert store.due_orders(now).order_ids == ("PO-1",)


def test_due_query_uses_the_index(sqlite_store: SqlStore) -> None:
    with sqlite_store.engine.connect() as conn:
        plan = conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN SELECT order_id FROM orders WHERE next_due_at <= '2026-01-01'"
        ).all()
    assert any("ix_orders_next_due_at" in str(row) for row in plan), plan


def test_one_pending_draft_per_order_is_a_database_rule(store: SqlStore) -> None:
    silent_order(store, "PO-1")
    report = run_tick(store, RULES, RENDERER, CONFIG, now=berlin(3, 6, 12))
    (draft,) = report.drafts
    twin = replace(draft, draft_id="x", message_id="x@supplier.example")
    assert store.add_draft(twin) is False
    store.set_draft_status(draft.draft_id, DraftStatus.REJECTED, reason="test")
    assert store.add_draft(twin) is True
    assert [d.draft_id for d in store.list_drafts([DraftStatus.PENDING])] == ["x"]
    assert store.get_draft("x").to == draft.to


# --- the tick ------------------------------------------------------------------------------------


def test_one_draft_per_due_order_threaded_to_the_customer_only(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    silent_order(store, "PO-2", "buyer@other.example")
    store.add_contact("buyer@acme.example", Contact("finance@acme.example", "F", "finance"))
    report = tick(store, berlin(3, 6, 12))
    assert len(report.drafts) == 2
    draft = next(d for d in report.drafts if d.order_ids == ("PO-1",))
    last = store.messages_for_order("PO-1")[-1]
    assert draft.subject == "Re: Proforma invoice PO-1"
    assert draft.in_reply_to == last.message_id
    assert draft.references == (last.message_id,)
    assert draft.to == ("buyer@acme.example",)  # the first step goes to the buyer only
    assert draft.message_id.endswith("@supplier.example")
    assert draft.language == "de" and draft.rule_id == "friendly-check-in"
    assert "PO-1" in draft.body and "Alice Chen" in draft.body
    assert draft.status is DraftStatus.PENDING
    assert store.next_due("PO-1") == berlin(3, 9, 12).astimezone(UTC)  # stale limit: re-check
    events = [e.event for e in store.audit_log("PO-1")]
    assert "plan.decision" in events and "draft.created" in events
    detail = json.loads(
        next(e.detail for e in store.audit_log("PO-1") if e.event == "plan.decision")
    )
    assert detail["action"] == "follow_up" and detail["rule_id"] == "friendly-check-in"


def test_two_orders_of_one_customer_become_one_mail(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    store.upsert_orders([order("PO-2", amount=Decimal("1250.50"))])
    add_messages(store, record("PO-2", berlin(3, 2, 11)))
    early = tick(store, berlin(3, 6, 12))  # two mails on Mar 2 filled that week's cap
    assert early.drafts == []
    assert store.next_due("PO-1") == store.next_due("PO-2") == berlin(3, 10, 10)
    report = tick(store, berlin(3, 10, 10))
    (draft,) = report.drafts
    assert set(draft.order_ids) == {"PO-1", "PO-2"}
    assert "PO-1" in draft.body and "PO-2" in draft.body
    assert "6.250,50" in draft.body  # the total, written the German way
    linked = {o for o in ("PO-1", "PO-2") if store.drafts_for_order(o, [DraftStatus.PENDING])}
    assert linked == {"PO-1", "PO-2"}


def test_no_second_draft_while_one_is_pending(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    assert len(tick(store, berlin(3, 6, 12)).drafts) == 1
    store.set_next_due("PO-1", None)  # force a look: the pending draft holds it
    later = tick(store, berlin(3, 6, 15))
    assert later.drafts == [] and later.superseded == 0  # same rule: the draft stands
    assert store.next_due("PO-1") == berlin(3, 9, 12)
    assert len(store.list_drafts([DraftStatus.PENDING])) == 1


def test_stale_draft_is_superseded_and_replanned(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    (first,) = tick(store, berlin(3, 6, 12)).drafts
    report = tick(store, berlin(3, 10, 12))  # 4 days later, never approved
    assert report.superseded == 1 and len(report.drafts) == 1
    assert store.get_draft(first.draft_id).status is DraftStatus.SUPERSEDED
    assert report.drafts[0].message_id != first.message_id
    assert len(store.list_drafts([DraftStatus.PENDING])) == 1


def test_a_reply_supersedes_the_pending_draft_and_is_answered(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    (first,) = tick(store, berlin(3, 6, 12)).drafts
    add_messages(
        store,
        record(
            "PO-1",
            berlin(3, 6, 14),
            Direction.IN,
            intent=Intent.QUESTION,
            sender="buyer@acme.example",
            subject="Re: Proforma invoice PO-1",
        ),
    )
    report = tick(store, berlin(3, 6, 15))
    assert store.get_draft(first.draft_id).status is DraftStatus.SUPERSEDED
    (answer,) = report.drafts
    assert answer.rule_id == "answer-question"
    assert answer.in_reply_to == store.messages_for_order("PO-1")[-1].message_id


def test_a_late_arriving_reply_dated_earlier_still_supersedes(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    (first,) = tick(store, berlin(3, 6, 12)).drafts
    reply = record(
        "PO-1",
        berlin(
            3,
            6,
            11,
        ),
        Direction.IN,
        intent=Intent.CASH_FLOW,
        sender="buyer@acme.example",
    )
    add_messages(store, reply)  # written before the draft, read after it
    report = tick(store, berlin(3, 6, 13))
    assert store.get_draft(first.draft_id).status is DraftStatus.SUPERSEDED
    assert [d.rule_id for d in report.drafts] == ["answer-cash-flow"]


def test_sent_draft_moves_the_ladder_on(tmp_path: Path) -> None:
    sent_at = berlin(3, 6, 13)
    with SqlStore.open(f"sqlite:///{tmp_path / 'd.db'}", clock=lambda: sent_at) as store:
        silent_order(store, "PO-1")
        (first,) = tick(store, berlin(3, 6, 12)).drafts
        store.set_draft_status(first.draft_id, DraftStatus.SENT, reason="sent")
        # Not yet read back from Sent, yet it counts: no second check-in, step 2 waits its turn.
        assert tick(store, berlin(3, 10, 12)).drafts == []
        report = tick(store, berlin(3, 13, 12))
    assert [d.rule_id for d in report.drafts] == ["slot-release-warning"]


def test_catch_up_after_three_weeks_is_one_draft_not_a_burst(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    report = tick(store, berlin(3, 24, 12))  # down since before the first step was due
    (draft,) = report.drafts
    assert draft.rule_id != "friendly-check-in"
    assert "came due but never went out" in draft.reason
    again = tick(store, berlin(3, 24, 12) + timedelta(minutes=5))
    assert again.drafts == [] and len(store.list_drafts()) == 1


def test_paid_reply_stops_and_alerts(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    silent_order(store, "PO-1")
    add_messages(
        store,
        record(
            "PO-1", berlin(3, 4, 9), Direction.IN, intent=Intent.PAID, sender="buyer@acme.example"
        ),
    )
    report = tick(store, berlin(3, 4, 12))
    assert report.drafts == [] and report.stopped == 1
    assert store.get_order("PO-1").status is OrderStatus.CLAIMED_PAID
    alerts = [e for e in store.audit_log("PO-1") if e.event == "alert.salesperson"]
    assert alerts and "alice.chen@supplier.example" in alerts[0].detail
    assert tick(store, berlin(3, 20, 12)).planned == 0  # never anything after paid


def test_waiting_order_is_not_planned_before_its_time(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    store.upsert_orders([order("PO-1", due_date=date(2026, 4, 15))])
    add_messages(store, record("PO-1", berlin(3, 2, 10)))
    report = tick(store, berlin(3, 3, 12))
    assert report.drafts == [] and report.decisions["PO-1"].action.value == "follow_up"
    wake = store.next_due("PO-1")
    assert wake is not None and wake.date() >= date(2026, 4, 13)
    assert tick(store, berlin(3, 20, 12)).planned == 0  # not due: not even looked at


def test_rules_change_applies_at_the_next_tick(sqlite_store: SqlStore, tmp_path: Path) -> None:
    store, rules_dir = sqlite_store, tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    reloader = RulesReloader(rules_dir)
    _edit(rules_dir, "    after: 3d\n", "    after: 10d\n")
    silent_order(store, "PO-1")
    first = run_tick(store, reloader.current(), RENDERER, CONFIG, now=berlin(3, 6, 12))
    assert first.drafts == [] and first.decisions["PO-1"].action.value == "follow_up"
    assert tick(store, berlin(3, 6, 13), reloader.current()).planned == 0  # waits quietly
    _edit(rules_dir, "    after: 10d\n", "    after: 3d\n")
    second = run_tick(store, reloader.current(), RENDERER, CONFIG, now=berlin(3, 6, 14))
    assert [d.rule_id for d in second.drafts] == ["friendly-check-in"]
    assert any(e.event == "rules.changed" for e in store.audit_log())


def test_bad_rules_edit_keeps_the_last_good(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rules_dir = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules_dir)
    reloader = RulesReloader(rules_dir)
    good = reloader.current()
    _edit(rules_dir, "  weekly_cap: 2 ", "  weekly_cap: lots ")
    assert reloader.current() is good
    assert reloader.last_error is not None
    assert f"{rules_dir / 'default.yaml'}:" in reloader.last_error  # file:line
    assert "last good rules stay in force" in caplog.text
    _edit(rules_dir, "  weekly_cap: lots ", "  weekly_cap: 1 ")
    fixed = reloader.current()
    assert fixed is not good and fixed.calendar.weekly_cap == 1


def _edit(rules_dir: Path, old: str, new: str) -> None:
    path = rules_dir / "default.yaml"
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    stat = path.stat()  # a same-second edit must still look new
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_sync_once_ticks_and_queue_lists_the_draft(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from bot.cli import app

    db, config = tmp_path / "dunbot.db", tmp_path / "dunbot.yaml"
    config.write_text(f"database: sqlite:///{db}\ntimezone: Europe/Berlin\n", encoding="utf-8")
    with SqlStore.open(f"sqlite:///{db}") as store:
        silent_order(store, "PO-1")
    runner = CliRunner()
    base = ["--config", str(config)]
    synced = runner.invoke(app, [*base, "sync", "--once", "--now", "2026-03-06T12:00:00+01:00"])
    assert synced.exit_code == 0, synced.output
    assert "plan: planned 1 order(s): 1 draft(s)" in synced.output
    with SqlStore.open(f"sqlite:///{db}") as store:
        written = [e for e in store.audit_log() if not e.event.startswith("orders.")]
    assert written and {e.at for e in written} == {datetime(2026, 3, 6, 11, 0, tzinfo=UTC)}
    listed = runner.invoke(app, [*base, "queue", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    (row,) = json.loads(listed.output)
    assert row["order_ids"] == ["PO-1"] and row["to"] == ["buyer@acme.example"]
    assert row["rule_id"] == "friendly-check-in" and row["mode"] == "draft"
    assert row["subject"] == "Re: Proforma invoice PO-1"
    human = runner.invoke(app, [*base, "queue", "list"])
    assert row["draft_id"] in human.output and "friendly-check-in" in human.output
