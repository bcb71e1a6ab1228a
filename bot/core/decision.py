"""What the policy reads and decides: conversation `Event`s in, a `Decision` (with its rule walk) out.

Pure values: `events_from_records` turns stored messages (anything shaped like
bot.ports.MessageRecord) into Events; `Decision.as_json` is what `dunbot plan --json` prints.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.model import Direction, Intent, Kind, OrderStatus, Understanding
from bot.core.ruleset import Mode


class Action(StrEnum):
    WAIT = "wait"  # nothing to send; look again at `at`
    FOLLOW_UP = "follow_up"  # a ladder step or reminder, due at `at`
    ANSWER = "answer"  # answer the customer's reply, due at `at`
    STOP = "stop"  # stop following up (paid, cancelled)
    ESCALATE = "escalate"  # a person must act (dispute, bounce, unclear reply)
    NONE = "none"  # nothing to do


@dataclass(frozen=True, slots=True)
class Event:
    """One message of an order's conversation, as the policy needs it."""

    direction: Direction
    at: datetime  # timezone-aware
    kind: Kind = Kind.HUMAN
    intent: Intent = Intent.NONE
    promised: date | None = None  # promised payment date, or out-of-office return date
    bounce_recipient: str | None = None
    sender: str = ""
    language: str = ""
    subject: str = ""
    message_id: str = ""
    references: tuple[str, ...] = ()
    rule_id: str | None = None  # for our own follow-ups, when the store knows which rule sent it


class RecordLike(Protocol):
    """The attributes of bot.ports.MessageRecord that the policy reads."""

    @property
    def direction(self) -> Direction: ...
    @property
    def date(self) -> datetime | None: ...
    @property
    def sender(self) -> str: ...
    @property
    def subject(self) -> str: ...
    @property
    def message_id(self) -> str: ...
    @property
    def references(self) -> tuple[str, ...]: ...
    @property
    def understanding(self) -> Understanding | None: ...


def events_from_records(records: Iterable[RecordLike]) -> list[Event]:
    """Stored messages -> Events, oldest first; a message without a Date cannot be placed."""
    events = [_event(r) for r in records if r.date is not None]
    return sorted(events, key=lambda e: e.at)


def _event(r: RecordLike) -> Event:
    u = r.understanding
    at = (
        r.date
        if r.date is not None and r.date.tzinfo
        else (r.date or datetime.min).replace(tzinfo=ZoneInfo("UTC"))
    )
    return Event(
        direction=r.direction,
        at=at,
        kind=u.kind if u else Kind.HUMAN,
        intent=u.intent if u else Intent.NONE,
        promised=u.date if u else None,
        bounce_recipient=u.bounce_recipient if u else None,
        sender=r.sender.lower(),
        language=u.language if u else "",
        subject=r.subject,
        message_id=r.message_id,
        references=tuple(r.references),
        rule_id=getattr(r, "rule_id", None),
    )


@dataclass(frozen=True, slots=True)
class RuleHit:
    rule_id: str
    hit: bool
    why: str

    def as_json(self) -> dict[str, object]:
        return {"rule_id": self.rule_id, "hit": self.hit, "why": self.why}


@dataclass(frozen=True, slots=True)
class Notice:
    """Someone to tell: the salesperson or the manager, and why."""

    to: str
    why: str


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    at: datetime | None  # aware, in the customer's zone
    reason: str
    rule_id: str
    language: str = "en"
    template: str | None = None
    mode: Mode | None = None
    recipients: tuple[str, ...] = ()  # roles: buyer, finance, decision_maker, manager
    alerts: tuple[Notice, ...] = ()
    status: OrderStatus | None = None  # the order's new status, when it changes
    flag_contact: str | None = None  # an address to mark as bouncing
    hits: tuple[RuleHit, ...] = ()

    def as_json(self) -> dict[str, object]:
        return {
            "action": self.action.value,
            "at": self.at.isoformat() if self.at else None,
            "template": self.template,
            "language": self.language,
            "mode": self.mode,
            "reason": self.reason,
            "rule_id": self.rule_id,
            "recipients": list(self.recipients),
            "alerts": [{"to": a.to, "why": a.why} for a in self.alerts],
            "status": self.status.value if self.status else None,
            "flag_contact": self.flag_contact,
            "hits": [h.as_json() for h in self.hits],
        }
