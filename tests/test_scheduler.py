"""The scheduler runs the tick: a real BackgroundScheduler with its job store in SQLite."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import create_engine, inspect

from bot.adapters.scheduler import TickScheduler
from bot.adapters.store import SqlStore
from bot.core.model import DraftStatus
from bot.daemon import build_ticker
from tests.test_tick import make_config, silent_order


def wait_for(condition: Callable[[], bool], deadline: float = 20.0) -> bool:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_job_runs_repeatedly_and_never_overlaps(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    runs: list[float] = []
    active, overlapped = threading.Lock(), []

    def job() -> None:
        if not active.acquire(blocking=False):
            overlapped.append(True)
            return
        try:
            runs.append(time.monotonic())
        finally:
            active.release()

    scheduler = TickScheduler(url, job, minutes=0.2 / 60, job_id="test-repeat")
    scheduler.start()
    try:
        assert wait_for(lambda: len(runs) >= 3), f"only {len(runs)} run(s)"
    finally:
        scheduler.shutdown()
    assert not overlapped and not scheduler.running
    tables = inspect(create_engine(url)).get_table_names()
    assert "apscheduler_jobs" in tables  # the job store lives in the database


def test_scheduled_tick_writes_drafts(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'dunbot.db'}"
    config = make_config(url)
    as_of = datetime(2026, 3, 6, 11, tzinfo=UTC)
    with SqlStore.open(url) as store:
        silent_order(store, "PO-1")
        ticker = build_ticker(config, store)
        scheduler = TickScheduler(url, lambda: ticker(as_of), minutes=0.2 / 60, job_id="test-tick")
        scheduler.start()
        try:
            assert wait_for(lambda: bool(store.list_drafts([DraftStatus.PENDING])))
        finally:
            scheduler.shutdown()
        (draft,) = store.list_drafts()
        assert draft.order_ids == ("PO-1",)
        assert any(e.event == "plan.decision" for e in store.audit_log("PO-1"))


def test_daemon_runs_the_tick_on_its_scheduler(tmp_path: Path) -> None:
    from bot.daemon import Daemon, DaemonOptions, load_knowledge

    url = f"sqlite:///{tmp_path / 'dunbot.db'}"
    config = make_config(url).model_copy(update={"mailboxes": ()})  # no IMAP: only the tick
    as_of = datetime(2026, 3, 6, 11, tzinfo=UTC)
    with SqlStore.open(url) as store:
        silent_order(store, "PO-1")
        options = DaemonOptions(
            tick=build_ticker(config, store), tick_minutes=0.2 / 60, clock=lambda: as_of
        )
        daemon = Daemon(config, store, load_knowledge(config), options)
        daemon.start()
        try:
            assert wait_for(lambda: bool(store.list_drafts([DraftStatus.PENDING])))
        finally:
            daemon.stop()
        assert daemon._scheduler is not None and not daemon._scheduler.running
