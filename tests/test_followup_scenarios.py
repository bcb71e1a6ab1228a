"""Scenarios: simulated weeks walked hour by hour through `run_tick` on a real SQLite store.

Each draft the tick makes is taken as approved and sent at that hour (the store's clock is the
walk's clock), as the approval work would; customers' messages arrive at their hour. Also: the
plan service agrees with the tick, and a catch-up step moves the ladder on from where it was.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path

import holidays
import pytest

from bot.adapters.store import SqlStore
from bot.core.model import (
    Direction,
    Draft,
    DraftStatus,
    Intent,
    Kind,
    OrderStatus,
    Understanding,
)
from bot.ports import FolderState, MessageRecord
from bot.services.plan import plan_order
from bot.services.tick import TickReport, run_tick
from tests.test_tick import BERLIN, CONFIG, RENDERER, RULES, berlin, order, record

LADDER = [s.id for s in RULES.ladder]
DE_HOLIDAYS = holidays.country_holidays("DE", years=2026)


@dataclass
class Walk:
    """A store whose clock is the walk's clock, and every draft made so far."""

    store: SqlStore
    now: datetime = field(default_factory=lambda: berlin(3, 2, 10))
    drafts: list[Draft] = field(default_factory=list)
    sent_at: dict[str, datetime] = field(default_factory=dict)
    last: TickReport = field(default_factory=TickReport)

    def until(self, end: datetime, *, send: bool = True) -> list[Draft]:
        """Tick every hour up to `end`; each new draft is sent at once when `send`."""
        made: list[Draft] = []
        while self.now < end:
            self.now += timedelta(hours=1)
            report = run_tick(self.store, RULES, RENDERER, CONFIG, now=self.now)
            assert report.errors == []
            self.last = report
            for d in report.drafts:
                made.append(d)
                if send:
                    self.store.set_draft_status(d.draft_id, DraftStatus.SENT, reason="sent")
                    self.sent_at[d.draft_id] = self.now
        self.drafts += made
        return made

    def receive(self, *records: MessageRecord) -> None:
        self.store.save_batch(FolderState("sales", "INBOX", 1, 10**6), records, [])


@pytest.fixture
def walk(tmp_path: Path) -> Iterator[Walk]:
    box: list[Walk] = []
    with SqlStore.open(f"sqlite:///{tmp_path / 'dunbot.db'}", clock=lambda: box[0].now) as store:
        box.append(Walk(store))
        yield box[0]


def inbound(
    order_id: str,
    at: datetime,
    intent: Intent = Intent.NONE,
    *,
    kind: Kind = Kind.HUMAN,
    on: date | None = None,
    language: str = "de",
    bounce_recipient: str | None = None,
) -> MessageRecord:
    base = record(order_id, at, Direction.IN, sender="buyer@acme.example")
    u = Understanding(kind, intent, language, on, order_id, "...", bounce_recipient)
    return replace(base, understanding=u)


def start(walk: Walk, *order_ids: str) -> None:
    """Orders of one customer whose proforma invoice went out on Monday 2 March, 10:00."""
    walk.store.upsert_orders([order(o) for o in order_ids])
    walk.store.save_batch(
        FolderState("sales", "Sent", 1, 10**6), [record(o, berlin(3, 2, 10)) for o in order_ids], []
    )


def allowed_day(day: date) -> bool:
    """A German working day, not the first of its week, not the 1st or 2nd of the month."""
    monday = day - timedelta(days=day.weekday())
    week = [monday + timedelta(days=k) for k in range(7)]
    first = next(d for d in week if DE_HOLIDAYS.is_working_day(d))
    return DE_HOLIDAYS.is_working_day(day) and day != first and day.day > 2


def assert_spaced(times: Sequence[datetime]) -> None:
    local = sorted(t.astimezone(BERLIN) for t in times)
    for a, b in pairwise(local):
        assert (b.date() - a.date()).days >= 3, (a, b)
    weeks: dict[tuple[int, int], int] = {}
    for t in local:
        key = (t.isocalendar()[0], t.isocalendar()[1])
        weeks[key] = weeks.get(key, 0) + 1
    assert max(weeks.values(), default=0) <= 2


def test_german_customer_silent_for_weeks_gets_the_ladder_then_the_manager(walk: Walk) -> None:
    start(walk, "PO-1")
    walk.until(berlin(5, 15, 10))
    assert [d.rule_id for d in walk.drafts] == LADDER
    times = [walk.sent_at[d.draft_id] for d in walk.drafts]
    for t in times:
        local = t.astimezone(BERLIN)
        assert allowed_day(local.date()), local
        assert time(10) <= local.time() < time(17), local
    assert_spaced(times)
    last = walk.drafts[-1]
    assert "boss@supplier.example" in (*last.to, *last.cc)  # the manager is in the loop
    finished = [e for e in walk.store.audit_log("PO-1") if e.event == "alert.manager"]
    assert any("ladder steps sent" in e.detail for e in finished)


def test_a_promise_waits_for_its_date_then_checks_in_the_next_business_day(walk: Walk) -> None:
    start(walk, "PO-1")
    # Wednesday 4 March: "we pay by Thursday 12 March"
    walk.receive(inbound("PO-1", berlin(3, 4, 9), Intent.PROMISE, on=date(2026, 3, 12)))
    assert walk.until(berlin(3, 13, 9)) == []
    (check_in,) = walk.until(berlin(3, 13, 18))
    assert check_in.rule_id == "promise-check-in"
    assert walk.sent_at[check_in.draft_id] == berlin(3, 13, 10)  # Friday, the day after


def test_an_out_of_office_pauses_the_ladder_until_the_return_date(walk: Walk) -> None:
    start(walk, "PO-1")
    away = inbound(
        "PO-1", berlin(3, 2, 10) + timedelta(minutes=5), kind=Kind.AUTO_REPLY, on=date(2026, 3, 20)
    )
    walk.receive(away)
    assert walk.until(berlin(3, 24, 18)) == []  # back on Friday 20 March: 3 business days
    first = walk.until(berlin(3, 25, 18))
    assert [d.rule_id for d in first] == ["friendly-check-in"]
    assert walk.sent_at[first[0].draft_id] == berlin(3, 25, 10)


def test_paid_stops_at_once_even_a_pending_draft(walk: Walk) -> None:
    start(walk, "PO-1")
    (pending,) = walk.until(berlin(3, 5, 12), send=False)
    walk.receive(inbound("PO-1", berlin(3, 5, 12) + timedelta(minutes=30), Intent.PAID))
    assert walk.until(berlin(4, 30, 12)) == []
    assert walk.store.get_draft(pending.draft_id).status is DraftStatus.SUPERSEDED
    assert walk.store.get_order("PO-1").status is OrderStatus.CLAIMED_PAID
    assert any(e.event == "alert.salesperson" for e in walk.store.audit_log("PO-1"))


def test_a_bounce_flags_the_contact_and_alerts(walk: Walk) -> None:
    start(walk, "PO-1")
    bounce = inbound(
        "PO-1",
        berlin(3, 2, 10) + timedelta(minutes=2),
        kind=Kind.BOUNCE,
        bounce_recipient="buyer@acme.example",
    )
    walk.receive(bounce)
    assert walk.until(berlin(3, 3, 12)) == []  # nothing to the customer: a person acts
    log = walk.store.audit_log("PO-1")
    assert [e.detail for e in log if e.event == "contact.bounced"] == ["buyer@acme.example"]
    assert {"alert.salesperson", "alert.manager"} <= {e.event for e in log}


def test_cash_flow_is_answered_with_the_instalment_offer(walk: Walk) -> None:
    walk.store.upsert_orders([order("PO-1", language="en")])
    walk.store.save_batch(
        FolderState("sales", "Sent", 1, 10**6), [record("PO-1", berlin(3, 2))], []
    )
    reply = inbound("PO-1", berlin(3, 4, 9), Intent.CASH_FLOW, language="en")
    walk.receive(reply)
    (answer,) = walk.until(berlin(3, 4, 12))
    assert answer.rule_id == "answer-cash-flow" and answer.template == "answer-cash-flow"
    assert "instalments" in answer.body and answer.subject.startswith("Re:")
    assert answer.in_reply_to == reply.message_id
    assert walk.sent_at[answer.draft_id] == berlin(3, 4, 10)  # promptly, in the window


def test_two_orders_of_one_customer_get_one_voice(walk: Walk) -> None:
    start(walk, "PO-1", "PO-2")
    walk.until(berlin(3, 27, 18))
    assert len(walk.drafts) >= 3
    for d in walk.drafts:
        assert set(d.order_ids) == {"PO-1", "PO-2"}
        assert "PO-1" in d.body and "PO-2" in d.body
    assert [d.rule_id for d in walk.drafts] == LADDER[: len(walk.drafts)]
    assert_spaced([walk.sent_at[d.draft_id] for d in walk.drafts])


def test_plan_agrees_with_the_tick_hour_by_hour(walk: Walk) -> None:
    """`dunbot plan` reads what the tick reads (sibling orders, sent and pending drafts), so its
    decision for an order is the tick's, every hour of three weeks with merged mail and a due
    date."""
    start(walk, "PO-1", "PO-2")
    walk.store.upsert_orders([order("PO-3", due_date=date(2026, 3, 20))])
    walk.store.save_batch(
        FolderState("sales", "Sent", 1, 10**6), [record("PO-3", berlin(3, 3))], []
    )
    compared: list[str] = []
    while walk.now < berlin(3, 31, 18):
        at = walk.now + timedelta(hours=1)
        planned = {
            o: plan_order(walk.store, RULES, o, now=at, default_tz=CONFIG.timezone, audit=False)
            for o in ("PO-1", "PO-2", "PO-3")
        }
        walk.until(at)
        for o, decision in walk.last.decisions.items():
            assert planned[o] == decision, (o, at)
            compared.append(decision.rule_id)
    assert {"friendly-check-in", "slot-release-warning", "due-date-reminder"} <= set(compared)
    assert any(len(d.order_ids) == 2 for d in walk.drafts)


def test_after_a_catch_up_the_ladder_goes_on_from_the_step_sent(walk: Walk) -> None:
    """Down until Thursday 19 March: only step 3 is proposed (1 and 2 came due meanwhile). Once
    it is sent, the next proposal is step 4: the sent draft's rule id places the ladder, not a
    count of our mails (which would say step 2)."""
    start(walk, "PO-1")
    walk.now = berlin(3, 19, 11)
    (catch_up,) = walk.until(berlin(3, 19, 12))
    assert catch_up.rule_id == LADDER[2] and "came due but never went out" in catch_up.reason
    for plan_at in (berlin(3, 20, 12), berlin(3, 27, 12)):
        d = plan_order(walk.store, RULES, "PO-1", now=plan_at, default_tz="UTC", audit=False)
        assert d.rule_id == LADDER[3], d.reason
    # The copy read back from the Sent folder carries no rule id of its own: still step 4.
    copy = replace(record("PO-1", walk.sent_at[catch_up.draft_id]), message_id=catch_up.message_id)
    walk.store.save_batch(FolderState("sales", "Sent", 1, 10**6), [copy], [])
    (step4,) = walk.until(berlin(3, 27, 18))
    assert step4.rule_id == LADDER[3]
    assert walk.sent_at[step4.draft_id] == berlin(3, 26, 10)  # 5 business days after the 19th
