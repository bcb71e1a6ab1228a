"""Planning-tick benchmark: one tick over N open orders when few (or none) are due.

    python bench/tick.py [--n 100000] [--due 10] [--rounds 5] [--pg URL] [--no-pg] [--no-sqlite]

Fills a fresh store with N open orders (5 per customer, countries CN DE US ES FR GB SG BR JP
TR, one order mail 10 days old each, the rest due in 1..30 days), then measures `run_tick`
(bot.services.tick, the real policy, templates and drafts) in `rounds` rounds: each round
marks `due` fresh orders due and times one tick (they get a ladder step drafted), then times a
tick right after it when nothing is due. SQLite in a temp folder; PostgreSQL on `--pg URL`, or
a private server started with tests/pgserver.py (needs PostgreSQL installed; root runs it as
the postgres user). Target: < 1 s per tick when few are due. Prints median and worst.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, update

from bot.adapters.scheduler import load_ruleset
from bot.adapters.store import SqlStore
from bot.adapters.store.tables import customers, messages, orders
from bot.adapters.templates import SandboxedRenderer
from bot.config import Config
from bot.paths import DEFAULT_RULES_DIR, DEFAULT_TEMPLATES_DIR
from bot.services.tick import TickReport, run_tick

COUNTRIES = ("CN", "DE", "US", "ES", "FR", "GB", "SG", "BR", "JP", "TR")
LANGUAGES = {"CN": "zh", "DE": "de", "ES": "es", "FR": "fr", "BR": "es"}
NOW = datetime(2026, 3, 11, 11, 0, tzinfo=UTC)  # a Wednesday, mid-month: steps may go out
CHUNK = 5000


def config(url: str) -> Config:
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


def fill(store: SqlStore, n: int) -> None:
    """N open orders, none due before NOW + 1 day, each with one order mail sent 10 days ago."""
    ncust = max(n // 5, 1)
    sent = NOW - timedelta(days=10)
    with store.engine.begin() as conn:
        custs = [
            {"id": i + 1, "email": f"b{i}@c{i}.example", "name": f"C{i}", "domain": f"c{i}.example"}
            for i in range(ncust)
        ]
        _insert(conn, customers, custs)
        rows = [_order(i, ncust) for i in range(n)]
        _insert(conn, orders, rows)
        mails = [
            {
                "mailbox": "sales",
                "folder": "Sent",
                "uid": i + 1,
                "message_id": f"<m{i}@supplier.example>",
                "direction": "out",
                "subject": f"Proforma invoice PO-{i}",
                "sender": "alice.chen@supplier.example",
                "recipients": f"b{i % ncust}@c{i % ncust}.example",
                "date": sent,
                "in_reply_to": None,
                "references": "",
                "text": "Please find the proforma invoice attached.",
                "order_id": f"PO-{i}",
                "match_reason": "bench",
                "stored_at": sent,
            }
            for i in range(n)
        ]
        _insert(conn, messages, mails)


def _order(i: int, ncust: int) -> dict[str, Any]:
    country = COUNTRIES[i % len(COUNTRIES)]
    return {
        "order_id": f"PO-{i}",
        "customer_id": i % ncust + 1,
        "amount": Decimal("1250.00"),
        "currency": "USD",
        "due_date": None,
        "status": "open",
        "language": LANGUAGES.get(country, "en"),
        "country": country,
        "timezone": None,
        "mailbox": "sales",
        "created_at": NOW - timedelta(days=12),
        "updated_at": NOW - timedelta(days=12),
        "next_due_at": NOW + timedelta(days=1 + i % 30),
    }


def _insert(conn: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    for k in range(0, len(rows), CHUNK):
        conn.execute(insert(table), rows[k : k + CHUNK])


def make_due(store: SqlStore, first: int, count: int) -> None:
    """Orders PO-first .. PO-(first+count-1) are due at the next tick."""
    ids = [f"PO-{i}" for i in range(first, first + count)]
    with store.engine.begin() as conn:
        conn.execute(update(orders).where(orders.c.order_id.in_(ids)).values(next_due_at=None))


def timed(fn: Callable[[], TickReport]) -> tuple[float, TickReport]:
    start = time.perf_counter()
    report = fn()
    return time.perf_counter() - start, report


def bench(label: str, url: str, n: int, due: int, rounds: int) -> None:
    store = SqlStore.open(url)
    try:
        start = time.perf_counter()
        fill(store, n)
        print(f"{label}: filled {n} open orders in {time.perf_counter() - start:.1f} s")
        rules = load_ruleset(DEFAULT_RULES_DIR)
        renderer = SandboxedRenderer(DEFAULT_TEMPLATES_DIR)
        cfg = config(url)
        store.commit_watermark(n + 1)  # the order mails are old news
        run_tick(store, rules, renderer, cfg, now=NOW - timedelta(days=30))  # rules fingerprint
        few: list[float] = []
        none: list[float] = []
        for r in range(rounds):
            # Order i belongs to customer i % (n // 5): each due order is another customer.
            make_due(store, r * due, due)
            now = NOW + timedelta(minutes=r)
            dt, report = timed(partial(run_tick, store, rules, renderer, cfg, now=now))
            few.append(dt)
            print(f"  round {r + 1}: {due} due: {dt * 1000:.0f} ms ({report.summary()})")
            later = now + timedelta(seconds=30)
            dt, report = timed(partial(run_tick, store, rules, renderer, cfg, now=later))
            none.append(dt)
            print(f"  round {r + 1}: none due: {dt * 1000:.1f} ms ({report.summary()})")
        print(
            f"{label} N={n}: tick with {due} due: median {statistics.median(few) * 1000:.0f} ms, "
            f"worst {max(few) * 1000:.0f} ms; nothing due: median "
            f"{statistics.median(none) * 1000:.1f} ms, worst {max(none) * 1000:.1f} ms"
        )
    finally:
        store.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--n", type=int, default=100_000, help="open orders")
    ap.add_argument("--due", type=int, default=10, help="orders due in each measured tick")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--pg", help="a PostgreSQL URL (an empty database); default: private server")
    ap.add_argument("--no-pg", action="store_true")
    ap.add_argument("--no-sqlite", action="store_true")
    args = ap.parse_args()
    if not args.no_sqlite:
        url = f"sqlite:///{tempfile.mkdtemp(prefix='dunbot-bench-')}/tick.db"
        bench("sqlite", url, args.n, args.due, args.rounds)
    if args.no_pg:
        return
    if args.pg:
        bench("postgresql", args.pg, args.n, args.due, args.rounds)
        return
    from tests.pgserver import PgServer

    server = PgServer.start()
    try:
        bench("postgresql", server.create_database(), args.n, args.due, args.rounds)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
