"""`dunbot simulate`: replay stored conversations under rules, without writing the store."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from itertools import pairwise
from pathlib import Path

from typer.testing import CliRunner

from bot.adapters.store import SqlStore
from bot.cli import app
from bot.core.decision import events_from_records
from bot.core.model import Direction, Intent
from bot.paths import DEFAULT_RULES_DIR
from bot.services.simulate import replay
from tests.test_tick import RULES, berlin, order, record, silent_order


def test_replay_walks_the_ladder_day_by_day() -> None:
    orders = [order("PO-1")]
    history = {"PO-1": events_from_records([record("PO-1", berlin(3, 2, 10))])}
    out = replay(
        orders,
        history,
        RULES,
        since=berlin(3, 2, 0),
        until=berlin(4, 30, 0),
        default_tz="Europe/Berlin",
    )
    mails = [h for h in out if h.action == "follow_up"]
    assert [h.rule_id for h in mails] == [s.id for s in RULES.ladder]  # each step once, in order
    gaps = [b.at - a.at for a, b in pairwise(mails)]
    assert all(g >= timedelta(days=3) for g in gaps)  # the minimum gap holds
    assert out[-1].rule_id == "ladder-finished"


def test_replay_merges_one_customers_orders_and_stops_on_paid() -> None:
    orders = [order("PO-1"), order("PO-2")]
    paid = record(
        "PO-2", berlin(3, 20, 9), Direction.IN, intent=Intent.PAID, sender="buyer@acme.example"
    )
    history = {
        "PO-1": events_from_records([record("PO-1", berlin(3, 2, 10))]),
        "PO-2": events_from_records([record("PO-2", berlin(3, 2, 10)), paid]),
    }
    out = replay(
        orders,
        history,
        RULES,
        since=berlin(3, 2, 0),
        until=berlin(4, 10, 0),
        default_tz="Europe/Berlin",
    )
    first = next(h for h in out if h.action == "follow_up")
    assert first.order_ids == ("PO-1", "PO-2")
    stop = next(h for h in out if "PO-2" in h.order_ids and h.action == "stop")
    assert stop.at >= berlin(3, 20, 9)
    assert not [h for h in out if "PO-2" in h.order_ids and h.at > stop.at]


def test_simulate_command_prints_a_timeline_and_writes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "dunbot.db"
    config = tmp_path / "dunbot.yaml"
    rules = tmp_path / "rules"
    shutil.copytree(DEFAULT_RULES_DIR, rules)
    text = (rules / "default.yaml").read_text(encoding="utf-8")
    (rules / "default.yaml").write_text(text.replace("after: 3d", "after: 8d", 1), "utf-8")
    config.write_text(f"database: sqlite:///{db}\ntimezone: Europe/Berlin\n", encoding="utf-8")
    with SqlStore.open(f"sqlite:///{db}") as store:
        silent_order(store, "PO-1")
        audit_before = len(store.audit_log())
    runner = CliRunner()
    args = ["--config", str(config), "simulate", "--since", "2026-03-02", "--until", "2026-03-31"]
    default = runner.invoke(app, [*args, "--json"])
    assert default.exit_code == 0, default.output
    tried = runner.invoke(app, [*args, "--json", "--rules", str(rules)])
    assert tried.exit_code == 0, tried.output
    first = [h for h in json.loads(default.output)["happenings"] if h["action"] == "follow_up"]
    later = [h for h in json.loads(tried.output)["happenings"] if h["action"] == "follow_up"]
    assert first[0]["rule_id"] == later[0]["rule_id"] == "friendly-check-in"
    assert later[0]["at"] > first[0]["at"]  # the slower ladder waits longer
    human = runner.invoke(app, args)
    assert "order PO-1 (buyer@acme.example)" in human.output
    assert "follow_up friendly-check-in" in human.output
    with SqlStore.open(f"sqlite:///{db}") as store:
        assert len(store.audit_log()) == audit_before and store.list_drafts() == []
