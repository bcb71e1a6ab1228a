"""The domain's values: frozen, typed, no behaviour that reaches outside."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum


class Direction(StrEnum):
    IN = "in"  # from the customer (or anyone but the salesperson)
    OUT = "out"  # from the salesperson's own address


class Kind(StrEnum):
    HUMAN = "human"
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


class Intent(StrEnum):
    PAID = "paid"
    PROMISE = "promise"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    CASH_FLOW = "cash_flow"
    EXCHANGE_RATE = "exchange_rate"
    COMPETITOR = "competitor"
    ABSENT = "absent"
    CHANGE_REQUEST = "change_request"
    POOR_SALES = "poor_sales"
    DISPUTE = "dispute"
    QUESTION = "question"
    CANCEL = "cancel"
    OTHER = "other"
    NONE = "none"  # bounces carry no intent


class OrderStatus(StrEnum):
    OPEN = "open"
    PAUSED = "paused"
    CLAIMED_PAID = "claimed_paid"  # the customer says so; the salesperson has not confirmed
    PAID = "paid"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Address:
    email: str  # lower-cased addr-spec, "" when the header held none
    name: str = ""

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass(frozen=True, slots=True)
class ParsedMessage:
    """One email as the core sees it: decoded headers, the best text body, no raw bytes.

    Built by `bot.core.mime.parse_message(raw)`; everything here is already decoded to str.
    """

    message_id: str  # without angle brackets; synthesised from a hash of the bytes if absent
    subject: str
    sender: Address  # From
    to: tuple[Address, ...] = ()
    cc: tuple[Address, ...] = ()
    reply_to: tuple[Address, ...] = ()
    date: datetime | None = None  # timezone-aware when the header had a zone, else UTC
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()  # oldest first, without angle brackets
    text: str = ""  # text/plain body, or the HTML body converted to text
    html: str | None = None  # the raw HTML part, when there was one
    headers: tuple[tuple[str, str], ...] = ()  # every header (name as sent, decoded value), in order
    attachments: tuple[Attachment, ...] = ()
    content_type: str = "text/plain"  # top-level type, e.g. multipart/report
    parts: tuple[tuple[str, str], ...] = ()  # (content type, decoded text) of every text-like part
    defects: tuple[str, ...] = ()  # what the parser had to repair, for the log
    attached_ids: tuple[str, ...] = ()  # Message-IDs of attached or returned messages (bounces)
    size: int = 0

    def header(self, name: str) -> str | None:
        """The first header with that name (case-insensitive), or None."""
        wanted = name.lower()
        for key, value in self.headers:
            if key.lower() == wanted:
                return value
        return None


@dataclass(frozen=True, slots=True)
class Understanding:
    """What dunbot understands of one message: the `classify --json` keys and a few more."""

    kind: Kind
    intent: Intent
    language: str  # ISO 639-1, "" when unknown
    date: date | None  # promised payment date or out-of-office return date
    order: str | None  # order number stated in the message
    reply_text: str  # the new text, without quoted history or signature
    bounce_recipient: str | None = None
    bounce_status: str | None = None  # RFC 3464 status, e.g. 5.1.1
    scores: tuple[tuple[str, float], ...] = ()  # intent scores, for explanations

    def as_json(self) -> dict[str, object]:
        return {
            "kind": self.kind.value,
            "intent": self.intent.value,
            "language": self.language or None,
            "date": self.date.isoformat() if self.date else None,
            "order": self.order,
            "reply_text": self.reply_text,
            "bounce_recipient": self.bounce_recipient,
            "bounce_status": self.bounce_status,
        }


@dataclass(frozen=True, slots=True)
class Contact:
    email: str
    name: str = ""
    role: str = "buyer"  # buyer | finance | decision_maker | other


@dataclass(frozen=True, slots=True)
class Order:
    order_id: str
    customer_email: str
    customer_name: str
    amount: Decimal
    currency: str
    due_date: date | None
    status: OrderStatus = OrderStatus.OPEN
    language: str | None = None
    country: str | None = None
    timezone: str | None = None
    mailbox: str | None = None
    contacts: tuple[Contact, ...] = field(default=())

    @property
    def customer_domain(self) -> str:
        return self.customer_email.rpartition("@")[2].lower()


class DraftStatus(StrEnum):
    PENDING = "pending"  # waiting for the approver
    APPROVED = "approved"  # handed to the outbox
    REJECTED = "rejected"  # skip
    SNOOZED = "snoozed"
    HELD = "held"  # something changed since it was made; the approver was told why
    SUPERSEDED = "superseded"  # re-planned: waited too long, or rules changed
    SENT = "sent"


@dataclass(frozen=True, slots=True)
class Draft:
    """A follow-up as the customer will see it, made by the planner, waiting for approval or sending.

    The Message-ID is fixed when the draft is made, so a retry after a crash can look for it in
    the Sent folder before sending again (exactly once).
    """

    draft_id: str
    mailbox: str
    order_ids: tuple[str, ...]  # several when one customer's follow-ups are merged
    customer_email: str
    to: tuple[str, ...]  # only the order's customer contacts
    cc: tuple[str, ...]
    subject: str
    body: str
    message_id: str  # without angle brackets
    in_reply_to: str | None
    references: tuple[str, ...]
    rule_id: str
    template: str
    language: str
    mode: str  # draft | send
    reason: str
    created_at: datetime
    due_at: datetime
    status: DraftStatus = DraftStatus.PENDING
