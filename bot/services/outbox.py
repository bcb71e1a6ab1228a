"""Exactly-once sending: queue an approved draft, then claim, look, send, APPEND, mark sent.

How a message is sent once and only once, across crashes and several daemons:

1. `queue_draft` renders the draft to bytes once (Message-ID fixed when the draft was made,
   Date fixed now) and stores them with the draft's approval in one transaction.
2. `send_due` claims a row under a lease. If an earlier try may have reached the server (the row
   was `sending` when its sender died, or a try ended without a clear answer), it first SEARCHes
   the Sent folder for the Message-ID, then the INBOX for the journal copy (below); found: the
   row is marked sent and nothing is sent again.
3. Otherwise it sends over SMTP, APPENDs the bytes to Sent (so the salesperson sees it in their
   client) and marks the row sent.

The journal copy closes the one gap Sent alone leaves: a crash after the server accepted the
message but before the APPEND. Every message is also Bcc'd (envelope only, no header) to the
mailbox's own address. The server takes a message for all its recipients in one transaction
(RFC 5321 4.1.1.4: the 250 after DATA is one reply for the whole mail), so a copy in INBOX proves
the customer's copy was accepted too. The daemon's lease (default 60 s) gives that local
delivery time to land before anyone looks.

Recipients are checked again right before sending: every one must be a contact of the draft's
orders or a CC the config allows; an address taken from a customer's message body never is.
Follow-ups to customers carry no Auto-Submitted header (RFC 3834), so the customer's
out-of-office reply still comes back.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from bot.config import MailboxConfig
from bot.core.model import Draft, Order
from bot.errors import BotError, MailboxError
from bot.ports import (
    Delivered,
    NewOutboxItem,
    OutboxItem,
    PermanentFailure,
    Sender,
    SentFolder,
    TemporaryFailure,
)
from bot.services.message import render_message

log = logging.getLogger(__name__)


class RecipientError(BotError):
    """A draft names an address that is not a contact of its orders."""


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxPolicy:
    """Timing and limits of sending, per mailbox."""

    lease: timedelta = timedelta(seconds=60)  # a claimed row is another daemon's after this
    first_retry: timedelta = timedelta(minutes=1)
    max_retry: timedelta = timedelta(hours=2)
    max_attempts: int = 10  # temporary failures before the row fails for good
    per_window: int = 30  # at most this many messages per mailbox ...
    window: timedelta = timedelta(hours=1)  # ... in this sliding window
    batch: int = 50  # rows per send_due call
    journal: bool = True  # Bcc the mailbox's own address (see the module docstring)
    allowed_cc: frozenset[str] = frozenset()  # addresses the config allows besides contacts

    def backoff(self, attempts: int) -> timedelta:
        """first_retry * 2**(attempts-1), at most max_retry."""
        return min(self.first_retry * (1 << min(max(attempts - 1, 0), 30)), self.max_retry)


class OutboxStore(Protocol):
    """What the outbox needs from the database (bot.adapters.store.outbox.SqlOutbox)."""

    def get_order(self, order_id: str) -> Order: ...

    def bounced_addresses(self, customer_email: str) -> frozenset[str]: ...

    def enqueue(
        self, item: NewOutboxItem, *, now: datetime, token: tuple[str, str, str] | None = None
    ) -> bool: ...

    def claim(
        self, mailbox: str, *, owner: str, now: datetime, lease: timedelta
    ) -> OutboxItem | None: ...

    def mark_sent(
        self,
        outbox_id: int,
        *,
        owner: str,
        now: datetime,
        note: str,
        before_commit: Callable[[str], None] = ...,
    ) -> bool: ...

    def retry_later(
        self, outbox_id: int, *, owner: str, at: datetime, error: str, now: datetime
    ) -> bool: ...

    def mark_failed(self, outbox_id: int, *, owner: str, error: str, now: datetime) -> bool: ...

    def sent_since(self, mailbox: str, since: datetime) -> int: ...


@dataclass(slots=True)
class OutboxReport:
    """What one `send_due` pass did, by Message-ID."""

    sent: list[str] = field(default_factory=list)
    found: list[str] = field(default_factory=list)  # already sent before a crash: not resent
    retrying: list[tuple[str, str]] = field(default_factory=list)  # (message_id, reason)
    failed: list[tuple[str, str]] = field(default_factory=list)  # the approver must be told
    rate_limited: bool = False


def _no_failpoint(point: str) -> None:
    """Production: nothing. The crash tests pass one that kills the process at `point`."""


# ---- queueing --------------------------------------------------------------------------------


def foreign_recipients(
    recipients: Iterable[str], orders: Iterable[Order], allowed_cc: Collection[str] = ()
) -> list[str]:
    """The recipients that are neither a contact of these orders nor an allowed CC."""
    allowed = {a.lower() for a in allowed_cc}
    for order in orders:
        allowed.add(order.customer_email.lower())
        allowed.update(c.email.lower() for c in order.contacts)
    return [r for r in recipients if r.strip().lower() not in allowed]


def check_recipients(
    store: OutboxStore,
    order_ids: Sequence[str],
    recipients: Sequence[str],
    allowed_cc: Collection[str],
) -> None:
    """RecipientError naming each address that is not the orders' or that bounced (or no
    recipient at all)."""
    if not recipients:
        raise RecipientError("the draft has no recipient")
    if not order_ids:
        raise RecipientError("the draft belongs to no order, so no recipient can be checked")
    orders = [store.get_order(order_id) for order_id in order_ids]
    foreign = foreign_recipients(recipients, orders, allowed_cc)
    if foreign:
        raise RecipientError(
            f"not a contact of order {', '.join(order_ids)}: {', '.join(foreign)}; "
            "add them with `dunbot orders` or leave them out"
        )
    # A bounce may have come back after the draft was written (or approved): never send to it.
    customers = {o.customer_email.lower() for o in orders}
    bounced = set().union(*(store.bounced_addresses(c) for c in customers))
    dead = [r for r in recipients if r.strip().lower() in bounced]
    if dead:
        raise RecipientError(
            f"{', '.join(dead)} bounced since this draft was written; nothing was sent: "
            "skip it and dunbot drafts again without that address "
            "(or `dunbot orders unbounce ORDER ADDRESS` if it works again)"
        )


def outbox_item(
    draft: Draft,
    mailbox: MailboxConfig,
    *,
    now: datetime,
    body: str | None = None,
    journal: bool = True,
) -> NewOutboxItem:
    """The outbox row for an approved draft (the edited `body` replaces the draft's). The
    mailbox's `cc` join the Cc header, its `bcc` only the envelope."""
    cc = tuple(dict.fromkeys((*draft.cc, *(a for a in mailbox.cc if a not in draft.to))))
    raw = render_message(
        replace(draft, cc=cc),
        sender=mailbox.address,
        sender_name=mailbox.sender_name or "",
        date=now,
        body=body,
    )
    return NewOutboxItem(
        draft_id=draft.draft_id,
        mailbox=draft.mailbox,
        order_ids=draft.order_ids,
        message_id=draft.message_id,
        sender=mailbox.address,
        recipients=tuple(dict.fromkeys(a.lower() for a in (*draft.to, *cc, *mailbox.bcc))),
        journal=mailbox.address if journal else None,
        raw=raw,
    )


def allowed_extra(mailbox: MailboxConfig, policy: OutboxPolicy) -> frozenset[str]:
    """Addresses besides the orders' contacts a follow-up may go to: the config's cc and bcc,
    the mailbox's manager (escalations copy them) and the policy's own list."""
    manager = (mailbox.manager,) if mailbox.manager else ()
    return frozenset(a.lower() for a in (*policy.allowed_cc, *mailbox.cc, *mailbox.bcc, *manager))


def queue_draft(
    store: OutboxStore,
    draft: Draft,
    mailbox: MailboxConfig,
    *,
    now: datetime,
    body: str | None = None,
    token: tuple[str, str, str] | None = None,
    policy: OutboxPolicy = OutboxPolicy(),
) -> bool:
    """Check the recipients, render and queue an approved draft; False if it was queued before
    (an approval received twice sends once). RecipientError when an address is not the order's."""
    item = outbox_item(draft, mailbox, now=now, body=body, journal=policy.journal)
    check_recipients(store, item.order_ids, item.recipients, allowed_extra(mailbox, policy))
    return store.enqueue(item, now=now, token=token)


# ---- sending ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Pass:
    store: OutboxStore
    mailbox: MailboxConfig
    sender: Sender
    imap: SentFolder
    now: datetime
    owner: str
    policy: OutboxPolicy
    failpoint: Callable[[str], None]
    report: OutboxReport


def send_due(
    store: OutboxStore,
    mailbox_cfg: MailboxConfig,
    sender: Sender,
    imap: SentFolder,
    *,
    now: datetime,
    owner: str | None = None,
    policy: OutboxPolicy = OutboxPolicy(),
    failpoint: Callable[[str], None] = _no_failpoint,
) -> OutboxReport:
    """Send what is due in this mailbox's outbox, each message once; returns what happened.

    `owner` names this daemon in the leases (default: host and process id)."""
    owner = owner or f"{socket.gethostname()}:{os.getpid()}"
    run = _Pass(store, mailbox_cfg, sender, imap, now, owner, policy, failpoint, OutboxReport())
    for _ in range(policy.batch):
        if store.sent_since(mailbox_cfg.name, now - policy.window) >= policy.per_window:
            run.report.rate_limited = True
            log.info(
                "outbox %s: rate limit of %d per %s reached",
                mailbox_cfg.name,
                policy.per_window,
                policy.window,
            )
            break
        item = store.claim(mailbox_cfg.name, owner=owner, now=now, lease=policy.lease)
        if item is None:
            break
        _handle(run, item)
    return run.report


def _handle(run: _Pass, item: OutboxItem) -> None:
    try:
        if item.resumed and _already_sent(run, item):
            return
    except MailboxError as exc:  # cannot look: never send blind, try again later
        _retry(run, item, f"cannot check Sent before resending: {exc}")
        return
    try:
        allowed = allowed_extra(run.mailbox, run.policy)
        check_recipients(run.store, item.order_ids, item.recipients, allowed)
    except (RecipientError, LookupError) as exc:
        _fail(run, item, f"recipient check: {exc}")
        return
    run.failpoint("before_smtp")
    envelope = [*item.recipients, *([item.journal] if item.journal else [])]
    result = run.sender.send_sync(item.raw, sender=item.sender, recipients=envelope)
    if isinstance(result, Delivered):
        _delivered(run, item, result)
    elif isinstance(result, TemporaryFailure):
        _retry(run, item, result.reason)
    else:
        _fail(run, item, result.reason)


def _already_sent(run: _Pass, item: OutboxItem) -> bool:
    folders = run.mailbox.folders
    if run.imap.search_message_id(folders.sent, item.message_id):
        _mark_sent(run, item, "found in Sent after an interrupted try; not sent again")
        run.report.found.append(item.message_id)
        return True
    if item.journal and run.imap.search_message_id(folders.inbox, item.message_id):
        run.imap.append(folders.sent, item.raw, (r"\Seen",))
        _mark_sent(run, item, "journal copy found after an interrupted try; not sent again")
        run.report.found.append(item.message_id)
        return True
    log.info("outbox %s: %s not found in Sent or INBOX; sending", item.mailbox, item.message_id)
    return False


def _delivered(run: _Pass, item: OutboxItem, result: Delivered) -> None:
    run.failpoint("after_smtp")
    note = f"accepted: {result.response}"
    if result.refused:
        note += "; refused: " + ", ".join(f"{r} ({a})" for r, a in result.refused)
    try:
        run.imap.append(run.mailbox.folders.sent, item.raw, (r"\Seen",))
    except MailboxError as exc:  # sent all the same: not a reason to send twice
        note += f"; not copied to {run.mailbox.folders.sent}: {exc}"
        log.warning("outbox %s: %s", item.mailbox, note)
    run.failpoint("after_append")
    _mark_sent(run, item, note)
    run.report.sent.append(item.message_id)


def _mark_sent(run: _Pass, item: OutboxItem, note: str) -> None:
    if run.store.mark_sent(
        item.outbox_id, owner=run.owner, now=run.now, note=note, before_commit=run.failpoint
    ):
        log.info("outbox %s: %s sent (%s)", item.mailbox, item.message_id, note)
    else:
        log.warning(
            "outbox %s: lease on %s lost before marking it sent", item.mailbox, item.message_id
        )


def _retry(run: _Pass, item: OutboxItem, reason: str) -> None:
    if item.attempts >= run.policy.max_attempts:
        _fail(run, item, f"gave up after {item.attempts} tries: {reason}")
        return
    at = run.now + run.policy.backoff(item.attempts)
    run.store.retry_later(item.outbox_id, owner=run.owner, at=at, error=reason, now=run.now)
    run.report.retrying.append((item.message_id, reason))
    log.warning(
        "outbox %s: %s try %d failed (%s); next at %s",
        item.mailbox,
        item.message_id,
        item.attempts,
        reason,
        at.isoformat(),
    )


def _fail(run: _Pass, item: OutboxItem, reason: str) -> None:
    run.store.mark_failed(item.outbox_id, owner=run.owner, error=reason, now=run.now)
    run.report.failed.append((item.message_id, reason))
    log.error("outbox %s: %s failed for good: %s", item.mailbox, item.message_id, reason)


__all__ = [
    "NewOutboxItem",
    "OutboxPolicy",
    "OutboxReport",
    "OutboxStore",
    "PermanentFailure",
    "RecipientError",
    "allowed_extra",
    "check_recipients",
    "foreign_recipients",
    "outbox_item",
    "queue_draft",
    "send_due",
]
