"""Pure helpers for building a draft: the reply's threading (RFC 5322 section 3.6.4), and who
it goes to (the order's own contacts by role, never an address that bounced)."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from bot.core.decision import Event
from bot.core.model import Order

# Reply prefixes mail clients add, in the languages dunbot meets (Re, AW, SV, RV, Ré, 回复, 答复…).
_PREFIX = re.compile(
    r"^\s*((re|aw|sv|vs|rv|r|ré|réf|antw|odp|ynt|回复|回覆|答复|fw|fwd|wg|tr|rif)\s*(\[\d+\])?\s*[:：]\s*)+",
    re.IGNORECASE,
)
_MAX_REFERENCES = 20  # keep the header short; the first and the latest ids matter most


@dataclass(frozen=True, slots=True)
class Threading:
    """The headers that put a reply in the same conversation."""

    subject: str
    in_reply_to: str | None  # without angle brackets
    references: tuple[str, ...]  # oldest first, without angle brackets

    def headers(self) -> dict[str, str]:
        out = {"Subject": self.subject}
        if self.in_reply_to:
            out["In-Reply-To"] = f"<{self.in_reply_to}>"
        if self.references:
            out["References"] = " ".join(f"<{r}>" for r in self.references)
        return out


def reply_subject(subject: str) -> str:
    """'Re: ' + the subject without any stack of reply/forward prefixes ('AW: Re: x' -> 'Re: x')."""
    base = _PREFIX.sub("", subject or "").strip()
    return f"Re: {base}" if base else "Re:"


def reply_threading(
    subject: str, message_id: str | None, references: Sequence[str] = ()
) -> Threading:
    """Subject, In-Reply-To and References for a reply to the message with these headers.

    References = the parent's References + the parent's Message-ID (RFC 5322 3.6.4), trimmed to
    the first id and the latest ones when long.
    """
    refs = [r.strip("<> ") for r in references if r.strip("<> ")]
    parent = (message_id or "").strip("<> ") or None
    if parent and parent not in refs:
        refs.append(parent)
    if len(refs) > _MAX_REFERENCES:
        refs = [refs[0], *refs[-(_MAX_REFERENCES - 1) :]]
    return Threading(reply_subject(subject), parent, tuple(refs))


def thread_reply(history: Sequence[Event]) -> Threading | None:
    """Threading for a reply to the conversation's latest message that has a Message-ID."""
    for event in reversed(history):
        if event.message_id:
            return reply_threading(event.subject, event.message_id, event.references)
    return None


# When the roles a rule names leave nobody who works, the order's other people, in this order.
_FALLBACK_ROLES = ("buyer", "finance", "other", "decision_maker")


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who a draft goes to. Empty `to`: nobody on the order can be written to (every address
    bounced); such a draft must not be made, a person must add a working contact."""

    to: tuple[str, ...]
    cc: tuple[str, ...]
    skipped: tuple[str, ...] = ()  # addresses the roles named that bounced

    @property
    def nobody(self) -> bool:
        return not self.to


def order_people(order: Order) -> dict[str, list[str]]:
    """The order's addresses by role (lower-cased, in the order given): the order's customer
    address is a buyer, then each contact under its role."""
    people: dict[str, list[str]] = {"buyer": [order.customer_email.lower()]}
    for contact in order.contacts:
        email = contact.email.lower()
        if email not in people.setdefault(contact.role, []):
            people[contact.role].append(email)
    return people


def resolve_recipients(
    order: Order,
    roles: Sequence[str],
    *,
    manager: str | None = None,
    bounced: Collection[str] = (),
) -> Recipients:
    """(to, cc) for a draft to `roles` (buyer, finance, decision_maker, manager) of this order.

    Addresses in `bounced` are skipped. When the roles name nobody, or only addresses that
    bounced, the draft goes to the first working address of the order (the buyer first, see
    _FALLBACK_ROLES); when there is none, `to` is empty (Recipients.nobody). The manager (our
    side, cc) is added when the roles name it."""
    people, dead = order_people(order), {b.strip().lower() for b in bounced}
    named = list(dict.fromkeys(a for r in roles if r != "manager" for a in people.get(r, [])))
    to = [a for a in named if a not in dead]
    if not to:
        to = _first_working(people, dead)
    cc = [manager.lower()] if manager and "manager" in roles else []
    return Recipients(
        to=tuple(to),
        cc=tuple(a for a in cc if a not in to and a not in dead),
        skipped=tuple(a for a in named if a in dead),
    )


def _first_working(people: dict[str, list[str]], dead: Collection[str]) -> list[str]:
    ranked = [*_FALLBACK_ROLES, *(r for r in people if r not in _FALLBACK_ROLES)]
    for role in ranked:
        for address in people.get(role, []):
            if address not in dead:
                return [address]
    return []
