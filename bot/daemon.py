"""Composition root: builds the IMAP adapters and the rules, runs the ingest service.

`sync_all` is one pass over every configured mailbox (`dunbot sync --once`). `Daemon` is
`dunbot run`: one thread per mailbox that syncs, then waits on IDLE for INBOX (Sent is looked
at whenever the wait times out, every `sent_poll` seconds), and after any failure waits with a
bounded exponential backoff and tries again: one broken mailbox or message never stops the others.
The clock is read here, at the edge, and passed down as `now`.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import FrameType
from typing import Protocol

from sqlalchemy import Engine

from bot.adapters.imap import Backoff, ImapMailbox, ImapSettings
from bot.adapters.rulefiles import read_rules_dir
from bot.adapters.scheduler import RulesReloader, TickScheduler
from bot.adapters.smtp import SmtpSender, SmtpSettings
from bot.adapters.store import SqlOutbox
from bot.adapters.templates import SandboxedRenderer
from bot.config import Config, MailboxConfig
from bot.errors import BotError, MailboxError
from bot.ports import Store
from bot.services.ingest import Knowledge, MailboxSpec, ProgressFn, SyncReport, sync_mailbox
from bot.services.loop import Loop, LoopReport, LoopStore
from bot.services.tick import TickOptions, TickReport, TickStore, run_tick

log = logging.getLogger(__name__)
Clock = Callable[[], datetime]


def utcnow() -> datetime:
    return datetime.now(UTC)


def imap_settings(mailbox: MailboxConfig) -> ImapSettings:
    """The adapter's settings for a configured mailbox; reads the password now."""
    server = mailbox.imap
    if not server.username:
        raise MailboxError(mailbox.name, "imap.username is missing: IMAP needs a login")
    return ImapSettings(
        name=mailbox.name,
        host=server.host,
        port=server.port,
        security=server.security,
        username=server.username,
        password=server.password(),
        tls_verify=server.tls_verify,
        ca_file=server.ca_file,
    )


def mailbox_spec(mailbox: MailboxConfig) -> MailboxSpec:
    return MailboxSpec(
        name=mailbox.name,
        address=mailbox.address,
        inbox=mailbox.folders.inbox,
        sent=mailbox.folders.sent,
    )


def load_knowledge(config: Config) -> Knowledge:
    """The rules the pipeline applies, validated (RuleError naming file:line otherwise)."""
    return Knowledge.from_docs(read_rules_dir(config.rules))


@dataclass(slots=True)
class MailboxOutcome:
    name: str
    report: SyncReport | None = None
    error: BotError | None = None


def sync_all(
    config: Config,
    store: Store,
    knowledge: Knowledge,
    *,
    now: datetime,
    progress: ProgressFn | None = None,
) -> list[MailboxOutcome]:
    """One pass over every mailbox; a mailbox that fails is reported and the others still run."""
    outcomes: list[MailboxOutcome] = []
    for mailbox in config.mailboxes:
        outcome = MailboxOutcome(mailbox.name)
        try:
            with ImapMailbox(
                imap_settings(mailbox), backoff=Backoff(first=1.0, attempts=3)
            ) as imap:
                outcome.report = sync_mailbox(
                    mailbox_spec(mailbox), imap, store, knowledge, now=now, progress=progress
                )
        except BotError as exc:
            log.error("sync %s failed: %s", mailbox.name, exc)
            outcome.error = exc
        outcomes.append(outcome)
    return outcomes


@dataclass(frozen=True, slots=True, kw_only=True)
class DaemonOptions:
    sent_poll: float = 60.0  # seconds between looks at Sent (and the longest IDLE)
    retry: Backoff = field(
        default_factory=lambda: Backoff(first=1.0, cap=300.0, attempts=1_000_000)
    )
    clock: Clock = utcnow
    tick: Callable[[datetime], object] | None = None  # the planning tick (build_ticker)
    tick_minutes: float = 5.0
    loop: Loop | None = None  # the whole loop after each ingest pass (build_loop)


def build_ticker(config: Config, store: TickStore) -> Callable[[datetime], TickReport]:
    """The planning tick as of a time: rules re-read when their files change, the templates."""
    rules, renderer = RulesReloader(config.rules), SandboxedRenderer(config.templates)
    options = TickOptions(stale_after=config.draft_ttl)
    return lambda now: run_tick(store, rules.current(), renderer, config, now=now, options=options)


class LoopDatabase(TickStore, LoopStore, Protocol):
    """The store the whole loop runs on (SqlStore)."""

    @property
    def engine(self) -> Engine: ...


def build_loop(config: Config, store: LoopDatabase, knowledge: Knowledge) -> Loop:
    """The whole loop (ingest, approvals, look again, tick, requests, sending) on one store."""
    return Loop(
        config=config,
        store=store,
        outbox=SqlOutbox(store),
        knowledge=knowledge,
        tick=build_ticker(config, store),
    )


def smtp_sender(mailbox: MailboxConfig) -> SmtpSender:
    """The mailbox's submission server; reads the password now."""
    return SmtpSender(
        SmtpSettings.from_config(
            mailbox.name, mailbox.smtp, ca_file=mailbox.smtp.ca_file, timeout=30.0
        )
    )


@dataclass(slots=True)
class LoopOutcome:
    name: str
    report: LoopReport | None = None
    error: BotError | None = None


def loop_all(
    config: Config, loop: Loop, *, now: datetime, progress: ProgressFn | None = None
) -> list[LoopOutcome]:
    """`sync --once`: one pass of the whole loop over every mailbox; a mailbox that fails is
    reported and the others still run."""
    outcomes: list[LoopOutcome] = []
    for mailbox in config.mailboxes:
        outcome = LoopOutcome(mailbox.name)
        try:
            settings = imap_settings(mailbox)
            with ImapMailbox(settings, backoff=Backoff(first=1.0, attempts=3)) as imap:
                outcome.report = loop.run_mailbox(
                    mailbox, imap, smtp_sender(mailbox), now=now, progress=progress
                )
        except BotError as exc:
            log.error("sync %s failed: %s", mailbox.name, exc)
            outcome.error = exc
        outcomes.append(outcome)
    return outcomes


class Daemon:
    """`dunbot run`: watches every mailbox until stop() (or SIGTERM/SIGINT via run_forever)."""

    def __init__(
        self,
        config: Config,
        store: Store,
        knowledge: Knowledge,
        options: DaemonOptions | None = None,
    ) -> None:
        self.config, self.store, self.knowledge = config, store, knowledge
        self.options = options or DaemonOptions()
        self.stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._scheduler: TickScheduler | None = None
        self._work = threading.Lock()  # one loop step (tick, sending) at a time across mailboxes

    def start(self) -> None:
        for mailbox in self.config.mailboxes:
            thread = threading.Thread(
                target=self._watch, args=(mailbox,), name=f"mailbox-{mailbox.name}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        log.info("dunbot running: %d mailbox(es)", len(self._threads))
        if self.options.tick is not None:  # the planning tick, on APScheduler
            tick, clock = self.options.tick, self.options.clock
            self._scheduler = TickScheduler(
                self.config.database,
                lambda: self._locked(tick, clock),
                minutes=self.options.tick_minutes,
            )
            self._scheduler.start()

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        if self._scheduler is not None:
            self._scheduler.shutdown()
        for thread in self._threads:
            thread.join(timeout)
        log.info("dunbot stopped")

    def _watch(self, mailbox: MailboxConfig) -> None:
        delays: Iterator[float] = self.options.retry.delays()
        with ExitStack() as stack:
            imap: ImapMailbox | None = None
            while not self.stopping.is_set():
                try:
                    if imap is None:
                        imap = stack.enter_context(
                            ImapMailbox(imap_settings(mailbox), stop=self.stopping)
                        )
                    self._pass(mailbox, imap)
                    delays = self.options.retry.delays()  # a good pass resets the backoff
                except Exception as exc:  # noqa: BLE001 - the daemon must outlive any one failure
                    delay = next(delays, self.options.retry.cap)
                    _log_failure(mailbox.name, exc, delay)
                    self.stopping.wait(delay)

    def _locked(self, tick: Callable[[datetime], object], clock: Clock) -> None:
        with self._work:
            tick(clock())

    def _pass(self, mailbox: MailboxConfig, imap: ImapMailbox) -> None:
        """Ingest, then (with a loop) at once the rest of it: a reply or an approval that IDLE
        announced is drafted or sent in the same pass, not at the next scheduled tick."""
        loop = self.options.loop
        if loop is None:
            sync_mailbox(
                mailbox_spec(mailbox), imap, self.store, self.knowledge, now=self.options.clock()
            )
        else:
            with self._work:
                report = loop.run_mailbox(
                    mailbox, imap, smtp_sender(mailbox), now=self.options.clock()
                )
            log.info("pass %s: %s", mailbox.name, report.summary())
        if self.stopping.is_set() or (loop is not None and self._arrived_meanwhile(mailbox, imap)):
            return
        wait = self.options.sent_poll
        if loop is not None:  # the loop's own steps (due follow-ups) come round at least this often
            wait = min(wait, self.options.tick_minutes * 60.0)
        imap.wait_for_news(mailbox.folders.inbox, wait)

    def _arrived_meanwhile(self, mailbox: MailboxConfig, imap: ImapMailbox) -> bool:
        """Mail that came while the pass ran (after its ingest step): IDLE would not announce it,
        since INBOX is selected afresh after sending, so the next pass starts at once."""
        inbox = mailbox.folders.inbox
        state = self.store.folder_state(mailbox.name, inbox)
        return state is not None and bool(imap.uids_after(inbox, state.last_uid))

    def run_forever(self) -> None:
        """Start, then block until SIGTERM or SIGINT; stop cleanly. Call from the main thread."""

        def on_signal(signum: int, _frame: FrameType | None) -> None:
            log.info("received %s, stopping", signal.Signals(signum).name)
            self.stopping.set()

        previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            self.start()
            while not self.stopping.wait(1.0):
                pass
        finally:
            self.stop()
            for signum, handler in previous.items():
                signal.signal(signum, handler)


def _log_failure(name: str, exc: Exception, delay: float) -> None:
    if isinstance(exc, MailboxError):
        kind = "temporary" if exc.temporary else "permanent (check the config)"
        log.error("mailbox %s: %s [%s]; next try in %.0fs", name, exc, kind, delay)
    elif isinstance(exc, BotError):
        log.error("mailbox %s: %s; next try in %.0fs", name, exc, delay)
    else:
        log.exception("mailbox %s: unexpected error; next try in %.0fs", name, delay)
