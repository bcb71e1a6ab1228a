"""Ingest: fetch new mail of one mailbox, understand it, thread it to an order, store it.

For each folder (Sent first, so that customers' replies to our own mail thread in the same
pass even on the first sync, then INBOX) the pass reads the stored FolderState, resyncs from UID 1
when the server's UIDVALIDITY changed (RFC 3501 2.3.1.1: old UIDs mean nothing any more; the
store ignores Message-IDs it already has, so nothing is stored twice), and handles new UIDs in
batches. Each batch is saved in one transaction together with the new last UID, so a crash
loses nothing and counts nothing twice. Whatever raises for one message quarantines that
message with the reason and its raw bytes; the pass goes on.
"""

from __future__ import annotations

import itertools
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.conversations import OrderIndex, match_order, referenced_ids, thread_key
from bot.core.model import Direction, ParsedMessage, Understanding
from bot.core.ordernumbers import OrderPatterns
from bot.core.understand import UnderstandingRules, classify
from bot.core.yamldoc import YamlDoc
from bot.ports import FetchedMessage, FolderState, Mailbox, MessageRecord, Quarantined, Store
from bot.services.ingest_pool import ParseOutcome, Understander, failed, parse_here, worker_pool

log = logging.getLogger(__name__)

DEFAULT_BATCH = 250
# A batch also ends at this many bytes of raw mail, so that two batches in flight (one stored,
# one fetched ahead) stay small even in a mailbox of large attachments.
BATCH_BYTES = 32 * 1024 * 1024
# A folder with at least this many new messages is parsed and understood by a process pool
# (one worker per core, at most MAX_WORKERS); fewer are not worth starting the workers for
# (bench/ingest.py on 2 cores: 1.4x at 20,000 messages, no gain at 2,000).
POOL_MIN_MESSAGES = 4000
MAX_WORKERS = 4
# (folder, handled so far, total) -> None; the CLI draws a progress bar with it.
ProgressFn = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True, kw_only=True)
class MailboxSpec:
    """What the service needs to know of one configured mailbox."""

    name: str
    address: str  # the salesperson's own address: mail from it is outgoing
    inbox: str = "INBOX"
    sent: str = "Sent"
    aliases: frozenset[str] = frozenset()  # further own addresses
    # (folder, message) -> True for mail that is dunbot's own business (approval requests and
    # approvers' answers): it is handed over there and stored unthreaded, never as a customer's.
    divert: Callable[[str, ParsedMessage], bool] | None = None

    @property
    def own_addresses(self) -> frozenset[str]:
        return frozenset(a.lower() for a in {self.address, *self.aliases})


@dataclass(frozen=True, slots=True, kw_only=True)
class Knowledge:
    """The validated rules the pipeline applies (built once from rules/*.yaml)."""

    understanding: UnderstandingRules
    patterns: OrderPatterns

    @classmethod
    def from_docs(cls, docs: Mapping[str, YamlDoc]) -> Knowledge:
        """From the rules folder's documents (bot.adapters.rulefiles.read_rules_dir)."""
        rules = UnderstandingRules.from_docs(docs)
        return cls(understanding=rules, patterns=rules.orders)


@dataclass(slots=True)
class FolderReport:
    mailbox: str
    folder: str
    fetched: int = 0
    new: int = 0
    quarantined: int = 0
    unmatched: int = 0
    resynced: bool = False


@dataclass(slots=True)
class SyncReport:
    folders: list[FolderReport] = field(default_factory=list)

    def total(self, attr: str) -> int:
        return sum(int(getattr(f, attr)) for f in self.folders)

    def summary(self) -> str:
        return (
            f"{self.total('new')} new, {self.total('quarantined')} quarantined, "
            f"{self.total('unmatched')} unmatched ({self.total('fetched')} fetched)"
        )


@dataclass(slots=True)
class _Pass:
    """State of one sync pass of one mailbox: what the pipeline needs besides the message."""

    spec: MailboxSpec
    knowledge: Knowledge
    store: Store
    now: datetime
    open_orders: OrderIndex = field(default_factory=lambda: OrderIndex.build(()))
    threaded: dict[str, str] = field(default_factory=dict)  # Message-ID -> order_id seen this pass
    subjects: dict[str, str] = field(default_factory=dict)  # thread_key -> order_id seen this pass
    workers: int = 0  # processes for parse + classify of a big folder; 0: decide by cpu count


def sync_mailbox(
    spec: MailboxSpec,
    mailbox: Mailbox,
    store: Store,
    knowledge: Knowledge,
    *,
    now: datetime,
    batch_size: int = DEFAULT_BATCH,
    progress: ProgressFn | None = None,
    workers: int = 0,
) -> SyncReport:
    """One pass over the mailbox's Sent and INBOX folders; returns what happened.

    `workers`: processes that parse and understand a folder of at least POOL_MIN_MESSAGES new
    messages (0: one per core, at most MAX_WORKERS; 1: none, all in this process). Threading
    and storing stay here, in UID order, so the result is the same either way.
    """
    state = _Pass(spec=spec, knowledge=knowledge, store=store, now=now, workers=workers)
    report = SyncReport()
    for folder in (spec.sent, spec.inbox):
        report.folders.append(
            _sync_folder(state, mailbox, folder, batch_size=batch_size, progress=progress)
        )
    log.info("sync %s: %s", spec.name, report.summary())
    return report


def _sync_folder(
    state: _Pass,
    mailbox: Mailbox,
    folder: str,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: ProgressFn | None = None,
) -> FolderReport:
    """Fetch and store every message above the folder's last UID, batch by batch."""
    name = state.spec.name
    report = FolderReport(mailbox=name, folder=folder)
    uidvalidity = mailbox.uidvalidity(folder)
    stored = state.store.folder_state(name, folder)
    last_uid = _start_uid(stored, uidvalidity, report)
    uids = mailbox.uids_after(folder, last_uid)
    if not uids and (stored is None or report.resynced):  # remember the new UIDVALIDITY
        state.store.save_batch(FolderState(name, folder, uidvalidity, last_uid), [], [])
    with _understander(state, folder, len(uids)) as understand:
        pending: tuple[int, list[FetchedMessage], Iterator[ParseOutcome]] | None = None
        done = 0
        batches = _batches(mailbox.fetch(folder, uids), uids, batch_size, BATCH_BYTES)
        for batch in itertools.chain(batches, [None]):
            # Fetch (and hand to the workers) the next batch before storing the previous one,
            # so the workers are busy while this process waits for IMAP and the database.
            ahead = None if batch is None else (batch[0], batch[1], understand(batch[1]))
            if pending is not None:
                last, fetched, outcomes = pending
                _store_batch(state, folder, uidvalidity, last, outcomes, report)
                done += len(fetched)
                if progress is not None:
                    progress(folder, done, len(uids))
            pending = ahead
    if uids:
        log.info(
            "sync %s/%s: %d new, %d quarantined, %d unmatched",
            name,
            folder,
            report.new,
            report.quarantined,
            report.unmatched,
        )
    return report


def _batches(
    fetched: Iterable[FetchedMessage], uids: Sequence[int], size: int, max_bytes: int
) -> Iterator[tuple[int, list[FetchedMessage]]]:
    """(last UID handled, messages) per batch of at most `size` messages and about `max_bytes`
    (a bigger message goes alone). The last batch covers every UID asked for: those that
    vanished meanwhile are passed over for good."""
    batch: list[FetchedMessage] = []
    used = 0
    for item in fetched:
        batch.append(item)
        used += len(item.raw)
        if len(batch) >= size or used >= max_bytes:
            yield (uids[-1] if item.uid == uids[-1] else item.uid), batch
            batch, used = [], 0
    if batch:
        yield uids[-1], batch


def _store_batch(
    state: _Pass,
    folder: str,
    uidvalidity: int,
    last_uid: int,
    outcomes: Iterable[ParseOutcome],
    report: FolderReport,
) -> None:
    """Thread and store one batch in one transaction with its last UID."""
    # orders may be imported while we run; indexed once per batch, not per message
    state.open_orders = OrderIndex.build(state.store.open_orders())
    handled = list(outcomes)
    records, quarantined = _handle_batch(state, folder, handled)
    state_row = FolderState(state.spec.name, folder, uidvalidity, last_uid)
    new = state.store.save_batch(state_row, records, quarantined)
    _count(report, len(handled), records, quarantined, new)


@contextmanager
def _understander(state: _Pass, folder: str, count: int) -> Iterator[Understander]:
    """Parse (and in a pool also understand) fetched messages: here for a few, else in
    worker processes (bot.services.ingest_pool). Results come back in the order given."""
    workers = state.workers or min(os.cpu_count() or 1, MAX_WORKERS)
    if workers < 2 or count < POOL_MIN_MESSAGES:
        yield parse_here
        return
    rules, own = state.knowledge.understanding, state.spec.own_addresses
    log.info(
        "sync %s/%s: %d messages, %d worker processes", state.spec.name, folder, count, workers
    )
    with worker_pool(workers, rules, own, state.now, outgoing=folder == state.spec.sent) as pool:
        yield pool


def _start_uid(stored: FolderState | None, uidvalidity: int, report: FolderReport) -> int:
    if stored is None:
        return 0
    if stored.uidvalidity != uidvalidity:
        log.warning(
            "sync %s/%s: UIDVALIDITY changed from %d to %d; reading the whole folder again "
            "(messages already stored are skipped by Message-ID)",
            stored.mailbox,
            stored.folder,
            stored.uidvalidity,
            uidvalidity,
        )
        report.resynced = True
        return 0
    return stored.last_uid


def _count(
    report: FolderReport,
    fetched: int,
    records: Sequence[MessageRecord],
    quarantined: Sequence[Quarantined],
    new: int,
) -> None:
    report.fetched += fetched
    report.new += new
    report.quarantined += len(quarantined)
    report.unmatched += sum(1 for r in records if r.order_id is None)


def _handle_batch(
    state: _Pass, folder: str, outcomes: Iterable[ParseOutcome]
) -> tuple[list[MessageRecord], list[Quarantined]]:
    """Look up the threads of the whole batch in one query, then understand and thread."""
    parsed: list[ParseOutcome] = []
    quarantined: list[Quarantined] = []
    for outcome in outcomes:
        if outcome.msg is None:
            quarantined.append(_quarantine(state, folder, outcome))
        else:
            parsed.append(outcome)
    parsed = _unknown(state, parsed)
    refs = {ref for o in parsed if o.msg is not None for ref in referenced_ids(o.msg)}
    known = state.store.orders_by_message_id(refs) if refs else {}
    records: list[MessageRecord] = []
    for outcome in parsed:
        item, msg = outcome.item, outcome.msg
        assert msg is not None
        try:
            if state.spec.divert is not None and state.spec.divert(folder, msg):
                records.append(_diverted(state, folder, item.uid, msg))
            elif outcome.stage:  # a worker's classify failed
                quarantined.append(_quarantine(state, folder, outcome))
            else:
                records.append(_record(state, folder, outcome, msg, known))
        except Exception as exc:  # noqa: BLE001 - see above
            quarantined.append(_quarantine(state, folder, failed(item, "understand", exc)))
    return records, quarantined


def _unknown(state: _Pass, parsed: list[ParseOutcome]) -> list[ParseOutcome]:
    """Drop messages the store already has (a resync, or the same mail in INBOX and Sent):
    the store would ignore them anyway, so they need not be understood again."""
    ids = [o.msg.message_id for o in parsed if o.msg is not None]
    stored = state.store.known_message_ids(state.spec.name, ids) if ids else set()
    return [o for o in parsed if o.msg is not None and o.msg.message_id not in stored]


def _record(
    state: _Pass, folder: str, outcome: ParseOutcome, msg: ParsedMessage, known: Mapping[str, str]
) -> MessageRecord:
    spec, uid = state.spec, outcome.item.uid
    outgoing = folder == spec.sent or msg.sender.email in spec.own_addresses
    understanding = outcome.understanding
    if not outcome.understood and not outgoing:  # parsed here: understand it here too
        understanding = classify(msg, state.knowledge.understanding, received_at=state.now)
    refs = referenced_ids(msg)
    thread = {r: order for r in refs if (order := state.threaded.get(r) or known.get(r))}
    match = match_order(
        msg,
        thread_orders=thread,
        open_orders=state.open_orders,
        patterns=state.knowledge.patterns,
        own_addresses=spec.own_addresses,
        search_text=_search_text(msg, understanding),
        subject_orders=state.subjects,
    )
    if match.order_id is not None:
        state.threaded[msg.message_id] = match.order_id
        key = thread_key(msg, spec.own_addresses)
        if key:
            state.subjects.setdefault(key, match.order_id)
    order_id, reason = match.order_id, match.reason
    return _message_record(
        state, folder, uid, msg, order_id=order_id, match_reason=reason, understanding=understanding
    )


def _diverted(state: _Pass, folder: str, uid: int, msg: ParsedMessage) -> MessageRecord:
    """A message `spec.divert` took: kept (so a resync skips it) but threaded to no order."""
    reason = "dunbot's own approval mail, not a customer's"
    return _message_record(state, folder, uid, msg, order_id=None, match_reason=reason)


def _message_record(
    state: _Pass,
    folder: str,
    uid: int,
    msg: ParsedMessage,
    *,
    order_id: str | None,
    match_reason: str,
    understanding: Understanding | None = None,
) -> MessageRecord:
    spec = state.spec
    outgoing = folder == spec.sent or msg.sender.email in spec.own_addresses
    return MessageRecord(
        mailbox=spec.name,
        folder=folder,
        uid=uid,
        message_id=msg.message_id,
        direction=Direction.OUT if outgoing else Direction.IN,
        subject=msg.subject,
        sender=msg.sender.email,
        recipients=tuple(a.email for a in (*msg.to, *msg.cc) if a.email),
        date=msg.date,
        in_reply_to=msg.in_reply_to,
        references=msg.references,
        text=msg.text,
        order_id=order_id,
        match_reason=match_reason,
        understanding=understanding,
    )


def _search_text(msg: ParsedMessage, understanding: Understanding | None) -> str | None:
    """Where to look for an order number: the subject and the new text, not quoted history."""
    if understanding is None:
        return None
    return f"{msg.subject}\n{understanding.reply_text}"


def _quarantine(state: _Pass, folder: str, outcome: ParseOutcome) -> Quarantined:
    item, where = outcome.item, f"sync {state.spec.name}/{folder} uid {outcome.item.uid}"
    if outcome.detail:
        log.error("%s quarantined: %s\n%s", where, outcome.reason, outcome.detail.rstrip())
    else:
        log.warning("%s quarantined: %s", where, outcome.reason)
    return Quarantined(
        mailbox=state.spec.name, folder=folder, uid=item.uid, reason=outcome.reason, raw=item.raw
    )
