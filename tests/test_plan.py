"""`dunbot plan` and the plan service over a real SQLite store."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from bot.adapters.store import SqlStore
from bot.cli import app
from bot.cli.plan import load_ruleset, parse_time
from bot.core.decision import Action
from bot.core.model import Direction, Intent, Kind, Order, OrderStatus, Understanding
from bot.errors import InputError
from bot.paths import DEFAULT_RULES_DIR
from bot.ports import FolderState, MessageRecord
from bot.services.plan import plan_open_orders, plan_order

BERLIN = ZoneInfo("Europe/Berlin")
runner = CliRunner()


def order(order_id: str, **kw: object) -> Order:
    base: dict[str, object] = {
        "order_id": order_id,
        "customer_email": "buyer@acme.example",
        "customer_name": "Acme GmbH",
        "amount": Decimal("5000.00"),
        "currency": "EUR",
        "due_date": None,
        "country": "DE",
        "language": "de",
    }
    base.update(kw)
    return Order(**base)  # type: ignore[arg-type]


def record(
    uid: int, order_id: str, direction: Direction, at: datetime, **kw: object
) -> MessageRecord:
    base: dict[str, object] = {
        "mailbox": "sales",
        "folder": "INBOX" if direction is Direction.IN else "Sent",
        "uid": uid,
        "message_id": f"{uid}@test",
        "direction": direction,
        "subject": f"PI {order_id}",
        "sender": "alice@supplier.example" if direction is Direction.OUT else "buyer@acme.example",
        "recipients": (),
        "date": at,
        "in_reply_to": None,
        "references": (),
        "text": "",
        "order_id": order_id,
        "match_reason": "test",
        "understanding": None,
    }
    base.update(kw)
    return MessageRecord(**base)  # type: ignore[arg-type]


@pytest.fixture
def db(tmp_path: Path) -> Iterator[tuple[SqlStore, Path]]:
    url = f"sqlite:///{tmp_path / 'dunbot.db'}"
    store = SqlStore.open(url)
    config = tmp_path / "dunbot.yaml"
    config.write_text(f"database: {url}\ntimezone: Asia/Shanghai\nrules: {DEFAULT_RULES_DIR}\n")
    store.upsert_orders(
        [
            order("PO-7"),
            order("PO-8", status=OrderStatus.PAID),
            order("PO-9", due_date=date(2026, 6, 1)),
        ]
    )
    state = FolderState("sales", "Sent", 1, 10)
    store.save_batch(
        state,
        [
            record(1, "PO-7", Direction.OUT, datetime(2026, 3, 2, 11, tzinfo=BERLIN)),
            record(2, "PO-9", Direction.OUT, datetime(2026, 3, 4, 15, tzinfo=BERLIN)),
        ],
        [],
    )
    try:
        yield store, config
    finally:
        store.close()


def test_plan_service_spaces_across_the_customers_orders_and_audits(
    db: tuple[SqlStore, Path],
) -> None:
    store, _ = db
    rules = load_ruleset(DEFAULT_RULES_DIR)
    d = plan_order(
        store, rules, "PO-7", now=datetime(2026, 3, 4, 12, tzinfo=BERLIN), default_tz="UTC"
    )
    assert d.action is Action.FOLLOW_UP and d.rule_id == "friendly-check-in"
    # PO-9's mail on Wednesday 15:00 keeps 3 days' distance; Monday is avoided: Tuesday 10 March
    assert d.at == datetime(2026, 3, 10, 10, tzinfo=BERLIN)
    entries = [e for e in store.audit_log("PO-7") if e.event == "plan.decision"]
    assert len(entries) == 1 and json.loads(entries[0].detail)["rule_id"] == "friendly-check-in"


def test_reliable_payer_signal_from_paid_orders(db: tuple[SqlStore, Path]) -> None:
    store, _ = db
    u = Understanding(Kind.HUMAN, Intent.CASH_FLOW, "de", None, "PO-7", "knapp bei Kasse")
    store.save_batch(
        FolderState("sales", "INBOX", 1, 20),
        [record(3, "PO-7", Direction.IN, datetime(2026, 3, 3, 9, tzinfo=BERLIN), understanding=u)],
        [],
    )
    rules = load_ruleset(DEFAULT_RULES_DIR)
    d = plan_order(
        store, rules, "PO-7", now=datetime(2026, 3, 3, 12, tzinfo=BERLIN), default_tz="UTC"
    )
    assert d.action is Action.ANSWER and d.template == "answer-cash-flow"
    assert any("reliable payer" in a.why for a in d.alerts)


def test_plan_cli_json(db: tuple[SqlStore, Path]) -> None:
    _, config = db
    result = runner.invoke(
        app, ["--config", str(config), "plan", "PO-7", "--at", "2026-03-04T12:00+01:00", "--json"]
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert out["action"] == "follow_up" and out["rule_id"] == "friendly-check-in"
    assert out["at"] == "2026-03-10T10:00:00+01:00"  # PO-9's mail on the 4th: spaced
    assert (
        out["template"] == "friendly-check-in"
        and out["language"] == "de"
        and out["mode"] == "draft"
    )
    assert out["reason"] and [h["rule_id"] for h in out["hits"]][:2] == ["order-closed", "bounce"]


def test_plan_cli_text_and_naive_time_in_config_zone(db: tuple[SqlStore, Path]) -> None:
    _, config = db
    result = runner.invoke(
        app, ["--config", str(config), "plan", "PO-9", "--at", "2026-03-10T09:00"]
    )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("order PO-9: follow_up at 2026-06-01T10:00:00+02:00")
    assert "HIT  due-date-reminder" in result.output


def test_plan_cli_closed_and_unknown_orders(db: tuple[SqlStore, Path]) -> None:
    _, config = db
    result = runner.invoke(app, ["--config", str(config), "plan", "PO-8", "--json"])
    assert result.exit_code == 0 and json.loads(result.output)["action"] == "none"
    result = runner.invoke(app, ["--config", str(config), "plan", "NOPE"])
    assert result.exit_code == 2 and "no order 'NOPE'" in result.output


def test_parse_time() -> None:
    assert parse_time("2026-03-04T12:00", "Europe/Berlin") == datetime(
        2026, 3, 4, 12, tzinfo=BERLIN
    )
    assert parse_time("2026-03-04T12:00Z", "Europe/Berlin").utcoffset() is not None
    with pytest.raises(InputError, match="ISO 8601"):
        parse_time("next tuesday", "UTC")


def test_plan_open_orders_skips_settled_ones(db: tuple[SqlStore, Path]) -> None:
    store, _ = db
    rules = load_ruleset(DEFAULT_RULES_DIR)
    now = datetime(2026, 3, 4, 12, tzinfo=BERLIN)
    planned = {o.order_id: d for o, d in plan_open_orders(store, rules, now=now, default_tz="UTC")}
    assert set(planned) == {"PO-7", "PO-9"}
    assert planned["PO-9"].rule_id == "due-date-reminder"
