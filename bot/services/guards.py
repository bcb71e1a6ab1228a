"""The loop's pure decisions (no I/O): what is dunbot's own mail, why a draft no longer fits
or may not go out unattended, the sending policy and the daily cap's day, and the texts of an
approval request's context (see bot.services.loop)."""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from datetime import datetime, time, timedelta

from bot.config import Config, MailboxConfig
from bot.core.approval import find_token
from bot.core.model import Direction, Draft, Intent, Kind, Order, OrderStatus, ParsedMessage
from bot.ports import MessageRecord
from bot.services.approval_mail import is_auto_submitted
from bot.services.outbox import OutboxPolicy

NEVER_UNATTENDED = frozenset({Intent.DISPUTE, Intent.CANCEL, Intent.COMPETITOR})


def outbox_policy(mailbox: MailboxConfig) -> OutboxPolicy:
    """The mailbox's sending limits as the outbox applies them."""
    return OutboxPolicy(per_window=mailbox.rate_limit_per_minute, window=timedelta(minutes=1))


def is_dunbot_mail(msg: ParsedMessage, mailbox: MailboxConfig) -> bool:
    """An approval request, an answer to one (a token in an address or the subject), or a
    notice dunbot sent from this mailbox: never a customer's message."""
    addresses = [a.email for a in (*msg.to, *msg.cc)]
    if find_token(*addresses, msg.subject) is not None:
        return True
    return msg.sender.email.lower() == mailbox.address and is_auto_submitted(msg)


def news_since(
    draft: Draft, orders: Sequence[Order], records: Mapping[str, Sequence[MessageRecord]]
) -> str | None:
    """Why the draft no longer fits (None: it still does): an order closed, or a message on
    its orders newer than the conversation the draft answers (the customer answered, or the
    salesperson wrote to them)."""
    for order in orders:
        if order.status is not OrderStatus.OPEN:
            return f"order {order.order_id} is {order.status.value}"
    known = {
        draft.message_id,
        *draft.references,
        *([draft.in_reply_to] if draft.in_reply_to else []),
    }
    for order in orders:
        mail = records.get(order.order_id, ())
        dates = [r.date for r in mail if r.message_id in known and r.date is not None]
        anchor = max(dates) if dates else draft.created_at
        for record in mail:
            if record.message_id in known or record.date is None or record.date <= anchor:
                continue
            when = f"{record.date:%Y-%m-%d %H:%M}"
            if record.direction is Direction.IN:
                return f"{record.sender} wrote on {when} ({_understood(record)})"
            return f"{record.sender} wrote to the customer on {when}"
    return None


def unattended_block(draft: Draft, records: Sequence[MessageRecord]) -> str | None:
    """Why a `mode: send` draft needs a person after all: a dispute, cancel or competitor in
    the conversation, a thread dunbot did not match, or an auto-submitted message to answer."""
    if not records:
        return "the order has no conversation to follow up"
    if draft.in_reply_to is None or draft.in_reply_to not in {r.message_id for r in records}:
        return "the draft does not answer a message of this order's conversation"
    for record in records:
        u = record.understanding
        if record.direction is Direction.IN and u is not None and u.intent in NEVER_UNATTENDED:
            return f"the customer wrote about a {u.intent.value}"
    last = last_customer_message(records)
    if last is not None and last.message_id == draft.in_reply_to and _robot(last):
        return "it would answer an auto-submitted message"
    return None


def last_customer_message(records: Sequence[MessageRecord]) -> MessageRecord | None:
    incoming = [r for r in records if r.direction is Direction.IN]
    return incoming[-1] if incoming else None


def _robot(record: MessageRecord) -> bool:
    u = record.understanding
    return u is not None and u.kind is not Kind.HUMAN


def day_start(now: datetime, config: Config) -> datetime:
    """Midnight of `now`'s day in the supplier's time zone (the daily cap's day)."""
    local = now.astimezone(config.zone)
    return datetime.combine(local.date(), time(), config.zone)


def _understood(record: MessageRecord) -> str:
    u = record.understanding
    return "not understood" if u is None else f"{u.kind.value}, intent {u.intent.value}"


def order_line(order: Order, at: datetime) -> str:
    due = order.due_date
    overdue = (at.date() - due).days if due is not None else None
    when = (
        f", due {due.isoformat()}"
        + (f" ({overdue} day(s) overdue)" if overdue and overdue > 0 else "")
        if due is not None
        else ""
    )
    return f"Order {order.order_id}: {order.amount} {order.currency}{when}, {order.customer_email}"


def message_line(record: MessageRecord) -> str:
    when = f"{record.date:%Y-%m-%d}" if record.date else "undated"
    u = record.understanding
    text = (u.reply_text if u is not None else record.text).strip().replace("\n", " ")
    return f"Last customer message ({when}, {_understood(record)}): {text[:300]!r}"


def message_id_of(raw: bytes) -> str:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    for line in head.splitlines():
        if line.lower().startswith("message-id:"):
            return email.utils.unquote(line.split(":", 1)[1].strip()).strip("<>")
    return ""


__all__ = [
    "NEVER_UNATTENDED",
    "day_start",
    "is_dunbot_mail",
    "last_customer_message",
    "message_id_of",
    "message_line",
    "news_since",
    "order_line",
    "outbox_policy",
    "unattended_block",
]
