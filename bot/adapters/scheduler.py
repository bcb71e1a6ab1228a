"""APScheduler (3.x) runs the planning tick; rules are re-read when their files change.

`TickScheduler` is a BackgroundScheduler with its job store in the configured database (the
`apscheduler_jobs` table, next to dunbot's own): one `tick` job every N minutes, coalesced (a
backlog of missed runs is one run), never two at once, and first run at start so a restart
catches up at once. The job calls a function the composition root hands in, nothing else.
APScheduler stores jobs by reference, so the stored job names `run_job` and a key, and the
process keeps the key -> function map.

`RulesReloader.current()` is called at each tick: when a rules file's mtime or size changed it
validates them again; a bad edit is logged with file:line and the last good rules stay in force.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.adapters.rulefiles import read_rules_dir
from bot.core.ruleset import Ruleset
from bot.errors import BotError

log = logging.getLogger(__name__)

_JOBS: dict[str, Callable[[], object]] = {}
_JOBS_LOCK = threading.Lock()
Fingerprint = tuple[tuple[str, int, int], ...]


def run_job(key: str) -> None:
    """The stored job's target: run the function registered under `key` in this process."""
    with _JOBS_LOCK:
        job = _JOBS.get(key)
    if job is None:
        log.warning("scheduler: no job %r registered in this process; skipped", key)
        return
    try:
        job()
    except Exception:  # a failed tick is logged; the next one runs as planned
        log.exception("scheduler: job %r failed", key)


class TickScheduler:
    """Runs `job` every `minutes` in a background thread, with its job store in `database_url`."""

    def __init__(
        self,
        database_url: str,
        job: Callable[[], object],
        *,
        minutes: float = 5.0,
        misfire_grace: int = 600,
        job_id: str = "tick",
    ) -> None:
        self.job_id, self._job, self._seconds = job_id, job, max(minutes * 60.0, 0.1)
        self._scheduler = BackgroundScheduler(
            jobstores={"default": SQLAlchemyJobStore(url=database_url)},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": misfire_grace,
            },
            timezone=UTC,
        )

    def start(self, *, first_run: datetime | None = None) -> None:
        """Register the job (replacing a stored one of the same id) and start the thread."""
        with _JOBS_LOCK:
            _JOBS[self.job_id] = self._job
        self._scheduler.add_job(
            run_job,
            "interval",
            seconds=self._seconds,
            args=[self.job_id],
            id=self.job_id,
            name=f"dunbot {self.job_id}",
            replace_existing=True,
            next_run_time=first_run or datetime.now(UTC),
        )
        self._scheduler.start()
        log.info("scheduler: %s every %.0fs", self.job_id, self._seconds)

    def shutdown(self, *, wait: bool = True) -> None:
        """Stop the thread (waiting for a running tick) and forget the job function."""
        if self._scheduler.running:
            self._scheduler.shutdown(wait=wait)
        with _JOBS_LOCK:
            _JOBS.pop(self.job_id, None)

    @property
    def running(self) -> bool:
        return bool(self._scheduler.running)


def load_ruleset(rules_dir: Path) -> Ruleset:
    """The follow-up rules of a folder (RuleError naming file:line when they are wrong)."""
    return Ruleset.from_docs(read_rules_dir(rules_dir))


class RulesReloader:
    """The current rules of a folder, re-read when a file changed; the last good set on error."""

    def __init__(self, rules_dir: Path, load: Callable[[Path], Ruleset] = load_ruleset) -> None:
        self.rules_dir, self._load = Path(rules_dir), load
        self._lock = threading.Lock()
        self._seen: Fingerprint | None = None
        self._good: Ruleset | None = None
        self.last_error: str | None = None

    def current(self) -> Ruleset:
        """The rules in force; raises only when no good rules were ever loaded."""
        with self._lock:
            seen = fingerprint(self.rules_dir)
            if seen != self._seen or self._good is None:
                self._seen = seen
                self._reload()
            if self._good is None:
                raise BotError(self.last_error or f"{self.rules_dir}: no rules loaded")
            return self._good

    def _reload(self) -> None:
        try:
            rules = self._load(self.rules_dir)
        except BotError as exc:
            self.last_error = str(exc)
            if self._good is None:
                log.error("rules: %s", exc)
            else:
                log.error("rules: %s; the last good rules stay in force", exc)
            return
        if self._good is not None:
            log.info("rules: reloaded from %s", self.rules_dir)
        self._good, self.last_error = rules, None


def fingerprint(rules_dir: Path) -> Fingerprint:
    """(name, mtime_ns, size) of every rules file: cheap to take at every tick."""
    found: list[tuple[str, int, int]] = []
    for path in sorted(rules_dir.glob("*.yaml")):
        try:
            stat = path.stat()
        except OSError:
            continue
        found.append((path.name, stat.st_mtime_ns, stat.st_size))
    return tuple(found)
