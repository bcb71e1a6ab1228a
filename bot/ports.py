"""The contracts the services need from the outside world (typing.Protocol).

Services depend on these, never on a concrete adapter; adapters implement them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from bot.core.model import Direction, Order, OrderStatus, Understanding


@dataclass(frozen=True, slots=True)
class FolderState:
    """How far one IMAP folder has been read (RFC 3501 UIDVALIDITY + highest UID)."""

    mailbox: str
    folder: str
    uidvalidity: int
    last_uid: int


@dataclass(frozen=True, slots=True)
class FetchedMessage:
    """One message as fetched from a folder: its UID and raw bytes."""

    uid: int
    raw: bytes


@dataclass(frozen=True, slots=True)
class MessageRecord:
    """A parsed, understood and threaded message, ready to store."""

    mailbox: str
    folder: str
    uid: int
    message_id: str
    direction: Direction
    subject: str
    sender: str
    recipients: tuple[str, ...]
    date: datetime | None
    in_reply_to: str | None
    references: tuple[str, ...]
    text: str
    order_id: str | None  # None: unmatched
    match_reason: str  # why this order (or why none), in words
    understanding: Understanding | None  # None for outgoing messages


@dataclass(frozen=True, slots=True)
class Quarantined:
    """A message that could not be handled, kept whole with the reason."""

    mailbox: str
    folder: str
    uid: int
    reason: str
    raw: bytes


class Mailbox(Protocol):
    """One mail account's folders (IMAP in production)."""

    def uidvalidity(self, folder: str) -> int:
        """Select the folder and return its UIDVALIDITY."""

    def uids_after(self, folder: str, last_uid: int) -> list[int]:
        """UIDs greater than last_uid, ascending."""

    def fetch(self, folder: str, uids: Sequence[int]) -> Iterator[FetchedMessage]:
        """The raw bytes of these messages, streamed in batches."""

    def wait_for_news(self, folder: str, timeout: float) -> bool:
        """Block until the folder may have new mail (IDLE, else a poll); True if something changed."""


class Store(Protocol):
    """The database, one transaction per call unless stated otherwise."""

    def folder_state(self, mailbox: str, folder: str) -> FolderState | None: ...

    def save_batch(
        self, state: FolderState, records: Sequence[MessageRecord], quarantined: Sequence[Quarantined]
    ) -> int:
        """Store records (ignoring Message-IDs this mailbox already has), quarantine the rest,
        and move the folder state forward, all in one transaction. Returns how many were new."""

    def known_message_ids(self, mailbox: str, message_ids: Iterable[str]) -> set[str]: ...

    def orders_by_message_id(self, message_ids: Iterable[str]) -> dict[str, str]:
        """For each given Message-ID already stored and threaded, the order it belongs to."""

    def open_orders(self) -> list[Order]: ...

    def get_order(self, order_id: str) -> Order: ...

    def set_order_status(self, order_id: str, status: OrderStatus, *, reason: str) -> None: ...

    def audit(self, event: str, *, order_id: str | None, detail: str) -> None: ...


# ---- sending (outbox; SmtpSender and ImapMailbox implement these) ------------------------------


@dataclass(frozen=True, slots=True)
class Delivered:
    """The SMTP server took the message (250 after DATA) for at least one recipient."""

    response: str
    refused: tuple[tuple[str, str], ...] = ()  # (recipient, answer) it would not take; not retried


@dataclass(frozen=True, slots=True)
class TemporaryFailure:
    """A 4xx answer or no answer at all (connection refused, dropped, timed out): retry later."""

    reason: str
    code: int | None = None  # None: no SMTP answer


@dataclass(frozen=True, slots=True)
class PermanentFailure:
    """A 5xx answer, a refused login or an untrusted certificate: a person must look."""

    reason: str
    code: int | None = None


SendResult = Delivered | TemporaryFailure | PermanentFailure


class Sender(Protocol):
    def send_sync(self, raw: bytes, *, sender: str, recipients: Sequence[str]) -> SendResult:
        """Submit raw unchanged to the envelope recipients; never raises for the server's answers."""


class SentFolder(Protocol):
    """The IMAP side of sending: find a message by Message-ID, store a copy in a folder."""

    def search_message_id(self, folder: str, message_id: str) -> bool: ...

    def append(self, folder: str, raw: bytes, flags: Sequence[str] = ...) -> int | None: ...


class OutboxState(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"  # claimed under a lease; after a crash the Sent folder is searched first
    SENT = "sent"
    FAILED = "failed"  # a permanent SMTP answer; the approver was told


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """One message waiting in (or gone through) the outbox; `raw` is sent byte for byte."""

    outbox_id: int
    draft_id: str
    mailbox: str
    order_ids: tuple[str, ...]
    message_id: str  # without angle brackets, fixed when the draft was made
    sender: str  # envelope MAIL FROM and the From header
    recipients: tuple[str, ...]  # To + Cc: the only people who get it
    journal: str | None  # the mailbox's own address, Bcc'd so a crash can be checked afterwards
    raw: bytes
    state: OutboxState
    attempts: int  # tries so far, the current one included
    next_attempt_at: datetime
    last_error: str
    resumed: bool = False  # an earlier try may have reached the server: look before sending


@dataclass(frozen=True, slots=True, kw_only=True)
class NewOutboxItem:
    """An approved draft rendered to bytes, ready to queue in the outbox."""

    draft_id: str
    mailbox: str
    order_ids: tuple[str, ...]
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    journal: str | None
    raw: bytes
