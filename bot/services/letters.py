"""Writing a draft from decisions: template context, threading, recipients, merged listings.

`compose(letters, renderer, mailbox, now=...)` turns the due decisions of one group (one order,
or several follow-ups of one customer) into one Draft: rendered in the customer's language,
replying in the lead order's conversation (Re: subject, In-Reply-To, References), addressed only
to the order's own contacts (never to an address found in a message body, never to one that
bounced), with a fixed Message-ID in the mailbox's domain. A merged letter names every order and
lists them. When every address of the order bounced there is no letter (NoWorkingAddressError):
the tick tells the salesperson instead.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol
from uuid import uuid4

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency

from bot.config import MailboxConfig
from bot.core.decision import Decision, Event
from bot.core.drafting import Recipients, reply_threading, resolve_recipients
from bot.core.model import Direction, Draft, Order
from bot.core.ruleset import Mode
from bot.errors import BotError


class NoWorkingAddressError(BotError):
    """Every address of the order bounced: nobody to write to; a person must add a contact."""


class Rendered(Protocol):
    @property
    def subject(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def language(self) -> str: ...


class Renderer(Protocol):
    """bot.adapters.templates.SandboxedRenderer."""

    def render(self, name: str, language: str, context: Mapping[str, Any]) -> Rendered: ...


@dataclass(frozen=True, slots=True)
class Letter:
    """One order's due decision and its conversation."""

    order: Order
    decision: Decision
    history: tuple[Event, ...]


def compose(
    letters: Sequence[Letter],
    renderer: Renderer,
    mailbox: MailboxConfig | None,
    *,
    now: datetime,
    price_valid_days: int = 14,
    bounced: Collection[str] = (),
) -> Draft:
    """One draft for the group; the first letter leads (template, thread, recipients).

    Addresses in `bounced` get nothing; NoWorkingAddressError when that leaves nobody."""
    lead = letters[0]
    people = addressees(lead, mailbox, bounced)
    if people.nobody:
        raise NoWorkingAddressError(
            f"order {lead.order.order_id}: every address bounced ({', '.join(people.skipped)})"
        )
    template = lead.decision.template or ""
    context = template_context(letters, mailbox, now=now, price_valid_days=price_valid_days)
    mail = renderer.render(template, lead.decision.language, context)
    body = mail.body
    if len(letters) > 1:
        body = with_listing(body, str(context["order_id"]), listing(letters, mail.language))
    subject, in_reply_to, references = _threading(lead.history, mail.subject)
    return Draft(
        draft_id=uuid4().hex,
        mailbox=mailbox.name if mailbox else (lead.order.mailbox or "default"),
        order_ids=tuple(item.order.order_id for item in letters),
        customer_email=lead.order.customer_email.lower(),
        to=people.to,
        cc=people.cc,
        subject=subject,
        body=body,
        message_id=f"{uuid4()}@{_domain(mailbox)}",
        in_reply_to=in_reply_to,
        references=references,
        rule_id=lead.decision.rule_id,
        template=template,
        language=mail.language,
        mode=_mode(letters),
        reason=_reason(letters) + _skipped(people),
        created_at=now,
        due_at=min((i.decision.at or now) for i in letters),
    )


def template_context(
    letters: Sequence[Letter],
    mailbox: MailboxConfig | None,
    *,
    now: datetime,
    price_valid_days: int = 14,
) -> dict[str, Any]:
    """Every variable of templates/README.md, plus `orders` and `days_overdue`."""
    lead = letters[0].order
    same_currency = all(i.order.currency == lead.currency for i in letters)
    amount = sum((i.order.amount for i in letters), Decimal(0)) if same_currency else lead.amount
    dues = [i.order.due_date for i in letters if i.order.due_date is not None]
    today = (letters[0].decision.at or now).date()
    return {
        "customer_name": lead.customer_name,
        "order_id": ", ".join(i.order.order_id for i in letters),
        "amount": amount,
        "currency": lead.currency,
        "due_date": min(dues) if dues else None,
        "valid_until": today + timedelta(days=price_valid_days),
        "promised_date": _promised(letters[0].history),
        "sender_name": _setting(mailbox, "sender_name") or _name_of(_address(mailbox)),
        "company": _setting(mailbox, "company") or "",
        "manager_name": _setting(mailbox, "manager_name")
        or _name_of(mailbox.manager if mailbox and mailbox.manager else ""),
        "days_overdue": max((today - min(dues)).days, 0) if dues else 0,
        "orders": [_order_context(i.order) for i in letters],
    }


def _order_context(order: Order) -> dict[str, Any]:
    return {
        "order_id": order.order_id,
        "amount": order.amount,
        "currency": order.currency,
        "due_date": order.due_date,
    }


def _promised(history: Sequence[Event]) -> date | None:
    for e in reversed(history):
        if e.direction is Direction.IN and e.promised is not None:
            return e.promised
    return None


def _setting(mailbox: MailboxConfig | None, key: str) -> str | None:
    """Optional display settings of a mailbox, when the config has them."""
    value = getattr(mailbox, key, None) if mailbox is not None else None
    return value if isinstance(value, str) and value else None


def _address(mailbox: MailboxConfig | None) -> str:
    return mailbox.address if mailbox else ""


def _name_of(address: str) -> str:
    """'alice.chen@x' -> 'Alice Chen': a readable name when the config gives none."""
    local = address.partition("@")[0]
    return " ".join(p.capitalize() for p in local.replace("_", ".").split(".") if p)


def _domain(mailbox: MailboxConfig | None) -> str:
    return _address(mailbox).rpartition("@")[2] or "dunbot.invalid"


def _threading(history: Sequence[Event], subject: str) -> tuple[str, str | None, tuple[str, ...]]:
    """Reply to the conversation's last message; a fresh thread when there is none."""
    last = next((e for e in reversed(history) if e.message_id), None)
    if last is None:
        return subject, None, ()
    t = reply_threading(last.subject or subject, last.message_id, last.references)
    return t.subject, t.in_reply_to, t.references


def addressees(
    letter: Letter, mailbox: MailboxConfig | None, bounced: Collection[str] = ()
) -> Recipients:
    """Who the letter goes to: the decision's roles among the order's own contacts, without
    the addresses that bounced; the manager (cc) from the config."""
    manager = mailbox.manager if mailbox else None
    return resolve_recipients(
        letter.order, letter.decision.recipients, manager=manager, bounced=bounced
    )


def _skipped(people: Recipients) -> str:
    if not people.skipped:
        return ""
    return f"; not to {', '.join(people.skipped)} (bounced)"


def _mode(letters: Sequence[Letter]) -> Mode:
    """Sent unattended only when every merged decision says so."""
    return "send" if all(i.decision.mode == "send" for i in letters) else "draft"


def _reason(letters: Sequence[Letter]) -> str:
    if len(letters) == 1:
        return letters[0].decision.reason
    parts = [f"{i.order.order_id}: {i.decision.reason}" for i in letters]
    return f"{len(letters)} orders of one customer in one mail; " + "; ".join(parts)


def listing(letters: Sequence[Letter], language: str) -> list[str]:
    """One line per order, money and dates written the language's way."""
    locale = _locale(language)
    lines = []
    for item in letters:
        o = item.order
        line = f"- {o.order_id}: {format_currency(o.amount, o.currency, locale=locale)}"
        if o.due_date is not None:
            line += f" ({format_date(o.due_date, format='long', locale=locale)})"
        lines.append(line)
    return lines


def with_listing(body: str, order_ids: str, lines: Sequence[str]) -> str:
    """The listing after the paragraph that names the orders, else before the signature."""
    paragraphs = body.rstrip("\n").split("\n\n")
    at = next((i + 1 for i, p in enumerate(paragraphs) if order_ids in p), None)
    if at is None:
        at = max(len(paragraphs) - 1, 1)
    paragraphs.insert(at, "\n".join(lines))
    return "\n\n".join(paragraphs) + "\n"


def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_") or "en")
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en")
